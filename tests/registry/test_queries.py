"""Reading registry resources: by subject (any subject field), field selection, regional slices with
stable paging, counts, reference checks — on the department registries generated for the test city."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

import yiwang.registry as registry
from yiwang.core.db import Base
from yiwang.core.errors import Invalid


def _table(name: str):  # noqa: ANN202
    return Base.metadata.tables[f"registry_{name}"]


def _one(session, sql) -> object:  # noqa: ANN001
    return session.execute(sql).first()


def test_population_by_subject_with_field_selection(session, city):
    citizen = city.accounts["citizen"].citizen_id
    rows = registry.fetch_by_subject(session, "population", citizen)
    assert len(rows) == 1 and rows[0]["citizen_id"] == citizen
    assert set(rows[0]) == set(registry.resource("population").field_names)
    picked = registry.fetch_by_subject(session, "population", citizen, fields=["name", "birth_date"])
    assert list(picked[0]) == ["name", "birth_date"]
    assert isinstance(picked[0]["birth_date"], date) and picked[0]["name"] == rows[0]["name"]
    assert isinstance(rows[0]["updated_at"], datetime) and rows[0]["updated_at"].tzinfo is not None
    # Lower-case x and spaces are normalised; an unregistered valid ID is simply not there.
    assert registry.fetch_by_subject(session, "population", f" {citizen.lower()} ") == rows
    assert registry.fetch_by_subject(session, "population", "11010519491231002X") == []


def test_legal_person_by_credit_code(session, city):
    rows = registry.fetch_by_subject(session, "legal_person", city.enterprise_credit_code, fields=["name"])
    assert len(rows) == 1 and rows[0]["name"]


@pytest.mark.parametrize(
    ("key", "subject", "message"),
    [
        ("population", "12345", "18位"),
        ("population", "11010519491231002Y", "第18位"),
        ("tax_status", "11010519491231002X", "统一社会信用代码"),
        ("property", "not-an-id-at-all!!", "公民身份号码或统一社会信用代码"),
        ("marriage", "", "请填写"),
    ],
)
def test_a_malformed_subject_is_invalid(session, key, subject, message):
    with pytest.raises(Invalid) as caught:
        registry.fetch_by_subject(session, key, subject)
    assert caught.value.errors[0].field == "subject_id"
    assert message in caught.value.errors[0].message


def test_household_agrees_with_the_population_registry(session, city, registries):
    citizen = city.accounts["citizen"].citizen_id
    [row] = registry.fetch_by_subject(session, "household", citizen)
    person = registry.find_person(session, citizen)
    assert row["household_no"] == person.household_no and row["relation"] == person.relation
    head = [m for m in registry.household_members(session, person.household_no) if m.relation == "户主"][0]
    assert (row["head_citizen_id"], row["head_name"]) == (head.citizen_id, head.name)
    assert row["address"] == person.address and row["police_station"].endswith("派出所")
    assert isinstance(row["registered_on"], date) and row["source"] == "市公安局"


def test_marriage_is_found_from_either_party(session, registries):
    m = _table("marriage")
    a, b, number = _one(
        session,
        select(m.c.party_a_citizen_id, m.c.party_b_citizen_id, m.c.certificate_no).where(m.c.kind == "结婚"),
    )
    for party in (a, b):
        found = registry.fetch_by_subject(session, "marriage", party, fields=["certificate_no", "kind"])
        assert {"certificate_no": number, "kind": "结婚"} in found
    assert number.startswith("J") and len(number.split("-")) == 3


def test_social_insurance_many_months_per_person(session, registries):
    si = _table("social_insurance")
    citizen = session.execute(
        select(si.c.citizen_id)
        .group_by(si.c.citizen_id)
        .order_by(func.count().desc(), si.c.citizen_id)
        .limit(1)
    ).scalar_one()
    rows = registry.fetch_by_subject(session, "social_insurance", citizen)
    pension = [r for r in rows if r["insurance_type"] == "养老"]
    assert 12 <= len(pension) <= 37
    months = [r["month"] for r in pension]
    assert months == sorted(months) and len(set(months)) == len(months)
    assert all(len(mo) == 6 and mo.isdigit() for mo in months)
    for r in rows:
        assert isinstance(r["base_fen"], int) and r["amount_fen"] >= r["personal_fen"] >= 0
        assert r["status"] in ("已缴", "欠缴", "补缴")


def test_property_by_citizen_or_by_enterprise(session, registries):
    p = _table("property")
    for kind in ("个人", "单位"):
        owner = session.execute(select(p.c.owner_id).where(p.c.owner_kind == kind).limit(1)).scalar()
        if owner is None:  # the small test city may have no company owning premises
            assert kind == "单位"
            continue
        rows = registry.fetch_by_subject(session, "property", owner)
        assert rows and all(r["owner_id"] == owner for r in rows)
        assert all(
            r["certificate_no"].startswith("辽（") and r["certificate_no"].endswith("号") for r in rows
        )
        assert all(len(r["unit_no"]) == 28 and r["area_cm2"] % 100 == 0 for r in rows)


def test_tax_status_and_birth_certificate_and_school(session, city, registries):
    [tax] = registry.fetch_by_subject(session, "tax_status", city.enterprise_credit_code)
    assert tax["credit_grade"] in "ABMCD" and tax["status"] in ("正常", "非正常", "注销")
    b = _table("birth_certificate")
    child, mother, father = _one(
        session,
        select(b.c.child_citizen_id, b.c.mother_citizen_id, b.c.father_citizen_id).where(
            b.c.father_citizen_id.is_not(None)
        ),
    )
    for subject in (child, mother, father):
        found = registry.fetch_by_subject(session, "birth_certificate", subject, fields=["child_citizen_id"])
        assert {"child_citizen_id": child} in found
    [row] = registry.fetch_by_subject(session, "birth_certificate", child, fields=["birth_at"])
    assert row["birth_at"].tzinfo is not None
    s = _table("school_enrolment")
    pupil = session.execute(select(s.c.student_citizen_id).limit(1)).scalar_one()
    [school] = registry.fetch_by_subject(session, "school_enrolment", pupil)
    assert school["student_no"] == "G" + pupil and school["stage"] in ("小学", "初中", "高中")


def test_slices_by_region_prefix_page_stably(session, registries):
    total = registry.count_rows(session, "population")
    district = "219502"
    in_district = registry.count_rows(session, "population", region_prefix=district)
    assert 0 < in_district < total
    pages = [
        registry.fetch_slice(
            session,
            "population",
            region_prefix=district,
            fields=["citizen_id", "community_code"],
            offset=o,
            limit=7,
        )
        for o in range(0, in_district + 7, 7)
    ]
    rows = [r for page in pages for r in page]
    assert len(rows) == in_district and len({r["citizen_id"] for r in rows}) == in_district
    assert all(r["community_code"].startswith(district) for r in rows)
    assert all(len(p) == 7 for p in pages[:-2])
    # A street (9 digits) is a smaller slice of the district; a prefix ending in 9 carries correctly.
    street = rows[0]["community_code"][:9]
    in_street = registry.fetch_slice(session, "population", region_prefix=street, fields=["community_code"])
    assert 0 < len(in_street) <= in_district and all(
        r["community_code"].startswith(street) for r in in_street
    )
    assert registry.count_rows(session, "population", region_prefix="219509") == 0
    assert registry.count_rows(session, "legal_person", region_prefix="2195") == registry.count_rows(
        session, "legal_person"
    )
    # Other resources slice on their own region field.
    marriages = registry.fetch_slice(session, "marriage", region_prefix=district, fields=["office_area_code"])
    assert marriages and {r["office_area_code"] for r in marriages} == {district}


def test_prefix_ending_in_nine_and_without_upper_bound(session):
    legal = registry.fetch_slice(session, "legal_person", region_prefix="2199", fields=["area_code"])
    assert legal == []
    assert registry.count_rows(session, "legal_person", region_prefix="999999") == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"region_prefix": "21950A"}, "region_prefix"),
        ({"region_prefix": ""}, "region_prefix"),
        ({"region_prefix": "2195020010010"}, "region_prefix"),
        ({"offset": -1}, "offset"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
    ],
)
def test_bad_slice_arguments_are_invalid(session, kwargs, field):
    with pytest.raises(Invalid) as caught:
        registry.fetch_slice(session, "population", **kwargs)
    assert caught.value.errors[0].field == field


def test_a_resource_without_a_region_field_cannot_be_sliced_by_region(session):
    assert registry.resource("no_criminal_record").region_field is None
    with pytest.raises(Invalid) as caught:
        registry.fetch_slice(session, "no_criminal_record", region_prefix="219502")
    assert "行政区划" in caught.value.errors[0].message
    assert isinstance(registry.fetch_slice(session, "no_criminal_record", limit=5), list)


def test_subject_keys_for_reference_checks(session, city, registries):
    citizen = city.accounts["citizen"].citizen_id
    assert registry.subject_keys(session, "population", [citizen, "11010519491231002X", "", citizen]) == {
        citizen
    }
    assert registry.subject_keys(session, "legal_person", [city.enterprise_credit_code]) == {
        city.enterprise_credit_code
    }
    m = _table("marriage")
    a, b = _one(session, select(m.c.party_a_citizen_id, m.c.party_b_citizen_id))
    assert registry.subject_keys(session, "marriage", [a, b, "x"]) == {a, b}
    many = [f"{i:018d}" for i in range(2500)] + [citizen]
    assert registry.subject_keys(session, "population", many) == {citizen}


def test_storage_of_is_the_declared_kind_without_a_registration(session):
    assert registry.storage_of(session, "population") == "table"
    assert registry.storage_of(session, "social_insurance") == "file"
    assert {s.storage for s in registry.resources()} <= {"table", "file", "external"}
