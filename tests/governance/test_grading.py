"""分类分级: proposals from field names and types, applied through the catalog (which owns the grades),
audited as a governance step; only the authority or an admin applies them."""

from __future__ import annotations

from yiwang import catalog, registry
from yiwang.governance.service.grading import propose

from .conftest import API, audit_rows, problem


def test_proposals_follow_the_field():
    pop = registry.resource("population")
    by = {f.name: propose(pop, f) for f in pop.fields}
    assert (by["citizen_id"].grade, by["citizen_id"].sensitive, by["citizen_id"].masking) == (
        "important",
        True,
        "id",
    )
    assert by["phone"].masking == "phone" and by["phone"].sensitive
    assert by["address"].masking == "address"
    assert by["birth_date"].masking == "date_to_year"
    assert by["status"].grade == "general"
    crime = registry.resource("no_criminal_record")
    record = {f.name: propose(crime, f) for f in crime.fields}
    assert record["has_record"].grade == "core" and record["has_record"].sensitive
    assert record["record_summary"].masking == "drop"
    birth = registry.resource("birth_certificate")
    health = {f.name: propose(birth, f) for f in birth.fields}
    assert health["weight_g"].grade == "core" and health["gestational_weeks"].sensitive
    insurance = registry.resource("social_insurance")
    money = {f.name: propose(insurance, f) for f in insurance.fields}
    assert money["amount_fen"].grade == "important"
    legal = registry.resource("legal_person")
    company = {f.name: propose(legal, f) for f in legal.fields}
    assert company["credit_code"].grade == "general" and company["name"].grade == "general"
    # Every core or sensitive proposal names a masking rule (the catalog refuses one without).
    for spec in registry.resources():
        for f in spec.fields:
            p = propose(spec, f)
            assert not (p.grade == "core" or p.sensitive) or p.masking != "none", (spec.key, f.name)


def test_suggestions_show_the_catalog_next_to_the_proposal(client, officer_h, population_entry):
    r = client.get(f"{API}/grading/population", headers=officer_h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["entry_code"] == population_entry
    item = next(x for x in body["suggestions"] if x["field"] == "citizen_id")
    assert item["grade"] == "important" and item["masking"] == "id"
    assert item["current_grade"] is not None
    assert "source" not in [x["field"] for x in body["suggestions"]]
    problem(client.get(f"{API}/grading/nowhere", headers=officer_h), 404)


def test_apply_writes_through_the_catalog(client, officer_h, db, population_entry):
    body = {
        "items": [
            {"field": "phone", "grade": "important", "sensitive_personal": True, "masking": "phone"},
            {"field": "status", "grade": "general", "sensitive_personal": False, "masking": "none"},
        ],
        "reason": "按数据治理建议",
    }
    r = client.post(f"{API}/grading/population", headers=officer_h, json=body)
    assert r.status_code == 200, r.text
    assert "phone" in r.json()["changed"] or "phone" in r.json()["unchanged"]
    with db.session() as s:
        item = catalog.get_entry(s, population_entry).item("phone")
    assert (item.grade, item.sensitive_personal, item.masking) == ("important", True, "phone")
    assert audit_rows(db, "governance.grading.apply")[-1].object_id == population_entry


def test_apply_refusals_and_bad_input(client, officer_h, second_h, db, population_entry):
    good = {"items": [{"field": "phone", "grade": "core", "sensitive_personal": True, "masking": "phone"}]}
    problem(client.post(f"{API}/grading/population", headers=second_h, json=good), 403)
    assert audit_rows(db, "governance.grading.apply", "refused")
    # The catalog's own rule: core data needs a masking rule.
    core_unmasked = {
        "items": [{"field": "phone", "grade": "core", "sensitive_personal": True, "masking": "none"}]
    }
    problem(client.post(f"{API}/grading/population", headers=officer_h, json=core_unmasked), 422)
    problem(client.post(f"{API}/grading/population", headers=officer_h, json={"items": []}), 422)
    unknown = {"items": [{"field": "shoe_size", "grade": "general"}]}
    problem(client.post(f"{API}/grading/population", headers=officer_h, json=unknown), 422)
    twice = {"items": [{"field": "phone", "grade": "general"}, {"field": "phone", "grade": "core"}]}
    problem(client.post(f"{API}/grading/population", headers=officer_h, json=twice), 422)
    problem(
        client.post(
            f"{API}/grading/population",
            headers=officer_h,
            json={"items": [{"field": "phone", "grade": "secret"}]},
        ),
        422,
    )


def test_apply_without_a_catalog_entry(client, admin_h, db):
    from yiwang.core.security import PLATFORM

    with db.session() as s:
        entry = catalog.entry_for_resource(s, "tax_status")
        if entry is not None:  # the demo city catalogues every resource: take this one off
            catalog.unmount_entry(s, PLATFORM, entry.code, "测试：解除挂接")
    body = {"items": [{"field": "credit_grade", "grade": "important"}]}
    refused = problem(client.post(f"{API}/grading/tax_status", headers=admin_h, json=body), 404)
    assert "尚未" in refused["detail"]
    suggestions = client.get(f"{API}/grading/tax_status", headers=admin_h).json()
    assert suggestions["entry_code"] is None and suggestions["suggestions"][0]["current_grade"] is None
