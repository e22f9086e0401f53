"""sharing exchange: requests, grants, call log, statistics, objections

Revision ID: 0003_exchange
Revises: 0002_data_backbone
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "0003_exchange"
down_revision: str | None = "0002_data_backbone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_call",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("consumer_dept_id", sa.Integer(), nullable=False),
        sa.Column("provider_dept_id", sa.Integer(), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("catalog_code", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("latency_us", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("audit_chain", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_call")),
    )
    with op.batch_alter_table("exchange_call", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_call_at", ["at"], unique=False)
        batch_op.create_index("ix_exchange_call_subject_at", ["subject", "at"], unique=False)

    op.create_table(
        "exchange_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_event")),
    )
    with op.batch_alter_table("exchange_event", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_event_object", ["object_type", "object_id"], unique=False)

    op.create_table(
        "exchange_label",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name="pk_exchange_label"),
    )
    op.create_table(
        "exchange_rate_window",
        sa.Column("key", sa.String(length=140), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_exchange_rate_window")),
    )
    op.create_table(
        "exchange_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_exchange_setting")),
    )
    op.create_table(
        "exchange_stat_day",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("catalog_code", sa.String(length=24), nullable=False),
        sa.Column("provider_dept_id", sa.Integer(), nullable=False),
        sa.Column("consumer_dept_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("ok", sa.BigInteger(), nullable=False),
        sa.Column("refused", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "resource_key",
            "catalog_code",
            "provider_dept_id",
            "consumer_dept_id",
            "client_id",
            name="pk_exchange_stat_day",
        ),
    )
    op.create_table(
        "exchange_stat_mark",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("upto_call_id", sa.BigInteger(), nullable=False),
        sa.Column("rolled_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_stat_mark")),
    )
    op.create_table(
        "exchange_objection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("raised_by", sa.Integer(), nullable=True),
        sa.Column("raised_by_name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_dept_id", sa.Integer(), nullable=False),
        sa.Column("consumer_dept_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("catalog_code", sa.String(length=24), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_by_name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by"],
            ["identity_account.id"],
            name=op.f("fk_exchange_objection_answered_by_identity_account"),
        ),
        sa.ForeignKeyConstraint(
            ["raised_by"],
            ["identity_account.id"],
            name=op.f("fk_exchange_objection_raised_by_identity_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_objection")),
        sa.UniqueConstraint("call_id", name="uq_exchange_objection_call"),
    )
    with op.batch_alter_table("exchange_objection", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_objection_provider_status", ["provider_dept_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exchange_objection_subject"), ["subject"], unique=False)

    op.create_table(
        "exchange_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("client_name", sa.String(length=100), nullable=False),
        sa.Column("consumer_dept_id", sa.Integer(), nullable=False),
        sa.Column("consumer_dept_name", sa.String(length=100), nullable=False),
        sa.Column("provider_dept_id", sa.Integer(), nullable=False),
        sa.Column("provider_dept_name", sa.String(length=100), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("catalog_code", sa.String(length=24), nullable=False),
        sa.Column("resource_name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("allow_sensitive", sa.Boolean(), nullable=False),
        sa.Column("bulk", sa.Boolean(), nullable=False),
        sa.Column("region_prefix", sa.String(length=12), nullable=True),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_by_name", sa.String(length=100), nullable=False),
        sa.Column("decided_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_by_name", sa.String(length=100), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consumer_dept_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_exchange_request_consumer_dept_id_identity_org_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["identity_account.id"],
            name=op.f("fk_exchange_request_decided_by_identity_account"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_dept_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_exchange_request_provider_dept_id_identity_org_unit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_request")),
        sa.UniqueConstraint("number", name=op.f("uq_exchange_request_number")),
    )
    with op.batch_alter_table("exchange_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_request_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "ix_exchange_request_consumer_status", ["consumer_dept_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exchange_request_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            "ix_exchange_request_provider_status", ["provider_dept_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exchange_request_status"), ["status"], unique=False)

    op.create_table(
        "exchange_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("client_name", sa.String(length=100), nullable=False),
        sa.Column("consumer_dept_id", sa.Integer(), nullable=False),
        sa.Column("provider_dept_id", sa.Integer(), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("catalog_code", sa.String(length=24), nullable=False),
        sa.Column("resource_name", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("allow_sensitive", sa.Boolean(), nullable=False),
        sa.Column("allow_bulk", sa.Boolean(), nullable=False),
        sa.Column("region_prefix", sa.String(length=12), nullable=True),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("valid_from", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_name", sa.String(length=100), nullable=False),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_dept_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_exchange_grant_consumer_dept_id_identity_org_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_dept_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_exchange_grant_provider_dept_id_identity_org_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["exchange_request.id"],
            name=op.f("fk_exchange_grant_request_id_exchange_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_grant")),
    )
    with op.batch_alter_table("exchange_grant", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_grant_client_resource", ["client_id", "resource_key"], unique=False
        )
        batch_op.create_index(
            "ix_exchange_grant_consumer_resource", ["consumer_dept_id", "resource_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exchange_grant_provider_dept_id"), ["provider_dept_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("exchange_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_grant_provider_dept_id"))
        batch_op.drop_index("ix_exchange_grant_consumer_resource")
        batch_op.drop_index("ix_exchange_grant_client_resource")

    op.drop_table("exchange_grant")
    with op.batch_alter_table("exchange_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_request_status"))
        batch_op.drop_index("ix_exchange_request_provider_status")
        batch_op.drop_index(batch_op.f("ix_exchange_request_due_at"))
        batch_op.drop_index("ix_exchange_request_consumer_status")
        batch_op.drop_index(batch_op.f("ix_exchange_request_client_id"))

    op.drop_table("exchange_request")
    with op.batch_alter_table("exchange_objection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_objection_subject"))
        batch_op.drop_index("ix_exchange_objection_provider_status")

    op.drop_table("exchange_objection")
    op.drop_table("exchange_stat_mark")
    op.drop_table("exchange_stat_day")
    op.drop_table("exchange_setting")
    op.drop_table("exchange_rate_window")
    op.drop_table("exchange_label")
    with op.batch_alter_table("exchange_event", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_event_object")

    op.drop_table("exchange_event")
    with op.batch_alter_table("exchange_call", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_call_subject_at")
        batch_op.drop_index("ix_exchange_call_at")

    op.drop_table("exchange_call")
