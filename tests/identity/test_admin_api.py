"""The administrator's REST API (`/api/v1/admin`): organisation tree, accounts, roles, OIDC clients.

Every endpoint with good input, bad input and the actors who must be refused; every refusal of an admin
action must land in the audit chain with result "refused". List endpoints pin their SQL query counts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests import helpers
from tests.helpers import audit_rows, count_queries  # noqa: F401
from yiwang.core import clock
from yiwang.identity.models import Account, OrgUnit, StaffRole, WebSession
from yiwang.identity.service.roles import BUILTIN_ROLES
from yiwang.settings import get_settings

from .helpers import account_row, login_api, problem, signed_in

# The demo accounts' bearer headers, shared with the other modules' tests (tests/helpers.py).
admin_h = helpers.admin_h


API = "/api/v1/admin"
# A valid GB 11643 ID nobody in the test city holds (the city's IDs are generated from its own areas).
NEW_CID = "11010519491231002X"


# ================================================================= fixtures and helpers


@pytest.fixture
def dept_h(client, city) -> dict[str, str]:
    """The department admin of 市民政局 (and only of it)."""
    return login_api(client, city.accounts["dept_admin"])


def account_id(db, username: str) -> int:
    with db.session() as s:
        return account_row(s, username).id


def assert_refused(db, r, action: str, actor_username: str, object_id: str | int | None = None) -> None:
    """403 problem+json, and the refusal is on the audit chain under the acting account."""
    problem(r, 403)
    actor = str(account_id(db, actor_username))
    rows = [row for row in audit_rows(db, action, "refused") if row.actor_id == actor]
    assert rows, f"no refused {action} record for {actor_username}"
    if object_id is not None:
        assert rows[-1].object_id == str(object_id)


def staff_payload(city, **over: Any) -> dict[str, Any]:
    body = {
        "username": "li.minzheng",
        "display_name": "李民正",
        "citizen_id": NEW_CID,
        "department_id": city.departments["minzheng"],
        "title": "科员",
    }
    body.update(over)
    return body


def add_staff(db, city, n: int, prefix: str = "bulk") -> None:
    """Insert `n` plain staff rows in 市民政局 (no Argon2 cost), each holding a role."""
    with db.session() as s:
        for i in range(n):
            a = Account(
                username=f"{prefix}{i:03d}",
                kind="staff",
                display_name=f"测试员{i}",
                citizen_id=NEW_CID,
                password_hash="x",
                department_id=city.departments["minzheng"],
                created_at=clock.now(),
            )
            s.add(a)
            s.flush()
            s.add(
                StaffRole(
                    account_id=a.id,
                    role_code="approver",
                    org_unit_id=city.departments["minzheng"],
                    granted_at=clock.now(),
                )
            )


def find_node(nodes: list[dict[str, Any]], unit_id: int) -> dict[str, Any] | None:
    for n in nodes:
        if n["id"] == unit_id:
            return n
        found = find_node(n["children"], unit_id)
        if found:
            return found
    return None


def walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for n in nodes:
        yield n
        yield from walk(n["children"])


# ================================================================= who gets in


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/overview"),
        ("get", "/org-units"),
        ("get", "/accounts"),
        ("get", "/accounts.csv"),
        ("get", "/roles"),
        ("get", "/clients"),
    ],
)
def test_anonymous_is_asked_to_log_in(client, city, method, path):
    problem(getattr(client, method)(API + path), 401)


@pytest.mark.parametrize("who", ["citizen", "approver", "auditor"])
def test_non_admins_are_refused_and_audited(client, city, db, who):
    headers = login_api(client, city.accounts[who])
    username = city.accounts[who].username
    assert_refused(db, client.get(f"{API}/org-units", headers=headers), "identity.org.list", username)
    assert_refused(db, client.get(f"{API}/accounts", headers=headers), "identity.account.list", username)
    r = client.post(
        f"{API}/org-units",
        headers=headers,
        json={"code": "x-1", "name": "某科", "kind": "unit", "parent_id": city.departments["minzheng"]},
    )
    assert_refused(db, r, "identity.org.create", username)
    r = client.post(f"{API}/accounts/{account_id(db, 'approver')}/deactivate", headers=headers)
    assert_refused(db, r, "identity.account.deactivate", username, account_id(db, "approver"))


# ================================================================= organisation tree


def test_platform_admin_sees_the_whole_tree(client, city, admin_h):
    r = client.get(f"{API}/org-units", headers=admin_h)
    assert r.status_code == 200, r.text
    tree = r.json()
    assert [n["kind"] for n in tree["roots"]] == ["province"]
    assert tree["roots"][0]["kind_label"] == "省"
    city_node = find_node(tree["roots"], city.city_unit_id)
    assert city_node is not None and city_node["kind"] == "city"
    minzheng = find_node(tree["roots"], city.departments["minzheng"])
    assert minzheng["parent_id"] == city.city_unit_id
    assert minzheng["staff_count"] >= 1
    assert tree["total"] == sum(1 for _ in walk(tree["roots"]))


def test_department_admin_sees_only_their_subtree(client, city, dept_h):
    tree = client.get(f"{API}/org-units", headers=dept_h).json()
    assert [n["id"] for n in tree["roots"]] == [city.departments["minzheng"]]
    assert find_node(tree["roots"], city.departments["gongan"]) is None


def test_create_unit_under_own_department(client, city, db, dept_h):
    body = {
        "code": "mz-jiuzhu",
        "name": "社会救助科",
        "kind": "unit",
        "parent_id": city.departments["minzheng"],
    }
    r = client.post(f"{API}/org-units", headers=dept_h, json=body)
    assert r.status_code == 201, r.text
    unit = r.json()
    assert unit["name"] == "社会救助科" and unit["kind_label"] == "单位" and unit["is_active"]
    assert unit["short_name"] == "社会救助科"
    rec = audit_rows(db, "identity.org.create", "ok")[-1]
    assert rec.object_id == str(unit["id"]) and rec.actor_id == str(account_id(db, "deptadmin"))
    tree = client.get(f"{API}/org-units", headers=dept_h).json()
    assert find_node(tree["roots"], unit["id"])["parent_id"] == city.departments["minzheng"]
    assert client.get(f"{API}/org-units/{unit['id']}", headers=dept_h).json()["code"] == "mz-jiuzhu"


@pytest.mark.parametrize(
    "over,status,field",
    [
        ({"name": "   "}, 422, "name"),
        ({"name": ""}, 422, "name"),
        ({"code": ""}, 422, "code"),
        ({"code": "有中文"}, 422, "code"),
        ({"kind": "department"}, 422, "parent_id"),  # a department cannot sit under a department
        ({"kind": "community"}, 422, "parent_id"),
        ({"kind": "galaxy"}, 422, "kind"),
        ({"parent_id": 999_999}, 422, "parent_id"),
        ({"sort": -1}, 422, "sort"),
        ({"name": "长" * 101}, 422, "name"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
def test_create_unit_bad_input(client, city, admin_h, over, status, field):
    body = {
        "code": "mz-bad",
        "name": "某科",
        "kind": "unit",
        "parent_id": city.departments["minzheng"],
        **over,
    }
    body_problem = problem(client.post(f"{API}/org-units", headers=admin_h, json=body), status)
    assert field in {e["field"] for e in body_problem.get("errors", [])}, body_problem


def test_create_unit_duplicate_code(client, city, admin_h, session):
    existing = session.get(OrgUnit, city.departments["gongan"]).code
    body = {"code": existing, "name": "重复", "kind": "unit", "parent_id": city.departments["minzheng"]}
    body_problem = problem(client.post(f"{API}/org-units", headers=admin_h, json=body), 409)
    assert body_problem["errors"][0]["field"] == "code"


def test_top_level_unit_needs_platform_admin(client, city, db, dept_h, admin_h):
    body = {"code": "x-prov", "name": "某省", "kind": "province", "parent_id": None}
    assert_refused(
        db, client.post(f"{API}/org-units", headers=dept_h, json=body), "identity.org.create", "deptadmin"
    )
    # A platform admin may add a second province.
    assert client.post(f"{API}/org-units", headers=admin_h, json=body).status_code == 201


def test_department_admin_cannot_reach_into_another_department(client, city, db, dept_h):
    gongan = city.departments["gongan"]
    body = {"code": "ga-x", "name": "某大队", "kind": "unit", "parent_id": gongan}
    assert_refused(
        db, client.post(f"{API}/org-units", headers=dept_h, json=body), "identity.org.create", "deptadmin"
    )
    r = client.patch(f"{API}/org-units/{gongan}", headers=dept_h, json={"name": "改名"})
    assert_refused(db, r, "identity.org.update", "deptadmin", gongan)
    assert_refused(
        db, client.get(f"{API}/org-units/{gongan}", headers=dept_h), "identity.org.view", "deptadmin"
    )


def test_update_unit_rename_and_sort(client, city, db, dept_h):
    unit = client.post(
        f"{API}/org-units",
        headers=dept_h,
        json={"code": "mz-a", "name": "甲科", "kind": "unit", "parent_id": city.departments["minzheng"]},
    ).json()
    r = client.patch(f"{API}/org-units/{unit['id']}", headers=dept_h, json={"name": "乙科", "sort": 7})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "乙科" and r.json()["sort"] == 7
    rec = audit_rows(db, "identity.org.update", "ok")[-1]
    assert rec.object_id == str(unit["id"]) and "甲科" in rec.detail
    body = problem(client.patch(f"{API}/org-units/{unit['id']}", headers=dept_h, json={"name": " "}), 422)
    assert body["errors"][0]["field"] == "name"
    problem(client.patch(f"{API}/org-units/{unit['id']}", headers=dept_h, json={"code": "new"}), 422)
    problem(client.patch(f"{API}/org-units/999999", headers=dept_h, json={"name": "x"}), 404)


def test_deactivate_unit_refused_while_it_has_staff_or_children(client, city, admin_h, dept_h):
    # 市民政局 has an active staff account (the department admin).
    minzheng = city.departments["minzheng"]
    problem(client.patch(f"{API}/org-units/{minzheng}", headers=admin_h, json={"is_active": False}), 409)
    # A unit with an active child cannot be deactivated; its empty child can, then the unit too.
    parent = client.post(
        f"{API}/org-units",
        headers=dept_h,
        json={"code": "mz-p", "name": "上级科", "kind": "unit", "parent_id": minzheng},
    ).json()
    child = client.post(
        f"{API}/org-units",
        headers=dept_h,
        json={"code": "mz-c", "name": "下级组", "kind": "unit", "parent_id": parent["id"]},
    ).json()
    body = problem(
        client.patch(f"{API}/org-units/{parent['id']}", headers=dept_h, json={"is_active": False}), 409
    )
    assert "下级" in body["detail"]
    r = client.patch(f"{API}/org-units/{child['id']}", headers=dept_h, json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = client.patch(f"{API}/org-units/{parent['id']}", headers=dept_h, json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    # Nothing new under an inactive unit; a child cannot be reactivated before its parent.
    body = problem(
        client.post(
            f"{API}/org-units",
            headers=dept_h,
            json={"code": "mz-d", "name": "又一组", "kind": "unit", "parent_id": parent["id"]},
        ),
        422,
    )
    assert body["errors"][0]["field"] == "parent_id"
    problem(client.patch(f"{API}/org-units/{child['id']}", headers=dept_h, json={"is_active": True}), 422)
    assert (
        client.patch(f"{API}/org-units/{parent['id']}", headers=dept_h, json={"is_active": True}).status_code
        == 200
    )


def test_department_admin_cannot_deactivate_their_own_root(client, city, db, dept_h):
    r = client.patch(
        f"{API}/org-units/{city.departments['minzheng']}", headers=dept_h, json={"is_active": False}
    )
    assert_refused(db, r, "identity.org.update", "deptadmin")


# ================================================================= accounts: lists


def test_list_accounts_as_platform_admin(client, city, admin_h):
    r = client.get(f"{API}/accounts", headers=admin_h)
    assert r.status_code == 200, r.text
    page = r.json()
    usernames = [a["username"] for a in page["items"]]
    assert {"admin", "approver", "deptadmin", "dataofficer"} <= set(usernames)
    assert usernames == sorted(usernames)
    assert all(a["kind"] == "staff" for a in page["items"])
    for a in page["items"]:
        assert "*" in a["citizen_id_masked"] and len(a["citizen_id_masked"]) == 18
    approver = next(a for a in page["items"] if a["username"] == "approver")
    assert approver["role_names"] == ["审批人员"] and approver["department_name"]
    assert page["total"] >= len(page["items"])


def test_list_accounts_filters_and_sorting(client, city, admin_h):
    got = client.get(
        f"{API}/accounts", headers=admin_h, params={"department_id": city.departments["gongan"]}
    ).json()
    assert [a["username"] for a in got["items"]] == ["dataofficer"]
    got = client.get(f"{API}/accounts", headers=admin_h, params={"role": "approver"}).json()
    assert [a["username"] for a in got["items"]] == ["approver"]
    got = client.get(f"{API}/accounts", headers=admin_h, params={"q": "ADMIN"}).json()
    assert {a["username"] for a in got["items"]} == {"admin", "deptadmin"}
    got = client.get(f"{API}/accounts", headers=admin_h, params={"q": "派单"}).json()  # by title
    assert [a["username"] for a in got["items"]] == ["dispatcher"]
    got = client.get(f"{API}/accounts", headers=admin_h, params={"sort": "-username"}).json()
    names = [a["username"] for a in got["items"]]
    assert names == sorted(names, reverse=True)
    got = client.get(
        f"{API}/accounts", headers=admin_h, params={"sort": "department", "limit": 3, "offset": 1}
    )
    assert got.status_code == 200 and got.json()["offset"] == 1 and len(got.json()["items"]) == 3
    got = client.get(f"{API}/accounts", headers=admin_h, params={"active": "false"}).json()
    assert got["items"] == []
    got = client.get(
        f"{API}/accounts", headers=admin_h, params={"q": "100%_"}
    ).json()  # LIKE wildcards are text
    assert got["total"] == 0


@pytest.mark.parametrize(
    "params,field",
    [
        ({"sort": "password_hash"}, "sort"),
        ({"role": "emperor"}, "role"),
        ({"kind": "robot"}, "kind"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"department_id": 999999}, "department_id"),
        ({"active": "perhaps"}, "active"),
    ],
)
def test_list_accounts_bad_filters(client, city, admin_h, params, field):
    body = problem(client.get(f"{API}/accounts", headers=admin_h, params=params), 422)
    assert field in {e["field"] for e in body["errors"]}


def test_list_accounts_is_audited_with_the_search_terms(client, city, db, admin_h):
    client.get(f"{API}/accounts", headers=admin_h, params={"q": "approver", "role": "approver"})
    rec = audit_rows(db, "identity.account.list", "ok")[-1]
    assert rec.actor_id == str(account_id(db, "admin"))
    # In Chinese (the auditor reads it on /audit): the role by its name; the typed keyword as typed.
    assert "关键字=approver" in rec.purpose and "角色=审批人员" in rec.purpose


def test_department_admin_lists_only_their_staff(client, city, db, dept_h):
    got = client.get(f"{API}/accounts", headers=dept_h).json()
    assert [a["username"] for a in got["items"]] == ["deptadmin"]
    r = client.get(f"{API}/accounts", headers=dept_h, params={"department_id": city.departments["gongan"]})
    assert_refused(db, r, "identity.account.list", "deptadmin")
    r = client.get(f"{API}/accounts", headers=dept_h, params={"kind": "citizen", "q": "张三"})
    assert_refused(db, r, "identity.account.list", "deptadmin")


def test_platform_admin_searches_citizens_with_masked_ids(client, city, db, admin_h):
    citizen = city.accounts["citizen"]
    r = client.get(f"{API}/accounts", headers=admin_h, params={"kind": "citizen", "q": citizen.display_name})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    masked = citizen.citizen_id[:6] + "********" + citizen.citizen_id[-4:]
    hit = next(a for a in items if a["id"] == account_id(db, citizen.username))
    # The username of a citizen is their citizen ID: masked like it.
    assert hit["citizen_id_masked"] == masked and hit["username"] == masked
    assert citizen.citizen_id not in r.text
    assert hit["kind_label"] == "个人"
    # The citizen sees the look-up under their own ID ("who used my data").
    hits = [row for row in audit_rows(db, "identity.account.search_hit") if row.subject == citizen.citizen_id]
    assert hits and citizen.display_name in hits[-1].purpose
    # By the start of the username (their citizen ID) as well, but not by a short prefix that would
    # list a whole district; never browsed without a search term.
    r = client.get(f"{API}/accounts", headers=admin_h, params={"kind": "citizen", "q": citizen.username[:10]})
    assert account_id(db, citizen.username) in {a["id"] for a in r.json()["items"]}
    r = client.get(f"{API}/accounts", headers=admin_h, params={"kind": "citizen", "q": citizen.username[:6]})
    assert r.json()["items"] == []
    body = problem(client.get(f"{API}/accounts", headers=admin_h, params={"kind": "citizen"}), 422)
    assert body["errors"][0]["field"] == "q"


def test_account_detail(client, city, db, admin_h):
    approver_id = account_id(db, "approver")
    r = client.get(f"{API}/accounts/{approver_id}", headers=admin_h)
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["username"] == "approver" and detail["kind"] == "staff"
    assert "*" in detail["citizen_id_masked"]
    assert [g["role_code"] for g in detail["roles"]] == ["approver"]
    assert detail["department_path"][0] == "辽宁省"
    rec = audit_rows(db, "identity.account.view", "ok")[-1]
    assert rec.object_id == str(approver_id) and rec.subject == city.accounts["approver"].citizen_id
    problem(client.get(f"{API}/accounts/999999", headers=admin_h), 404)


def test_department_admin_cannot_view_another_departments_account(client, city, db, dept_h):
    officer = account_id(db, "dataofficer")
    assert_refused(
        db,
        client.get(f"{API}/accounts/{officer}", headers=dept_h),
        "identity.account.view",
        "deptadmin",
        officer,
    )
    citizen = account_id(db, city.accounts["citizen"].username)
    assert_refused(
        db, client.get(f"{API}/accounts/{citizen}", headers=dept_h), "identity.account.view", "deptadmin"
    )


# ================================================================= accounts: create


def test_create_staff_account_with_generated_password(client, city, db, dept_h):
    r = client.post(
        f"{API}/accounts",
        headers=dept_h,
        json=staff_payload(
            city, roles=[{"role_code": "approver", "org_unit_id": city.departments["minzheng"]}]
        ),
    )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"].startswith("no-store")
    created = r.json()
    password = created["temporary_password"]
    assert password and len(password) == 12
    assert created["account"]["department_name"] == "云川市民政局"
    assert [g["role_code"] for g in created["account"]["roles"]] == ["approver"]
    assert audit_rows(db, "identity.staff.create", "ok")[-1].object_id == str(created["account"]["id"])
    # The temporary password was read out by someone else: it opens nothing until replaced.
    r = client.post("/api/v1/identity/login", json={"username": "li.minzheng", "password": password})
    assert r.status_code == 403 and r.json()["type"] == "/problems/password-change-required", r.text
    r = client.post(
        "/api/v1/identity/login",
        json={"username": "li.minzheng", "password": password, "new_password": "Own-Pass-2026"},
    )
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/identity/login", json={"username": "li.minzheng", "password": "Own-Pass-2026"})
    assert r.status_code == 200, r.text


def test_create_staff_account_with_own_password(client, city, dept_h):
    r = client.post(f"{API}/accounts", headers=dept_h, json=staff_payload(city, password="Str0ng!pass"))
    assert r.status_code == 201 and r.json()["temporary_password"] is None
    r = client.post("/api/v1/identity/login", json={"username": "li.minzheng", "password": "Str0ng!pass"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    "over,status,field",
    [
        ({"username": "approver"}, 409, "username"),
        ({"username": "张三"}, 422, "username"),
        ({"username": ""}, 422, "username"),
        ({"citizen_id": "110105194912310021"}, 422, "citizen_id"),  # wrong check digit
        ({"citizen_id": "12345"}, 422, "citizen_id"),
        ({"display_name": " "}, 422, "display_name"),
        ({"password": "weak"}, 422, "password"),
        ({"password": "alllowercase1"}, 422, "password"),
        ({"roles": [{"role_code": "emperor", "org_unit_id": 1}]}, 422, "roles.0.role_code"),
        ({"department_id": 999999}, 422, "department_id"),
        ({"nickname": "x"}, 422, "nickname"),
    ],
)
def test_create_staff_account_bad_input(client, city, db, admin_h, over, status, field):
    body = problem(client.post(f"{API}/accounts", headers=admin_h, json=staff_payload(city, **over)), status)
    assert field in {e["field"] for e in body.get("errors", [])}, body
    with db.session() as s:
        assert s.scalars(select(Account).where(Account.username == "li.minzheng")).first() is None


def test_department_admin_cannot_create_staff_elsewhere(client, city, db, dept_h):
    r = client.post(
        f"{API}/accounts", headers=dept_h, json=staff_payload(city, department_id=city.departments["gongan"])
    )
    assert_refused(db, r, "identity.staff.create", "deptadmin")
    # Nor hand out a role outside their subtree, nor the platform admin role.
    r = client.post(
        f"{API}/accounts",
        headers=dept_h,
        json=staff_payload(
            city, roles=[{"role_code": "approver", "org_unit_id": city.departments["gongan"]}]
        ),
    )
    assert_refused(db, r, "identity.staff.create", "deptadmin")
    r = client.post(
        f"{API}/accounts",
        headers=dept_h,
        json=staff_payload(
            city, roles=[{"role_code": "platform_admin", "org_unit_id": city.departments["minzheng"]}]
        ),
    )
    assert_refused(db, r, "identity.staff.create", "deptadmin")
    with db.session() as s:
        assert s.scalars(select(Account).where(Account.username == "li.minzheng")).first() is None


# ================================================================= accounts: status, unlock, password


def test_deactivation_revokes_sessions_and_tokens(client, city, db, admin_h):
    from fastapi.testclient import TestClient

    approver = city.accounts["approver"]
    approver_h = login_api(client, approver)
    with TestClient(client.app, base_url="http://testserver") as browser:
        signed_in(browser, approver, as_="staff")
        assert browser.get("/me").status_code == 200
        approver_id = account_id(db, "approver")
        r = client.post(
            f"{API}/accounts/{approver_id}/deactivate", headers=admin_h, json={"reason": "调离本单位"}
        )
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["account"]["is_active"] is False
        assert result["sessions_revoked"] >= 1 and result["tokens_revoked"] >= 1
        # The API token and the browser session are dead at once, and no new login works.
        problem(client.get("/api/v1/identity/me", headers=approver_h), 401)
        r = browser.get("/me", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with db.session() as s:
        assert all(
            ws.revoked_at is not None
            for ws in s.scalars(select(WebSession).where(WebSession.account_id == approver_id))
        )
    r = client.post(
        "/api/v1/identity/login", json={"username": approver.username, "password": approver.password}
    )
    assert r.status_code == 401
    rec = audit_rows(db, "identity.account.deactivate", "ok")[-1]
    assert rec.object_id == str(approver_id) and rec.purpose == "调离本单位"
    # Reactivated, the account logs in again.
    r = client.post(f"{API}/accounts/{approver_id}/activate", headers=admin_h)
    assert r.status_code == 200 and r.json()["account"]["is_active"] is True
    login_api(client, approver)


def test_status_changes_refused(client, city, db, admin_h, dept_h):
    admin_id = account_id(db, "admin")
    body = problem(client.post(f"{API}/accounts/{admin_id}/deactivate", headers=admin_h), 403)
    assert "自己" in body["detail"]
    officer = account_id(db, "dataofficer")
    for action in ("deactivate", "activate", "unlock", "reset-password"):
        r = client.post(f"{API}/accounts/{officer}/{action}", headers=dept_h)
        assert_refused(db, r, f"identity.account.{action.replace('-', '_')}", "deptadmin", officer)
    problem(client.post(f"{API}/accounts/999999/deactivate", headers=admin_h), 404)
    problem(
        client.post(f"{API}/accounts/{officer}/deactivate", headers=admin_h, json={"reason": "x" * 201}), 422
    )


def test_unlock_after_lock_out(client, city, db, admin_h):
    approver = city.accounts["approver"]
    for _ in range(get_settings().login_max_failures):
        client.post("/api/v1/identity/login", json={"username": approver.username, "password": "Wrong-pass1"})
    r = client.post(
        "/api/v1/identity/login", json={"username": approver.username, "password": approver.password}
    )
    assert r.status_code == 423
    approver_id = account_id(db, "approver")
    listed = client.get(f"{API}/accounts", headers=admin_h, params={"locked": "true"}).json()
    assert [a["username"] for a in listed["items"]] == ["approver"] and listed["items"][0]["is_locked"]
    r = client.post(f"{API}/accounts/{approver_id}/unlock", headers=admin_h)
    assert r.status_code == 200, r.text
    assert r.json()["is_locked"] is False and r.json()["failed_logins"] == 0
    login_api(client, approver)
    rec = audit_rows(db, "identity.account.unlock", "ok")[-1]
    assert rec.object_id == str(approver_id) and '"was_locked":true' in rec.detail


def test_reset_password(client, city, db, admin_h):
    approver = city.accounts["approver"]
    old_h = login_api(client, approver)
    approver_id = account_id(db, "approver")
    r = client.post(f"{API}/accounts/{approver_id}/reset-password", headers=admin_h)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"].startswith("no-store")
    temp = r.json()["temporary_password"]
    problem(client.get("/api/v1/identity/me", headers=old_h), 401)
    r = client.post(
        "/api/v1/identity/login", json={"username": approver.username, "password": approver.password}
    )
    assert r.status_code == 401
    # The administrator saw the temporary password: it opens nothing until the person replaces it.
    r = client.post("/api/v1/identity/login", json={"username": approver.username, "password": temp})
    assert r.status_code == 403 and r.json()["type"] == "/problems/password-change-required"
    assert r.json()["errors"][0]["field"] == "new_password"
    body = {"username": approver.username, "password": temp, "new_password": temp}
    r = client.post("/api/v1/identity/login", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "new_password"  # not the same one
    r = client.post("/api/v1/identity/login", json={**body, "new_password": "Mine-Only-2026"})
    assert r.status_code == 200, r.text
    r = client.post(
        "/api/v1/identity/login", json={"username": approver.username, "password": "Mine-Only-2026"}
    )
    assert r.status_code == 200, r.text
    rec = audit_rows(db, "identity.account.reset_password", "ok")[-1]
    assert rec.object_id == str(approver_id) and temp not in rec.detail


# ================================================================= roles


def test_grant_and_revoke_roles(client, city, db, dept_h):
    created = client.post(f"{API}/accounts", headers=dept_h, json=staff_payload(city)).json()
    new_id = created["account"]["id"]
    r = client.post(
        f"{API}/accounts/{new_id}/roles",
        headers=dept_h,
        json={"role_code": "approver", "org_unit_id": city.departments["minzheng"]},
    )
    assert r.status_code == 201, r.text
    grant = r.json()
    assert grant["role_name"] == "审批人员" and grant["org_unit_name"] == "云川市民政局"
    assert audit_rows(db, "identity.role.grant", "ok")[-1].object_id == str(new_id)
    # Bad input.
    bad = problem(
        client.post(
            f"{API}/accounts/{new_id}/roles",
            headers=dept_h,
            json={"role_code": "emperor", "org_unit_id": city.departments["minzheng"]},
        ),
        422,
    )
    assert bad["errors"][0]["field"] == "role_code"
    bad = problem(
        client.post(
            f"{API}/accounts/{new_id}/roles",
            headers=dept_h,
            json={"role_code": "approver", "org_unit_id": 999999},
        ),
        422,
    )
    assert bad["errors"][0]["field"] == "org_unit_id"
    problem(
        client.post(f"{API}/accounts/{new_id}/roles", headers=dept_h, json={"role_code": "approver"}), 422
    )
    # Refused: outside the subtree, and the platform admin role.
    r = client.post(
        f"{API}/accounts/{new_id}/roles",
        headers=dept_h,
        json={"role_code": "approver", "org_unit_id": city.departments["gongan"]},
    )
    assert_refused(db, r, "identity.role.grant", "deptadmin", new_id)
    r = client.post(
        f"{API}/accounts/{new_id}/roles",
        headers=dept_h,
        json={"role_code": "platform_admin", "org_unit_id": city.departments["minzheng"]},
    )
    assert_refused(db, r, "identity.role.grant", "deptadmin", new_id)
    # Revoke: only through the account the grant belongs to.
    officer = account_id(db, "dataofficer")
    problem(client.delete(f"{API}/accounts/{officer}/roles/{grant['id']}", headers=dept_h), 404)
    r = client.delete(f"{API}/accounts/{new_id}/roles/{grant['id']}", headers=dept_h)
    assert r.status_code == 204
    assert client.get(f"{API}/accounts/{new_id}", headers=dept_h).json()["roles"] == []
    assert audit_rows(db, "identity.role.revoke", "ok")[-1].object_id == str(new_id)
    problem(client.delete(f"{API}/accounts/{new_id}/roles/{grant['id']}", headers=dept_h), 404)


def test_department_admin_cannot_grant_to_another_departments_staff(client, city, db, dept_h):
    officer = account_id(db, "dataofficer")
    r = client.post(
        f"{API}/accounts/{officer}/roles",
        headers=dept_h,
        json={"role_code": "approver", "org_unit_id": city.departments["minzheng"]},
    )
    assert_refused(db, r, "identity.role.grant", "deptadmin", officer)
    with db.session() as s:
        grant = s.scalars(select(StaffRole).where(StaffRole.account_id == officer)).first()
    r = client.delete(f"{API}/accounts/{officer}/roles/{grant.id}", headers=dept_h)
    assert_refused(db, r, "identity.role.revoke", "deptadmin")


def test_cannot_revoke_own_admin_role(client, city, db, admin_h):
    admin_id = account_id(db, "admin")
    with db.session() as s:
        grant = s.scalars(select(StaffRole).where(StaffRole.account_id == admin_id)).first()
    problem(client.delete(f"{API}/accounts/{admin_id}/roles/{grant.id}", headers=admin_h), 403)


def test_list_roles(client, city, admin_h, dept_h):
    roles = client.get(f"{API}/roles", headers=admin_h).json()
    assert [r["code"] for r in roles] == list(BUILTIN_ROLES)
    by_code = {r["code"]: r for r in roles}
    assert by_code["approver"]["name"] == "审批人员" and by_code["approver"]["description"]
    assert by_code["platform_admin"]["holders_count"] >= 1
    assert "admin" in {h["username"] for h in by_code["platform_admin"]["holders"]}
    # A department admin sees only holders in their subtree.
    mine = {r["code"]: r for r in client.get(f"{API}/roles", headers=dept_h).json()}
    assert mine["approver"]["holders_count"] == 0
    assert [h["username"] for h in mine["dept_admin"]["holders"]] == ["deptadmin"]


# ================================================================= CSV export


def test_export_accounts_csv(client, city, db, admin_h):
    r = client.get(f"{API}/accounts.csv", headers=admin_h, params={"sort": "username"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel then reads the Chinese correctly
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["编号", "用户名", "姓名", "账号类型"]
    assert "身份证号码（脱敏）" in rows[0] and "所属部门" in rows[0]
    usernames = [row[1] for row in rows[1:]]
    assert "approver" in usernames and usernames == sorted(usernames)
    approver = next(row for row in rows[1:] if row[1] == "approver")
    assert approver[3] == "工作人员" and "*" in approver[4] and approver[7] == "审批人员"
    rec = audit_rows(db, "identity.account.export", "ok")[-1]
    assert "导出" in rec.purpose


def test_export_neutralises_formulas(client, city, db, admin_h):
    with db.session() as s:
        a = account_row(s, "approver")
        a.title = '=HYPERLINK("http://evil")'
    r = client.get(f"{API}/accounts.csv", headers=admin_h, params={"role": "approver"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[1][6].startswith("'=")


def test_export_refused_for_other_departments(client, city, db, dept_h):
    r = client.get(
        f"{API}/accounts.csv", headers=dept_h, params={"department_id": city.departments["gongan"]}
    )
    assert_refused(db, r, "identity.account.export", "deptadmin")
    r = client.get(f"{API}/accounts.csv", headers=dept_h)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["deptadmin"]


# ================================================================= query counts


def test_account_list_query_count_does_not_grow_with_page_size(client, city, db, admin_h):
    add_staff(db, city, 30)
    with count_queries(db) as small:
        r = client.get(f"{API}/accounts", headers=admin_h, params={"limit": 2})
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    with count_queries(db) as large:
        r = client.get(f"{API}/accounts", headers=admin_h, params={"limit": 40})
    assert r.status_code == 200 and len(r.json()["items"]) == 40
    assert len(large) == len(small), (small, large)
    assert len(large) <= 14, large


def test_account_list_query_count_for_department_admin_and_citizen_search(client, city, db, admin_h, dept_h):
    add_staff(db, city, 20)
    with count_queries(db) as small:
        client.get(f"{API}/accounts", headers=dept_h, params={"limit": 2})
    with count_queries(db) as large:
        r = client.get(f"{API}/accounts", headers=dept_h, params={"limit": 21})
    assert len(r.json()["items"]) == 21
    assert len(large) == len(small)
    # A citizen search writes one audit record per hit, as one batch.
    with db.session() as s:
        for i in range(6):
            s.add(
                Account(
                    username=f"21950419900101{i:04d}",
                    kind="citizen",
                    display_name="同名居民",
                    password_hash="x",
                    created_at=clock.now(),
                )
            )
    params = {"kind": "citizen", "q": "同名居民"}
    with count_queries(db) as small:
        client.get(f"{API}/accounts", headers=admin_h, params={**params, "limit": 1})
    with count_queries(db) as large:
        r = client.get(f"{API}/accounts", headers=admin_h, params={**params, "limit": 6})
    assert len(r.json()["items"]) == 6
    assert len(large) == len(small)


def test_tree_roles_and_export_query_counts_do_not_grow(client, city, db, admin_h):
    def measure() -> list[int]:
        counts = []
        for path in ("/org-units", "/roles", "/accounts.csv"):
            with count_queries(db) as q:
                assert client.get(API + path, headers=admin_h).status_code == 200
            counts.append(len(q))
        return counts

    before = measure()
    add_staff(db, city, 15)
    for i in range(5):
        client.post(
            f"{API}/org-units",
            headers=admin_h,
            json={
                "code": f"qc-{i}",
                "name": f"测试科{i}",
                "kind": "unit",
                "parent_id": city.departments["minzheng"],
            },
        )
    assert measure() == before


# ================================================================= OIDC clients (A5)


def client_body(city, **over: Any) -> dict[str, Any]:
    body = {
        "name": "市民政局社会救助系统",
        "owner_unit_id": city.departments["minzheng"],
        "redirect_uris": ["https://jz.mz.example.gov.cn/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "allowed_scopes": "openid profile",
    }
    body.update(over)
    return body


def test_register_list_update_rotate_deactivate_client(client, city, db, admin_h):
    r = client.post(f"{API}/clients", headers=admin_h, json=client_body(city))
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"].startswith("no-store")
    created = r.json()
    cid, secret = created["client"]["client_id"], created["client_secret"]
    assert secret and created["client"]["owner_unit_name"] == "云川市民政局"
    listed = client.get(f"{API}/clients", headers=admin_h).json()
    assert cid in {c["client_id"] for c in listed}
    assert secret not in client.get(f"{API}/clients", headers=admin_h).text
    one = client.get(f"{API}/clients/{cid}", headers=admin_h).json()
    assert one["redirect_uris"] == ["https://jz.mz.example.gov.cn/callback"]
    # Update the redirect URIs; a bad one is refused with its line named.
    r = client.patch(
        f"{API}/clients/{cid}", headers=admin_h, json={"redirect_uris": ["https://jz.mz.example.gov.cn/cb2"]}
    )
    assert r.status_code == 200 and r.json()["redirect_uris"] == ["https://jz.mz.example.gov.cn/cb2"]
    bad = problem(
        client.patch(
            f"{API}/clients/{cid}", headers=admin_h, json={"redirect_uris": ["http://evil.example.com/cb"]}
        ),
        422,
    )
    assert bad["errors"][0]["field"] == "redirect_uris.0"
    # Rotating gives a new secret; client credentials with the old one no longer work.
    r = client.post(f"{API}/clients/{cid}/rotate-secret", headers=admin_h)
    assert r.status_code == 200 and r.json()["client_secret"] not in (None, secret)
    assert audit_rows(db, "identity.client.rotate_secret", "ok")[-1].object_id == cid
    r = client.post(f"{API}/clients/{cid}/deactivate", headers=admin_h)
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = client.post(f"{API}/clients/{cid}/activate", headers=admin_h)
    assert r.status_code == 200 and r.json()["is_active"] is True
    problem(client.get(f"{API}/clients/nope", headers=admin_h), 404)


@pytest.mark.parametrize(
    "over,field",
    [
        ({"name": " "}, "name"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"redirect_uris": ["ftp://x.example.com/cb"]}, "redirect_uris.0"),
        ({"grant_types": ["password"]}, "grant_types"),
        ({"allowed_scopes": "OPENID Bad!"}, "allowed_scopes"),
        ({"owner_unit_id": "abc"}, "owner_unit_id"),
    ],
)
def test_register_client_bad_input(client, city, admin_h, over, field):
    body = problem(client.post(f"{API}/clients", headers=admin_h, json=client_body(city, **over)), 422)
    assert field in {e["field"] for e in body["errors"]}, body


def test_client_administration_refused(client, city, db, dept_h):
    r = client.post(
        f"{API}/clients", headers=dept_h, json=client_body(city, owner_unit_id=city.departments["gongan"])
    )
    assert_refused(db, r, "identity.client.register", "deptadmin")
    # The demo client belongs to 市大数据局: out of 民政's reach.
    r = client.post(f"{API}/clients/{city.client.client_id}/rotate-secret", headers=dept_h)
    assert_refused(db, r, "identity.client.rotate_secret", "deptadmin")
    r = client.post(f"{API}/clients/{city.client.client_id}/deactivate", headers=dept_h)
    assert_refused(db, r, "identity.client.deactivate", "deptadmin")
    # Their own department's client is theirs to manage, and the only one they list.
    r = client.post(f"{API}/clients", headers=dept_h, json=client_body(city))
    assert r.status_code == 201, r.text
    assert [c["client_id"] for c in client.get(f"{API}/clients", headers=dept_h).json()] == [
        r.json()["client"]["client_id"]
    ]
    citizen_h = login_api(client, city.accounts["citizen"])
    assert_refused(
        db,
        client.get(f"{API}/clients", headers=citizen_h),
        "identity.client.list",
        city.accounts["citizen"].username,
    )


def test_overview_counts(client, city, admin_h, dept_h):
    counts = {c["key"]: c for c in client.get(f"{API}/overview", headers=admin_h).json()["counts"]}
    assert counts["staff_active"]["value"] >= 10 and counts["staff_active"]["href"].startswith(
        "/admin/accounts"
    )
    assert counts["citizens"]["value"] >= 3 and counts["clients"]["value"] >= 1
    mine = client.get(f"{API}/overview", headers=dept_h).json()
    assert mine["scope_names"] == ["云川市民政局"]
    assert {c["key"]: c["value"] for c in mine["counts"]}["staff_active"] == 1
    assert "citizens" not in {c["key"] for c in mine["counts"]}
