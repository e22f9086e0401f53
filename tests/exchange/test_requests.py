"""Sharing requests and grants (B5): filing, the provider's decision within working days, overdue
flags, narrowing, refusal, withdrawal and revocation — and the actors who must be refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.exchange.conftest import (
    API,
    PURPOSE,
    audit_rows,
    count_queries,
    grant,
    request_body,
)
from tests.identity.helpers import login_api
from yiwang import exchange, identity
from yiwang.core import calendar, clock
from yiwang.core.clock import SHANGHAI
from yiwang.core.errors import Conflict, Forbidden, Invalid
from yiwang.core.security import PLATFORM
from yiwang.exchange.models import ExchangeEvent, Grant

PASSWORD = "Exchange@2026test"


@pytest.fixture
def minzheng_officer_h(client, db, city) -> dict[str, str]:
    """A data officer of 市民政局 (the marriage system's department)."""
    dept = city.departments["minzheng"]
    with db.session() as s:
        identity.create_staff_account(
            s,
            PLATFORM,
            identity.StaffAccountCreate(
                username="mzexchange",
                display_name="民政数据员",
                citizen_id="11010519491231002X",
                department_id=dept,
                password=PASSWORD,
                roles=[identity.RoleGrantCreate(role_code="data_officer", org_unit_id=dept)],
            ),
        )
    account = type("A", (), {"username": "mzexchange", "password": PASSWORD})
    return login_api(client, account)


def _file(client, headers, **over):
    r = client.post(f"{API}/requests", json=request_body(**over), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _decide(client, headers, request_id, **body):
    return client.post(f"{API}/requests/{request_id}/decision", json=body, headers=headers)


# ---------------------------------------------------------------- the lifecycle


def test_file_then_approve_creates_the_grant(client, db, city, catalogued, marriage_system, officer_h):
    req = _file(client, marriage_system.headers)
    assert req["number"].startswith("GX") and req["status"] == "submitted" and not req["overdue"]
    assert req["consumer_dept_name"].endswith("市民政局") and req["catalog_code"] == catalogued.population
    assert req["working_days"] == 5
    submitted = datetime.fromisoformat(req["submitted_at"])
    assert datetime.fromisoformat(req["due_at"]) == calendar.deadline(submitted, 5)

    incoming = client.get(f"{API}/requests", params={"box": "incoming"}, headers=officer_h).json()
    assert req["id"] in [r["id"] for r in incoming["items"]]
    outgoing = client.get(
        f"{API}/requests", params={"box": "outgoing"}, headers=marriage_system.headers
    ).json()
    assert [r["id"] for r in outgoing["items"]] == [req["id"]]

    r = _decide(client, officer_h, req["id"], decision="approve", opinion="符合共享条件")
    assert r.status_code == 200, r.text
    decided = r.json()
    assert decided["status"] == "approved" and decided["grant_id"]
    assert [e["action"] for e in decided["timeline"]] == ["submitted", "approved"]

    r = client.get(f"{API}/grants/{decided['grant_id']}", headers=marriage_system.headers)
    assert r.status_code == 200, r.text
    g = r.json()["grant"]
    assert g["fields"] == request_body()["fields"] and g["purpose"] == PURPOSE and g["state"] == "active"
    assert g["rate_per_minute"] == 100 and not g["allow_sensitive"] and not g["allow_bulk"]
    assert audit_rows(db, "exchange.request.file", "ok")
    (rec,) = audit_rows(db, "exchange.grant.approve", "ok")
    assert rec.object_id == req["number"] and rec.purpose == PURPOSE


def test_deadline_counts_working_days_and_overdue_is_flagged(client, db, catalogued, marriage_system):
    # Filed on Wednesday 30 September 2026: 国庆节 is 1–7 October and Saturday 10 October is worked.
    filed = datetime(2026, 9, 30, 9, 0, tzinfo=SHANGHAI)
    with clock.freeze(filed):
        body = request_body(client_id=marriage_system.client_id)
        with db.session() as s:
            req = exchange.file_request(s, PLATFORM, exchange.RequestCreate.model_validate(body))
    due = req.due_at.astimezone(SHANGHAI)
    assert due.date() == date(2026, 10, 13) and due == calendar.deadline(filed, 5)
    with clock.freeze(datetime(2026, 10, 13, 20, 0, tzinfo=SHANGHAI)), db.session() as s:
        late = exchange.list_requests(s, PLATFORM, box="all", overdue=True)
        assert req.id not in [r.id for r in late.items]
    with clock.freeze(datetime(2026, 10, 14, 8, 0, tzinfo=SHANGHAI)), db.session() as s:
        late = exchange.list_requests(s, PLATFORM, box="all", overdue=True)
        assert [r.id for r in late.items] == [req.id] and late.overdue == 1 and late.items[0].overdue
        assert exchange.get_request(s, PLATFORM, req.id).overdue
        # Deciding late is still possible; the request stops being overdue.
        exchange.decide_request(
            s, PLATFORM, req.id, exchange.Decision(decision="refuse", opinion="超出共享范围")
        )
        assert exchange.list_requests(s, PLATFORM, box="all", overdue=True).overdue == 0


def test_the_number_of_working_days_is_a_setting(client, db, catalogued, marriage_system, admin_h):
    r = client.put(f"{API}/settings", json={"decision_working_days": 10}, headers=admin_h)
    assert r.status_code == 200 and r.json()["decision_working_days"] == 10
    req = _file(client, marriage_system.headers)
    assert req["working_days"] == 10
    submitted = datetime.fromisoformat(req["submitted_at"])
    assert datetime.fromisoformat(req["due_at"]) == calendar.deadline(submitted, 10)


def test_narrowing_fixes_fewer_fields_a_shorter_period_and_a_lower_rate(
    client, db, catalogued, marriage_system, officer_h
):
    req = _file(client, marriage_system.headers, allow_sensitive=True)
    period_to = (date.fromisoformat(req["period_to"]) - timedelta(days=100)).isoformat()
    r = _decide(
        client,
        officer_h,
        req["id"],
        decision="narrow",
        opinion="婚姻登记无需住址，不提供未脱敏的身份证号",
        fields=["citizen_id", "name", "gender"],
        period_to=period_to,
        rate_per_minute=30,
        allow_sensitive=False,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "narrowed"
    g = client.get(f"{API}/grants/{r.json()['grant_id']}", headers=officer_h).json()["grant"]
    assert g["fields"] == ["citizen_id", "name", "gender"] and g["rate_per_minute"] == 30
    assert not g["allow_sensitive"]
    assert datetime.fromisoformat(g["valid_until"]).astimezone(SHANGHAI).date().isoformat() == period_to
    assert audit_rows(db, "exchange.grant.narrow", "ok")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fields": ["citizen_id", "phone"]}, "fields"),
        ({"rate_per_minute": 1000}, "rate_per_minute"),
        ({"allow_bulk": True}, "allow_bulk"),
        ({}, "decision"),
    ],
)
def test_narrowing_cannot_widen_or_change_nothing(
    client, catalogued, marriage_system, officer_h, change, field
):
    req = _file(client, marriage_system.headers)
    r = _decide(client, officer_h, req["id"], decision="narrow", opinion="收窄", **change)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    # Nothing changed: still waiting for a decision.
    assert client.get(f"{API}/requests/{req['id']}", headers=officer_h).json()["status"] == "submitted"


def test_refusal_needs_an_opinion_and_gives_no_grant(client, db, catalogued, marriage_system, officer_h):
    req = _file(client, marriage_system.headers)
    r = _decide(client, officer_h, req["id"], decision="refuse")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "opinion"
    r = _decide(client, officer_h, req["id"], decision="refuse", opinion="婚姻登记不需要人口库全部信息项")
    assert r.status_code == 200 and r.json()["status"] == "refused" and r.json()["grant_id"] is None
    with db.session() as s:
        assert s.scalars(select(Grant).where(Grant.request_id == req["id"])).first() is None
    r = _decide(client, officer_h, req["id"], decision="approve")
    assert r.status_code == 409
    assert audit_rows(db, "exchange.grant.refuse", "ok")


def test_approve_cannot_change_the_terms(client, catalogued, marriage_system, officer_h):
    req = _file(client, marriage_system.headers)
    r = _decide(client, officer_h, req["id"], decision="approve", rate_per_minute=10)
    assert r.status_code == 422


def test_withdrawal_by_the_requester_only(client, db, catalogued, marriage_system, officer_h):
    req = _file(client, marriage_system.headers)
    r = client.post(f"{API}/requests/{req['id']}/withdraw", headers=officer_h)
    assert r.status_code == 403
    r = client.post(f"{API}/requests/{req['id']}/withdraw", headers=marriage_system.headers)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = _decide(client, officer_h, req["id"], decision="approve")
    assert r.status_code == 409
    assert audit_rows(db, "exchange.request.withdraw", "refused")


def test_department_data_officer_files_for_its_own_system(
    client, db, catalogued, marriage_system, minzheng_officer_h, other_system
):
    req = _file(client, minzheng_officer_h, client_id=marriage_system.client_id)
    assert req["client_id"] == marriage_system.client_id and req["filed_by_name"] == "民政数据员"
    # … but not for a system of another department.
    r = client.post(
        f"{API}/requests", json=request_body(client_id=other_system.client_id), headers=minzheng_officer_h
    )
    assert r.status_code == 403
    assert audit_rows(db, "exchange.request.file", "refused")


# ---------------------------------------------------------------- actors who must be refused


def test_citizen_cannot_file_a_request(client, db, catalogued, citizen_h):
    r = client.post(f"{API}/requests", json=request_body(), headers=citizen_h)
    assert r.status_code == 403 and r.json()["title"]
    (rec,) = audit_rows(db, "exchange.request.file", "refused")
    assert rec.actor_kind == "citizen"


def test_system_cannot_file_for_another_system(client, db, catalogued, marriage_system, other_system):
    r = client.post(
        f"{API}/requests",
        json=request_body(client_id=other_system.client_id),
        headers=marriage_system.headers,
    )
    assert r.status_code == 403


def test_data_officer_of_another_department_cannot_decide(
    client, db, catalogued, marriage_system, minzheng_officer_h
):
    req = _file(client, marriage_system.headers)
    r = _decide(client, minzheng_officer_h, req["id"], decision="approve")
    assert r.status_code == 403 and "本部门" in r.json()["detail"]
    (rec,) = audit_rows(db, "exchange.grant.approve", "refused")
    assert rec.object_id == req["number"]
    # And the consumer's side cannot read the provider's incoming box as its own.
    incoming = client.get(f"{API}/requests", params={"box": "incoming"}, headers=minzheng_officer_h).json()
    assert req["id"] not in [r["id"] for r in incoming["items"]]


def test_clerk_without_the_role_cannot_decide(client, city, catalogued, marriage_system):
    req = _file(client, marriage_system.headers)
    clerk_h = login_api(client, city.accounts["clerk"])
    assert _decide(client, clerk_h, req["id"], decision="approve").status_code == 403
    assert client.get(f"{API}/requests", headers=clerk_h).status_code == 403


def test_citizen_cannot_read_requests_or_grants(client, catalogued, marriage_system, citizen_h):
    req = _file(client, marriage_system.headers)
    assert client.get(f"{API}/requests/{req['id']}", headers=citizen_h).status_code == 403
    assert client.get(f"{API}/grants", headers=citizen_h).status_code == 403


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"fields": ["citizen_id", "shoe_size"]}, "fields"),
        ({"resource_key": "horoscope"}, "resource_key"),
        ({"resource_key": None, "catalog_code": "999999/000001"}, "catalog_code"),
        ({"period_from": "2026-12-01", "period_to": "2026-11-01"}, "body"),
        ({"purpose": "x"}, "purpose"),
        ({"region_prefix": "2195"}, "body"),
        ({"rate_per_minute": 0}, "rate_per_minute"),
    ],
)
def test_bad_requests_are_refused_with_the_failing_field(
    client, db, catalogued, marriage_system, over, field
):
    r = client.post(f"{API}/requests", json=request_body(**over), headers=marriage_system.headers)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert (
        client.get(f"{API}/requests", params={"box": "outgoing"}, headers=marriage_system.headers).json()[
            "total"
        ]
        == 0
    )


def test_a_request_by_catalog_code(client, catalogued, marriage_system):
    req = _file(client, marriage_system.headers, resource_key=None, catalog_code=catalogued.population)
    assert req["resource_key"] == "population"


# ---------------------------------------------------------------- grants


def test_revocation_by_the_provider_only(
    client, db, catalogued, marriage_system, officer_h, minzheng_officer_h
):
    req = grant(db, marriage_system.client_id)
    url = f"{API}/grants/{req.grant_id}/revoke"
    assert client.post(url, json={"reason": "系统停用"}, headers=minzheng_officer_h).status_code == 403
    assert client.post(url, json={"reason": "x"}, headers=officer_h).status_code == 422
    r = client.post(url, json={"reason": "系统已停用"}, headers=officer_h)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    assert client.post(url, json={"reason": "再次撤销"}, headers=officer_h).status_code == 409
    (rec,) = audit_rows(db, "exchange.grant.revoke", "ok")
    assert rec.object_id == str(req.grant_id)
    with db.session() as s:
        actions = [
            e.action for e in s.scalars(select(ExchangeEvent).where(ExchangeEvent.object_type == "grant"))
        ]
    assert actions == ["granted", "revoked"]


def test_grant_lists_by_state(client, db, catalogued, marriage_system, officer_h):
    g1 = grant(db, marriage_system.client_id)
    g2 = grant(db, marriage_system.client_id, purpose="婚姻登记档案查询")
    client.post(f"{API}/grants/{g2.grant_id}/revoke", json={"reason": "不再需要"}, headers=officer_h)
    active = client.get(f"{API}/grants", params={"state": "active"}, headers=officer_h).json()
    revoked = client.get(f"{API}/grants", params={"state": "revoked"}, headers=officer_h).json()
    assert g1.grant_id in [g["id"] for g in active["items"]] and g2.grant_id not in [
        g["id"] for g in active["items"]
    ]
    assert [g["id"] for g in revoked["items"]] == [g2.grant_id]


def test_services_refuse_the_same_way(db, catalogued, marriage_system):
    citizen = exchange.RequestCreate.model_validate(request_body(client_id=marriage_system.client_id))
    from yiwang.core.security import Actor, ActorKind

    with db.session() as s:
        with pytest.raises(Forbidden):
            exchange.file_request(s, Actor(kind=ActorKind.CITIZEN, account_id=1, subject_id="x"), citizen)
        req = exchange.file_request(s, PLATFORM, citizen)
        with pytest.raises(Invalid):
            exchange.decide_request(
                s, PLATFORM, req.id, exchange.Decision(decision="narrow", opinion="无变化")
            )
        exchange.decide_request(s, PLATFORM, req.id, exchange.Decision(decision="approve"))
        with pytest.raises(Conflict):
            exchange.withdraw_request(s, PLATFORM, req.id)


# ---------------------------------------------------------------- list endpoints pin their queries


def _list_queries(client, db, headers, url, params) -> int:
    with count_queries(db) as statements:
        r = client.get(url, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return len(
        [s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    )


def test_request_and_grant_lists_pin_their_query_counts(client, db, catalogued, marriage_system, officer_h):
    for i in range(2):
        grant(db, marriage_system.client_id, purpose=f"婚姻登记办理{i}")
    few_r = _list_queries(client, db, officer_h, f"{API}/requests", {"box": "incoming"})
    few_g = _list_queries(client, db, officer_h, f"{API}/grants", {"box": "incoming"})
    for i in range(2, 9):
        grant(db, marriage_system.client_id, purpose=f"婚姻登记办理{i}")
    assert _list_queries(client, db, officer_h, f"{API}/requests", {"box": "incoming"}) == few_r
    assert _list_queries(client, db, officer_h, f"{API}/grants", {"box": "incoming"}) == few_g
    assert few_r <= 8 and few_g <= 7


def test_unconditional_grants_are_optional_but_possible(client, db, city, catalogued, other_system):
    """A request for a 无条件共享 resource is how a system gets bulk access to it."""
    body = request_body(
        client_id=other_system.client_id,
        resource_key="legal_person",
        purpose="企业数据回流",
        fields=["credit_code", "name", "area_code"],
        bulk=True,
    )
    with db.session() as s:
        req = exchange.file_request(s, PLATFORM, exchange.RequestCreate.model_validate(body))
        exchange.decide_request(s, PLATFORM, req.id, exchange.Decision(decision="approve"))
    r = client.get(
        f"{API}/data/legal_person/slice",
        params={"purpose": "企业数据回流", "limit": 3},
        headers=other_system.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 3 and set(r.json()["records"][0]) == {"credit_code", "name", "area_code"}


def test_clock_frozen_today_is_used_for_periods(db, catalogued, marriage_system):
    with clock.freeze(datetime(2026, 11, 20, 1, 0, tzinfo=UTC)):
        body = request_body(
            client_id=marriage_system.client_id, period_from="2026-01-01", period_to="2026-11-19"
        )
        with db.session() as s, pytest.raises(Invalid):
            exchange.file_request(s, PLATFORM, exchange.RequestCreate.model_validate(body))
