"""audit pages: verification runs started from /audit

Revision ID: 0006_audit_pages
Revises: 0003_exchange
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "0006_audit_pages"
down_revision: str | None = "0005_delegation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_verification_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_by_name", sa.String(length=64), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("chains", sa.Integer(), nullable=False),
        sa.Column("anchors", sa.BigInteger(), nullable=False),
        sa.Column("root_seq", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("broken_chain", sa.Integer(), nullable=True),
        sa.Column("broken_seq", sa.BigInteger(), nullable=True),
        sa.Column("broken_reason", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["identity_account.id"],
            name=op.f("fk_audit_verification_run_started_by_id_identity_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verification_run")),
    )
    with op.batch_alter_table("audit_verification_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_verification_run_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_verification_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_verification_run_status"))
    op.drop_table("audit_verification_run")
