"""Read models of the base registries (plain pydantic, never ORM objects)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class PersonRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    citizen_id: str
    name: str
    gender: str
    birth_date: date
    ethnicity: str
    area_code: str
    community_code: str | None
    address: str
    household_no: str
    relation: str
    phone: str | None
    status: str
    source: str


class LegalPersonRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    credit_code: str
    name: str
    kind: str
    org_form: str
    legal_rep_citizen_id: str
    legal_rep_name: str
    registered_capital_fen: int
    established_on: date
    area_code: str
    address: str
    industry_code: str
    industry_name: str
    status: str
    source: str
