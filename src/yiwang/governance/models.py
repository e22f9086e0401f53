"""数据治理 tables: quality rule sets, loads, rejected rows and one-source conflicts.

Cross-module references are plain values (a registry resource key, a department's short code); the
only foreign keys go to identity's accounts and to this module's own tables (DESIGN §3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class RuleSet(Base):
    """One version of the declarative quality rules of a registry resource. The highest version is in
    force; older versions stay, so every load can say which rules judged it."""

    __tablename__ = "governance_rule_set"
    __table_args__ = (UniqueConstraint("resource_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("identity_account.id"))
    created_by_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Load(Base):
    """One file loaded (or refused) into a registry resource, with its quality report."""

    __tablename__ = "governance_load"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_key: Mapped[str] = mapped_column(String(64), index=True)
    # The resource's owner (the authoritative source) and the department whose data the file holds.
    department: Mapped[str] = mapped_column(String(32), index=True)
    source_department: Mapped[str] = mapped_column(String(32), index=True)
    authoritative: Mapped[bool] = mapped_column(Boolean, default=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("identity_account.id"))
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    filename: Mapped[str] = mapped_column(String(255), default="")
    format: Mapped[str] = mapped_column(String(16), default="")
    encoding: Mapped[str | None] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(8), default="insert")  # insert / upsert
    # running / succeeded / partial (some rows rejected) / failed (nothing loaded)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    rule_hits: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    quality_score: Mapped[float | None] = mapped_column(Float)
    rule_set_version: Mapped[int] = mapped_column(Integer, default=0)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    parent_load_id: Mapped[int | None] = mapped_column(ForeignKey("governance_load.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")


class RejectedRow(Base):
    """A row a load did not write, with every reason, kept so nothing is silently lost.

    `data` and `reasons` are JSON text (written in bulk, vectorised). `original` keeps the values as
    read once someone corrects the row."""

    __tablename__ = "governance_rejected_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    load_id: Mapped[int] = mapped_column(ForeignKey("governance_load.id"))
    row_number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    original: Mapped[str | None] = mapped_column(Text)
    # open / corrected / reloaded / dismissed
    status: Mapped[str] = mapped_column(String(16), default="open")
    reload_load_id: Mapped[int | None] = mapped_column(Integer)
    updated_by_name: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_governance_rejected_row_load", RejectedRow.load_id, RejectedRow.row_number)


class SourceConflict(Base):
    """一数一源: another department's value for a subject's attribute differs from the authoritative
    registry's. The authority's value stands (`status` resolved_by_authority) until the authority's
    data officer confirms it (`confirmed`) or corrects the registry (`corrected`)."""

    __tablename__ = "governance_conflict"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_key: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(128), index=True)  # the row's natural key, "|"-joined
    attribute: Mapped[str] = mapped_column(String(64))
    authority_department: Mapped[str] = mapped_column(String(32), index=True)
    authority_value: Mapped[str | None] = mapped_column(Text)
    source_department: Mapped[str] = mapped_column(String(32), index=True)
    source_value: Mapped[str | None] = mapped_column(Text)
    load_id: Mapped[int | None] = mapped_column(ForeignKey("governance_load.id"), index=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # resolved_by_authority / confirmed / corrected
    status: Mapped[str] = mapped_column(String(24), default="resolved_by_authority", index=True)
    winning_value: Mapped[str | None] = mapped_column(Text)
    resolved_by_name: Mapped[str] = mapped_column(String(64), default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(500), default="")
