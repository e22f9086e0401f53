"""401 before 404: an anonymous caller learns nothing about which objects exist (issue 7 item 9).

Walks every API route of the app, so a route added later is covered without editing this file."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from yiwang.core.edge import OPEN_ATTR

# Routes anonymous callers may reach; each is reviewed here on purpose.
OPEN = {
    ("POST", "/api/v1/identity/login"),
    ("POST", "/api/v1/identity/register"),
    ("POST", "/api/v1/identity/register/confirm"),
    # The shared-data API authenticates the calling system itself (client-credentials token).
    ("GET", "/api/v1/exchange/data/{resource_key}"),
    ("POST", "/api/v1/exchange/data/{resource_key}/query"),
    ("GET", "/api/v1/exchange/data/{resource_key}/slice"),
}
MISSING_ID = "2147480000"  # inside every bounded ID type, and no object has it


def api_routes(app) -> list[tuple[str, str, object]]:
    found = []
    for route in iter_route_contexts(app.routes):
        if route.path and route.path.startswith("/api/") and route.methods:
            found += [(m, route.path, route.endpoint) for m in sorted(route.methods - {"HEAD"})]
    return found


def test_the_open_routes_are_exactly_the_reviewed_ones(app):
    marked = {(m, p) for m, p, endpoint in api_routes(app) if getattr(endpoint, OPEN_ATTR, False)}
    assert marked == OPEN


def test_every_closed_api_route_refuses_anonymous_callers_before_loading_anything(app, client):
    routes = [(m, p) for m, p, _ in api_routes(app) if (m, p) not in OPEN]
    assert len(routes) > 90
    wrong = []
    for method, path in routes:
        url = re.sub(r"\{[^}]+\}", MISSING_ID, path)
        r = client.request(method, url, json={})
        if r.status_code != 401 or r.headers["content-type"] != "application/problem+json":
            wrong.append(f"{method} {path} → {r.status_code}")
    assert wrong == []


@pytest.mark.parametrize("method, path", sorted(r for r in OPEN if "/data/" in r[1]))
def test_the_shared_data_api_still_wants_a_token(client, method, path):
    url = path.replace("{resource_key}", "population")
    r = client.request(method, url, params={"subject": "x"}, json={"subjects": ["x"]})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


def test_a_bad_cookie_is_anonymous_and_refused_the_same_way(client):
    client.cookies.set("yiwang_session", "forged")
    r = client.post(f"/api/v1/exchange/requests/{MISSING_ID}/withdraw")
    assert r.status_code == 401


def test_pages_never_tell_an_anonymous_visitor_whether_an_object_exists(app, client):
    """Pages with an ID in their path send an anonymous visitor to the login page (or refuse a form
    without its CSRF token) — never a 404 that would confirm or deny the ID."""
    skip = ("/api/", "/oidc/", "/.well-known/", "/static", "/docs", "/redoc", "/openapi")
    checked, wrong = 0, []
    for route in iter_route_contexts(app.routes):
        if not route.path or "{" not in route.path or route.path.startswith(skip) or not route.methods:
            continue
        url = re.sub(r"\{[^}]+\}", MISSING_ID, route.path)
        for method in sorted(route.methods - {"HEAD"}):
            r = client.request(method, url, follow_redirects=False, headers={"accept": "text/html"})
            checked += 1
            login = r.status_code == 303 and r.headers["location"].startswith("/login?next=")
            if not (login or r.status_code in (401, 403)):
                wrong.append(f"{method} {route.path} → {r.status_code}")
    assert checked > 40
    assert wrong == []
