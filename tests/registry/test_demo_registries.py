"""The demo's department registries: deterministic for a seed, consistent with the population and
legal-person registries, in realistic proportions; also from a handful of bare person tuples."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select

import yiwang.registry as registry
from tests.registry.conftest import SEED, clear_department_registries
from yiwang.core.db import Base
from yiwang.core.ids import is_valid_citizen_id, is_valid_credit_code
from yiwang.demo.registries import build_department_registries

KEYS = (
    "household",
    "no_criminal_record",
    "marriage",
    "social_insurance",
    "property",
    "tax_status",
    "birth_certificate",
    "school_enrolment",
)


def _all(session, key: str) -> list[dict]:
    rows: list[dict] = []
    while page := registry.fetch_slice(session, key, offset=len(rows), limit=10_000):
        rows += page
    return rows


def _people(session) -> dict[str, registry.PersonRecord]:
    t = Base.metadata.tables["registry_person"]
    ids = session.scalars(select(t.c.citizen_id)).all()
    return {cid: registry.find_person(session, cid) for cid in ids}


def test_counts_match_the_rows_and_every_registry_has_rows(session, registries):
    assert set(registries) == {*KEYS, "legal_person"}
    for key in KEYS:
        assert registries[key] > 0, key
        assert registry.count_rows(session, key) == registries[key], key
    assert registries["household"] == registry.count_rows(session, "population")


def test_the_same_seed_gives_the_same_rows_and_another_seed_others(session, registries):
    first = {key: _all(session, key) for key in KEYS}
    clear_department_registries(session)
    again = build_department_registries(session, rng_seed=SEED)
    assert again == registries
    assert {key: _all(session, key) for key in KEYS} == first
    clear_department_registries(session)
    build_department_registries(session, rng_seed=SEED + 1)
    assert _all(session, "marriage") != first["marriage"]


def test_registries_agree_with_the_base_registries(session, registries):
    people = _people(session)
    legal = Base.metadata.tables["registry_legal_person"]
    credit_codes = set(session.scalars(select(legal.c.credit_code)))
    for row in _all(session, "marriage"):
        a, b = people.get(row["party_a_citizen_id"]), people.get(row["party_b_citizen_id"])
        assert a and b and (a.gender, b.gender) == ("男", "女")
        assert row["registered_on"].year >= max(a.birth_date.year + 22, 1980)
        assert row["certificate_no"][0] == ("J" if row["kind"] == "结婚" else "L")
    # Every couple living together is married.
    couples = [p for p in people.values() if p.relation == "配偶"]
    assert couples
    for spouse in couples:
        kinds = [r["kind"] for r in registry.fetch_by_subject(session, "marriage", spouse.citizen_id)]
        assert kinds.count("结婚") > kinds.count("离婚"), spouse.citizen_id
    for row in _all(session, "social_insurance"):
        assert row["citizen_id"] in people
        assert row["employer_credit_code"] is None or row["employer_credit_code"] in credit_codes
    for row in _all(session, "birth_certificate"):
        child, mother = people[row["child_citizen_id"]], people[row["mother_citizen_id"]]
        assert child.name == row["child_name"] and mother.gender == "女"
        assert row["father_citizen_id"] is None or people[row["father_citizen_id"]].gender == "男"
        assert row["birth_at"].astimezone(registry_tz()).date() == child.birth_date
    schools = {r["school_credit_code"] for r in _all(session, "school_enrolment")}
    assert schools and registry.subject_keys(session, "legal_person", schools) == schools
    for row in _all(session, "school_enrolment"):
        pupil = people[row["student_citizen_id"]]
        assert 5 <= 2025 - pupil.birth_date.year <= 19 and row["grade"].startswith(row["stage"])
    assert {r["credit_code"] for r in _all(session, "tax_status")} == credit_codes
    owners = {r["owner_id"] for r in _all(session, "property")}
    assert owners <= set(people) | credit_codes


def registry_tz():  # noqa: ANN201
    from yiwang.core.clock import SHANGHAI

    return SHANGHAI


def test_identifiers_follow_their_formats(session, registries):
    for row in _all(session, "legal_person"):
        assert is_valid_credit_code(row["credit_code"])
    for row in _all(session, "property"):
        assert row["certificate_no"].startswith("辽（") and "云川市不动产权第" in row["certificate_no"]
        assert len(row["unit_no"]) == 28 and row["unit_no"][12:14] == "GB" and row["unit_no"][19] == "F"
    for row in _all(session, "birth_certificate"):
        number = row["certificate_no"]
        assert len(number) == 10 and number[0].isalpha() and number[1:].isdigit()
    for row in _all(session, "household"):
        assert is_valid_citizen_id(row["head_citizen_id"])


def test_proportions_are_plausible(session, registries):
    records = _all(session, "no_criminal_record")
    adults = [r for r in records if not r["has_record"]]
    assert len(adults) >= 0.97 * len(records)
    assert all(r["record_summary"] for r in records if r["has_record"])
    assert all(r["record_summary"] is None for r in adults)
    workers = Counter(
        r["citizen_id"] for r in _all(session, "social_insurance") if r["insurance_type"] == "养老"
    )
    assert workers and all(12 <= n <= 37 for n in workers.values())
    grades = Counter(r["credit_grade"] for r in _all(session, "tax_status"))
    assert set(grades) <= set("ABMCD")
    households = {p["household_no"] for p in _all(session, "household")}
    homes = {
        r["unit_no"] for r in _all(session, "property") if r["usage"] == "住宅" and r["owner_kind"] == "个人"
    }
    assert 0.1 <= len(homes) / len(households) <= 0.5


def test_from_a_handful_of_bare_person_tuples(session, city):
    clear_department_registries(session)
    citizen = registry.find_person(session, city.accounts["citizen"].citizen_id)
    members = registry.household_members(session, citizen.household_no)
    bare = [(m.citizen_id, m.birth_date, m.gender, m.household_no, m.area_code) for m in members]
    counts = build_department_registries(
        session, rng_seed=7, people=bare, enterprises=[], create_schools=False
    )
    assert counts["household"] == len(members) and counts["legal_person"] == 0 and counts["tax_status"] == 0
    [row] = registry.fetch_by_subject(session, "household", citizen.citizen_id)
    assert row["name"] == citizen.name and row["relation"] == citizen.relation  # filled from the registry
    # Not in the registry at all: relations are inferred within the household.
    strangers = [
        ("110105198001010016", date(1980, 1, 1), "男", "H1", "219502"),
        ("110105198203020028", date(1982, 3, 2), "女", "H1", "219502"),
        ("110105201005060015", date(2010, 5, 6), "男", "H1", "219502"),
    ]
    clear_department_registries(session)
    build_department_registries(session, rng_seed=7, people=strangers, enterprises=[], create_schools=False)
    relations = {r["citizen_id"]: r["relation"] for r in _all(session, "household")}
    assert [relations[s[0]] for s in strangers] == ["户主", "配偶", "子女"]
    [marriage] = registry.fetch_by_subject(session, "marriage", strangers[1][0])
    assert (marriage["party_a_citizen_id"], marriage["kind"]) == (strangers[0][0], "结婚")
