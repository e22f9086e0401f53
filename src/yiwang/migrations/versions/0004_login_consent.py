"""login protection and SSO consent: throttling, recovery codes, proved registration, SMS outbox,
forced password change, remembered consent and pre-consented clients

Revision ID: 0004_login_consent
Revises: 0003_exchange
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "0004_login_consent"
down_revision: str | None = "0003_exchange"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identity_account") as batch:
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("identity_pending_login") as batch:
        batch.add_column(sa.Column("stage", sa.String(length=16), server_default="otp", nullable=False))
        batch.add_column(sa.Column("methods", sa.String(length=32), server_default="pwd", nullable=False))
        batch.add_column(sa.Column("ip", sa.String(length=64), nullable=True))
    with op.batch_alter_table("identity_oidc_client") as batch:
        batch.add_column(sa.Column("pre_consented", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "identity_login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("blocked_until", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "key_hash"),
    )
    op.create_index(
        op.f("ix_identity_login_throttle_subject_hash"), "identity_login_throttle", ["subject_hash"]
    )
    op.create_table(
        "identity_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["identity_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_identity_recovery_code_account_id"), "identity_recovery_code", ["account_id"])
    op.create_table(
        "identity_pending_registration",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=18), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "identity_sms_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("body", sa.String(length=500), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_identity_sms_outbox_phone"), "identity_sms_outbox", ["phone"])
    op.create_table(
        "identity_oidc_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["identity_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "client_id"),
    )
    op.create_index(op.f("ix_identity_oidc_consent_account_id"), "identity_oidc_consent", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_identity_oidc_consent_account_id"), table_name="identity_oidc_consent")
    op.drop_table("identity_oidc_consent")
    op.drop_index(op.f("ix_identity_sms_outbox_phone"), table_name="identity_sms_outbox")
    op.drop_table("identity_sms_outbox")
    op.drop_table("identity_pending_registration")
    op.drop_index(op.f("ix_identity_recovery_code_account_id"), table_name="identity_recovery_code")
    op.drop_table("identity_recovery_code")
    op.drop_index(op.f("ix_identity_login_throttle_subject_hash"), table_name="identity_login_throttle")
    op.drop_table("identity_login_throttle")
    with op.batch_alter_table("identity_oidc_client") as batch:
        batch.drop_column("pre_consented")
    with op.batch_alter_table("identity_pending_login") as batch:
        batch.drop_column("ip")
        batch.drop_column("methods")
        batch.drop_column("stage")
    with op.batch_alter_table("identity_account") as batch:
        batch.drop_column("must_change_password")
