"""Tables of 政务信息资源目录 (only this module touches them).

* `catalog_entry` — one resource's metadata (GB/T 21063): code, name, provider, category, form,
  sharing and open attributes, update cycle, contact, workflow status.
* `catalog_item` — its data items (信息项) with type, grade and masking rule.
* `catalog_entry_event` — the entry's timeline: every state change, with who and why.
* `catalog_mount` — bindings of a published entry to a live resource (registry resource, API, file).
* `catalog_demand` — the demand list (需求目录): data a department asks for.

Chinese search: on PostgreSQL `catalog_entry.search_vector` is a `tsvector` with a GIN index; on
SQLite the tokens live in the FTS5 table `catalog_entry_fts` (rowid = entry id), which
`Base.metadata.create_all` creates through the DDL hook below. Alembic does not see virtual tables:
the migration that creates `catalog_entry` must also run `SQLITE_FTS_DDL` (below) on SQLite, and the
migration environment must skip the `catalog_entry_fts*` tables when comparing (see docs/catalog.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yiwang.core.db import Base, UTCDateTime
from yiwang.core.timeline import TimelineMixin

ORG_UNIT_FK = "identity_org_unit.id"
SQLITE_FTS_TABLE = "catalog_entry_fts"
SQLITE_FTS_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SQLITE_FTS_TABLE} "
    "USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0')"
)

# Text on SQLite (unused there: FTS5 holds the tokens), tsvector on PostgreSQL.
SearchVector = Text().with_variant(postgresql.TSVECTOR(), "postgresql")


class CatalogEntry(Base):
    __tablename__ = "catalog_entry"
    __table_args__ = (
        Index("ix_catalog_entry_search_vector", "search_vector", postgresql_using="gin"),
        Index("ix_catalog_entry_department_status", "department_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # 信息资源代码: classification code + "/" + 6-digit sequence, e.g. 101001/000001.
    code: Mapped[str] = mapped_column(String(20), unique=True)
    # 信息资源分类: 类 (1) 项 (2) 目 (3) [细目 (3)].
    category_code: Mapped[str] = mapped_column(String(9), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # 信息资源提供方 and 提供方代码, kept as drafted so lists and exports need no join.
    department_id: Mapped[int] = mapped_column(ForeignKey(ORG_UNIT_FK), index=True)
    provider_name: Mapped[str] = mapped_column(String(100))
    provider_code: Mapped[str] = mapped_column(String(32), default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    form: Mapped[str] = mapped_column(String(8))  # table / api / file
    sharing_type: Mapped[str] = mapped_column(String(16), index=True)  # unconditional / conditional / none
    sharing_condition: Mapped[str] = mapped_column(Text, default="")  # required for conditional
    unshared_reason: Mapped[str] = mapped_column(Text, default="")  # legal basis, required for none
    sharing_method: Mapped[str] = mapped_column(String(16), default="")
    open_type: Mapped[str] = mapped_column(String(16), index=True)  # none / conditional / unconditional
    open_condition: Mapped[str] = mapped_column(Text, default="")
    update_cycle: Mapped[str] = mapped_column(String(16))
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    # 关联资源代码
    linked_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), index=True, default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    review_opinion: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Never loaded with the entry: written and matched in SQL only (service/search.py).
    search_vector: Mapped[Any] = mapped_column(SearchVector, nullable=True, deferred=True)

    items: Mapped[list[CatalogItem]] = relationship(
        back_populates="entry",
        order_by="CatalogItem.position",
        cascade="all, delete-orphan",
        lazy="raise_on_sql",
    )


class CatalogItem(Base):
    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("entry_id", "field_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The English key, the same as the mounted resource's field.
    field_name: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))  # 信息项名称
    data_type: Mapped[str] = mapped_column(String(16))
    length: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(16), default="general")  # general / important / core
    # PIPL art. 28 敏感个人信息 (ID numbers, health, finances, whereabouts, minors' data, …).
    sensitive_personal: Mapped[bool] = mapped_column(Boolean, default=False)
    masking: Mapped[str] = mapped_column(String(16), default="none")
    description: Mapped[str] = mapped_column(String(200), default="")

    entry: Mapped[CatalogEntry] = relationship(back_populates="items", lazy="raise_on_sql")


class CatalogEntryEvent(TimelineMixin, Base):
    """One row per state change of an entry (DESIGN §3 rule 3: nothing legal is lost)."""

    __tablename__ = "catalog_entry_event"

    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CatalogMount(Base):
    """An entry bound to a live resource. Unmounting keeps the row (active = False)."""

    __tablename__ = "catalog_mount"
    __table_args__ = (
        # At most one live binding per entry and per registry resource.
        Index(
            "ix_catalog_mount_active_entry",
            "entry_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        Index(
            "ix_catalog_mount_active_resource",
            "resource_key",
            unique=True,
            sqlite_where=text("active AND resource_key IS NOT NULL"),
            postgresql_where=text("active AND resource_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # resource / api / file
    resource_key: Mapped[str | None] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    mounted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mounted_by: Mapped[str] = mapped_column(String(64), default="")
    mounted_by_name: Mapped[str] = mapped_column(String(100), default="")
    unmounted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unmounted_by_name: Mapped[str] = mapped_column(String(100), default="")
    unmount_reason: Mapped[str] = mapped_column(Text, default="")


class CatalogDemand(Base):
    """需求目录: a department asks for data that is not (yet) catalogued or shared."""

    __tablename__ = "catalog_demand"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_department_id: Mapped[int] = mapped_column(ForeignKey(ORG_UNIT_FK), index=True)
    requester_name: Mapped[str] = mapped_column(String(100))
    provider_department_id: Mapped[int | None] = mapped_column(ForeignKey(ORG_UNIT_FK), index=True)
    provider_name: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text, default="")  # what for, and on which legal basis
    wanted_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), index=True, default="open")
    answer: Mapped[str] = mapped_column(Text, default="")
    entry_code: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_by_name: Mapped[str] = mapped_column(String(100), default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_name: Mapped[str] = mapped_column(String(100), default="")


# The SQLite full-text table is created with the entry table (create_all in tests and `yiwang db`).
event.listen(CatalogEntry.__table__, "after_create", DDL(SQLITE_FTS_DDL).execute_if(dialect="sqlite"))
event.listen(
    CatalogEntry.__table__,
    "before_drop",
    DDL(f"DROP TABLE IF EXISTS {SQLITE_FTS_TABLE}").execute_if(dialect="sqlite"),
)
