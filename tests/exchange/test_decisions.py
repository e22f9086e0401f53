"""Decisions belong to the provider (issue 7 item 3, DESIGN §3 rule 9).

The penetration test saw the platform administrator approve a sharing request its own department had
filed for another department's data. Here: only the providing department's data officer decides;
nobody decides their own department's request; an operator acts for a provider only through an
explicit, audited delegation (`/api/v1/exchange/delegations`), and never for its own department.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.identity.helpers import login_api, problem
from yiwang import identity
from yiwang.core import clock
from yiwang.core.ids import citizen_id_check_char
from yiwang.core.security import PLATFORM

from .conftest import API, audit_rows, register_system, request_body

PASSWORD = "Exchange@2026test"


def _file(client, headers, **over) -> dict:
    r = client.post(f"{API}/requests", json=request_body(**over), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _decide(client, headers, request_id: int, decision: str = "approve"):
    opinion = "同意" if decision == "approve" else "不符合共享条件"
    return client.post(
        f"{API}/requests/{request_id}/decision",
        json={"decision": decision, "opinion": opinion},
        headers=headers,
    )


def _status(client, headers, request_id: int) -> str:
    return client.get(f"{API}/requests/{request_id}", headers=headers).json()["status"]


def _staff(client, db, city, username: str, dept: str, role: str, seq: str) -> dict[str, str]:
    first17 = "11010519850101" + seq
    with db.session() as s:
        identity.create_staff_account(
            s,
            PLATFORM,
            identity.StaffAccountCreate(
                username=username,
                display_name="测试人员",
                citizen_id=first17 + citizen_id_check_char(first17),
                department_id=city.departments[dept],
                password=PASSWORD,
                roles=[identity.RoleGrantCreate(role_code=role, org_unit_id=city.departments[dept])],
            ),
        )
    return login_api(client, type("A", (), {"username": username, "password": PASSWORD}))


@pytest.fixture
def admin_h(client, city) -> dict[str, str]:
    return login_api(client, city.accounts["admin"])


@pytest.fixture
def dashuju_system(client, db, city):
    """A system of 市大数据局 — the platform administrator's own department."""
    return register_system(client, db, city, "市大数据局数据中台", "dashuju")


@pytest.fixture
def gongan_system(client, db, city):
    """A system of 市公安局 — the provider of population data itself."""
    return register_system(client, db, city, "市公安局治安管理系统", "gongan")


def _delegate(client, officer_h, city, admin_id: int, **over):
    body = {
        "provider_dept_id": city.departments["gongan"],
        "delegate_account_id": admin_id,
        "reason": "数据管理员休假期间委托平台运营人员代为审批",
        "valid_until": (clock.today_local().date() + timedelta(days=7)).isoformat(),
    }
    body.update(over)
    return client.post(f"{API}/delegations", json=body, headers=officer_h)


def _admin_id(client, admin_h) -> int:
    return client.get("/api/v1/identity/me", headers=admin_h).json()["id"]


# ---------------------------------------------------------------- who decides


def test_the_platform_admin_cannot_approve_its_own_departments_request(
    client, db, catalogued, dashuju_system, admin_h, officer_h
):
    req = _file(client, dashuju_system.headers)
    problem(_decide(client, admin_h, req["id"]), 403)
    assert _status(client, officer_h, req["id"]) == "submitted"
    refused = [r for r in audit_rows(db, "exchange.grant.approve", "refused") if r.object_id == req["number"]]
    assert refused


def test_the_platform_admin_does_not_decide_for_a_provider_by_role(
    client, db, catalogued, marriage_system, admin_h, officer_h
):
    req = _file(client, marriage_system.headers)
    problem(_decide(client, admin_h, req["id"], "refuse"), 403)
    assert _status(client, officer_h, req["id"]) == "submitted"
    # The provider's data officer does.
    assert _decide(client, officer_h, req["id"]).status_code == 200


def test_another_departments_data_officer_cannot_decide(client, db, city, catalogued, marriage_system):
    renshe_h = _staff(client, db, city, "rsdata", "renshe", "data_officer", "101")
    req = _file(client, marriage_system.headers)
    problem(_decide(client, renshe_h, req["id"]), 403)


def test_nobody_decides_their_own_departments_request(client, db, city, catalogued, gongan_system, officer_h):
    """市公安局 asks for its own population data: its own data officer may not approve that."""
    req = _file(client, gongan_system.headers)
    r = _decide(client, officer_h, req["id"])
    assert problem(r, 403)["detail"].startswith("不能审批本部门提出的共享申请")
    assert _status(client, officer_h, req["id"]) == "submitted"


def test_an_officer_who_filed_a_request_for_their_own_department_cannot_decide_it(
    client, db, city, catalogued, officer_h
):
    """Filed by the provider's officer for the department's own staff: still not theirs to decide."""
    r = client.post(f"{API}/requests", json=request_body(client_id=None), headers=officer_h)
    assert r.status_code == 201, r.text
    problem(_decide(client, officer_h, r.json()["id"]), 403)


# ---------------------------------------------------------------- delegation


def test_a_delegated_operator_decides_for_the_provider_audited(
    client, db, city, catalogued, marriage_system, dashuju_system, admin_h, officer_h
):
    admin_id = _admin_id(client, admin_h)
    r = _delegate(client, officer_h, city, admin_id)
    assert r.status_code == 201, r.text
    delegation = r.json()
    assert delegation["active"] and delegation["provider_dept_id"] == city.departments["gongan"]
    made = audit_rows(db, "exchange.delegation.create", "ok")[-1]
    assert made.object_id == str(delegation["id"])

    req = _file(client, marriage_system.headers)
    r = _decide(client, admin_h, req["id"])
    assert r.status_code == 200, r.text
    record = [x for x in audit_rows(db, "exchange.grant.approve", "ok") if x.object_id == req["number"]][-1]
    assert json.loads(record.detail)["delegation"] == delegation["id"]

    # Still never for its own department's request.
    own = _file(client, dashuju_system.headers)
    problem(_decide(client, admin_h, own["id"]), 403)

    # Both sides see the delegation; the officer ends it, and the power ends with it.
    assert [d["id"] for d in client.get(f"{API}/delegations", headers=admin_h).json()] == [delegation["id"]]
    assert client.get(f"{API}/delegations", params={"active": True}, headers=officer_h).json()[0]["active"]
    r = client.post(f"{API}/delegations/{delegation['id']}/revoke", headers=officer_h)
    assert r.status_code == 200 and not r.json()["active"]
    assert audit_rows(db, "exchange.delegation.revoke", "ok")
    later = _file(client, marriage_system.headers, purpose="婚姻登记补办")
    problem(_decide(client, admin_h, later["id"]), 403)
    problem(client.post(f"{API}/delegations/{delegation['id']}/revoke", headers=officer_h), 409)


def test_a_delegation_ends_at_its_date(client, db, city, catalogued, marriage_system, admin_h, officer_h):
    admin_id = _admin_id(client, admin_h)
    assert _delegate(client, officer_h, city, admin_id).status_code == 201
    req = _file(client, marriage_system.headers)
    with clock.freeze(clock.now() + timedelta(days=9)):
        problem(_decide(client, login_api(client, city.accounts["admin"]), req["id"]), 403)


def test_delegation_refuses_bad_input_and_the_wrong_actors(client, db, city, admin_h, officer_h, citizen_h):
    admin_id = _admin_id(client, admin_h)
    officer_id = _admin_id(client, officer_h)
    today = clock.today_local().date()
    for over, field in (
        ({"delegate_account_id": officer_id}, "delegate_account_id"),  # to oneself
        ({"delegate_account_id": _admin_id(client, citizen_h)}, "delegate_account_id"),  # not an operator
        ({"delegate_account_id": 2_000_000_000}, "delegate_account_id"),  # no such account
        ({"valid_until": (today - timedelta(days=1)).isoformat()}, "valid_until"),
        ({"valid_until": (today + timedelta(days=91)).isoformat()}, "valid_until"),
        ({"reason": "x"}, "reason"),
        ({"provider_dept_id": 0}, "provider_dept_id"),
    ):
        body = problem(_delegate(client, officer_h, city, admin_id, **over), 422)
        assert field in json.dumps(body, ensure_ascii=False), (over, body)
    # Only the provider's own data officer delegates; nobody delegates to themself for another.
    problem(_delegate(client, officer_h, city, admin_id, provider_dept_id=city.departments["minzheng"]), 403)
    problem(_delegate(client, admin_h, city, admin_id), 403)  # an operator cannot delegate to itself
    problem(_delegate(client, admin_h, city, officer_id), 403)
    problem(_delegate(client, citizen_h, city, admin_id), 403)
    problem(_delegate(client, {}, city, admin_id), 401)
    problem(client.get(f"{API}/delegations", headers=citizen_h), 403)
    problem(client.post(f"{API}/delegations/999999/revoke", headers=officer_h), 404)
    problem(client.post(f"{API}/delegations/99999999999999999999/revoke", headers=officer_h), 422)
    assert audit_rows(db, "exchange.delegation.create", "refused")


def test_only_the_officer_or_the_delegate_revokes(client, db, city, admin_h, officer_h):
    delegation = _delegate(client, officer_h, city, _admin_id(client, admin_h)).json()
    renshe_h = _staff(client, db, city, "rsdata2", "renshe", "data_officer", "102")
    problem(client.post(f"{API}/delegations/{delegation['id']}/revoke", headers=renshe_h), 403)
    r = client.post(f"{API}/delegations/{delegation['id']}/revoke", headers=admin_h)  # given back
    assert r.status_code == 200 and r.json()["revoked_by_name"]


def test_the_delegations_page(client, db, city, admin_h, officer_h):
    from tests.identity.helpers import signed_in

    _delegate(client, officer_h, city, _admin_id(client, admin_h))
    signed_in(client, city.accounts["data_officer"], as_="staff")
    page = client.get("/exchange/delegations")
    assert page.status_code == 200, page.text
    assert "审批委托" in page.text and "数据管理员休假期间" in page.text
    assert "delegate_account_id" not in page.text.split("<form")[0]  # no code words outside the form


# ---------------------------------------------------------------- operators see within their unit


def test_an_auditor_sees_only_what_lies_within_the_unit_its_role_is_held_in(
    client, db, city, catalogued, marriage_system, other_system
):
    from .conftest import grant

    mine = grant(db, marriage_system.client_id)  # consumer 市民政局
    theirs = grant(db, other_system.client_id, purpose="就业服务身份核验")  # consumer 市人社局
    local_h = _staff(client, db, city, "mzaudit", "minzheng", "auditor", "103")
    city_h = login_api(client, city.accounts["auditor"])  # held at the city

    def seen(headers) -> set[int]:
        r = client.get(f"{API}/grants", params={"box": "all", "limit": 500}, headers=headers)
        assert r.status_code == 200, r.text
        return {g["id"] for g in r.json()["items"]}

    assert mine.grant_id in seen(local_h) and theirs.grant_id not in seen(local_h)
    assert {mine.grant_id, theirs.grant_id} <= seen(city_h)
    problem(client.get(f"{API}/grants/{theirs.grant_id}", headers=local_h), 403)
    assert client.get(f"{API}/grants/{theirs.grant_id}", headers=city_h).status_code == 200
