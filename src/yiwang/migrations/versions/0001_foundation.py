"""foundation: registries, identity, audit chain, demo city

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_anchor",
        sa.Column("root_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("chain_seq", sa.BigInteger(), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("root_seq", name=op.f("pk_audit_anchor")),
    )
    with op.batch_alter_table("audit_anchor", schema=None) as batch_op:
        batch_op.create_index("ix_audit_anchor_chain", ["chain_id", "chain_seq"], unique=False)

    op.create_table(
        "audit_chain_mark",
        sa.Column("chain_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("anchored_seq", sa.BigInteger(), nullable=False),
        sa.Column("indexed_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_audit_chain_mark")),
    )
    op.create_table(
        "audit_head",
        sa.Column("chain_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_record",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Text(), nullable=False),
        sa.Column("actor_name", sa.Text(), nullable=False),
        sa.Column("on_behalf_of", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("ip", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_record")),
        sa.UniqueConstraint("chain_id", "seq", name="uq_audit_record_chain_seq"),
    )
    op.create_table(
        "audit_subject",
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "record_id", name="pk_audit_subject"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "demo_city",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("enterprises", sa.Integer(), nullable=False),
        sa.Column("built_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("build_seconds", sa.Float(), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_city")),
    )
    op.create_table(
        "identity_org_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("short_name", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_identity_org_unit_parent_id_identity_org_unit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_org_unit")),
        sa.UniqueConstraint("code", name=op.f("uq_identity_org_unit_code")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_identity_org_unit_credit_code")),
    )
    with op.batch_alter_table("identity_org_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_org_unit_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_org_unit_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_org_unit_path"), ["path"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_org_unit_region_code"), ["region_code"], unique=False)

    op.create_table(
        "identity_role",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_identity_role")),
    )
    op.create_table(
        "identity_signing_key",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("private_sealed", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_identity_signing_key")),
    )
    op.create_table(
        "registry_legal_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "credit_code",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("org_form", sa.String(length=32), nullable=False),
        sa.Column(
            "legal_rep_citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("legal_rep_name", sa.String(length=64), nullable=False),
        sa.Column("registered_capital_fen", sa.BigInteger(), nullable=False),
        sa.Column("established_on", sa.Date(), nullable=False),
        sa.Column(
            "area_code",
            sa.String(length=6).with_variant(sa.String(length=6, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("industry_code", sa.String(length=8), nullable=False),
        sa.Column("industry_name", sa.String(length=64), nullable=False),
        sa.Column("business_scope", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_legal_person")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_registry_legal_person_credit_code")),
    )
    with op.batch_alter_table("registry_legal_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_legal_person_area_code"), ["area_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_registry_legal_person_legal_rep_citizen_id"),
            ["legal_rep_citizen_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_registry_legal_person_name"), ["name"], unique=False)

    op.create_table(
        "registry_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("gender", sa.String(length=2), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("ethnicity", sa.String(length=16), nullable=False),
        sa.Column(
            "area_code",
            sa.String(length=6).with_variant(sa.String(length=6, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "community_code",
            sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column(
            "household_no",
            sa.String(length=20).with_variant(sa.String(length=20, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("relation", sa.String(length=8), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_person")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_registry_person_citizen_id")),
    )
    with op.batch_alter_table("registry_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_person_area_code"), ["area_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_registry_person_community_code"), ["community_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registry_person_household_no"), ["household_no"], unique=False)
        batch_op.create_index("ix_registry_person_name", ["name"], unique=False)

    op.create_table(
        "identity_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=18), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=120), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("totp_secret_sealed", sa.Text(), nullable=True),
        sa.Column("totp_enabled", sa.Boolean(), nullable=False),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=50), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_identity_account_department_id_identity_org_unit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_account")),
        sa.UniqueConstraint("username", name=op.f("uq_identity_account_username")),
    )
    with op.batch_alter_table("identity_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_account_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_identity_account_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_identity_account_kind"), ["kind"], unique=False)

    op.create_table(
        "identity_oidc_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner_unit_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("allowed_scopes", sa.String(length=500), nullable=False),
        sa.Column("is_confidential", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_unit_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_identity_oidc_client_owner_unit_id_identity_org_unit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_oidc_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_identity_oidc_client_client_id")),
    )
    with op.batch_alter_table("identity_oidc_client", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_oidc_client_owner_unit_id"), ["owner_unit_id"], unique=False
        )

    op.create_table(
        "identity_access_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=18), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_account.id"],
            name=op.f("fk_identity_access_token_account_id_identity_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_identity_access_token")),
    )
    with op.batch_alter_table("identity_access_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_access_token_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_access_token_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_access_token_session_id"), ["session_id"], unique=False)

    op.create_table(
        "identity_authorization_code",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("code_challenge_method", sa.String(length=10), nullable=True),
        sa.Column("on_behalf_of", sa.String(length=18), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("auth_time", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("auth_methods", sa.String(length=32), nullable=False),
        sa.Column("expires_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_account.id"],
            name=op.f("fk_identity_authorization_code_account_id_identity_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_identity_authorization_code")),
    )
    op.create_table(
        "identity_enterprise_agent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("agent_account_id", sa.Integer(), nullable=False),
        sa.Column("granted_by_account_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("valid_from", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_account_id"],
            ["identity_account.id"],
            name=op.f("fk_identity_enterprise_agent_agent_account_id_identity_account"),
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_account_id"],
            ["identity_account.id"],
            name=op.f("fk_identity_enterprise_agent_granted_by_account_id_identity_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_enterprise_agent")),
    )
    with op.batch_alter_table("identity_enterprise_agent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_enterprise_agent_agent_account_id"), ["agent_account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_identity_enterprise_agent_credit_code"), ["credit_code"], unique=False
        )

    op.create_table(
        "identity_pending_login",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=18), nullable=True),
        sa.Column("next_url", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_account.id"],
            name=op.f("fk_identity_pending_login_account_id_identity_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_pending_login")),
    )
    op.create_table(
        "identity_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=18), nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("auth_methods", sa.String(length=32), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_account.id"],
            name=op.f("fk_identity_session_account_id_identity_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_session")),
    )
    with op.batch_alter_table("identity_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_session_account_id"), ["account_id"], unique=False)

    op.create_table(
        "identity_staff_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("role_code", sa.String(length=32), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_account.id"],
            name=op.f("fk_identity_staff_role_account_id_identity_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_identity_staff_role_org_unit_id_identity_org_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["role_code"], ["identity_role.code"], name=op.f("fk_identity_staff_role_role_code_identity_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_staff_role")),
        sa.UniqueConstraint(
            "account_id", "role_code", "org_unit_id", name=op.f("uq_identity_staff_role_account_id")
        ),
    )
    with op.batch_alter_table("identity_staff_role", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_staff_role_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_staff_role_org_unit_id"), ["org_unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identity_staff_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_staff_role_org_unit_id"))
        batch_op.drop_index(batch_op.f("ix_identity_staff_role_account_id"))

    op.drop_table("identity_staff_role")
    with op.batch_alter_table("identity_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_session_account_id"))

    op.drop_table("identity_session")
    op.drop_table("identity_pending_login")
    with op.batch_alter_table("identity_enterprise_agent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_enterprise_agent_credit_code"))
        batch_op.drop_index(batch_op.f("ix_identity_enterprise_agent_agent_account_id"))

    op.drop_table("identity_enterprise_agent")
    op.drop_table("identity_authorization_code")
    with op.batch_alter_table("identity_access_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_access_token_session_id"))
        batch_op.drop_index(batch_op.f("ix_identity_access_token_client_id"))
        batch_op.drop_index(batch_op.f("ix_identity_access_token_account_id"))

    op.drop_table("identity_access_token")
    with op.batch_alter_table("identity_oidc_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_oidc_client_owner_unit_id"))

    op.drop_table("identity_oidc_client")
    with op.batch_alter_table("identity_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_account_kind"))
        batch_op.drop_index(batch_op.f("ix_identity_account_department_id"))
        batch_op.drop_index(batch_op.f("ix_identity_account_citizen_id"))

    op.drop_table("identity_account")
    with op.batch_alter_table("registry_person", schema=None) as batch_op:
        batch_op.drop_index("ix_registry_person_name")
        batch_op.drop_index(batch_op.f("ix_registry_person_household_no"))
        batch_op.drop_index(batch_op.f("ix_registry_person_community_code"))
        batch_op.drop_index(batch_op.f("ix_registry_person_area_code"))

    op.drop_table("registry_person")
    with op.batch_alter_table("registry_legal_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_legal_person_name"))
        batch_op.drop_index(batch_op.f("ix_registry_legal_person_legal_rep_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_registry_legal_person_area_code"))

    op.drop_table("registry_legal_person")
    op.drop_table("identity_signing_key")
    op.drop_table("identity_role")
    with op.batch_alter_table("identity_org_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_org_unit_region_code"))
        batch_op.drop_index(batch_op.f("ix_identity_org_unit_path"))
        batch_op.drop_index(batch_op.f("ix_identity_org_unit_parent_id"))
        batch_op.drop_index(batch_op.f("ix_identity_org_unit_kind"))

    op.drop_table("identity_org_unit")
    op.drop_table("demo_city")
    op.drop_table("audit_subject")
    op.drop_table("audit_record")
    op.drop_table("audit_head")
    op.drop_table("audit_chain_mark")
    with op.batch_alter_table("audit_anchor", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_anchor_chain")

    op.drop_table("audit_anchor")
