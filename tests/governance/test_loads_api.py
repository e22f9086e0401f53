"""Loading files through `/api/v1/governance/loads`: every format and encoding, whole-file refusals that
load nothing, per-row rejections with their reasons, the quality report, rejected rows (list, export,
correct, dismiss, reload), a failure midway that leaves nothing behind, and the actors who are refused."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from yiwang import registry
from yiwang.governance.models import Load, RejectedRow

from .conftest import (
    API,
    audit_count,
    audit_rows,
    bad_check_digit,
    count_people,
    csv_bytes,
    json_bytes,
    parquet_bytes,
    people,
    problem,
    upload,
    xlsx_bytes,
)


def load_row(db, load_id: int) -> Load:
    with db.session() as s:
        row = s.get(Load, load_id)
        s.expunge_all()
        return row


# ================================================================= formats and encodings


@pytest.mark.parametrize(
    "name, data, encoding",
    [
        ("utf8.csv", lambda rows: csv_bytes(rows), "UTF-8"),
        ("bom.csv", lambda rows: csv_bytes(rows, bom=True), "UTF-8-BOM"),
        ("gbk.csv", lambda rows: csv_bytes(rows, encoding="gbk"), "GBK"),
        ("people.xlsx", xlsx_bytes, None),
        ("people.json", json_bytes, "UTF-8"),
        ("people.jsonl", lambda rows: json_bytes(rows, lines=True), "UTF-8"),
        ("people.parquet", parquet_bytes, None),
    ],
)
def test_every_format_and_encoding_loads(client, officer_h, db, name, data, encoding):
    rows = people(30, seed=hash(name) % 1000)
    r = upload(client, officer_h, data(rows), name)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "succeeded"
    assert body["encoding"] == encoding
    assert (body["rows_read"], body["rows_loaded"], body["rows_rejected"]) == (30, 30, 0)
    assert body["quality_score"] == 100.0
    assert body["authoritative"] is True and body["source_department"] == "gongan"
    assert count_people(db, [x["citizen_id"] for x in rows]) == 30
    with db.session() as s:
        person = registry.fetch_by_subject(s, "population", rows[0]["citizen_id"])[0]
    assert person["name"] == rows[0]["name"]
    assert person["source"] == "市公安局"
    assert audit_count(db, "governance.load", "ok") >= 1


def test_chinese_headers_are_accepted(client, officer_h, db):
    spec = registry.resource("population")
    labels = {f.name: f.label for f in spec.fields}
    rows = people(5, seed=41)
    data = csv_bytes(rows, header=[labels[c] for c in rows[0]])
    r = upload(client, officer_h, data)
    assert r.status_code == 201, r.text
    assert r.json()["rows_loaded"] == 5


# ================================================================= whole-file refusals


def test_undecodable_file_is_refused_nothing_loaded_and_logged(client, officer_h, db):
    rows = people(10, seed=42)
    data = csv_bytes(rows)[:-30] + b"\xff\xfe\x80\x81\n"
    r = upload(client, officer_h, data)
    body = problem(r, 422)
    assert "文件编码无法识别" in body["detail"]
    load = load_row(db, body["load_id"])
    assert load.status == "failed" and "编码" in load.error
    assert count_people(db, [x["citizen_id"] for x in rows]) == 0
    refused = audit_rows(db, "governance.load", "refused")
    assert refused and refused[-1].object_id == str(body["load_id"])


def test_wrong_columns_are_refused_with_names_and_nothing_is_loaded(client, officer_h, db):
    rows = people(10, seed=43)
    for row in rows:
        row.pop("name")
        row["favourite_colour"] = "蓝"
    r = upload(client, officer_h, csv_bytes(rows))
    body = problem(r, 422)
    assert "缺少必填列 姓名（name）" in body["detail"]
    assert "无法识别的列 favourite_colour" in body["detail"]
    assert body["missing_columns"] == ["name"]
    assert body["unknown_columns"] == ["favourite_colour"]
    assert count_people(db, [x["citizen_id"] for x in rows]) == 0
    assert load_row(db, body["load_id"]).status == "failed"


def test_malformed_csv_lines_are_refused(client, officer_h, db):
    rows = people(5, seed=44)
    data = csv_bytes(rows) + b"1,2,3\n"
    body = problem(upload(client, officer_h, data), 422)
    assert "第 7 行：列数少于表头" in body["detail"]
    assert count_people(db, [x["citizen_id"] for x in rows]) == 0


def test_loader_columns_are_ignored_and_said_so(client, officer_h, db):
    rows = [{**r, "source": "别的部门"} for r in people(3, seed=45)]
    r = upload(client, officer_h, csv_bytes(rows))
    assert r.status_code == 201, r.text
    assert "source" in r.json()["error"]
    with db.session() as s:
        assert registry.fetch_by_subject(s, "population", rows[0]["citizen_id"])[0]["source"] == "市公安局"


# ================================================================= per-row rejections


def test_duplicates_and_bad_check_digits_are_rejected_per_row(client, officer_h, db):
    rows = people(20, seed=46)
    rows[4]["citizen_id"] = rows[3]["citizen_id"]
    rows[10]["citizen_id"] = bad_check_digit(rows[10]["citizen_id"])
    rows[12]["name"] = ""
    r = upload(client, officer_h, csv_bytes(rows))
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["status"] == "partial"
    assert (report["rows_read"], report["rows_loaded"], report["rows_rejected"]) == (20, 16, 4)
    hits = {h["rule"]: h["hits"] for h in report["rule_hits"]}
    assert hits["citizen_id.unique"] == 2
    assert hits["citizen_id.citizen_id"] == 1
    assert hits["name.required"] == 1
    assert 0 < report["quality_score"] < 100
    rejected = client.get(f"{API}/loads/{report['id']}/rejected", headers=officer_h).json()
    assert rejected["total"] == 4
    by_row = {x["row_number"]: x for x in rejected["items"]}
    assert sorted(by_row) == [5, 6, 12, 14]  # header is row 1
    assert "首次出现在第 5 行" in by_row[6]["reasons"][0]["message"]
    assert by_row[12]["reasons"] == [
        {
            "field": "citizen_id",
            "rule": "citizen_id.citizen_id",
            "message": "身份证号码校验位不正确，请核对号码",
        }
    ]
    assert by_row[14]["reasons"][0]["rule"] == "name.required"
    assert by_row[12]["data"]["name"] == rows[10]["name"]
    # Nothing rejected reached the registry; everything else did.
    good = [x["citizen_id"] for i, x in enumerate(rows) if i not in (3, 4, 10, 12)]
    assert count_people(db, good) == 16
    assert count_people(db, [rows[3]["citizen_id"], rows[10]["citizen_id"]]) == 0
    assert audit_count(db, "governance.rejected.read") >= 1


def test_insert_refuses_existing_rows_and_upsert_updates_them(client, officer_h, db):
    rows = people(5, seed=47)
    assert upload(client, officer_h, csv_bytes(rows)).status_code == 201
    rows[0]["phone"] = "13800000000"
    again = upload(client, officer_h, csv_bytes(rows)).json()
    assert again["rows_rejected"] == 5 and again["rows_loaded"] == 0
    updated = upload(client, officer_h, csv_bytes(rows), mode="upsert").json()
    assert updated["rows_loaded"] == 5 and updated["rows_rejected"] == 0
    with db.session() as s:
        assert registry.fetch_by_subject(s, "population", rows[0]["citizen_id"])[0]["phone"] == "13800000000"


def test_reference_rule_on_legal_persons(client, admin_h, db, city):
    import random

    from yiwang.core.ids import generate_credit_code

    with db.session() as s:
        known_rep = registry.fetch_slice(s, "population", fields=["citizen_id"], limit=1)[0]["citizen_id"]
    rng = random.Random(8)
    base = {
        "name": "云川测试有限公司", "kind": "企业", "org_form": "有限责任公司", "legal_rep_name": "张三",
        "registered_capital_fen": "100000", "established_on": "2020-01-01", "area_code": "219502",
        "address": "云川市", "industry_code": "I65", "industry_name": "软件", "business_scope": "软件开发",
        "status": "存续",
    }  # fmt: skip
    unknown_rep = people(1, seed=48)[0]["citizen_id"]
    rows = [
        {**base, "credit_code": generate_credit_code(rng, area_code="219502"), "legal_rep_citizen_id": rep}
        for rep in (known_rep, unknown_rep)
    ]
    r = upload(client, admin_h, csv_bytes(rows), resource_key="legal_person")
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["rows_loaded"], report["rows_rejected"]) == (1, 1)
    assert report["authoritative"] is True and report["source_department"] == "shichang"
    hits = {h["rule"]: h["hits"] for h in report["rule_hits"]}
    assert hits["legal_rep_citizen_id.reference"] == 1


# ================================================================= nothing half-loaded


def test_a_failure_midway_leaves_nothing(client, officer_h, db, monkeypatch):
    from yiwang.governance.service import loads

    def broken(session, load_id, rejected):  # after bulk_write has written the good rows
        raise RuntimeError("disk full")

    monkeypatch.setattr(loads, "_insert_rejected", broken)
    rows = people(8, seed=49)
    rows[0]["name"] = ""
    body = problem(upload(client, officer_h, csv_bytes(rows)), 500)
    assert "已全部撤销" in body["title"]
    assert count_people(db, [x["citizen_id"] for x in rows]) == 0
    load = load_row(db, body["load_id"])
    assert load.status == "failed" and load.rows_loaded == 0
    with db.session() as s:
        assert s.scalars(select(RejectedRow).where(RejectedRow.load_id == load.id)).first() is None
    assert audit_rows(db, "governance.load", "failed")[-1].object_id == str(load.id)


def test_a_database_refusal_in_bulk_write_leaves_nothing(client, officer_h, db, monkeypatch):
    from yiwang.core.errors import Conflict
    from yiwang.governance.service import loads

    real = registry.bulk_write

    def half(session, key, rows, mode="insert"):
        real(session, key, rows.head(3), mode=mode)  # some rows are in …
        raise Conflict(detail="唯一键冲突")  # … then the database refuses

    monkeypatch.setattr(loads.registry, "bulk_write", half)
    rows = people(8, seed=50)
    body = problem(upload(client, officer_h, csv_bytes(rows)), 409)
    assert count_people(db, [x["citizen_id"] for x in rows]) == 0
    assert load_row(db, body["load_id"]).status == "failed"


# ================================================================= reports and lists


def test_list_and_report(client, officer_h, db):
    first = upload(client, officer_h, csv_bytes(people(3, seed=51)), "a.csv").json()
    second = upload(client, officer_h, csv_bytes(people(3, seed=52)), "b.csv").json()
    page = client.get(f"{API}/loads", headers=officer_h, params={"resource_key": "population"}).json()
    ids = [x["id"] for x in page["items"]]
    assert ids.index(second["id"]) < ids.index(first["id"])  # newest first
    assert page["total"] >= 2 and page["limit"] == 50
    upload(client, officer_h, b"\xff\xfe\xfd", "broken.csv")
    failed = client.get(f"{API}/loads", headers=officer_h, params={"status": "failed"}).json()["items"]
    assert failed and {x["status"] for x in failed} == {"failed"}
    assert failed[0]["filename"] == "broken.csv"
    one = client.get(f"{API}/loads", headers=officer_h, params={"limit": 1, "offset": 1}).json()
    assert len(one["items"]) == 1 and one["offset"] == 1
    problem(client.get(f"{API}/loads", headers=officer_h, params={"limit": 0}), 422)
    report = client.get(f"{API}/loads/{first['id']}", headers=officer_h).json()
    assert report["filename"] == "a.csv" and report["rule_set_version"] == 0
    problem(client.get(f"{API}/loads/999999", headers=officer_h), 404)


def test_resources_list(client, officer_h):
    items = client.get(f"{API}/resources", headers=officer_h).json()
    by_key = {x["key"]: x for x in items}
    assert by_key["population"]["can_load_authoritative"] is True
    assert by_key["legal_person"]["can_load_authoritative"] is False


def test_rejected_rows_export_csv(client, officer_h):
    rows = people(4, seed=53)
    rows[1]["gender"] = "X"
    load_id = upload(client, officer_h, csv_bytes(rows)).json()["id"]
    r = client.get(f"{API}/loads/{load_id}/rejected.csv", headers=officer_h)
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(table) == 1 and table[0]["行号"] == "3" and "不是允许的取值" in table[0]["拒收原因"]


# ================================================================= correct, dismiss, reload


def test_correct_and_reload(client, officer_h, db):
    rows = people(6, seed=54)
    good_cid = rows[2]["citizen_id"]
    rows[2]["citizen_id"] = bad_check_digit(good_cid)
    rows[4]["gender"] = "不详"
    report = upload(client, officer_h, csv_bytes(rows)).json()
    items = client.get(f"{API}/loads/{report['id']}/rejected", headers=officer_h).json()["items"]
    row_a, row_b = sorted(items, key=lambda x: x["row_number"])

    # Reloading before any correction: nothing to reload.
    problem(client.post(f"{API}/loads/{report['id']}/reload", headers=officer_h), 422)

    fixed = client.patch(
        f"{API}/rejected/{row_a['id']}", headers=officer_h, json={"values": {"citizen_id": good_cid}}
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["status"] == "corrected" and fixed.json()["reasons"] == []
    assert fixed.json()["original"]["citizen_id"] == bad_check_digit(good_cid)
    # A correction that is still wrong is kept, with the reason that remains.
    still = client.patch(
        f"{API}/rejected/{row_b['id']}", headers=officer_h, json={"values": {"gender": "中"}}
    ).json()
    assert still["status"] == "corrected" and still["reasons"][0]["rule"] == "gender.enum"
    problem(
        client.patch(f"{API}/rejected/{row_b['id']}", headers=officer_h, json={"values": {"colour": "x"}}),
        422,
    )
    problem(client.patch(f"{API}/rejected/{row_b['id']}", headers=officer_h, json={"values": {}}), 422)

    r = client.post(f"{API}/loads/{report['id']}/reload", headers=officer_h)
    assert r.status_code == 201, r.text
    again = r.json()
    assert again["parent_load_id"] == report["id"]
    assert (again["rows_read"], again["rows_loaded"], again["rows_rejected"]) == (2, 1, 1)
    assert count_people(db, [good_cid]) == 1
    old = client.get(f"{API}/loads/{report['id']}/rejected", headers=officer_h).json()["items"]
    assert {x["status"] for x in old} == {"reloaded"}
    assert {x["reload_load_id"] for x in old} == {again["id"]}
    new = client.get(f"{API}/loads/{again['id']}/rejected", headers=officer_h).json()["items"]
    assert [x["row_number"] for x in new] == [row_b["row_number"]]  # the original row number stays
    # A reloaded row cannot be changed any more.
    problem(
        client.patch(f"{API}/rejected/{row_a['id']}", headers=officer_h, json={"values": {"name": "x"}}), 409
    )
    assert audit_count(db, "governance.rejected.correct") >= 2


def test_dismiss(client, officer_h, db):
    rows = people(3, seed=55)
    rows[0]["status"] = "??"
    report = upload(client, officer_h, csv_bytes(rows)).json()
    row = client.get(f"{API}/loads/{report['id']}/rejected", headers=officer_h).json()["items"][0]
    r = client.post(f"{API}/rejected/{row['id']}/dismiss", headers=officer_h, json={"reason": "重复登记"})
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    problem(client.post(f"{API}/rejected/{row['id']}/dismiss", headers=officer_h, json={}), 409)
    problem(client.post(f"{API}/rejected/99999999/dismiss", headers=officer_h, json={}), 404)
    assert audit_rows(db, "governance.rejected.dismiss")[-1].object_id == str(row["id"])


# ================================================================= bad input and refused actors


def test_bad_upload_input(client, officer_h):
    body = problem(upload(client, officer_h, csv_bytes(people(2)), resource_key="nowhere"), 404)
    assert "nowhere" in body["detail"]
    problem(upload(client, officer_h, csv_bytes(people(2)), mode="replace"), 422)
    problem(client.post(f"{API}/loads", headers=officer_h, data={"resource_key": "population"}), 422)
    problem(upload(client, officer_h, csv_bytes(people(2)), format="xml"), 422)
    problem(upload(client, officer_h, csv_bytes(people(2)), source_department="no-such-dept"), 422)


def test_anonymous_citizen_and_other_staff_are_refused(client, citizen_h, approver_h, db, city):
    data = csv_bytes(people(2, seed=56))
    problem(upload(client, {}, data), 401)
    problem(upload(client, citizen_h, data), 403)
    before = audit_count(db, "governance.load", "refused")
    problem(upload(client, approver_h, data), 403)
    assert audit_count(db, "governance.load", "refused") == before + 1
    refused = audit_rows(db, "governance.load", "refused")[-1]
    # Refused before the body was read (item 5 of issue 7), so the resource is not known yet.
    assert refused.actor_name and refused.result == "refused"
    for path in (
        "/loads",
        "/loads/1",
        "/loads/1/rejected",
        "/rules/population",
        "/conflicts",
        "/grading/population",
    ):
        problem(client.get(API + path, headers=approver_h), 403)
    assert count_people(db, [x["citizen_id"] for x in people(2, seed=56)]) == 0


def test_officer_cannot_claim_another_departments_name(client, officer_h, db):
    body = problem(
        upload(client, officer_h, csv_bytes(people(2, seed=57)), source_department="minzheng"), 403
    )
    assert "本部门" in body["detail"]
    assert audit_rows(db, "governance.load", "refused")[-1].object_id == "population"


def test_another_departments_officer_sees_neither_the_load_nor_its_rows(client, officer_h, second_h, db):
    rows = people(3, seed=58)
    rows[0]["gender"] = "?"
    report = upload(client, officer_h, csv_bytes(rows)).json()
    problem(client.get(f"{API}/loads/{report['id']}", headers=second_h), 403)
    problem(client.get(f"{API}/loads/{report['id']}/rejected", headers=second_h), 403)
    problem(client.get(f"{API}/loads/{report['id']}/rejected.csv", headers=second_h), 403)
    assert report["id"] not in [x["id"] for x in client.get(f"{API}/loads", headers=second_h).json()["items"]]
    row_id = client.get(f"{API}/loads/{report['id']}/rejected", headers=officer_h).json()["items"][0]["id"]
    problem(
        client.patch(f"{API}/rejected/{row_id}", headers=second_h, json={"values": {"gender": "男"}}), 403
    )
    problem(client.post(f"{API}/rejected/{row_id}/dismiss", headers=second_h, json={}), 403)
    problem(client.post(f"{API}/loads/{report['id']}/reload", headers=second_h), 403)
    assert audit_count(db, "governance.rejected.correct", "refused") == 1
    assert audit_count(db, "governance.rejected.reload", "refused") == 1
