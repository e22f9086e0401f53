"""exchange: a provider's delegation of its sharing decisions to an operator

Revision ID: 0005_delegation
Revises: 0003_exchange
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "0005_delegation"
down_revision: str | None = "0004_login_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_dept_id", sa.Integer(), nullable=False),
        sa.Column("provider_dept_name", sa.String(length=100), nullable=False),
        sa.Column("delegate_account_id", sa.Integer(), nullable=False),
        sa.Column("delegate_name", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("valid_until", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=100), nullable=False),
        sa.Column("revoked_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["identity_account.id"],
            name=op.f("fk_exchange_delegation_created_by_identity_account"),
        ),
        sa.ForeignKeyConstraint(
            ["delegate_account_id"],
            ["identity_account.id"],
            name=op.f("fk_exchange_delegation_delegate_account_id_identity_account"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_dept_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_exchange_delegation_provider_dept_id_identity_org_unit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_delegation")),
    )
    with op.batch_alter_table("exchange_delegation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_delegation_delegate_provider",
            ["delegate_account_id", "provider_dept_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("exchange_delegation", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_delegation_delegate_provider")

    op.drop_table("exchange_delegation")
