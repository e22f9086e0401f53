"""Rule sets through `/api/v1/governance/rules`: the default, new versions, bad rules, who may edit,
and a load judged by the version in force."""

from __future__ import annotations

from .conftest import API, audit_rows, csv_bytes, people, problem, upload


def test_default_rules_are_version_zero(client, officer_h):
    r = client.get(f"{API}/rules/population", headers=officer_h)
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 0 and body["is_default"] is True
    assert {"type": "citizen_id", "field": "citizen_id", "weight": 1.0} in body["rules"]
    problem(client.get(f"{API}/rules/nowhere", headers=officer_h), 404)
    problem(client.get(f"{API}/rules/population", headers=officer_h, params={"version": 7}), 404)


def test_saving_rules_makes_a_new_version_that_judges_the_next_load(client, officer_h, db):
    rules = client.get(f"{API}/rules/population", headers=officer_h).json()["rules"]
    rules.append(
        {"type": "enum", "field": "ethnicity", "values": ["汉族"], "message": "仅接受汉族（测试规则）"}
    )
    r = client.put(f"{API}/rules/population", headers=officer_h, json={"rules": rules, "note": "测试"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["note"] == "测试"
    rows = people(3, seed=71)
    rows[0]["ethnicity"] = "满族"
    report = upload(client, officer_h, csv_bytes(rows)).json()
    assert report["rule_set_version"] == 1
    assert {h["rule"]: h["hits"] for h in report["rule_hits"]}["ethnicity.enum"] == 1
    history = client.get(f"{API}/rules/population/history", headers=officer_h).json()
    assert [v["version"] for v in history] == [1, 0]
    assert client.get(f"{API}/rules/population", headers=officer_h, params={"version": 0}).json()[
        "is_default"
    ]
    assert audit_rows(db, "governance.rules.update")[-1].object_id == "population@1"


def test_bad_rules_are_refused_with_positions(client, officer_h):
    body = problem(
        client.put(
            f"{API}/rules/population",
            headers=officer_h,
            json={
                "rules": [{"type": "required", "field": "shoe_size"}, {"type": "pattern", "field": "phone"}]
            },
        ),
        422,
    )
    fields = [e["field"] for e in body["errors"]]
    assert "rules.0.field" in fields and "rules.1" in fields
    problem(client.put(f"{API}/rules/population", headers=officer_h, json={"rules": "all of them"}), 422)
    problem(client.put(f"{API}/rules/population", headers=officer_h, json={}), 422)


def test_only_the_authority_or_an_admin_edits_rules(client, officer_h, second_h, admin_h, citizen_h, db):
    rules = [{"type": "required", "field": "credit_code"}]
    body = problem(client.put(f"{API}/rules/legal_person", headers=officer_h, json={"rules": rules}), 403)
    assert "市市场监管局" in body["detail"]
    assert audit_rows(db, "governance.rules.update", "refused")[-1].object_id == "legal_person"
    problem(client.put(f"{API}/rules/population", headers=second_h, json={"rules": rules}), 403)
    problem(client.put(f"{API}/rules/population", headers=citizen_h, json={"rules": rules}), 403)
    problem(client.put(f"{API}/rules/population", json={"rules": rules}), 401)
    # Any data officer may read them; the platform admin may edit any.
    assert client.get(f"{API}/rules/legal_person", headers=officer_h).status_code == 200
    r = client.put(f"{API}/rules/legal_person", headers=admin_h, json={"rules": rules})
    assert r.status_code == 200 and r.json()["version"] == 1
