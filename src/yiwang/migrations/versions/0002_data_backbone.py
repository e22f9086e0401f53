"""data backbone: department registries, resource catalog, governance

Revision ID: 0002_data_backbone
Revises: 0001_foundation
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import yiwang.core.db

revision: str = "0002_data_backbone"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The catalog's SQLite full-text table (yiwang.catalog.models.SQLITE_FTS_DDL at the time of writing;
# copied, because a migration must not change when the model module does).
SQLITE_FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS catalog_entry_fts "
    "USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0')"
)


def upgrade() -> None:
    op.create_table(
        "registry_birth_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "certificate_no",
            sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("child_name", sa.String(length=64), nullable=False),
        sa.Column("child_gender", sa.String(length=2), nullable=False),
        sa.Column("birth_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("gestational_weeks", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("length_cm", sa.Integer(), nullable=False),
        sa.Column("hospital", sa.String(length=128), nullable=False),
        sa.Column(
            "area_code",
            sa.String(length=6).with_variant(sa.String(length=6, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "mother_citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("mother_name", sa.String(length=64), nullable=False),
        sa.Column(
            "father_citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("father_name", sa.String(length=64), nullable=True),
        sa.Column(
            "child_citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_birth_certificate")),
        sa.UniqueConstraint("certificate_no", name=op.f("uq_registry_birth_certificate_certificate_no")),
    )
    with op.batch_alter_table("registry_birth_certificate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_birth_certificate_area_code"), ["area_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_birth_certificate_child_citizen_id"), ["child_citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_birth_certificate_father_citizen_id"), ["father_citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_birth_certificate_mother_citizen_id"), ["mother_citizen_id"], unique=False
        )

    op.create_table(
        "registry_external_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("path_template", sa.String(length=300), nullable=False),
        sa.Column("timeout_ms", sa.Integer(), nullable=False),
        sa.Column("auth_header_name", sa.String(length=64), nullable=True),
        sa.Column("auth_header_sealed", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_external_source")),
        sa.UniqueConstraint("key", name=op.f("uq_registry_external_source_key")),
    )
    op.create_table(
        "registry_household",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "household_no",
            sa.String(length=20).with_variant(sa.String(length=20, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("household_type", sa.String(length=8), nullable=False),
        sa.Column(
            "head_citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("head_name", sa.String(length=64), nullable=False),
        sa.Column("relation", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
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
        sa.Column("police_station", sa.String(length=64), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_household")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_registry_household_citizen_id")),
    )
    with op.batch_alter_table("registry_household", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_household_community_code"), ["community_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_household_household_no"), ["household_no"], unique=False
        )

    op.create_table(
        "registry_marriage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "certificate_no",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column(
            "party_a_citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("party_a_name", sa.String(length=64), nullable=False),
        sa.Column(
            "party_b_citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("party_b_name", sa.String(length=64), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("office", sa.String(length=64), nullable=False),
        sa.Column(
            "office_area_code",
            sa.String(length=6).with_variant(sa.String(length=6, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_marriage")),
        sa.UniqueConstraint("certificate_no", name=op.f("uq_registry_marriage_certificate_no")),
    )
    with op.batch_alter_table("registry_marriage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_marriage_office_area_code"), ["office_area_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_marriage_party_a_citizen_id"), ["party_a_citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_marriage_party_b_citizen_id"), ["party_b_citizen_id"], unique=False
        )

    op.create_table(
        "registry_no_criminal_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("has_record", sa.Boolean(), nullable=False),
        sa.Column("record_summary", sa.Text(), nullable=True),
        sa.Column("checked_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_no_criminal_record")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_registry_no_criminal_record_citizen_id")),
    )
    op.create_table(
        "registry_property",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "certificate_no",
            sa.String(length=48).with_variant(sa.String(length=48, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "unit_no",
            sa.String(length=28).with_variant(sa.String(length=28, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "owner_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("owner_kind", sa.String(length=4), nullable=False),
        sa.Column("owner_name", sa.String(length=128), nullable=False),
        sa.Column("co_ownership", sa.String(length=8), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column(
            "community_code",
            sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("area_cm2", sa.BigInteger(), nullable=False),
        sa.Column("usage", sa.String(length=16), nullable=False),
        sa.Column("right_type", sa.String(length=32), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("mortgaged", sa.Boolean(), nullable=False),
        sa.Column("seized", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_property")),
        sa.UniqueConstraint("certificate_no", name=op.f("uq_registry_property_certificate_no")),
    )
    with op.batch_alter_table("registry_property", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_property_community_code"), ["community_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registry_property_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_registry_property_unit_no"), ["unit_no"], unique=False)

    op.create_table(
        "registry_school_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "student_citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("student_name", sa.String(length=64), nullable=False),
        sa.Column(
            "student_no",
            sa.String(length=20).with_variant(sa.String(length=20, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("school_name", sa.String(length=128), nullable=False),
        sa.Column(
            "school_credit_code",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("stage", sa.String(length=4), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column(
            "area_code",
            sa.String(length=6).with_variant(sa.String(length=6, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_school_enrolment")),
        sa.UniqueConstraint(
            "student_citizen_id",
            "school_credit_code",
            name=op.f("uq_registry_school_enrolment_student_citizen_id"),
        ),
    )
    with op.batch_alter_table("registry_school_enrolment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_school_enrolment_area_code"), ["area_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_school_enrolment_school_credit_code"),
            ["school_credit_code"],
            unique=False,
        )

    op.create_table(
        "registry_social_insurance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "citizen_id",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("insurance_type", sa.String(length=4), nullable=False),
        sa.Column(
            "employer_credit_code",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "month",
            sa.String(length=6).with_variant(sa.String(length=6, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("base_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("personal_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column(
            "area_code",
            sa.String(length=6).with_variant(sa.String(length=6, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_social_insurance")),
        sa.UniqueConstraint(
            "citizen_id", "insurance_type", "month", name=op.f("uq_registry_social_insurance_citizen_id")
        ),
    )
    with op.batch_alter_table("registry_social_insurance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_social_insurance_area_code"), ["area_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_social_insurance_employer_credit_code"),
            ["employer_credit_code"],
            unique=False,
        )

    op.create_table(
        "registry_tax_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "credit_code",
            sa.String(length=18).with_variant(sa.String(length=18, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("taxpayer_name", sa.String(length=128), nullable=False),
        sa.Column("taxpayer_type", sa.String(length=16), nullable=False),
        sa.Column("credit_grade", sa.String(length=1), nullable=False),
        sa.Column("has_arrears", sa.Boolean(), nullable=False),
        sa.Column("arrears_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "last_period",
            sa.String(length=6).with_variant(sa.String(length=6, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("tax_authority", sa.String(length=64), nullable=False),
        sa.Column(
            "area_code",
            sa.String(length=6).with_variant(sa.String(length=6, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_tax_status")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_registry_tax_status_credit_code")),
    )
    with op.batch_alter_table("registry_tax_status", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_tax_status_area_code"), ["area_code"], unique=False)

    op.create_table(
        "catalog_demand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_department_id", sa.Integer(), nullable=False),
        sa.Column("requester_name", sa.String(length=100), nullable=False),
        sa.Column("provider_department_id", sa.Integer(), nullable=True),
        sa.Column("provider_name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("wanted_items", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("entry_code", sa.String(length=20), nullable=True),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_by_name", sa.String(length=100), nullable=False),
        sa.Column("answered_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by_name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_catalog_demand_provider_department_id_identity_org_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_department_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_catalog_demand_requester_department_id_identity_org_unit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_demand")),
    )
    with op.batch_alter_table("catalog_demand", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_demand_provider_department_id"), ["provider_department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_demand_requester_department_id"), ["requester_department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_catalog_demand_status"), ["status"], unique=False)

    op.create_table(
        "catalog_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("category_code", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("provider_name", sa.String(length=100), nullable=False),
        sa.Column("provider_code", sa.String(length=32), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("form", sa.String(length=8), nullable=False),
        sa.Column("sharing_type", sa.String(length=16), nullable=False),
        sa.Column("sharing_condition", sa.Text(), nullable=False),
        sa.Column("unshared_reason", sa.Text(), nullable=False),
        sa.Column("sharing_method", sa.String(length=16), nullable=False),
        sa.Column("open_type", sa.String(length=16), nullable=False),
        sa.Column("open_condition", sa.Text(), nullable=False),
        sa.Column("update_cycle", sa.String(length=16), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column("linked_codes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("review_opinion", sa.Text(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "search_vector", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["identity_org_unit.id"],
            name=op.f("fk_catalog_entry_department_id_identity_org_unit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_entry")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_entry_code")),
    )
    with op.batch_alter_table("catalog_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_entry_category_code"), ["category_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_entry_department_id"), ["department_id"], unique=False)
        batch_op.create_index("ix_catalog_entry_department_status", ["department_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_entry_open_type"), ["open_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_entry_published_at"), ["published_at"], unique=False)
        batch_op.create_index(
            "ix_catalog_entry_search_vector", ["search_vector"], unique=False, postgresql_using="gin"
        )
        batch_op.create_index(batch_op.f("ix_catalog_entry_sharing_type"), ["sharing_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_entry_status"), ["status"], unique=False)

    op.create_table(
        "catalog_entry_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entry.id"],
            name=op.f("fk_catalog_entry_event_entry_id_catalog_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_entry_event")),
    )
    with op.batch_alter_table("catalog_entry_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_entry_event_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "catalog_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("field_name", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("data_type", sa.String(length=16), nullable=False),
        sa.Column("length", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("sensitive_personal", sa.Boolean(), nullable=False),
        sa.Column("masking", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entry.id"],
            name=op.f("fk_catalog_item_entry_id_catalog_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_item")),
        sa.UniqueConstraint("entry_id", "field_name", name=op.f("uq_catalog_item_entry_id")),
    )
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_item_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "catalog_mount",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=True),
        sa.Column("endpoint", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("mounted_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("mounted_by", sa.String(length=64), nullable=False),
        sa.Column("mounted_by_name", sa.String(length=100), nullable=False),
        sa.Column("unmounted_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unmounted_by_name", sa.String(length=100), nullable=False),
        sa.Column("unmount_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entry.id"],
            name=op.f("fk_catalog_mount_entry_id_catalog_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_mount")),
    )
    with op.batch_alter_table("catalog_mount", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_mount_active"), ["active"], unique=False)
        batch_op.create_index(
            "ix_catalog_mount_active_entry",
            ["entry_id"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )
        batch_op.create_index(
            "ix_catalog_mount_active_resource",
            ["resource_key"],
            unique=True,
            sqlite_where=sa.text("active AND resource_key IS NOT NULL"),
            postgresql_where=sa.text("active AND resource_key IS NOT NULL"),
        )
        batch_op.create_index(batch_op.f("ix_catalog_mount_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "governance_load",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("source_department", sa.String(length=32), nullable=False),
        sa.Column("authoritative", sa.Boolean(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=True),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("conflicts", sa.Integer(), nullable=False),
        sa.Column("rule_hits", sa.JSON(), nullable=False),
        sa.Column("quality_score", sa.Float(), nullable=True),
        sa.Column("rule_set_version", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("parent_load_id", sa.Integer(), nullable=True),
        sa.Column("started_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["identity_account.id"],
            name=op.f("fk_governance_load_account_id_identity_account"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_load_id"],
            ["governance_load.id"],
            name=op.f("fk_governance_load_parent_load_id_governance_load"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_load")),
    )
    with op.batch_alter_table("governance_load", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_governance_load_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_governance_load_resource_key"), ["resource_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_governance_load_source_department"), ["source_department"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_governance_load_started_at"), ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_governance_load_status"), ["status"], unique=False)

    op.create_table(
        "governance_rule_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["identity_account.id"],
            name=op.f("fk_governance_rule_set_created_by_id_identity_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_rule_set")),
        sa.UniqueConstraint("resource_key", "version", name=op.f("uq_governance_rule_set_resource_key")),
    )
    with op.batch_alter_table("governance_rule_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_governance_rule_set_resource_key"), ["resource_key"], unique=False
        )

    op.create_table(
        "governance_conflict",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_key", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("attribute", sa.String(length=64), nullable=False),
        sa.Column("authority_department", sa.String(length=32), nullable=False),
        sa.Column("authority_value", sa.Text(), nullable=True),
        sa.Column("source_department", sa.String(length=32), nullable=False),
        sa.Column("source_value", sa.Text(), nullable=True),
        sa.Column("load_id", sa.Integer(), nullable=True),
        sa.Column("detected_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("winning_value", sa.Text(), nullable=True),
        sa.Column("resolved_by_name", sa.String(length=64), nullable=False),
        sa.Column("resolved_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["load_id"], ["governance_load.id"], name=op.f("fk_governance_conflict_load_id_governance_load")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_conflict")),
    )
    with op.batch_alter_table("governance_conflict", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_governance_conflict_authority_department"), ["authority_department"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_governance_conflict_load_id"), ["load_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_governance_conflict_resource_key"), ["resource_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_governance_conflict_source_department"), ["source_department"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_governance_conflict_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_governance_conflict_subject"), ["subject"], unique=False)

    op.create_table(
        "governance_rejected_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("original", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reload_load_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_name", sa.String(length=64), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["load_id"],
            ["governance_load.id"],
            name=op.f("fk_governance_rejected_row_load_id_governance_load"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_rejected_row")),
    )
    with op.batch_alter_table("governance_rejected_row", schema=None) as batch_op:
        batch_op.create_index("ix_governance_rejected_row_load", ["load_id", "row_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_governance_rejected_row_subject"), ["subject"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_FTS_DDL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS catalog_entry_fts")
    with op.batch_alter_table("governance_rejected_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_governance_rejected_row_subject"))
        batch_op.drop_index("ix_governance_rejected_row_load")

    op.drop_table("governance_rejected_row")
    with op.batch_alter_table("governance_conflict", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_governance_conflict_subject"))
        batch_op.drop_index(batch_op.f("ix_governance_conflict_status"))
        batch_op.drop_index(batch_op.f("ix_governance_conflict_source_department"))
        batch_op.drop_index(batch_op.f("ix_governance_conflict_resource_key"))
        batch_op.drop_index(batch_op.f("ix_governance_conflict_load_id"))
        batch_op.drop_index(batch_op.f("ix_governance_conflict_authority_department"))

    op.drop_table("governance_conflict")
    with op.batch_alter_table("governance_rule_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_governance_rule_set_resource_key"))

    op.drop_table("governance_rule_set")
    with op.batch_alter_table("governance_load", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_governance_load_status"))
        batch_op.drop_index(batch_op.f("ix_governance_load_started_at"))
        batch_op.drop_index(batch_op.f("ix_governance_load_source_department"))
        batch_op.drop_index(batch_op.f("ix_governance_load_resource_key"))
        batch_op.drop_index(batch_op.f("ix_governance_load_department"))

    op.drop_table("governance_load")
    with op.batch_alter_table("catalog_mount", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_mount_entry_id"))
        batch_op.drop_index(
            "ix_catalog_mount_active_resource",
            sqlite_where=sa.text("active AND resource_key IS NOT NULL"),
            postgresql_where=sa.text("active AND resource_key IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_catalog_mount_active_entry",
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )
        batch_op.drop_index(batch_op.f("ix_catalog_mount_active"))

    op.drop_table("catalog_mount")
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_item_entry_id"))

    op.drop_table("catalog_item")
    with op.batch_alter_table("catalog_entry_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_entry_event_entry_id"))

    op.drop_table("catalog_entry_event")
    with op.batch_alter_table("catalog_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_entry_status"))
        batch_op.drop_index(batch_op.f("ix_catalog_entry_sharing_type"))
        batch_op.drop_index("ix_catalog_entry_search_vector", postgresql_using="gin")
        batch_op.drop_index(batch_op.f("ix_catalog_entry_published_at"))
        batch_op.drop_index(batch_op.f("ix_catalog_entry_open_type"))
        batch_op.drop_index("ix_catalog_entry_department_status")
        batch_op.drop_index(batch_op.f("ix_catalog_entry_department_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_entry_category_code"))

    op.drop_table("catalog_entry")
    with op.batch_alter_table("catalog_demand", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_demand_status"))
        batch_op.drop_index(batch_op.f("ix_catalog_demand_requester_department_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_demand_provider_department_id"))

    op.drop_table("catalog_demand")
    with op.batch_alter_table("registry_tax_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_tax_status_area_code"))

    op.drop_table("registry_tax_status")
    with op.batch_alter_table("registry_social_insurance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_social_insurance_employer_credit_code"))
        batch_op.drop_index(batch_op.f("ix_registry_social_insurance_area_code"))

    op.drop_table("registry_social_insurance")
    with op.batch_alter_table("registry_school_enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_school_enrolment_school_credit_code"))
        batch_op.drop_index(batch_op.f("ix_registry_school_enrolment_area_code"))

    op.drop_table("registry_school_enrolment")
    with op.batch_alter_table("registry_property", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_property_unit_no"))
        batch_op.drop_index(batch_op.f("ix_registry_property_owner_id"))
        batch_op.drop_index(batch_op.f("ix_registry_property_community_code"))

    op.drop_table("registry_property")
    op.drop_table("registry_no_criminal_record")
    with op.batch_alter_table("registry_marriage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_marriage_party_b_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_registry_marriage_party_a_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_registry_marriage_office_area_code"))

    op.drop_table("registry_marriage")
    with op.batch_alter_table("registry_household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_household_household_no"))
        batch_op.drop_index(batch_op.f("ix_registry_household_community_code"))

    op.drop_table("registry_household")
    op.drop_table("registry_external_source")
    with op.batch_alter_table("registry_birth_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_birth_certificate_mother_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_registry_birth_certificate_father_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_registry_birth_certificate_child_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_registry_birth_certificate_area_code"))

    op.drop_table("registry_birth_certificate")
