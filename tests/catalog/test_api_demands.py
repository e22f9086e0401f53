"""需求目录 through the API: filing a demand, answering it, listing and refusals."""

from __future__ import annotations

from tests.identity.helpers import problem

from .conftest import API, audit_rows, draft, publish


def demand_body(**over):
    body = {
        "title": "残疾人证信息",
        "description": "办理残疾人两项补贴时核验残疾类别和等级",
        "purpose": "依据《残疾人保障法》，用于残疾人两项补贴资格审核",
        "wanted_items": ["姓名", "公民身份号码", "残疾类别", "残疾等级", "姓名"],
    }
    body.update(over)
    return body


def file(client, headers, **over):
    r = client.post(f"{API}/demands", json=demand_body(**over), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_file_a_demand(client, city, db, other_officer_h):
    d = file(client, other_officer_h, provider_department_id=city.departments["gongan"])
    assert d["status"] == "open" and d["requester_name"] == "市民政局" and d["provider_name"] == "市公安局"
    assert d["wanted_items"] == ["姓名", "公民身份号码", "残疾类别", "残疾等级"]
    assert audit_rows(db, "catalog.demand.file")[-1].object_id == str(d["id"])
    r = client.get(f"{API}/demands/{d['id']}", headers=other_officer_h)
    assert r.status_code == 200 and r.json()["title"] == "残疾人证信息"


def test_bad_demands(client, city, other_officer_h):
    problem(client.post(f"{API}/demands", json=demand_body(title=""), headers=other_officer_h), 422)
    problem(client.post(f"{API}/demands", json=demand_body(purpose=""), headers=other_officer_h), 422)
    body = problem(
        client.post(
            f"{API}/demands", json=demand_body(provider_department_id=999999), headers=other_officer_h
        ),
        422,
    )
    assert body["errors"][0]["field"] == "provider_department_id"
    body = problem(
        client.post(
            f"{API}/demands",
            json=demand_body(provider_department_id=city.departments["minzheng"]),
            headers=other_officer_h,
        ),
        422,
    )
    assert "自己" in body["detail"]
    problem(
        client.post(f"{API}/demands", json=demand_body(wanted_items=["项" * 101]), headers=other_officer_h),
        422,
    )


def test_filing_is_refused_to_citizens_clerks_and_for_another_department(
    client, city, db, citizen_h, clerk_h, other_officer_h
):
    problem(client.post(f"{API}/demands", json=demand_body(), headers=citizen_h), 403)
    problem(client.post(f"{API}/demands", json=demand_body(), headers=clerk_h), 403)
    problem(
        client.post(
            f"{API}/demands",
            json=demand_body(requester_department_id=city.departments["gongan"]),
            headers=other_officer_h,
        ),
        403,
    )
    assert len(audit_rows(db, "catalog.demand.file", "refused")) >= 3


def test_answer_a_demand_with_a_published_entry(client, city, officer_h, admin_h, other_officer_h):
    d = file(client, other_officer_h, provider_department_id=city.departments["gongan"])
    p = publish(client, officer_h, admin_h)
    e = draft(client, officer_h)
    answer = f"{API}/demands/{d['id']}/answer"
    problem(client.post(answer, json={"outcome": "satisfied", "answer": "已编目"}, headers=officer_h), 422)
    body = problem(
        client.post(
            answer,
            json={"outcome": "satisfied", "answer": "已编目", "entry_code": e["code"]},
            headers=officer_h,
        ),
        422,
    )
    assert "尚未发布" in body["detail"]
    problem(client.post(answer, json={"outcome": "maybe", "answer": "再说"}, headers=officer_h), 422)
    problem(
        client.post(answer, json={"outcome": "planned", "answer": "明年编目"}, headers=other_officer_h), 403
    )
    r = client.post(answer, json={"outcome": "planned", "answer": "纳入明年编目计划"}, headers=officer_h)
    assert r.status_code == 200 and r.json()["status"] == "planned"
    r = client.post(
        answer,
        json={"outcome": "satisfied", "answer": "已发布目录", "entry_code": p["code"].replace("/", "-")},
        headers=officer_h,
    )
    assert r.status_code == 200, r.text
    assert (
        r.json()["status"] == "satisfied" and r.json()["entry_code"] == p["code"] and r.json()["answered_at"]
    )
    problem(client.post(answer, json={"outcome": "rejected", "answer": "改主意"}, headers=officer_h), 409)
    problem(
        client.post(
            f"{API}/demands/999999/answer",
            json={"outcome": "rejected", "answer": "无此数据"},
            headers=officer_h,
        ),
        404,
    )


def test_an_open_demand_is_answered_by_a_provider_not_the_requester(
    client, officer_h, other_officer_h, clerk_h
):
    d = file(client, other_officer_h)  # no provider named
    answer = f"{API}/demands/{d['id']}/answer"
    problem(
        client.post(
            answer, json={"outcome": "rejected", "answer": "本部门自己答复"}, headers=other_officer_h
        ),
        403,
    )
    problem(client.post(answer, json={"outcome": "rejected", "answer": "无权"}, headers=clerk_h), 403)
    r = client.post(
        answer, json={"outcome": "rejected", "answer": "涉及国家秘密，不予提供"}, headers=officer_h
    )
    assert (
        r.status_code == 200 and r.json()["provider_name"] == "市公安局" and r.json()["status"] == "rejected"
    )


def test_demand_list(client, city, officer_h, other_officer_h, citizen_h, system_h):
    a = file(
        client, other_officer_h, title="低保对象车辆信息", provider_department_id=city.departments["gongan"]
    )
    file(client, other_officer_h, title="殡葬火化信息")
    r = client.get(f"{API}/demands", headers=officer_h, params={"q": "低保"})
    assert [x["id"] for x in r.json()["items"]] == [a["id"]]
    r = client.get(f"{API}/lists/demand", headers=system_h, params={"status": "open", "limit": 500})
    assert r.status_code == 200 and r.json()["total"] >= 2
    r = client.get(f"{API}/demands", headers=officer_h, params={"department_id": city.departments["gongan"]})
    assert a["id"] in [x["id"] for x in r.json()["items"]]
    problem(client.get(f"{API}/demands", headers=officer_h, params={"status": "lost"}), 422)
    problem(client.get(f"{API}/demands", headers=citizen_h), 403)
    problem(client.get(f"{API}/demands/999999", headers=officer_h), 404)
