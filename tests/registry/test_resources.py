"""Resource specs: every spec matches its table, keys and departments are real, lookups of unknown
resources and fields are clear problems; the public face keeps its old names."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import BigInteger, Boolean, Date, Integer, String, Text, UniqueConstraint

import yiwang.registry as registry
from yiwang.core.db import Base, UTCDateTime
from yiwang.core.errors import Invalid, NotFound
from yiwang.demo.orgs import CITY_DEPARTMENTS

KEYS = {
    "population",
    "legal_person",
    "household",
    "no_criminal_record",
    "marriage",
    "social_insurance",
    "property",
    "tax_status",
    "birth_certificate",
    "school_enrolment",
}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
COLUMN_TYPES = {
    "string": (String, Text),
    "int": (Integer,),
    "money_fen": (BigInteger,),
    "date": (Date,),
    "datetime": (UTCDateTime,),
    "bool": (Boolean,),
}
DEPARTMENTS = {short: short_name for short, _full, short_name, _parent, _type in CITY_DEPARTMENTS}


def test_the_resource_keys():
    assert set(registry.RESOURCE_KEYS) == KEYS
    assert [s.key for s in registry.resources()] == list(registry.RESOURCE_KEYS)
    assert registry.resources()[0].key == "population"


@pytest.mark.parametrize("spec", registry.resources(), ids=lambda s: s.key)
def test_every_spec_matches_its_table(spec: registry.ResourceSpec):
    table = Base.metadata.tables[spec.table]
    assert (
        spec.table == "registry_person"
        or spec.table == "registry_legal_person"
        or (spec.table == f"registry_{spec.key}")
    )
    columns = {c.name: c for c in table.columns if c.name != "id"}
    # Every column is a field and every field a column, with the declared type and nullability.
    assert set(spec.field_names) == set(columns), spec.key
    for f in spec.fields:
        column = columns[f.name]
        assert isinstance(column.type, COLUMN_TYPES[f.type]), (spec.key, f.name, column.type)
        if f.type == "int":
            assert not isinstance(column.type, Boolean)
        assert column.nullable == f.nullable, (spec.key, f.name)
        assert CHINESE.search(f.label), (spec.key, f.name)
        assert f.type in registry.FIELD_TYPES
    assert len(set(spec.field_names)) == len(spec.fields)
    assert CHINESE.search(spec.name) and CHINESE.search(spec.summary)
    # Subjects, region and natural key are fields; subject fields are indexed; the key is unique.
    assert spec.subject_fields and set(spec.subject_fields) <= set(spec.field_names)
    assert spec.subject_kind in ("citizen", "enterprise")
    assert set(spec.subject_kinds) <= {"citizen", "enterprise"}
    for name in spec.subject_fields:
        indexed = any(ix.columns[0].name == name for ix in table.indexes) or any(
            isinstance(c, UniqueConstraint) and next(iter(c.columns)).name == name for c in table.constraints
        )
        assert indexed, (spec.key, name)
    if spec.region_field is not None:
        assert spec.region_field in spec.field_names
        assert columns[spec.region_field].type.length in (6, 12)
    uniques = [
        tuple(c.name for c in uq.columns) for uq in table.constraints if isinstance(uq, UniqueConstraint)
    ]
    uniques += [tuple(c.name for c in ix.columns) for ix in table.indexes if ix.unique]
    assert spec.key_fields in uniques, (spec.key, uniques)
    # Owned by a real department of the city, whose name is the rows' default source.
    assert spec.department in DEPARTMENTS
    assert spec.department_name == DEPARTMENTS[spec.department]
    assert spec.storage in registry.STORAGE_KINDS
    assert {"source", "updated_at"} <= set(spec.field_names)


def test_departments_of_the_department_registries():
    owner = {s.key: s.department for s in registry.resources()}
    assert owner == {
        "population": "gongan",
        "legal_person": "shichang",
        "household": "gongan",
        "no_criminal_record": "gongan",
        "marriage": "minzheng",
        "social_insurance": "renshe",
        "property": "ziranziyuan",
        "tax_status": "shuiwu",
        "birth_certificate": "weijian",
        "school_enrolment": "jiaoyu",
    }
    assert registry.resource("marriage").subject_fields == ("party_a_citizen_id", "party_b_citizen_id")
    assert registry.resource("property").subject_kinds == ("citizen", "enterprise")
    assert registry.resource("tax_status").subject_kind == "enterprise"
    assert registry.resource("property").field_spec("area_cm2").unit == "平方厘米"


def test_unknown_resource_is_a_not_found_problem(session):
    with pytest.raises(NotFound) as caught:
        registry.resource("vehicle")
    problem = caught.value
    assert problem.status == 404 and problem.type == "/problems/not-found"
    assert CHINESE.search(problem.title) and "vehicle" in problem.detail
    assert "population" in problem.as_dict()["known"]
    for call in (
        lambda: registry.fetch_by_subject(session, "vehicle", "11010519491231002X"),
        lambda: registry.fetch_slice(session, "vehicle"),
        lambda: registry.count_rows(session, "vehicle"),
        lambda: registry.subject_keys(session, "vehicle", []),
        lambda: registry.bulk_write(session, "vehicle", [{"a": 1}]),
    ):
        with pytest.raises(NotFound):
            call()


def test_unknown_field_is_an_invalid_problem_in_chinese(session):
    with pytest.raises(Invalid) as caught:
        registry.fetch_by_subject(session, "population", "11010519491231002X", fields=["name", "salary"])
    problem = caught.value
    assert problem.status == 422
    assert problem.errors[0].field == "fields"
    assert "salary" in problem.errors[0].message and "人口基础信息" in problem.errors[0].message
    assert CHINESE.search(problem.title)
    with pytest.raises(Invalid):
        registry.fetch_slice(session, "marriage", fields=["certificate_no", "nope"])
    with pytest.raises(Invalid):
        registry.fetch_slice(session, "marriage", fields=[])
    with pytest.raises(Invalid):
        registry.resource("tax_status").field_spec("profit")


def test_the_public_face_keeps_the_foundation_names():
    for name in (
        "find_person",
        "find_legal_person",
        "household_members",
        "legal_persons_represented_by",
        "PersonRecord",
        "LegalPersonRecord",
        "resources",
        "resource",
        "ResourceSpec",
        "FieldSpec",
        "fetch_by_subject",
        "fetch_slice",
        "count_rows",
        "subject_keys",
        "bulk_write",
        "ExternalResourceAdapter",
        "HttpResourceAdapter",
        "register_external_source",
        "external_adapter",
        "UpstreamError",
        "UpstreamTimeout",
    ):
        assert name in registry.__all__ and hasattr(registry, name), name
