"""CSRF for cookie sessions on every state-changing route (issue 7 item 8), checked by the kit.

A browser signed in with its session cookie must send the session's token (X-CSRF-Token header or the
csrf_token form field) with every POST, PUT, PATCH and DELETE, on pages and on the API alike; a
bearer-token client needs none. The route walk covers every module, including ones added later."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from tests.identity.helpers import login_api, page_csrf, signed_in

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

# Routes a signed-in browser may call without the session's token, each for a reason:
# the OIDC protocol endpoints are called by relying parties (cross-site by design; they authenticate
# the client or check their own CSRF), and the anonymous forms check the signed double-submit token.
EXEMPT = {
    ("POST", "/oidc/authorize"),
    ("POST", "/oidc/token"),
    ("POST", "/oidc/userinfo"),
    ("POST", "/oidc/revoke"),
    ("POST", "/oidc/introspect"),
    ("POST", "/oidc/logout"),
    ("POST", "/api/v1/identity/login"),
    # the second factor of a login in progress: no session yet; without a pending login it sends the
    # visitor back to /login, with one it checks the signed double-submit token
    ("POST", "/login/otp"),
    # the same for the forced password change after an administrator's reset, and the registration
    # code: no session yet; each checks the signed double-submit token of its own form
    ("POST", "/login/password"),
    ("POST", "/register/verify"),
    # anonymous JSON calls, like the login API: no cookie authority is used
    ("POST", "/api/v1/identity/register"),
    ("POST", "/api/v1/identity/register/confirm"),
    # the consent form checks the session's CSRF token itself and, on a mismatch, asks again
    ("POST", "/oidc/consent"),
}
# Routes whose actor is resolved only after the body is valid get a valid-looking body.
BODIES = {("POST", "/api/v1/exchange/data/{resource_key}/query"): {"subjects": ["110101199001010011"]}}


def _api_routes(routes):  # noqa: ANN001, ANN202
    # FastAPI keeps an included router as one entry (`original_router` holds its routes).
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def _unsafe_routes(app) -> list[tuple[str, str]]:  # noqa: ANN001
    out = []
    for route in _api_routes(app.routes):
        if True:
            for method in sorted(route.methods & set(UNSAFE)):
                out.append((method, route.path))
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_state_changing_route_refuses_a_cookie_session_without_the_token(app, client, city):
    signed_in(client, city.accounts["admin"], as_="staff")
    routes = _unsafe_routes(app)
    assert len(routes) > 40  # the walk really covers the modules
    wrong = []
    for method, path in routes:
        if (method, path) in EXEMPT:
            continue
        r = client.request(method, _concrete(path), json=BODIES.get((method, path)), follow_redirects=False)
        refused = r.status_code == 403 and (
            "页面已过期" in r.text or r.headers.get("content-type", "").startswith("application/problem+json")
        )
        if refused and r.headers.get("content-type", "").startswith("application/problem+json"):
            refused = r.json()["type"] == "/problems/csrf"
        if not refused:
            wrong.append(f"{method} {path} → {r.status_code}")
    assert wrong == [], "\n".join(wrong)


def _org_units(db) -> int:  # noqa: ANN001
    from yiwang.identity.models import OrgUnit

    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(OrgUnit)) or 0)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/admin/org-units", {}),
        ("PATCH", "/api/v1/admin/org-units/1", {}),
        ("POST", "/api/v1/catalog/entries", {}),
        ("PATCH", "/api/v1/catalog/entries/101001-000001", {}),
        ("PUT", "/api/v1/catalog/entries/101001-000001/items/name/grade", {}),
        ("POST", "/api/v1/exchange/requests", {}),
        ("POST", "/api/v1/exchange/data/population/query", {"subjects": ["x"]}),
        ("PUT", "/api/v1/exchange/settings", {}),
        ("PUT", "/api/v1/governance/rules/population", {}),
        ("PATCH", "/api/v1/governance/rejected/1", {}),
        ("DELETE", "/api/v1/identity/me/sessions/1", None),
    ],
)
def test_module_apis_refuse_cookie_writes_without_the_header(client, city, method, path, body):
    signed_in(client, city.accounts["admin"], as_="staff")
    r = client.request(method, path, json=body)
    assert r.status_code == 403, (path, r.status_code, r.text)
    assert r.json()["type"] == "/problems/csrf"
    assert r.json()["title"] == "页面已过期"


def test_the_header_lets_a_cookie_write_through_and_a_bearer_needs_none(client, city, db):
    from yiwang.identity.models import OrgUnit

    signed_in(client, city.accounts["admin"], as_="staff")
    token = page_csrf(client)
    before = _org_units(db)
    body = {"parent_id": city.departments["minzheng"], "kind": "unit", "code": "kit-a", "name": "试验科"}
    refused = client.post("/api/v1/admin/org-units", json=body)
    assert refused.status_code == 403 and _org_units(db) == before
    ok = client.post("/api/v1/admin/org-units", json=body, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201, ok.text
    forged = client.post(
        "/api/v1/admin/org-units", json={**body, "code": "kit-b"}, headers={"X-CSRF-Token": "x" + token}
    )
    assert forged.status_code == 403
    bearer = login_api(client, city.accounts["admin"])
    client.cookies.clear()
    by_token = client.post("/api/v1/admin/org-units", json={**body, "code": "kit-c"}, headers=bearer)
    assert by_token.status_code == 201, by_token.text
    with db.session() as s:
        codes = set(s.scalars(select(OrgUnit.code).where(OrgUnit.code.like("kit-%"))))
    assert codes == {"kit-a", "kit-c"}


def test_a_page_form_post_carries_its_token_in_the_form(client, city):
    """The kit reads the form field too, so plain HTML forms (no JavaScript) keep working."""
    signed_in(client, city.accounts["citizen"])
    token = page_csrf(client, "/me/password")
    r = client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "current_password": "wrong",
            "new_password": "x",
            "new_password_confirm": "x",
        },
    )
    assert r.status_code != 403, r.text
    r = client.post("/me/password", data={"current_password": "wrong"})
    assert r.status_code == 403 and "页面已过期" in r.text
