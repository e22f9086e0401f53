"""Tables of 共享交换 (only this module touches them).

* `exchange_request` — a sharing request (共享申请): who wants which resource, which fields, for what
  purpose on which legal basis, for which period; its status and the provider's decision.
* `exchange_grant` — what an approved (or narrowed) request fixes: resource, fields, purpose, masking
  allowance, bulk/regional slices, rate limit, validity; revocable.
* `exchange_event` — the timeline of requests, grants and objections: every state change, who, why.
* `exchange_call` — the call log: one row per shared-data lookup (per subject for subject and batch
  queries, one per page for slices), kept whether it was answered or refused, with the audit record
  it was written with. Indexed on (subject, at) for "who used my data" and on `at` for days.
* `exchange_rate_window` — the rate-limit counter: one row per grant (or per client and resource for
  无条件共享), the current minute and its count, bumped by one upsert per call.
* `exchange_stat_day` / `exchange_stat_mark` — daily call statistics (服务次数 / 交换总量) rolled up
  from the call log; the mark says up to which call id. Rows past it are counted live.
* `exchange_objection` — a data subject's objection (异议) to a call, routed to the provider.
* `exchange_label` — display names of the clients, departments and catalog entries the call log
  refers to by id, filled when first shown (so lists need one query for all their names).
* `exchange_setting` — settings as data (the decision deadline in working days, default rate limits).
* `exchange_delegation` — a provider's time-limited delegation of its sharing decisions to an
  operator account (the only way an operator decides for a provider).

Cross-module references are plain ids (org units, accounts, client ids, resource keys, catalog codes).
The call log has no foreign keys on purpose: it is the hottest insert of the module, and a foreign key
check is one more index probe per call. Times on the call log are integer microseconds since the epoch
(UTC), like the audit chain; everywhere else they are `UTCDateTime`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime
from yiwang.core.timeline import TimelineMixin

ORG_UNIT_FK = "identity_org_unit.id"
ACCOUNT_FK = "identity_account.id"
# INTEGER PRIMARY KEY is SQLite's rowid itself; BIGINT identity on PostgreSQL.
_ID = BigInteger().with_variant(Integer, "sqlite")


class SharingRequest(Base):
    __tablename__ = "exchange_request"
    __table_args__ = (
        Index("ix_exchange_request_provider_status", "provider_dept_id", "status"),
        Index("ix_exchange_request_consumer_status", "consumer_dept_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    # The consuming system (client credentials), or None: for the department's own staff (window).
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    client_name: Mapped[str] = mapped_column(String(100), default="")
    consumer_dept_id: Mapped[int] = mapped_column(ForeignKey(ORG_UNIT_FK))
    consumer_dept_name: Mapped[str] = mapped_column(String(100), default="")
    provider_dept_id: Mapped[int] = mapped_column(ForeignKey(ORG_UNIT_FK))
    provider_dept_name: Mapped[str] = mapped_column(String(100), default="")
    resource_key: Mapped[str] = mapped_column(String(64))
    catalog_code: Mapped[str] = mapped_column(String(24))
    resource_name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    allow_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    bulk: Mapped[bool] = mapped_column(Boolean, default=False)
    region_prefix: Mapped[str | None] = mapped_column(String(12))
    rate_per_minute: Mapped[int] = mapped_column(Integer)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    # submitted / approved / narrowed / refused / withdrawn
    status: Mapped[str] = mapped_column(String(16), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    working_days: Mapped[int] = mapped_column(Integer)
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_by_name: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey(ACCOUNT_FK))
    decided_by_name: Mapped[str] = mapped_column(String(100), default="")
    opinion: Mapped[str] = mapped_column(Text, default="")
    grant_id: Mapped[int | None] = mapped_column(Integer)


class Grant(Base):
    __tablename__ = "exchange_grant"
    __table_args__ = (
        Index("ix_exchange_grant_client_resource", "client_id", "resource_key"),
        Index("ix_exchange_grant_consumer_resource", "consumer_dept_id", "resource_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_request.id"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    client_name: Mapped[str] = mapped_column(String(100), default="")
    consumer_dept_id: Mapped[int] = mapped_column(ForeignKey(ORG_UNIT_FK))
    provider_dept_id: Mapped[int] = mapped_column(ForeignKey(ORG_UNIT_FK), index=True)
    resource_key: Mapped[str] = mapped_column(String(64))
    catalog_code: Mapped[str] = mapped_column(String(24))
    resource_name: Mapped[str] = mapped_column(String(200))
    # Comma-separated field names: the hot path splits it, with no JSON decoding.
    fields: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(200))
    allow_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_bulk: Mapped[bool] = mapped_column(Boolean, default=False)
    region_prefix: Mapped[str | None] = mapped_column(String(12))
    rate_per_minute: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_name: Mapped[str] = mapped_column(String(100), default="")
    revoke_reason: Mapped[str] = mapped_column(Text, default="")


class ExchangeEvent(TimelineMixin, Base):
    """The timeline of a request, grant or objection (DESIGN §3 rule 3)."""

    __tablename__ = "exchange_event"
    __table_args__ = (Index("ix_exchange_event_object", "object_type", "object_id"),)

    object_type: Mapped[str] = mapped_column(String(16))  # request / grant / objection
    object_id: Mapped[int] = mapped_column(Integer)


class Call(Base):
    """One shared-data lookup, answered or refused. Append-only."""

    __tablename__ = "exchange_call"
    __table_args__ = (
        Index("ix_exchange_call_subject_at", "subject", "at"),
        Index("ix_exchange_call_at", "at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(BigInteger)  # microseconds since the epoch, UTC
    mode: Mapped[str] = mapped_column(String(8))  # subject / batch / slice
    client_id: Mapped[str] = mapped_column(String(64), default="")
    actor_kind: Mapped[str] = mapped_column(String(16))  # system / staff
    actor_id: Mapped[str] = mapped_column(String(64), default="")  # the staff account id
    consumer_dept_id: Mapped[int] = mapped_column(Integer, default=0)
    provider_dept_id: Mapped[int] = mapped_column(Integer, default=0)
    resource_key: Mapped[str] = mapped_column(String(64))
    catalog_code: Mapped[str] = mapped_column(String(24), default="")
    subject: Mapped[str] = mapped_column(String(32), default="")  # citizen ID / credit code; "" for slices
    region: Mapped[str] = mapped_column(String(12), default="")
    purpose: Mapped[str] = mapped_column(String(200), default="")
    fields: Mapped[str] = mapped_column(Text, default="")  # the fields returned, comma-separated
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str] = mapped_column(String(8))  # ok / refused / failed
    status: Mapped[int] = mapped_column(Integer)  # the HTTP status answered
    reason: Mapped[str] = mapped_column(Text, default="")
    latency_us: Mapped[int] = mapped_column(Integer, default=0)
    grant_id: Mapped[int | None] = mapped_column(Integer)
    audit_chain: Mapped[int] = mapped_column(Integer)
    audit_seq: Mapped[int] = mapped_column(BigInteger)


class RateWindow(Base):
    __tablename__ = "exchange_rate_window"

    key: Mapped[str] = mapped_column(String(140), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger)  # the window: minutes since the epoch
    count: Mapped[int] = mapped_column(Integer)


class StatDay(Base):
    """Calls of one day (Asia/Shanghai) per resource, provider, consumer and client."""

    __tablename__ = "exchange_stat_day"
    __table_args__ = (
        PrimaryKeyConstraint(
            "day",
            "resource_key",
            "catalog_code",
            "provider_dept_id",
            "consumer_dept_id",
            "client_id",
            name="pk_exchange_stat_day",
        ),
    )

    day: Mapped[int] = mapped_column(Integer)  # days since 1970-01-01, local
    resource_key: Mapped[str] = mapped_column(String(64))
    catalog_code: Mapped[str] = mapped_column(String(24))
    provider_dept_id: Mapped[int] = mapped_column(Integer)
    consumer_dept_id: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(String(64))
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    ok: Mapped[int] = mapped_column(BigInteger, default=0)
    refused: Mapped[int] = mapped_column(BigInteger, default=0)
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)


class StatMark(Base):
    __tablename__ = "exchange_stat_mark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    upto_call_id: Mapped[int] = mapped_column(BigInteger, default=0)
    rolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Objection(Base):
    __tablename__ = "exchange_objection"
    __table_args__ = (
        UniqueConstraint("call_id", name="uq_exchange_objection_call"),
        Index("ix_exchange_objection_provider_status", "provider_dept_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str] = mapped_column(String(32), index=True)
    raised_by: Mapped[int | None] = mapped_column(ForeignKey(ACCOUNT_FK))
    raised_by_name: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # open / answered
    provider_dept_id: Mapped[int] = mapped_column(Integer)
    consumer_dept_id: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(String(64), default="")
    resource_key: Mapped[str] = mapped_column(String(64))
    catalog_code: Mapped[str] = mapped_column(String(24), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[int | None] = mapped_column(ForeignKey(ACCOUNT_FK))
    answered_by_name: Mapped[str] = mapped_column(String(100), default="")


class Label(Base):
    """Display names by kind ("client", "dept", "entry") and key, filled when first needed."""

    __tablename__ = "exchange_label"
    __table_args__ = (PrimaryKeyConstraint("kind", "key", name="pk_exchange_label"),)

    kind: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))


class Setting(Base):
    __tablename__ = "exchange_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class Delegation(Base):
    """A providing department's written delegation (委托) of its sharing decisions to one operator
    account for a limited time: the only way a platform operator acts for a provider. Made and ended by
    the provider's data officer; every use names it in the audit record."""

    __tablename__ = "exchange_delegation"
    __table_args__ = (
        Index("ix_exchange_delegation_delegate_provider", "delegate_account_id", "provider_dept_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_dept_id: Mapped[int] = mapped_column(ForeignKey(ORG_UNIT_FK))
    provider_dept_name: Mapped[str] = mapped_column(String(100), default="")
    delegate_account_id: Mapped[int] = mapped_column(ForeignKey(ACCOUNT_FK))
    delegate_name: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey(ACCOUNT_FK))
    created_by_name: Mapped[str] = mapped_column(String(100), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_name: Mapped[str] = mapped_column(String(100), default="")
