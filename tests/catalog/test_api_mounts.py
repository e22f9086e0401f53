"""Mounting entries on live resources, unmounting, and grading data items (API and public face)."""

from __future__ import annotations

from tests.identity.helpers import problem
from yiwang import catalog

from .conftest import API, POPULATION_ITEMS, audit_rows, draft, free_resource, publish, url


def mount(client, headers, code: str, **body):
    body.setdefault("kind", "resource")
    return client.post(f"{url(code)}/mounts", json=body, headers=headers)


def test_mount_a_published_entry_on_its_registry_resource(client, db, officer_h, admin_h):
    free_resource(client, admin_h, "population")
    p = publish(client, officer_h, admin_h)
    r = mount(client, officer_h, p["code"], resource_key="population", description="人口库")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["mount"]["kind"] == "resource" and body["mount"]["resource_key"] == "population"
    assert body["mount"]["active"] is True and body["mount"]["mounted_by_name"]
    rows = client.get(f"{API}/entries", headers=officer_h, params={"mounted": "true", "limit": 500}).json()[
        "items"
    ]
    assert p["code"] in {x["code"] for x in rows}
    events = client.get(f"{url(p['code'])}/timeline", headers=officer_h).json()
    assert events[-1]["action"] == "mounted" and events[-1]["detail"]["resource_key"] == "population"
    assert audit_rows(db, "catalog.entry.mount")[-1].object_id == p["code"]
    options = {o["key"]: o for o in client.get(f"{API}/resources", headers=officer_h).json()}
    assert options["population"]["mounted_by"] == p["code"]
    assert "citizen_id" in options["population"]["fields"]
    with db.session() as s:
        found = catalog.entry_for_resource(s, "population")
        assert found is not None and found.code == p["code"] and found.mount.resource_key == "population"


def test_only_published_entries_are_mounted(client, officer_h):
    e = draft(client, officer_h)
    body = problem(mount(client, officer_h, e["code"], resource_key="population"), 409)
    assert "已发布" in body["detail"]


def test_items_must_all_be_fields_of_the_resource(client, officer_h, admin_h):
    free_resource(client, admin_h, "population")
    items = [*POPULATION_ITEMS, {"field_name": "favourite_colour", "name": "喜欢的颜色"}]
    p = publish(client, officer_h, admin_h, items=items)
    body = problem(mount(client, officer_h, p["code"], resource_key="population"), 422)
    assert body["errors"][0]["field"] == "items"
    assert "favourite_colour" in body["detail"] and "喜欢的颜色" in body["detail"]
    assert client.get(url(p["code"]), headers=officer_h).json()["mount"] is None


def test_bad_mount_targets(client, officer_h, admin_h):
    p = publish(client, officer_h, admin_h)
    code = p["code"]
    body = problem(mount(client, officer_h, code, resource_key="no_such_resource"), 422)
    assert body["errors"][0]["field"] == "resource_key"
    body = problem(mount(client, officer_h, code, resource_key="marriage"), 422)  # 市民政局's resource
    assert "市民政局" in body["detail"]
    problem(mount(client, officer_h, code), 422)  # no resource_key
    problem(mount(client, officer_h, code, kind="database", resource_key="population"), 422)
    body = problem(
        mount(client, officer_h, code, kind="api", endpoint="https://gongan.example/api/people"), 422
    )
    assert body["errors"][0]["field"] == "kind"  # a table-form entry is not mounted on an API
    problem(mount(client, officer_h, code, kind="file", description="人口数据文件"), 422)


def test_api_and_file_mounts(client, officer_h, admin_h):
    api_entry = publish(client, officer_h, admin_h, form="api", name="居民身份核验接口")
    body = problem(mount(client, officer_h, api_entry["code"], kind="api", endpoint="ftp://x"), 422)
    assert body["errors"][0]["field"] == "endpoint"
    r = mount(client, officer_h, api_entry["code"], kind="api", endpoint="https://gongan.example/api/verify")
    assert r.status_code == 201 and r.json()["mount"]["endpoint"] == "https://gongan.example/api/verify"
    file_entry = publish(client, officer_h, admin_h, form="file", name="人口统计年报")
    r = mount(client, officer_h, file_entry["code"], kind="file", description="每年一月上传的 XLSX 年报")
    assert r.status_code == 201 and r.json()["mount"]["kind"] == "file"


def test_one_live_mount_per_entry_and_per_resource(client, officer_h, admin_h):
    free_resource(client, admin_h, "population")
    a = publish(client, officer_h, admin_h)
    b = publish(client, officer_h, admin_h, name="人口信息（第二条）")
    assert mount(client, officer_h, a["code"], resource_key="population").status_code == 201
    problem(mount(client, officer_h, a["code"], resource_key="household"), 409)
    body = problem(mount(client, officer_h, b["code"], resource_key="population"), 409)
    assert a["code"] in body["detail"]


def test_mounting_is_refused_to_others(client, db, officer_h, admin_h, other_officer_h, clerk_h, citizen_h):
    free_resource(client, admin_h, "population")
    p = publish(client, officer_h, admin_h)
    for h in (other_officer_h, clerk_h, citizen_h):
        problem(mount(client, h, p["code"], resource_key="population"), 403)
    assert client.get(url(p["code"]), headers=officer_h).json()["mount"] is None
    assert len(audit_rows(db, "catalog.entry.mount", "refused")) >= 3


def test_unmount_keeps_the_history(client, db, officer_h, admin_h, other_officer_h):
    free_resource(client, admin_h, "population")
    p = publish(client, officer_h, admin_h)
    code = p["code"]
    problem(client.post(f"{url(code)}/unmount", json={"reason": "资源下线"}, headers=officer_h), 409)
    mount(client, officer_h, code, resource_key="population")
    problem(client.post(f"{url(code)}/unmount", json={"reason": ""}, headers=officer_h), 422)
    problem(client.post(f"{url(code)}/unmount", json={"reason": "资源下线"}, headers=other_officer_h), 403)
    r = client.post(f"{url(code)}/unmount", json={"reason": "资源下线"}, headers=officer_h)
    assert r.status_code == 200 and r.json()["mount"] is None
    history = client.get(f"{url(code)}/mounts", headers=officer_h).json()
    assert len(history) == 1 and history[0]["active"] is False and history[0]["unmount_reason"] == "资源下线"
    with db.session() as s:
        assert catalog.entry_for_resource(s, "population") is None
    # It can be mounted again.
    assert mount(client, officer_h, code, resource_key="population").status_code == 201
    assert len(client.get(f"{url(code)}/mounts", headers=officer_h).json()) == 2


def test_retiring_ends_the_mount(client, officer_h, admin_h):
    free_resource(client, admin_h, "population")
    p = publish(client, officer_h, admin_h)
    mount(client, officer_h, p["code"], resource_key="population")
    r = client.post(f"{url(p['code'])}/retire", json={"reason": "并入新目录"}, headers=officer_h)
    assert r.json()["mount"] is None
    actions = [e["action"] for e in client.get(f"{url(p['code'])}/timeline", headers=officer_h).json()]
    assert actions[-2:] == ["unmounted", "retired"]


# ================================================================= grading


def grade(client, headers, code: str, field: str, **body):
    return client.put(f"{url(code)}/items/{field}/grade", json=body, headers=headers)


def test_set_item_grade_on_a_published_entry(client, db, officer_h, admin_h):
    p = publish(client, officer_h, admin_h)
    r = grade(
        client, officer_h, p["code"], "address", grade="core", sensitive_personal=True, reason="精确到门牌"
    )
    assert r.status_code == 200, r.text
    assert r.json()["grade"] == "core" and r.json()["sensitive_personal"] is True
    assert r.json()["masking"] == "address"
    after = client.get(url(p["code"]), headers=officer_h).json()
    assert after["version"] == 2 and after["status"] == "published"
    event = client.get(f"{url(p['code'])}/timeline", headers=officer_h).json()[-1]
    assert event["action"] == "grade_changed" and event["opinion"] == "精确到门牌"
    assert event["detail"]["before"]["grade"] == "important" and event["detail"]["after"]["grade"] == "core"
    assert audit_rows(db, "catalog.item.grade")[-1].object_id == p["code"]
    # The platform admin may grade too (governance calls the same function).
    r = grade(client, admin_h, p["code"], "gender", grade="important")
    assert r.status_code == 200 and r.json()["grade"] == "important"
    # The same grade again changes nothing.
    grade(client, admin_h, p["code"], "gender", grade="important")
    assert client.get(url(p["code"]), headers=officer_h).json()["version"] == 3


def test_bad_grades(client, officer_h, admin_h):
    p = publish(client, officer_h, admin_h)
    problem(grade(client, officer_h, p["code"], "gender", grade="secret"), 422)
    problem(grade(client, officer_h, p["code"], "gender", grade="core", masking="blur"), 422)
    body = problem(grade(client, officer_h, p["code"], "gender", grade="core"), 422)  # masking stays "none"
    assert body["errors"][0]["field"] == "masking"
    problem(grade(client, officer_h, p["code"], "no_such_field", grade="core", masking="drop"), 404)
    assert client.get(url(p["code"]), headers=officer_h).json()["items"][2]["grade"] == "general"


def test_grading_is_refused_to_others_and_retired_entries(
    client, db, officer_h, admin_h, other_officer_h, clerk_h
):
    p = publish(client, officer_h, admin_h)
    for h in (other_officer_h, clerk_h):
        problem(grade(client, h, p["code"], "gender", grade="important"), 403)
    assert audit_rows(db, "catalog.item.grade", "refused")
    client.post(f"{url(p['code'])}/retire", json={"reason": "停用"}, headers=officer_h)
    problem(grade(client, officer_h, p["code"], "gender", grade="important"), 409)


def test_set_item_grade_through_the_public_face(client, db, city, officer_h, admin_h):
    from yiwang.core.security import PLATFORM

    p = publish(client, officer_h, admin_h)
    with db.session() as s:
        item = catalog.set_item_grade(
            s,
            PLATFORM,
            p["code"],
            "birth_date",
            catalog.ItemGradeChange(grade="core", masking="date_to_year"),
        )
        assert item.grade == "core"
        entry = catalog.get_entry(s, p["code"])
        assert entry.item("birth_date").grade == "core"
        masked = catalog.mask_record(entry, {"birth_date": "1990-05-12", "gender": "男"})
        assert masked == {"birth_date": "1990", "gender": "男"}
