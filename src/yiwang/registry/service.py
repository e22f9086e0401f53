"""Lookups in the base registries. Callers that show personal data to a person audit that access."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.registry.models import LegalPerson, Person
from yiwang.registry.schemas import LegalPersonRecord, PersonRecord


def find_person(session: Session, citizen_id: str) -> PersonRecord | None:
    row = session.scalars(select(Person).where(Person.citizen_id == citizen_id)).first()
    return PersonRecord.model_validate(row) if row else None


def find_legal_person(session: Session, credit_code: str) -> LegalPersonRecord | None:
    row = session.scalars(select(LegalPerson).where(LegalPerson.credit_code == credit_code)).first()
    return LegalPersonRecord.model_validate(row) if row else None


def legal_persons_represented_by(session: Session, citizen_id: str) -> list[LegalPersonRecord]:
    rows = session.scalars(
        select(LegalPerson)
        .where(LegalPerson.legal_rep_citizen_id == citizen_id, LegalPerson.status == "存续")
        .order_by(LegalPerson.name)
    )
    return [LegalPersonRecord.model_validate(r) for r in rows]


def household_members(session: Session, household_no: str) -> list[PersonRecord]:
    rows = session.scalars(select(Person).where(Person.household_no == household_no).order_by(Person.id))
    return [PersonRecord.model_validate(r) for r in rows]
