"""一数一源: another department's file is cross-checked against the authoritative registry, never written;
differences become conflicts resolved in favour of the authority, visible to both departments; the
authority confirms or corrects (through the rules and bulk_write, audited)."""

from __future__ import annotations

import polars as pl
import pytest

from yiwang import registry
from yiwang.core.security import PLATFORM
from yiwang.governance import ConflictResolution, cross_check, list_conflicts, load_file, resolve_conflict
from yiwang.governance.service.reading import ROW

from .conftest import API, audit_rows, csv_bytes, people, problem, upload


@pytest.fixture
def loaded(client, officer_h, db):
    """Ten people loaded by the authority (市公安局)."""
    rows = people(10, seed=61)
    r = upload(client, officer_h, csv_bytes(rows))
    assert r.status_code == 201, r.text
    return rows


def current(db, cid: str, field: str):
    with db.session() as s:
        return registry.fetch_by_subject(s, "population", cid, [field])[0][field]


def test_another_departments_file_is_only_cross_checked(client, second_h, officer_h, db, loaded):
    theirs = [dict(r) for r in loaded[:4]]
    theirs[0]["phone"] = "13700000000"
    theirs[1]["address"] = "北京市朝阳区另一个地址"
    stranger = people(1, seed=62)[0]
    r = upload(client, second_h, csv_bytes([*theirs, stranger]))
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["authoritative"] is False
    assert report["source_department"] == "renshe"
    assert report["conflicts"] == 2
    assert report["rows_loaded"] == 4  # compared
    assert report["rows_rejected"] == 1  # the registry has no such person
    # Nothing was written: the authority's values stand.
    assert current(db, loaded[0]["citizen_id"], "phone") == loaded[0]["phone"]
    from .conftest import count_people

    assert count_people(db, [stranger["citizen_id"]]) == 0
    rejected = client.get(f"{API}/loads/{report['id']}/rejected", headers=second_h).json()["items"]
    assert "没有这条记录" in rejected[0]["reasons"][0]["message"]

    # Both departments see the conflicts; the authority's value is the winning one.
    for headers in (second_h, officer_h):
        page = client.get(f"{API}/conflicts", headers=headers, params={"resource_key": "population"}).json()
        attrs = {(c["subject"], c["attribute"]) for c in page["items"]}
        assert (loaded[0]["citizen_id"], "phone") in attrs
    item = next(
        c
        for c in client.get(f"{API}/conflicts", headers=officer_h).json()["items"]
        if c["attribute"] == "phone" and c["subject"] == loaded[0]["citizen_id"]
    )
    assert item["status"] == "resolved_by_authority"
    assert item["winning_value"] == item["authority_value"] == loaded[0]["phone"]
    assert item["source_value"] == "13700000000"
    assert item["authority_department_name"] == "市公安局" and item["source_department_name"] == "市人社局"
    assert client.get(f"{API}/conflicts/{item['id']}", headers=second_h).status_code == 200

    # The same file again records no second copy of an unreviewed conflict.
    again = upload(client, second_h, csv_bytes(theirs)).json()
    assert again["conflicts"] == 2
    total = client.get(
        f"{API}/conflicts", headers=officer_h, params={"subject": loaded[0]["citizen_id"]}
    ).json()
    assert total["total"] == 1


def test_authority_confirms_or_corrects(client, second_h, officer_h, db, loaded):
    theirs = [dict(r) for r in loaded[:2]]
    theirs[0]["phone"] = "13711111111"
    theirs[1]["name"] = "新名字"
    upload(client, second_h, csv_bytes(theirs))
    items = {c["attribute"]: c for c in client.get(f"{API}/conflicts", headers=officer_h).json()["items"]}

    # The other source may not resolve.
    problem(
        client.post(
            f"{API}/conflicts/{items['phone']['id']}/resolve", headers=second_h, json={"action": "confirm"}
        ),
        403,
    )
    assert audit_rows(db, "governance.conflict.resolve", "refused")

    r = client.post(
        f"{API}/conflicts/{items['name']['id']}/resolve",
        headers=officer_h,
        json={"action": "confirm", "note": "户籍为准"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["winning_value"] == loaded[1]["name"]
    problem(
        client.post(
            f"{API}/conflicts/{items['name']['id']}/resolve", headers=officer_h, json={"action": "confirm"}
        ),
        409,
    )

    # A correction must pass the quality rules.
    bad = client.post(
        f"{API}/conflicts/{items['phone']['id']}/resolve",
        headers=officer_h,
        json={"action": "correct", "value": "12"},
    )
    assert problem(bad, 422)["errors"][0]["message"] == "手机号码应为11位，以1开头"
    assert current(db, loaded[0]["citizen_id"], "phone") == loaded[0]["phone"]
    r = client.post(
        f"{API}/conflicts/{items['phone']['id']}/resolve", headers=officer_h, json={"action": "correct"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "corrected" and r.json()["winning_value"] == "13711111111"
    assert current(db, loaded[0]["citizen_id"], "phone") == "13711111111"
    record = audit_rows(db, "governance.conflict.resolve", "ok")[-1]
    assert record.subject == loaded[0]["citizen_id"]
    assert '"after":"13711111111"' in record.detail


def test_conflict_visibility_and_bad_input(client, second_h, officer_h, approver_h, db, loaded):
    theirs = [dict(loaded[0], phone="13722222222")]
    upload(client, second_h, csv_bytes(theirs))
    conflict_id = client.get(f"{API}/conflicts", headers=officer_h).json()["items"][0]["id"]
    problem(client.get(f"{API}/conflicts/{conflict_id}", headers=approver_h), 403)
    problem(client.get(f"{API}/conflicts/99999999", headers=officer_h), 404)
    problem(
        client.post(f"{API}/conflicts/{conflict_id}/resolve", headers=officer_h, json={"action": "merge"}),
        422,
    )
    problem(
        client.post(
            f"{API}/conflicts/{conflict_id}/resolve",
            headers=officer_h,
            json={"action": "correct", "value": " "},
        ),
        422,
    )
    problem(
        client.post(f"{API}/conflicts/99999999/resolve", headers=officer_h, json={"action": "confirm"}), 404
    )
    statuses = client.get(f"{API}/conflicts", headers=officer_h, params={"status": "confirmed"}).json()
    assert all(c["status"] == "confirmed" for c in statuses["items"])


def test_cross_check_function(db, loaded, renshe_officer):
    """`cross_check` compares typed rows with the registry; `record=False` only reports."""
    theirs = pl.DataFrame(
        [
            {
                "citizen_id": loaded[0]["citizen_id"],
                "name": loaded[0]["name"],
                "phone": "13000000000",
                ROW: 2,
            },
            {"citizen_id": loaded[1]["citizen_id"], "name": loaded[1]["name"], "phone": None, ROW: 3},
            {"citizen_id": people(1, seed=63)[0]["citizen_id"], "name": "无此人", "phone": None, ROW: 4},
        ]
    )
    with db.session() as s:
        found = cross_check(s, "population", theirs, source_department="renshe", record=False)
    assert found.checked == 2
    assert found.missing_rows == [4]
    assert [(c.attribute, c.authority_value, c.source_value) for c in found.conflicts] == [
        ("phone", loaded[0]["phone"], "13000000000")
    ]
    with db.session() as s:
        found = cross_check(s, "population", theirs.to_dicts(), source_department="renshe")
        assert found.recorded == 1
        page = list_conflicts(s, renshe_officer, resource_key="population")
    assert page.total == 1


def test_platform_admin_loads_for_another_department(db, loaded):
    rows = [dict(loaded[2], relation="配偶")]
    report = load_file(
        db,
        PLATFORM,
        resource_key="population",
        path_or_bytes=csv_bytes(rows),
        filename="minzheng.csv",
        source_department="minzheng",
    )
    assert report.authoritative is False and report.conflicts == 1
    with db.session() as s:
        page = list_conflicts(s, PLATFORM)
        conflict = next(c for c in page.items if c.source_department == "minzheng")
        resolved = resolve_conflict(
            s, PLATFORM, conflict.id, ConflictResolution(action="correct", value="配偶")
        )
    assert resolved.status == "corrected"
    assert current(db, loaded[2]["citizen_id"], "relation") == "配偶"
