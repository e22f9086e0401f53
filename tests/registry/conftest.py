"""Registry test fixtures: the department registries generated for the test city, inside the test's
rolled-back transaction (so every test starts from the same rows, whatever the city build holds)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from yiwang.core.db import Base
from yiwang.demo.registries import build_department_registries

SEED = 2026
DEPARTMENT_TABLES = (
    "registry_household",
    "registry_no_criminal_record",
    "registry_marriage",
    "registry_social_insurance",
    "registry_property",
    "registry_tax_status",
    "registry_birth_certificate",
    "registry_school_enrolment",
    "registry_external_source",
)


def clear_department_registries(session: Session) -> None:
    """Empty the department registries (in the test's transaction), whatever the city build put there."""
    for name in DEPARTMENT_TABLES:
        session.execute(delete(Base.metadata.tables[name]))
    legal = Base.metadata.tables["registry_legal_person"]
    session.execute(delete(legal).where(legal.c.source == "市委编办"))  # schools added by a generator run


@pytest.fixture
def registries(session: Session) -> dict[str, int]:
    """The department registries of the whole test city, generated with the demo's generator."""
    clear_department_registries(session)
    return build_department_registries(session, rng_seed=SEED)
