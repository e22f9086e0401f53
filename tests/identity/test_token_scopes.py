"""An access token carries only what was granted (issue 7 item 1, DESIGN §3 rule 9).

A token the OIDC provider issues to a relying party is not the platform session: it reaches
`/oidc/userinfo` and the APIs its scopes name, never the platform's own API or pages. The attacks the
penetration test found — an administrator's `openid` token resetting passwords and rotating secrets,
a legal representative's `openid enterprise` token authorising agents, a data officer's token reading
rejected rows — are tried here, and then every route of the app is walked with such tokens.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute

from tests.governance.conftest import csv_bytes, people, upload
from tests.helpers import audit_rows
from tests.identity.helpers import login_api
from tests.identity.test_oidc import Rp, _register, basic, bearer, tokens
from yiwang.core import clock
from yiwang.core.deps import get_actor, route_scopes
from yiwang.core.security import EXCHANGE_CALL, SCOPE_PERMISSIONS, Actor, ActorKind, Origin

ADMIN = "/api/v1/admin"
INSUFFICIENT = "/problems/insufficient-scope"


def _refused(r: Any) -> None:
    assert r.status_code == 403, (r.status_code, r.text[:300])
    assert r.json()["type"] == INSUFFICIENT
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]


@pytest.fixture
def wide_rp(db, city) -> Rp:
    """A relying party allowed every person scope and the exchange scope."""
    return _register(
        db, city, allowed_scopes="openid profile phone idcard enterprise staff email exchange.call"
    )


def _system_token(client, db, city, scopes: str) -> str:
    rp = _register(
        db,
        city,
        name="市不动产登记系统",
        redirect_uris=[],
        post_logout_redirect_uris=[],
        grant_types=["client_credentials"],
        allowed_scopes=scopes,
    )
    r = client.post(
        "/oidc/token", data={"grant_type": "client_credentials"}, headers=basic(rp.client_id, rp.secret)
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


# ---------------------------------------------------------------- the three attacks


def test_an_administrators_openid_token_cannot_reset_passwords_or_rotate_secrets(client, db, city, wide_rp):
    admin_h = login_api(client, city.accounts["admin"])
    victim = client.get(f"{ADMIN}/accounts", params={"q": "clerk"}, headers=admin_h).json()["items"][0]["id"]
    other = _register(db, city, name="市政务服务网")
    token = tokens(client, city, wide_rp, "admin", scope="openid")["access_token"]
    client.cookies.clear()  # only the bearer token speaks from here on

    _refused(client.post(f"{ADMIN}/accounts/{victim}/reset-password", headers=bearer(token)))
    _refused(client.post(f"{ADMIN}/clients/{other.client_id}/rotate-secret", headers=bearer(token)))
    _refused(client.get(f"{ADMIN}/accounts", headers=bearer(token)))
    # The same person, through the platform's own token, still can.
    assert client.post(f"{ADMIN}/accounts/{victim}/reset-password", headers=admin_h).status_code == 200
    # Each refusal is on the audit chain.
    assert audit_rows(db, "identity.account.reset_password", result="refused")
    # userinfo is what the token is for.
    assert client.get("/oidc/userinfo", headers=bearer(token)).status_code == 200


def test_a_legal_representatives_enterprise_token_cannot_authorise_agents(client, db, city, wide_rp):
    rep = city.accounts["enterprise"]
    token = tokens(client, city, wide_rp, "enterprise", scope="openid enterprise")["access_token"]
    client.cookies.clear()
    body = {
        "agent_citizen_id": city.accounts["citizen"].citizen_id,
        "agent_name": city.accounts["citizen"].display_name,
    }
    r = client.post(
        f"/api/v1/identity/enterprises/{rep.on_behalf_of}/agents", json=body, headers=bearer(token)
    )
    _refused(r)
    _refused(client.get(f"/api/v1/identity/enterprises/{rep.on_behalf_of}/agents", headers=bearer(token)))
    info = client.get("/oidc/userinfo", headers=bearer(token)).json()
    assert info["act_for"]["credit_code"] == rep.on_behalf_of  # what the scope is for


def test_the_enterprise_service_itself_refuses_a_relying_partys_actor(db, city):
    """Not only the router: the service refuses an actor built from a relying party's token."""
    from yiwang.core.errors import Forbidden
    from yiwang.identity import authorise_agent, build_actor, find_account

    rep = city.accounts["enterprise"]
    with db.session() as s:
        account = find_account(s, rep.username)
        actor = build_actor(
            s, account, on_behalf_of=rep.on_behalf_of, scopes=frozenset({"openid", "enterprise"}),
            client_id="yw-x", origin=Origin.RELYING_PARTY,
        )  # fmt: skip
        with pytest.raises(Forbidden):
            authorise_agent(
                s, actor, credit_code=rep.on_behalf_of or "",
                agent_citizen_id=city.accounts["citizen"].citizen_id,
                agent_name=city.accounts["citizen"].display_name,
                valid_until=clock.now() + timedelta(days=30),
            )  # fmt: skip


def test_a_data_officers_token_cannot_read_rejected_rows(client, db, city, wide_rp):
    officer_h = login_api(client, city.accounts["data_officer"])
    rows = people(6, seed=71)
    rows[2]["name"] = ""
    report = upload(client, officer_h, csv_bytes(rows)).json()
    assert report["rows_rejected"] == 1
    url = f"/api/v1/governance/loads/{report['id']}/rejected"
    assert client.get(url, headers=officer_h).status_code == 200
    token = tokens(client, city, wide_rp, "data_officer", scope="openid profile staff")["access_token"]
    client.cookies.clear()
    _refused(client.get(url, headers=bearer(token)))
    _refused(client.get(f"{url[:-9]}/rejected.csv", headers=bearer(token)))


def test_a_relying_partys_actor_carries_no_roles(db, city):
    from yiwang.identity import build_actor, find_account

    with db.session() as s:
        account = find_account(s, city.accounts["admin"].username)
        own = build_actor(s, account, origin=Origin.SESSION)
        rp = build_actor(
            s, account, scopes=frozenset({"openid"}), client_id="yw-x", origin=Origin.RELYING_PARTY
        )
    assert own.is_platform_admin and own.admin_units
    assert rp.is_relying_party and not rp.roles and not rp.admin_units and not rp.is_platform_admin


def test_a_first_party_token_and_the_session_keep_their_power(client, city):
    admin_h = login_api(client, city.accounts["admin"])
    assert client.get(f"{ADMIN}/accounts", headers=admin_h).status_code == 200


# ---------------------------------------------------------------- the shared-data API by scope


def test_the_exchange_scope_opens_the_shared_data_api_and_nothing_else(client, db, city):
    with_scope = _system_token(client, db, city, "exchange.call")
    without = _system_token(client, db, city, "licence.verify")
    url = "/api/v1/exchange/data/population"
    params = {"subject": city.accounts["citizen"].citizen_id, "purpose": "身份核验"}
    # With the scope, the call reaches the pipeline (refused there only for want of a grant).
    r = client.get(url, params=params, headers=bearer(with_scope))
    assert r.status_code != 403 or r.json()["type"] != INSUFFICIENT, r.text
    assert (
        client.get(
            "/api/v1/exchange/requests", params={"box": "outgoing"}, headers=bearer(with_scope)
        ).status_code
        == 200
    )
    _refused(client.get(url, params=params, headers=bearer(without)))
    _refused(client.get("/api/v1/exchange/requests", params={"box": "outgoing"}, headers=bearer(without)))
    _refused(client.get("/api/v1/exchange/stats", headers=bearer(with_scope)))
    # userinfo refuses a system token (it names no person).
    assert client.get("/oidc/userinfo", headers=bearer(with_scope)).status_code == 403


def test_the_pipeline_refuses_a_relying_party_without_the_scope():
    """Service level: the pipeline checks the scope even when called without the router."""
    from yiwang.core.errors import Problem
    from yiwang.exchange.service.calls import CallRequest, CallState
    from yiwang.exchange.service.pipeline import _authenticate

    actor = Actor(kind=ActorKind.SYSTEM, client_id="yw-1", department_id=1, origin=Origin.RELYING_PARTY)
    with pytest.raises(Problem) as e:
        _authenticate(
            CallState(
                actor=actor, req=CallRequest("subject", "population", "", ("x",), None), started=0, at=0
            )
        )
    assert e.value.status == 403


# ---------------------------------------------------------------- every route of the app


def _walk(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    out: list[tuple[str, APIRoute]] = []
    for r in routes:
        if hasattr(r, "original_router"):  # FastAPI's included router
            out += _walk(r.original_router.routes, prefix + r.include_context.prefix)
        elif isinstance(r, APIRoute):
            out.append((prefix + r.path, r))
    return out


def _uses_actor(dependant: Any) -> bool:
    return any(d.call is get_actor or _uses_actor(d) for d in dependant.dependencies)


# Routes that act as nobody: they never resolve an actor from a bearer token (the OIDC endpoints
# check their own tokens and the session cookie; login and registration start a session).
PUBLIC = {
    "/healthz", "/favicon.ico", "/prefs/large-text", "/login", "/login/otp", "/register",
    "/login/password", "/register/verify",
    "/api/v1/identity/login", "/api/v1/identity/register", "/api/v1/identity/register/confirm",
}  # fmt: skip
PUBLIC_PREFIXES = ("/oidc/", "/.well-known/", "/docs", "/redoc", "/openapi")


BODIES = {"/api/v1/exchange/data/{resource_key}/query": {"subjects": ["1"], "purpose": "核验"}}


def _routes(app: Any) -> list[tuple[str, str, APIRoute]]:
    return [(m, path, r) for path, r in _walk(app.routes) for m in sorted(r.methods - {"HEAD"})]


def _call(client: Any, method: str, path: str, token: str) -> Any:
    url = path
    for name in ("resource_key",):
        url = url.replace("{" + name + "}", "population")
    while "{" in url:
        start = url.index("{")
        url = url[:start] + "1" + url[url.index("}", start) + 1 :]
    kw: dict[str, Any] = {"headers": bearer(token), "follow_redirects": False}
    if method not in ("GET", "DELETE"):
        # The shared-data API reads its body before it resolves the actor: give it a valid one.
        kw["json"] = BODIES.get(path, {})
    return client.request(method, url, **kw)


def test_every_route_acts_through_the_gate_or_is_public(app):
    stray = [
        (m, p)
        for m, p, r in _routes(app)
        if not _uses_actor(r.dependant)
        and not route_scopes(r.endpoint)
        and p not in PUBLIC
        and not p.startswith(PUBLIC_PREFIXES)
    ]
    assert not stray, f"routes that neither resolve the actor nor are known to be public: {stray}"


@pytest.mark.parametrize("scope", ["openid profile", "openid exchange.call"])
def test_matrix_every_non_public_route_refuses_a_relying_party_token_lacking_its_scope(
    app, client, db, city, wide_rp, scope
):
    """Every route that resolves an actor (the whole platform API and every page) refuses the
    administrator's relying-party token unless the route names one of the token's scopes."""
    token = tokens(client, city, wide_rp, "admin", scope=scope)["access_token"]
    client.cookies.clear()
    granted = set(scope.split())
    checked = opened = 0
    failures = []
    for method, path, route in _routes(app):
        if not (_uses_actor(route.dependant) or route_scopes(route.endpoint)):
            continue
        r = _call(client, method, path, token)
        checked += 1
        if route_scopes(route.endpoint) & granted:
            opened += 1
            problem = r.headers.get("content-type", "").startswith("application/problem+json")
            if r.status_code == 403 and problem and r.json()["type"] == INSUFFICIENT:
                failures.append((method, path, "refused although the scope is granted"))
            continue
        json_body = r.headers.get("content-type", "").startswith("application/problem+json")
        if r.status_code != 403 or (json_body and r.json()["type"] != INSUFFICIENT):
            failures.append((method, path, r.status_code))
    assert checked > 150
    assert opened == (9 if EXCHANGE_CALL in granted else 0)
    assert not failures, failures


def test_matrix_a_system_token_without_the_scope_is_refused_everywhere(app, client, db, city):
    token = _system_token(client, db, city, "licence.verify")
    failures = []
    for method, path, route in _routes(app):
        if not (_uses_actor(route.dependant) or route_scopes(route.endpoint)):
            continue
        r = _call(client, method, path, token)
        if r.status_code != 403:
            failures.append((method, path, r.status_code))
    assert not failures, failures


def test_the_scope_table_is_documented():
    with open("docs/sso.md", encoding="utf-8") as f:
        doc = f.read()
    for scope in SCOPE_PERMISSIONS:
        assert f"`{scope}`" in doc
