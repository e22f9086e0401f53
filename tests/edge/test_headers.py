"""Security headers on every kind of response, HSTS and Secure cookies over HTTPS (issue 7 item 8)."""

from __future__ import annotations

import base64
import hashlib
import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.identity.helpers import login_api
from yiwang.app import create_app
from yiwang.settings import Settings
from yiwang.web.headers import inline_script_hashes

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def assert_secured(r, *, page: bool) -> str:
    for name, value in COMMON.items():
        assert r.headers.get(name) == value, (r.request.url, name)
    assert "camera=()" in r.headers["permissions-policy"]
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    if page:
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
    else:
        assert csp.startswith("default-src 'none'")
    assert len(r.headers.get_list("content-security-policy")) == 1
    return csp


def test_every_kind_of_response_carries_the_headers(client, city):
    kinds = {
        "page": (client.get("/login"), True),
        "api": (client.post("/api/v1/identity/login", json={"username": "x", "password": "y"}), False),
        "api 404": (client.get("/api/v1/nothing-here"), False),
        "page 404": (client.get("/nothing-here", headers={"accept": "text/html"}), True),
        "static": (client.get("/static/css/yiwang.css"), False),
        "redirect": (client.get("/prefs/large-text?on=1&next=/", follow_redirects=False), False),
        "405": (client.delete("/api/v1/identity/login"), False),
        "openapi": (client.get("/openapi.json"), False),
        "health": (client.get("/healthz"), False),
    }
    assert kinds["redirect"][0].status_code == 303
    assert kinds["static"][0].status_code == 200
    for name, (response, page) in kinds.items():
        assert_secured(response, page=page), name
    # Over plain HTTP no HSTS (browsers ignore it there, and a local demo must not pin itself).
    assert "strict-transport-security" not in kinds["page"][0].headers


def test_an_unexpected_error_is_a_chinese_problem_with_the_headers(app: FastAPI, caplog):
    @app.get("/api/v1/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret internals /srv/yiwang/db.py")

    @app.get("/boom-page", include_in_schema=False)
    def boom_page() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app) as client, caplog.at_level(logging.ERROR, logger="yiwang.http"):
        r = client.get("/api/v1/boom")
        page = client.get("/boom-page", headers={"accept": "text/html"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["title"] == "服务器内部错误" and body["status"] == 500
    assert "secret" not in r.text and "RuntimeError" not in r.text
    assert_secured(r, page=False)
    assert page.status_code == 500 and "服务器内部错误" in page.text and "secret" not in page.text
    assert_secured(page, page=True)
    assert any("/api/v1/boom" in rec.getMessage() and rec.exc_info for rec in caplog.records)


def _https_app(db, **settings) -> FastAPI:
    base = {"base_url": "http://127.0.0.1:8000", "jobs_enabled": False}
    return create_app(Settings(**{**base, **settings}), database=db)


def test_https_requests_get_hsts_and_secure_cookies(db, city):
    with TestClient(_https_app(db), base_url="https://testserver") as client:
        r = client.get("/prefs/large-text?on=1&next=/", follow_redirects=False)
        assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert "; Secure" in r.headers["set-cookie"] or "; secure" in r.headers["set-cookie"]
        login = client.post("/login", data={"username": "x", "password": "y"}, follow_redirects=False)
        for cookie in login.headers.get_list("set-cookie"):
            assert re.search(r";\s*secure", cookie, re.I), cookie


def test_an_https_base_url_makes_cookies_secure_even_over_http(db, city):
    with TestClient(_https_app(db, base_url="https://yiwang.example.gov.cn"), base_url="http://x") as client:
        r = client.get("/prefs/large-text?on=1&next=/", follow_redirects=False)
    assert re.search(r";\s*secure", r.headers["set-cookie"], re.I)
    assert "strict-transport-security" in r.headers


@pytest.mark.parametrize(
    "trusted, expect_https",
    [("127.0.0.0/8", True), ("10.0.0.0/8", False), ("", False)],
)
def test_forwarded_proto_is_believed_only_from_trusted_proxies(db, city, trusted, expect_https):
    app = _https_app(db, trusted_proxies=trusted)
    with TestClient(app, client=("127.0.0.1", 5000)) as client:
        r = client.get(
            "/prefs/large-text?on=1&next=/", headers={"x-forwarded-proto": "https"}, follow_redirects=False
        )
    assert ("strict-transport-security" in r.headers) is expect_https
    assert bool(re.search(r";\s*secure", r.headers["set-cookie"], re.I)) is expect_https


def test_a_client_cannot_prepend_its_own_forwarded_proto(db, city):
    """The proxy appends what it saw: only the last entry counts."""
    app = _https_app(db, trusted_proxies="127.0.0.0/8")
    with TestClient(app, client=("127.0.0.1", 5000)) as client:
        r = client.get("/healthz", headers={"x-forwarded-proto": "https, http"})
    assert "strict-transport-security" not in r.headers


def test_the_api_docs_allow_only_their_own_inline_scripts_by_hash(client):
    for path in ("/docs", "/redoc"):
        r = client.get(path)
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        hashes = inline_script_hashes(r.content)
        assert hashes or path == "/redoc", path  # Swagger UI boots from an inline script
        for h in hashes:
            assert h in script_src
        assert "'unsafe-inline'" not in script_src and "frame-ancestors 'none'" in csp


def test_inline_script_hashes_match_the_csp_algorithm():
    html = b"<script src='/x.js'></script><script>alert(1)</script>"
    expected = "'sha256-" + base64.b64encode(hashlib.sha256(b"alert(1)").digest()).decode() + "'"
    assert inline_script_hashes(html) == [expected]


def test_api_answers_for_a_signed_in_user_carry_the_data_policy(client, city):
    r = client.get("/api/v1/identity/me", headers=login_api(client, city.accounts["citizen"]))
    assert r.status_code == 200
    assert_secured(r, page=False)


# ---------------------------------------------------------------- the templates stay CSP-clean

TEMPLATE_ROOTS = "src/yiwang"
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"\bstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\bhx-on\b|\bhx-on:", re.I), "hx-on (evaluated script)"),
]


def test_no_template_needs_inline_script_or_style():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / TEMPLATE_ROOTS
    found = []
    for template in sorted(root.glob("*/templates/**/*.html")):
        text = template.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(root)}:{line}: {what}")
    assert found == []
