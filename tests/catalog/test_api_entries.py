"""Entries through the REST API: drafting, editing, submitting, reviewing, retiring, reading.

Every endpoint with good input, bad input (which must change nothing) and the actors who must be
refused (refusals land in the audit chain); the state machine and the timeline.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.identity.helpers import problem
from yiwang.catalog.models import CatalogEntry, CatalogEntryEvent

from .conftest import API, audit_rows, draft, entry_body, publish, url


def entry_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count(CatalogEntry.id))) or 0


def timeline_actions(client, headers, code: str) -> list[str]:
    r = client.get(f"{url(code)}/timeline", headers=headers)
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()]


# ================================================================= drafting


def test_officer_drafts_an_entry_for_their_department(client, city, db, officer_h):
    e = draft(client, officer_h)
    assert e["code"].startswith("101001/") and len(e["code"]) == 13
    assert e["status"] == "draft" and e["version"] == 1
    assert e["department_id"] == city.departments["gongan"]
    assert e["provider_name"] == "市公安局" and e["provider_code"]
    assert [i["field_name"] for i in e["items"]] == ["citizen_id", "name", "gender", "birth_date", "address"]
    assert e["items"][0]["sensitive_personal"] is True and e["items"][0]["masking"] == "id"
    assert e["mount"] is None and e["published_at"] is None
    assert timeline_actions(client, officer_h, e["code"]) == ["drafted"]
    rows = audit_rows(db, "catalog.entry.draft")
    assert rows and rows[-1].object_id == e["code"] and rows[-1].result == "ok"


def test_codes_follow_the_classification_and_count_up(client, officer_h):
    a = draft(client, officer_h, category_code="312001")
    b = draft(client, officer_h, category_code="312001")
    c = draft(client, officer_h, category_code="312001002")
    seq_a, seq_b = int(a["code"].split("/")[1]), int(b["code"].split("/")[1])
    assert a["code"].startswith("312001/") and seq_b == seq_a + 1
    assert c["code"].startswith("312001002/")


def test_a_given_code_is_used_and_must_be_free(client, db, officer_h):
    e = draft(client, officer_h, code="317009/000042", category_code="317009")
    assert e["code"] == "317009/000042"
    before = entry_count(db)
    r = client.post(
        f"{API}/entries", json=entry_body(code="317009/000042", category_code="317009"), headers=officer_h
    )
    problem(r, 409)
    r = client.post(
        f"{API}/entries", json=entry_body(code="317009-000043", category_code="101001"), headers=officer_h
    )
    assert problem(r, 422)["errors"][0]["field"] == "code"
    assert entry_count(db) == before


def test_platform_admin_drafts_for_any_department(client, city, admin_h):
    e = draft(client, admin_h, department_id=city.departments["minzheng"])
    assert e["provider_name"] == "市民政局"


BAD_INPUTS = [
    ({"sharing_condition": ""}, "sharing_condition", "共享条件"),
    ({"sharing_type": "none", "sharing_condition": "", "sharing_method": ""}, "unshared_reason", "依据"),
    ({"code": "10100/000001"}, "code", "资源代码格式"),
    ({"code": "101001/000000"}, "code", "顺序码"),
    ({"category_code": "401001"}, "category_code", "类代码"),
    ({"category_code": "199001"}, "category_code", "项代码"),
    ({"category_code": "101000"}, "category_code", "目代码"),
    ({"category_code": "10100"}, "category_code", "分类代码"),
    ({"department_id": 999999}, "department_id", "不存在"),
    ({"form": "database"}, "form", "不是允许的取值"),
    ({"sharing_type": "maybe"}, "sharing_type", "不是允许的取值"),
    ({"update_cycle": "hourly"}, "update_cycle", "不是允许的取值"),
    ({"sharing_method": ""}, "sharing_method", "共享方式"),
    (
        {
            "open_type": "unconditional",
            "sharing_type": "none",
            "unshared_reason": "依法",
            "sharing_method": "",
        },
        "open_type",
        "不能向社会开放",
    ),
    ({"open_type": "conditional"}, "open_condition", "开放条件"),
    ({"linked_codes": ["101001/999999"]}, "linked_codes", "不存在"),
    ({"linked_codes": ["bad"]}, "linked_codes", "资源代码格式"),
    ({"name": "x"}, "name", "至少填写"),
    ({"colour": "blue"}, "colour", "不允许的字段"),
]


@pytest.mark.parametrize(("change", "field", "words"), BAD_INPUTS)
def test_bad_drafts_are_refused_with_the_failing_field_and_change_nothing(
    client, db, officer_h, change, field, words
):
    before = entry_count(db)
    r = client.post(f"{API}/entries", json=entry_body(**change), headers=officer_h)
    body = problem(r, 422)
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert field in fields, body
    assert words in fields[field], body
    assert entry_count(db) == before


ITEM_BAD = [
    ({"grade": "secret"}, "items.0.grade"),
    ({"masking": "blur"}, "items.0.masking"),
    ({"data_type": "blob"}, "items.0.data_type"),
    ({"field_name": "Citizen-ID"}, "items.0.field_name"),
    ({"grade": "core", "masking": "none"}, "items.0.masking"),
    ({"sensitive_personal": True, "masking": "none"}, "items.0.masking"),
]


@pytest.mark.parametrize(("change", "field"), ITEM_BAD)
def test_bad_items_are_refused(client, db, officer_h, change, field):
    items = [{"field_name": "citizen_id", "name": "公民身份号码"}]
    items[0].update(change)
    before = entry_count(db)
    body = problem(client.post(f"{API}/entries", json=entry_body(items=items), headers=officer_h), 422)
    assert field in {e["field"] for e in body["errors"]}, body
    assert entry_count(db) == before


def test_duplicate_item_names_are_refused(client, officer_h):
    items = [{"field_name": "name", "name": "姓名"}, {"field_name": "name", "name": "名字"}]
    body = problem(client.post(f"{API}/entries", json=entry_body(items=items), headers=officer_h), 422)
    assert "重复" in body["detail"]


def test_drafting_is_refused_to_citizens_clerks_and_other_departments(
    client, city, db, citizen_h, clerk_h, other_officer_h
):
    before = entry_count(db)
    problem(client.post(f"{API}/entries", json=entry_body(), headers=citizen_h), 403)
    problem(client.post(f"{API}/entries", json=entry_body(), headers=clerk_h), 403)
    body = problem(
        client.post(
            f"{API}/entries",
            json=entry_body(department_id=city.departments["gongan"]),
            headers=other_officer_h,
        ),
        403,
    )
    assert "本部门" in body["detail"]
    problem(client.post(f"{API}/entries", json=entry_body()), 401)
    assert entry_count(db) == before
    refused = audit_rows(db, "catalog.entry.draft", "refused")
    assert len(refused) >= 3
    assert {r.actor_name for r in refused[-3:]} >= {city.accounts["citizen"].display_name}


# ================================================================= editing


def test_update_a_draft(client, db, officer_h):
    e = draft(client, officer_h)
    r = client.patch(
        url(e["code"]), json={"name": "户籍人口信息（修订）", "update_cycle": "daily"}, headers=officer_h
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "户籍人口信息（修订）" and body["update_cycle"] == "daily"
    assert body["version"] == 2 and body["code"] == e["code"]
    assert len(body["items"]) == 5  # items untouched when not given
    with db.session() as s:
        ev = s.scalars(
            select(CatalogEntryEvent)
            .where(CatalogEntryEvent.action == "updated")
            .order_by(CatalogEntryEvent.id.desc())
        ).first()
        assert set(ev.detail["changed"]) == {"name", "update_cycle"}


def test_update_replaces_items_and_a_new_category_gives_a_new_code(client, officer_h):
    e = draft(client, officer_h)
    r = client.patch(
        url(e["code"]),
        json={"category_code": "317005", "items": [{"field_name": "name", "name": "姓名"}]},
        headers=officer_h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["code"].startswith("317005/") and body["code"] != e["code"]
    assert [i["field_name"] for i in body["items"]] == ["name"]
    problem(client.get(url(e["code"]), headers=officer_h), 404)


def test_an_update_that_changes_nothing_keeps_the_version(client, officer_h):
    e = draft(client, officer_h)
    r = client.patch(url(e["code"]), json={"name": e["name"]}, headers=officer_h)
    assert r.json()["version"] == 1


def test_bad_updates_change_nothing(client, officer_h):
    e = draft(client, officer_h)
    body = problem(
        client.patch(url(e["code"]), json={"sharing_type": "none", "sharing_method": ""}, headers=officer_h),
        422,
    )
    assert "unshared_reason" in {x["field"] for x in body["errors"]}
    problem(
        client.patch(
            url(e["code"]),
            json={"items": [{"field_name": "x", "name": "项", "grade": "top"}]},
            headers=officer_h,
        ),
        422,
    )
    problem(client.patch(url(e["code"]), json={"category_code": "9"}, headers=officer_h), 422)
    after = client.get(url(e["code"]), headers=officer_h).json()
    assert after["sharing_type"] == "conditional" and after["version"] == 1 and len(after["items"]) == 5


def test_editing_is_refused_to_another_department_and_to_citizens(
    client, db, officer_h, other_officer_h, citizen_h
):
    e = draft(client, officer_h)
    body = problem(client.patch(url(e["code"]), json={"name": "被他人修改"}, headers=other_officer_h), 403)
    assert "本部门" in body["detail"]
    problem(client.patch(url(e["code"]), json={"name": "被他人修改"}, headers=citizen_h), 403)
    assert client.get(url(e["code"]), headers=officer_h).json()["name"] == e["name"]
    refused = audit_rows(db, "catalog.entry.update", "refused")
    assert refused and refused[-1].object_id == e["code"]


def test_published_and_submitted_entries_cannot_be_edited(client, officer_h, admin_h):
    p = publish(client, officer_h, admin_h)
    body = problem(client.patch(url(p["code"]), json={"name": "改已发布的"}, headers=officer_h), 409)
    assert "已发布" in body["detail"]
    e = draft(client, officer_h)
    client.post(f"{url(e['code'])}/submit", headers=officer_h)
    problem(client.patch(url(e["code"]), json={"name": "改待审核的"}, headers=officer_h), 409)


# ================================================================= the workflow


def test_incomplete_entries_cannot_be_submitted(client, officer_h):
    e = draft(client, officer_h, items=[], contact_name="", contact_phone="", abstract="短")
    body = problem(client.post(f"{url(e['code'])}/submit", headers=officer_h), 422)
    assert {x["field"] for x in body["errors"]} == {"items", "contact_name", "contact_phone", "abstract"}
    assert client.get(url(e["code"]), headers=officer_h).json()["status"] == "draft"


def test_a_draft_cannot_be_published_without_being_submitted(client, officer_h, admin_h):
    e = draft(client, officer_h)
    body = problem(
        client.post(f"{url(e['code'])}/review", json={"decision": "approve"}, headers=admin_h), 409
    )
    assert "已提交" in body["detail"]
    assert client.get(url(e["code"]), headers=officer_h).json()["status"] == "draft"


def test_only_the_platform_admin_reviews(client, db, officer_h, other_officer_h, clerk_h):
    e = draft(client, officer_h)
    client.post(f"{url(e['code'])}/submit", headers=officer_h)
    for h in (officer_h, other_officer_h, clerk_h):
        body = problem(client.post(f"{url(e['code'])}/review", json={"decision": "approve"}, headers=h), 403)
        assert "平台管理员" in body["detail"]
    assert client.get(url(e["code"]), headers=officer_h).json()["status"] == "submitted"
    refused = audit_rows(db, "catalog.entry.review", "refused")
    assert len(refused) >= 3 and refused[-1].object_id == e["code"]


def test_return_needs_an_opinion_and_the_whole_round_is_on_the_timeline(client, db, officer_h, admin_h):
    e = draft(client, officer_h)
    code = e["code"]
    assert client.post(f"{url(code)}/submit", headers=officer_h).json()["status"] == "submitted"
    problem(client.post(f"{url(code)}/submit", headers=officer_h), 409)
    body = problem(client.post(f"{url(code)}/review", json={"decision": "return"}, headers=admin_h), 422)
    assert body["errors"][0]["field"] == "opinion"
    problem(
        client.post(f"{url(code)}/review", json={"decision": "reject", "opinion": "x"}, headers=admin_h), 422
    )
    r = client.post(
        f"{url(code)}/review", json={"decision": "return", "opinion": "请补充法律依据"}, headers=admin_h
    )
    assert r.status_code == 200 and r.json()["status"] == "returned"
    assert r.json()["review_opinion"] == "请补充法律依据"
    r = client.patch(
        url(code), json={"sharing_condition": "依据《政务信息资源共享管理暂行办法》"}, headers=officer_h
    )
    assert r.status_code == 200 and r.json()["status"] == "returned"
    assert client.post(f"{url(code)}/submit", headers=officer_h).json()["status"] == "submitted"
    r = client.post(f"{url(code)}/review", json={"decision": "approve", "opinion": "同意"}, headers=admin_h)
    body = r.json()
    assert body["status"] == "published" and body["published_at"] and body["version"] == 2
    assert timeline_actions(client, officer_h, code) == [
        "drafted",
        "submitted",
        "returned",
        "updated",
        "submitted",
        "approved",
    ]
    events = client.get(f"{url(code)}/timeline", headers=officer_h).json()
    assert events[2]["opinion"] == "请补充法律依据" and events[2]["from_status"] == "submitted"
    assert events[2]["to_status"] == "returned" and events[-1]["to_status"] == "published"
    assert events[-1]["actor_name"]
    assert audit_rows(db, "catalog.entry.return") and audit_rows(db, "catalog.entry.approve")


def test_retire(client, db, officer_h, admin_h, other_officer_h):
    p = publish(client, officer_h, admin_h)
    code = p["code"]
    problem(client.post(f"{url(code)}/retire", json={"reason": "x"}, headers=officer_h), 422)
    problem(client.post(f"{url(code)}/retire", json={"reason": "资源已停用"}, headers=other_officer_h), 403)
    r = client.post(f"{url(code)}/retire", json={"reason": "资源已停用"}, headers=officer_h)
    assert r.status_code == 200 and r.json()["status"] == "retired" and r.json()["retired_at"]
    problem(client.post(f"{url(code)}/retire", json={"reason": "再次撤销"}, headers=officer_h), 409)
    problem(client.post(f"{url(code)}/submit", headers=officer_h), 409)
    assert timeline_actions(client, officer_h, code)[-1] == "retired"
    assert audit_rows(db, "catalog.entry.retire")[-1].object_id == code


# ================================================================= reading


def test_drafts_are_visible_only_to_their_department_and_admins(
    client, officer_h, admin_h, other_officer_h, clerk_h, citizen_h, system_h
):
    e = draft(client, officer_h)
    assert client.get(url(e["code"]), headers=officer_h).status_code == 200
    assert client.get(url(e["code"]), headers=admin_h).status_code == 200
    for h in (other_officer_h, clerk_h, system_h):
        problem(client.get(url(e["code"]), headers=h), 403)
        problem(client.get(f"{url(e['code'])}/timeline", headers=h), 403)
    problem(client.get(url(e["code"]), headers=citizen_h), 403)
    problem(client.get(url(e["code"])), 401)
    codes = {
        x["code"]
        for x in client.get(f"{API}/entries", headers=other_officer_h, params={"limit": 500}).json()["items"]
    }
    assert e["code"] not in codes
    codes = {
        x["code"]
        for x in client.get(f"{API}/entries", headers=officer_h, params={"limit": 500}).json()["items"]
    }
    assert e["code"] in codes


def test_published_entries_are_read_by_all_staff_and_systems_but_not_citizens(
    client, officer_h, admin_h, other_officer_h, clerk_h, citizen_h, system_h
):
    p = publish(client, officer_h, admin_h)
    for h in (other_officer_h, clerk_h, system_h):
        r = client.get(url(p["code"]), headers=h)
        assert r.status_code == 200 and r.json()["status"] == "published"
        assert client.get(f"{url(p['code'])}/items", headers=h).json()[0]["field_name"] == "citizen_id"
    body = problem(client.get(url(p["code"]), headers=citizen_h), 403)
    assert "政务工作人员" in body["detail"]
    problem(client.get(f"{API}/entries", headers=citizen_h), 403)


def test_unknown_and_malformed_codes(client, officer_h):
    problem(client.get(f"{API}/entries/101001-999999", headers=officer_h), 404)
    body = problem(client.get(f"{API}/entries/abc", headers=officer_h), 422)
    assert body["errors"][0]["field"] == "code"
    problem(client.post(f"{API}/entries/101001-999999/submit", headers=officer_h), 404)


def test_entry_list_filters_and_bad_filters(client, officer_h, admin_h):
    p = publish(client, officer_h, admin_h, form="api", category_code="312009")
    r = client.get(f"{API}/entries", headers=officer_h, params={"form": "api", "category": "312009"})
    assert [x["code"] for x in r.json()["items"]] == [p["code"]]
    assert r.json()["items"][0]["item_count"] == 5 and r.json()["items"][0]["mounted"] is False
    r = client.get(
        f"{API}/entries",
        headers=officer_h,
        params={"mounted": "false", "status": "published", "category": "312009"},
    )
    assert r.json()["total"] == 1
    for bad in (
        {"status": "gone"},
        {"form": "x"},
        {"sort": "colour"},
        {"category": "1a"},
        {"limit": 0},
        {"sharing_type": "x"},
    ):
        problem(client.get(f"{API}/entries", headers=officer_h, params=bad), 422)


def test_vocabularies(client, officer_h, citizen_h):
    body = client.get(f"{API}/vocabularies", headers=officer_h).json()
    assert body["sharing_types"]["conditional"] == "有条件共享"
    assert body["grades"] == {"general": "一般", "important": "重要", "core": "核心"}
    assert body["categories"][0]["children"][0] == {"code": "101", "name": "人口信息", "children": []}
    problem(client.get(f"{API}/vocabularies", headers=citizen_h), 403)


def test_a_refusal_is_recorded_once_with_its_action_and_object(client, db, officer_h, other_officer_h):
    from sqlalchemy import select

    from yiwang.core.audit import AuditRecord

    e = draft(client, officer_h)
    with db.session() as s:
        before = s.scalar(select(func.count(AuditRecord.id)).where(AuditRecord.result == "refused"))
    problem(client.post(f"{url(e['code'])}/submit", headers=other_officer_h), 403)
    with db.session() as s:
        rows = list(
            s.scalars(select(AuditRecord).where(AuditRecord.result == "refused").order_by(AuditRecord.id))
        )[before:]
        assert [(r.action, r.object_type, r.object_id) for r in rows] == [
            ("catalog.entry.submit", "catalog_entry", e["code"])
        ]
        assert rows[0].actor_name == "民政数据员" and "本部门" in rows[0].purpose
