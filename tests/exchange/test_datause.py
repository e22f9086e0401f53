"""'Who used my data' (个人数据使用记录) and objections (异议): a citizen sees exactly the calls about
their citizen ID, an enterprise the calls about its credit code; an objection goes to the provider."""

from __future__ import annotations

import pytest

from tests.exchange.conftest import API, PURPOSE, audit_rows, count_queries, data_url, grant
from tests.identity.helpers import login_api

USE = f"{API}/my-data-use"


def _call(client, system, subject, key="population", purpose=PURPOSE):
    r = client.get(data_url(key), params={"subject": subject, "purpose": purpose}, headers=system.headers)
    return r


@pytest.fixture
def used(client, db, catalogued, marriage_system, other_system, people):
    """Two systems look people up: the demo citizen twice (once refused), others three times."""
    grant(db, marriage_system.client_id)
    me = people[0]
    assert _call(client, marriage_system, me).status_code == 200
    assert _call(client, other_system, me).status_code == 403  # no grant: refused, still logged
    for other in people[1:4]:
        assert _call(client, marriage_system, other).status_code == 200
    return me


def test_citizen_sees_exactly_their_own_calls(client, city, used, marriage_system, citizen_h):
    r = client.get(USE, headers=citizen_h)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["subject_kind"] == "citizen" and page["total"] == 2
    newest, oldest = page["items"]
    assert newest["result"] == "refused" and newest["system"] == "市人社局就业服务系统"
    assert oldest["result"] == "ok" and oldest["system"] == "市民政局婚姻登记系统"
    assert oldest["department"].endswith("市民政局") and oldest["provider"] == "市公安局"
    assert oldest["resource"] == "人口基础信息" and oldest["purpose"] == PURPOSE
    assert "citizen_id" in oldest["fields"] and oldest["row_count"] == 1


def test_each_citizen_sees_only_their_own(client, db, used, people, citizen_h):
    from yiwang import exchange
    from yiwang.core.security import Actor, ActorKind

    mine = {i["id"] for i in client.get(USE, headers=citizen_h).json()["items"]}
    with db.session() as s:
        for other in people[1:4]:
            page = exchange.my_data_use(s, Actor(kind=ActorKind.CITIZEN, account_id=999, subject_id=other))
            assert page.total == 1 and not mine & {i.id for i in page.items}
        nobody = exchange.my_data_use(s, Actor(kind=ActorKind.CITIZEN, account_id=998, subject_id=people[9]))
        assert nobody.total == 0 and nobody.items == []


def test_enterprise_sees_the_calls_about_its_credit_code(client, city, catalogued, other_system):
    code = city.enterprise_credit_code
    r = _call(client, other_system, code, key="legal_person", purpose="政府采购供应商资格核验")
    assert r.status_code == 200, r.text
    account = city.accounts["enterprise"]
    ent_h = login_api(client, account, on_behalf_of=code)
    page = client.get(USE, headers=ent_h).json()
    assert page["subject_kind"] == "enterprise" and page["total"] == 1
    assert (
        page["items"][0]["purpose"] == "政府采购供应商资格核验"
        and page["items"][0]["resource"] == "法人基础信息"
    )
    # The same person acting for themself sees their own (personal) record, not the company's.
    personal = client.get(USE, headers=login_api(client, account)).json()
    assert personal["subject_kind"] == "citizen" and all(
        i["resource"] != "法人基础信息" for i in personal["items"]
    )


def test_staff_and_systems_have_no_data_use_page(client, city, marriage_system, officer_h, db):
    assert client.get(USE, headers=officer_h).status_code == 403
    assert client.get(USE, headers=marriage_system.headers).status_code == 403
    assert client.get(USE).status_code == 401
    assert audit_rows(db, "exchange.data_use.read", "refused")


def test_data_use_is_paged_newest_first_with_pinned_queries(
    client, db, catalogued, marriage_system, people, citizen_h
):
    grant(db, marriage_system.client_id)
    me = people[0]
    for _ in range(3):
        _call(client, marriage_system, me)
    client.get(USE, headers=citizen_h)  # names resolved once and remembered
    with count_queries(db) as few:
        r = client.get(USE, params={"limit": 2}, headers=citizen_h)
    page = r.json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["id"] > page["items"][1]["id"]
    for _ in range(9):
        _call(client, marriage_system, me)
    with count_queries(db) as many:
        r = client.get(USE, params={"limit": 20}, headers=citizen_h)
    assert r.json()["total"] == 12 and len(r.json()["items"]) == 12

    def work(statements):
        return [
            s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))
        ]

    assert len(work(many)) == len(work(few)) <= 7
    assert client.get(USE, params={"offset": 10, "limit": 20}, headers=citizen_h).json()["items"][-1][
        "id"
    ] == min(i["id"] for i in r.json()["items"])


def test_one_call_of_ones_own_log(client, used, citizen_h):
    page = client.get(USE, headers=citizen_h).json()
    call_id = page["items"][0]["id"]
    r = client.get(f"{USE}/{call_id}", headers=citizen_h)
    assert r.status_code == 200 and r.json()["id"] == call_id


def test_platform_access_section_leaves_out_shared_calls_and_own_acts(client, used, citizen_h):
    r = client.get(f"{USE}/platform", headers=citizen_h)
    assert r.status_code == 200, r.text
    assert all(not x["action"].startswith("exchange.") for x in r.json())


# ---------------------------------------------------------------- objections


def _my_calls(client, headers):
    return client.get(USE, headers=headers).json()["items"]


def test_objection_goes_to_the_provider_and_is_answered(client, db, city, used, citizen_h, officer_h):
    call = next(i for i in _my_calls(client, citizen_h) if i["result"] == "ok")
    r = client.post(
        f"{USE}/{call['id']}/objection",
        json={"text": "我没有办理婚姻登记，为什么查询我的信息？"},
        headers=citizen_h,
    )
    assert r.status_code == 201, r.text
    objection = r.json()
    assert objection["status"] == "open" and objection["provider_dept_id"] == city.departments["gongan"]
    assert objection["system"] == "市民政局婚姻登记系统"
    again = client.post(
        f"{USE}/{call['id']}/objection", json={"text": "再次提出同样的异议"}, headers=citizen_h
    )
    assert again.status_code == 409

    listed = client.get(f"{API}/objections", params={"status": "open"}, headers=officer_h).json()
    assert [o["id"] for o in listed["items"]] == [objection["id"]]
    r = client.post(
        f"{API}/objections/{objection['id']}/answer",
        json={"answer": "经核查，系婚姻登记处工作人员误录身份证号，已责令整改。"},
        headers=officer_h,
    )
    assert r.status_code == 200 and r.json()["status"] == "answered"
    mine = next(i for i in _my_calls(client, citizen_h) if i["id"] == call["id"])
    assert mine["objection_status"] == "answered" and "整改" in mine["objection_answer"]
    assert audit_rows(db, "exchange.objection.raise", "ok", subject=used)
    assert audit_rows(db, "exchange.objection.answer", "ok", subject=used)


def test_objection_to_someone_elses_call_is_not_found_and_audited(
    client, db, city, catalogued, marriage_system, people, citizen_h
):
    grant(db, marriage_system.client_id)
    body = _call(client, marriage_system, people[5]).json()
    r = client.post(
        f"{USE}/{body['call_id']}/objection", json={"text": "这不是我的记录，但我想看看"}, headers=citizen_h
    )
    assert r.status_code == 404
    assert audit_rows(db, "exchange.objection.raise", "refused")
    assert client.get(f"{USE}/{body['call_id']}", headers=citizen_h).status_code == 404


def test_only_the_providers_officer_answers(client, db, city, used, citizen_h):
    call = _my_calls(client, citizen_h)[-1]
    objection = client.post(
        f"{USE}/{call['id']}/objection", json={"text": "请说明查询理由和依据"}, headers=citizen_h
    ).json()
    clerk_h = login_api(client, city.accounts["clerk"])
    r = client.post(
        f"{API}/objections/{objection['id']}/answer", json={"answer": "这不是我部门的事"}, headers=clerk_h
    )
    assert r.status_code == 403
    assert client.get(f"{API}/objections", headers=clerk_h).status_code == 403
    assert client.get(f"{API}/objections/{objection['id']}", headers=citizen_h).status_code == 200
    assert audit_rows(db, "exchange.objection.answer", "refused")


def test_objection_text_is_checked(client, used, citizen_h):
    call = _my_calls(client, citizen_h)[0]
    r = client.post(f"{USE}/{call['id']}/objection", json={"text": "短"}, headers=citizen_h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "text"
