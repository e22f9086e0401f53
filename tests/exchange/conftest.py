"""Fixtures of the exchange tests: catalog entries mounted on registry resources (有条件 population,
无条件 legal_person, 不予共享 no_criminal_record), a government system registered for a department
with a client-credentials token from `/oidc/token`, bearer headers of the demo accounts, and helpers
that file and decide requests through the services."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests import helpers
from tests.helpers import audit_rows, count_queries  # noqa: F401
from yiwang import catalog, exchange, identity, registry
from yiwang.core import clock
from yiwang.core.security import PLATFORM
from yiwang.exchange.models import Call

# The demo accounts' bearer headers, shared with the other modules' tests (tests/helpers.py).
admin_h = helpers.admin_h
citizen_h = helpers.citizen_h
officer_h = helpers.officer_h


API = "/api/v1/exchange"
PURPOSE = "婚姻登记办理"


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    exchange.clear_caches()
    yield
    exchange.clear_caches()


# ---------------------------------------------------------------- catalog entries


def _policy(name: str) -> tuple[str, bool, str]:
    if name.endswith("citizen_id") or name == "legal_rep_citizen_id":
        return "important", True, "id"
    if name == "phone":
        return "important", True, "phone"
    if name in ("name", "legal_rep_name"):
        return "important", False, "name"
    if name in ("address",):
        return "important", False, "address"
    if name == "birth_date":
        return "important", False, "date_to_year"
    if name in ("has_record", "record_summary"):
        return "core", True, "drop"
    return "general", False, "none"


def publish_mounted(session, city, key: str, *, sharing: str, category: str, name: str | None = None) -> str:
    """Publish and mount a catalog entry for registry resource `key` (replacing any live mount)."""
    spec = registry.resource(key)
    current = catalog.entry_for_resource(session, key)
    if current is not None:
        catalog.unmount_entry(session, PLATFORM, current.code, "测试前解除挂接")
    items = []
    for f in spec.fields:
        grade, sensitive, masking = _policy(f.name)
        items.append(
            catalog.ItemIn(
                field_name=f.name, name=f.label, grade=grade, sensitive_personal=sensitive, masking=masking
            )
        )
    entry = catalog.draft_entry(
        session,
        PLATFORM,
        catalog.EntryCreate(
            category_code=category,
            name=name or spec.name,
            department_id=city.departments[spec.department],
            abstract=f"{spec.department_name}{spec.name}，供共享交换测试使用",
            contact_name="王建华",
            contact_phone="024-81234567",
            form="table",
            sharing_type=sharing,
            sharing_condition="用于政务服务事项办理，须经提供部门审核同意"
            if sharing == "conditional"
            else "",
            unshared_reason="依据有关法律规定仅限本机关履职使用" if sharing == "none" else "",
            sharing_method="" if sharing == "none" else "api",
            update_cycle="realtime",
            items=items,
        ),
    )
    catalog.submit_entry(session, PLATFORM, entry.code)
    catalog.review_entry(session, PLATFORM, entry.code, catalog.Review(decision="approve", opinion="同意"))
    catalog.mount_entry(session, PLATFORM, entry.code, catalog.MountCreate(kind="resource", resource_key=key))
    return entry.code


@dataclass(frozen=True)
class Catalogued:
    population: str
    legal_person: str
    no_criminal_record: str


@pytest.fixture
def catalogued(db, city) -> Catalogued:
    with db.session() as s:
        return Catalogued(
            population=publish_mounted(s, city, "population", sharing="conditional", category="101001"),
            legal_person=publish_mounted(s, city, "legal_person", sharing="unconditional", category="102001"),
            no_criminal_record=publish_mounted(
                s, city, "no_criminal_record", sharing="none", category="312001"
            ),
        )


# ---------------------------------------------------------------- systems and tokens


@dataclass(frozen=True)
class System:
    client_id: str
    secret: str
    department_id: int
    headers: dict[str, str]


def register_system(client, db, city, name: str, dept: str) -> System:
    with db.session() as s:
        row, secret = identity.register_client(
            s,
            PLATFORM,
            name=name,
            owner_unit_id=city.departments[dept],
            redirect_uris=[],
            grant_types=["client_credentials"],
            allowed_scopes="exchange.call",
        )
        client_id = row.client_id
    assert secret
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    r = client.post(
        "/oidc/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    return System(client_id, secret, city.departments[dept], {"Authorization": f"Bearer {token}"})


def fresh_headers(client, system: System) -> dict[str, str]:
    """A new client-credentials token (inside a frozen clock, the fixture's token may have expired)."""
    basic = base64.b64encode(f"{system.client_id}:{system.secret}".encode()).decode()
    r = client.post(
        "/oidc/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def marriage_system(client, db, city) -> System:
    """市民政局's marriage registration system."""
    return register_system(client, db, city, "市民政局婚姻登记系统", "minzheng")


@pytest.fixture
def other_system(client, db, city) -> System:
    """A system of 市人社局, a department that holds no grant."""
    return register_system(client, db, city, "市人社局就业服务系统", "renshe")


# ---------------------------------------------------------------- people


@pytest.fixture
def people(db, city) -> list[str]:
    """Citizen IDs of the test city's population registry: the demo citizen first, then others."""
    with db.session() as s:
        rows = registry.fetch_slice(s, "population", fields=["citizen_id"], limit=40)
    ids = [r["citizen_id"] for r in rows]
    me = city.accounts["citizen"].citizen_id
    return [me] + [i for i in ids if i != me]


# ---------------------------------------------------------------- requests and grants


def request_body(**over: Any) -> dict[str, Any]:
    today = clock.today_local().date()
    body: dict[str, Any] = {
        "resource_key": "population",
        "purpose": PURPOSE,
        "legal_basis": "《婚姻登记条例》第五条、第七条",
        "fields": ["citizen_id", "name", "gender", "birth_date", "address", "status"],
        "rate_per_minute": 100,
        "period_from": today.isoformat(),
        "period_to": (today + timedelta(days=365)).isoformat(),
    }
    body.update(over)
    return body


def grant(db, client_id: str | None, *, decision: str = "approve", **over: Any) -> exchange.RequestRead:
    """File (as the platform, for `client_id`) and decide a request through the services."""
    body = request_body(client_id=client_id, **over)
    extra = {k: body.pop(k) for k in list(body) if k.startswith("narrow_")}
    with db.session() as s:
        req = exchange.file_request(s, PLATFORM, exchange.RequestCreate.model_validate(body))
        d = {"decision": decision, "opinion": "同意" if decision == "approve" else "按最少够用原则收窄"}
        d.update({k.removeprefix("narrow_"): v for k, v in extra.items()})
        return exchange.decide_request(s, PLATFORM, req.id, exchange.Decision.model_validate(d))


def grant_for_dept(db, city, dept: str, **over: Any) -> exchange.RequestRead:
    """A grant for the staff of `dept` (no system): filed by the platform for that department."""
    from yiwang.core.security import Actor, ActorKind

    officer = Actor(
        kind=ActorKind.STAFF,
        account_id=None,
        name="测试数据员",
        roles=frozenset({"data_officer"}),
        department_id=city.departments[dept],
    )
    body = request_body(client_id=None, **over)
    with db.session() as s:
        req = exchange.file_request(s, officer, exchange.RequestCreate.model_validate(body))
        return exchange.decide_request(
            s, PLATFORM, req.id, exchange.Decision(decision="approve", opinion="同意")
        )


# ---------------------------------------------------------------- reading back


def calls(db, **where: Any) -> list[Call]:
    with db.session() as s:
        q = select(Call).order_by(Call.id)
        for k, v in where.items():
            q = q.where(getattr(Call, k) == v)
        rows = list(s.scalars(q))
        s.expunge_all()
        return rows


def data_url(key: str = "population") -> str:
    return f"{API}/data/{key}"


def days_ago(n: int) -> date:
    return clock.today_local().date() - timedelta(days=n)
