"""A role grant is bounded by its grantor, and a role by the unit it is held in (issue 7 item 2).

The penetration test found a department administrator granting itself 安全审计员 or 领导 and then
reading every department's objections, call log and grants. Here: the grant rules (operator roles
only by the platform administrator, no self-escalation, department roles only in the grantor's
subtree) and the unit-bound reach of every role (`Actor.reach`, `Actor.wide`).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.helpers import audit_rows
from tests.identity.helpers import account_row, login_api, problem
from yiwang import identity
from yiwang.core import clock
from yiwang.core.errors import Forbidden, Invalid
from yiwang.core.ids import citizen_id_check_char
from yiwang.core.security import PLATFORM, Actor, ActorKind, require_role
from yiwang.identity.models import StaffRole

API = "/api/v1/admin"


@pytest.fixture
def dept_h(client, city) -> dict[str, str]:
    """The department admin of 市民政局 (dept_admin held at 市民政局)."""
    return login_api(client, city.accounts["dept_admin"])


def _cid(first17: str) -> str:
    return first17 + citizen_id_check_char(first17)


def _province(db, city) -> int:
    with db.session() as s:
        parent = identity.get_org_unit(s, city.city_unit_id).parent_id
        assert parent is not None
        return parent


def _id(db, username: str) -> int:
    with db.session() as s:
        return account_row(s, username).id


def _grant(client, headers, account_id: int, role: str, unit: int):
    return client.post(
        f"{API}/accounts/{account_id}/roles", headers=headers, json={"role_code": role, "org_unit_id": unit}
    )


def _refused_by(db, r, actor_username: str, account_id: int, role: str) -> None:
    problem(r, 403)
    rows = [
        x
        for x in audit_rows(db, "identity.role.grant", "refused")
        if x.actor_id == str(_id(db, actor_username)) and x.object_id == str(account_id)
    ]
    # Refused by the rule itself (naming the role) or, outside the grantor's subtree, before it.
    assert rows
    last = json.loads(rows[-1].detail)
    assert last.get("role") == role or last.get("path") == f"{API}/accounts/{account_id}/roles"


def _held(db, account_id: int) -> set[tuple[str, int]]:
    with db.session() as s:
        return {
            (g.role_code, g.org_unit_id)
            for g in s.scalars(select(StaffRole).where(StaffRole.account_id == account_id))
        }


@pytest.fixture
def minzheng_clerk(db, city) -> int:
    """A plain staff member of 市民政局, in the department admin's subtree."""
    with db.session() as s:
        created = identity.create_staff_account(
            s,
            PLATFORM,
            identity.StaffAccountCreate(
                username="zhang.mz",
                display_name="张民",
                citizen_id=_cid("11010519900101001"),
                department_id=city.departments["minzheng"],
                password="Yiwang-test-2026!",
            ),
        )
        return created.account.id


@pytest.mark.parametrize("role", ["auditor", "leader", "platform_admin"])
def test_a_department_admin_cannot_grant_itself_an_operator_role(client, db, city, dept_h, role):
    me = _id(db, "deptadmin")
    for unit in (city.departments["minzheng"], city.city_unit_id, _province(db, city)):
        _refused_by(db, _grant(client, dept_h, me, role, unit), "deptadmin", me, role)
    assert all(r not in {"auditor", "leader", "platform_admin"} for r, _u in _held(db, me))
    # The escalation it would have bought is not there either: no call log for a department admin.
    problem(client.get("/api/v1/exchange/calls", headers=dept_h), 403)


@pytest.mark.parametrize("role", ["auditor", "leader"])
def test_a_department_admin_cannot_grant_operator_roles_to_its_staff_either(
    client, db, city, dept_h, minzheng_clerk, role
):
    r = _grant(client, dept_h, minzheng_clerk, role, city.departments["minzheng"])
    _refused_by(db, r, "deptadmin", minzheng_clerk, role)
    assert _held(db, minzheng_clerk) == set()


def test_nobody_grants_themself_a_new_department_role(client, db, city, dept_h):
    me = _id(db, "deptadmin")
    r = _grant(client, dept_h, me, "data_officer", city.departments["minzheng"])
    _refused_by(db, r, "deptadmin", me, "data_officer")
    assert ("data_officer", city.departments["minzheng"]) not in _held(db, me)


def test_a_department_admin_grants_department_roles_in_its_subtree_only(
    client, db, city, dept_h, minzheng_clerk
):
    r = _grant(client, dept_h, minzheng_clerk, "data_officer", city.departments["minzheng"])
    assert r.status_code == 201, r.text
    r = _grant(client, dept_h, minzheng_clerk, "approver", city.departments["gongan"])
    _refused_by(db, r, "deptadmin", minzheng_clerk, "approver")
    assert _held(db, minzheng_clerk) == {("data_officer", city.departments["minzheng"])}
    # The console offers only what it may grant.
    with db.session() as s:
        actor = identity.build_actor(s, account_row(s, "deptadmin"))
    from yiwang.identity.service.admin import grantable_roles

    assert {c for c, _n in grantable_roles(actor)} & {"auditor", "leader", "platform_admin"} == set()


def test_the_platform_admin_grants_operator_roles_audited(client, db, city, minzheng_clerk):
    admin_h = login_api(client, city.accounts["admin"])
    r = _grant(client, admin_h, minzheng_clerk, "auditor", city.city_unit_id)
    assert r.status_code == 201, r.text
    record = audit_rows(db, "identity.role.grant", "ok")[-1]
    assert record.object_id == str(minzheng_clerk)
    detail = json.loads(record.detail)
    assert detail["role"] == "auditor" and detail["operator_role"] is True
    # 平台管理员 only at the top of the tree: lower, it would be a department admin by another name.
    problem(_grant(client, admin_h, minzheng_clerk, "platform_admin", city.departments["minzheng"]), 422)


def test_a_department_admin_cannot_revoke_an_operator_role_in_its_subtree(
    client, db, city, dept_h, minzheng_clerk
):
    with db.session() as s:
        grant = identity.grant_role(s, PLATFORM, minzheng_clerk, "leader", city.departments["minzheng"])
        grant_id = grant.id
    problem(client.delete(f"{API}/accounts/{minzheng_clerk}/roles/{grant_id}", headers=dept_h), 403)
    assert ("leader", city.departments["minzheng"]) in _held(db, minzheng_clerk)


def test_the_grant_service_refuses_without_any_router(db, city, minzheng_clerk):
    """The rules live in the service: the CLI and scripts meet them too."""
    with db.session() as s:
        dept_admin = identity.build_actor(s, account_row(s, "deptadmin"))
        with pytest.raises(Forbidden) as e:
            identity.grant_role(s, dept_admin, minzheng_clerk, "auditor", city.departments["minzheng"])
        assert e.value.refusal is not None and e.value.refusal["action"] == "identity.role.grant"
        with pytest.raises(Invalid):
            identity.grant_role(s, PLATFORM, minzheng_clerk, "platform_admin", city.city_unit_id)


def test_the_one_grant_path_refuses_what_only_the_console_used_to_check(db, city, minzheng_clerk):
    """`grant_role` is the only way to grant a role (the console's own wrapper is gone): it refuses
    an inactive unit, an inactive account, and a department admin touching a 平台管理员's account,
    which the service called by the demo, the CLI and scripts used to let through."""
    minzheng = city.departments["minzheng"]
    with db.session() as s:
        identity.get_org_unit(s, minzheng).is_active = False
        s.flush()
        with pytest.raises(Invalid) as e:
            identity.grant_role(s, PLATFORM, minzheng_clerk, "approver", minzheng)
        assert e.value.errors[0].field == "org_unit_id"
        s.rollback()
    with db.session() as s:
        identity.get_account(s, minzheng_clerk).is_active = False
        s.flush()
        with pytest.raises(Invalid) as e:
            identity.grant_role(s, PLATFORM, minzheng_clerk, "approver", minzheng)
        assert e.value.errors[0].field == "account_id"
        s.rollback()
    with db.session() as s:
        # A legacy 平台管理员 grant held in the department admin's subtree: still not theirs to touch.
        s.add(StaffRole(account_id=minzheng_clerk, role_code="platform_admin", org_unit_id=minzheng,
                        granted_at=clock.now()))  # fmt: skip
        s.flush()
        dept_admin = identity.build_actor(s, account_row(s, "deptadmin"))
        with pytest.raises(Forbidden):
            identity.grant_role(s, dept_admin, minzheng_clerk, "approver", minzheng)
        s.rollback()
    assert _held(db, minzheng_clerk) == set()


# ---------------------------------------------------------------- every role check honours its unit


def test_an_actor_knows_where_each_role_is_held(db, city, minzheng_clerk):
    with db.session() as s:
        identity.grant_role(s, PLATFORM, minzheng_clerk, "auditor", city.departments["minzheng"])
        actor = identity.build_actor(s, identity.get_account(s, minzheng_clerk))
        admin = identity.build_actor(s, account_row(s, "admin"))
        leader = identity.build_actor(s, account_row(s, "leader"))
    assert actor.has_role("auditor")  # held somewhere: enough for a menu …
    assert not actor.wide("auditor")  # … but not everywhere
    assert actor.reach("auditor") == frozenset({city.departments["minzheng"]})
    assert admin.is_platform_admin and admin.reach("platform_admin") is None
    assert leader.reach("leader") == frozenset({city.city_unit_id})  # held at the city, not the province
    # An actor made by code (the platform itself) is not held in the tree and reaches everywhere.
    assert PLATFORM.is_platform_admin and PLATFORM.reach("platform_admin") is None
    code_made = Actor(kind=ActorKind.STAFF, roles=frozenset({"auditor"}))
    assert code_made.reach("auditor") is None


def test_platform_admin_held_below_the_top_is_not_platform_wide(db, city, minzheng_clerk):
    """A legacy grant of 平台管理员 at a department does not make its holder an operator of the city."""
    with db.session() as s:
        s.add(
            StaffRole(
                account_id=minzheng_clerk,
                role_code="platform_admin",
                org_unit_id=city.departments["minzheng"],
                granted_at=clock.now(),
            )
        )
        s.flush()
        actor = identity.build_actor(s, identity.get_account(s, minzheng_clerk))
    assert actor.has_role("platform_admin") and not actor.is_platform_admin
    assert actor.admin_units == frozenset({city.departments["minzheng"]})
    with pytest.raises(Forbidden):
        require_role(actor, "platform_admin")  # e.g. registering an external registry adapter


def test_a_data_officer_role_held_elsewhere_does_not_make_one_an_officer_of_ones_own_department(db, city):
    """Catalog and governance act "for the officer's department": the role must be held there."""
    from yiwang.governance.service.access import is_officer

    with db.session() as s:
        created = identity.create_staff_account(
            s, PLATFORM, identity.StaffAccountCreate(
                username="wang.rs", display_name="王人", citizen_id=_cid("11010519900101003"),
                department_id=city.departments["renshe"], password="Yiwang-test-2026!",
            ),
        )  # fmt: skip
        account = identity.get_account(s, created.account.id)
        identity.grant_role(s, PLATFORM, account.id, "data_officer", city.departments["minzheng"])
        actor = identity.build_actor(s, account)
    assert actor.has_role("data_officer")
    assert not actor.holds_for_department("data_officer") and not is_officer(actor)
