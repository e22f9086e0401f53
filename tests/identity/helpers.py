"""Shared helpers for the identity tests: log in through the API or the login page, read forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import clock

API = "/api/v1/identity"
# A fixed instant, away from any TOTP step boundary, that tests freeze the clock at.
T0 = datetime(2026, 11, 20, 9, 0, 5, tzinfo=UTC)

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def login_api(
    client: Any, account: Any, *, otp: str | None = None, on_behalf_of: str | None = None
) -> dict[str, str]:
    """Log `account` (a demo account: .username, .password) in through the API; the bearer header."""
    body: dict[str, Any] = {"username": account.username, "password": account.password}
    if otp is not None:
        body["otp"] = otp
    if on_behalf_of is not None:
        body["on_behalf_of"] = on_behalf_of
    r = client.post(f"{API}/login", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def csrf_from(html: str, action: str | None = None) -> str:
    """The csrf_token hidden field of the form posting to `action` (default: the page's first one)."""
    if action is not None:
        form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
        assert form, f"no form posting to {action}"
        html = form.group(1)
    m = _CSRF.search(html)
    assert m, "no csrf_token field on the page"
    return unescape(m.group(1))


def login_page(
    client: Any,
    account: Any,
    *,
    as_: str = "citizen",
    on_behalf_of: str | None = None,
    next_url: str | None = None,
    password: str | None = None,
) -> Any:
    """Log in through the login page (GET the form for its CSRF token, then POST it). Returns the POST's
    response, not followed: 303 to `next` on success, 303 to /login/otp when a code is owed."""
    query = urlencode({"as": as_, **({"next": next_url} if next_url else {})})
    form_page = client.get(f"/login?{query}")
    assert form_page.status_code == 200, form_page.text
    data = {
        "csrf_token": csrf_from(form_page.text, "/login"),
        "login_as": as_,
        "username": account.username,
        "password": account.password if password is None else password,
        "next": next_url or "/",
    }
    if on_behalf_of is not None:
        data["on_behalf_of"] = on_behalf_of
    return client.post("/login", data=data, follow_redirects=False)


def signed_in(client: Any, account: Any, **kw: Any) -> Any:
    """Log in through the page and assert it worked; returns the client (its cookie jar holds the session)."""
    r = login_page(client, account, **kw)
    assert r.status_code == 303, r.text
    assert r.headers["location"] != "/login/otp"
    return client


def page_csrf(client: Any, path: str = "/me") -> str:
    """The session's CSRF token, read from a page of a signed-in client."""
    r = client.get(path)
    assert r.status_code == 200, r.text
    return csrf_from(r.text)


def account_row(session: Session, username: str) -> Any:
    from yiwang.identity.models import Account

    return session.scalars(select(Account).where(Account.username == username)).one()


def totp_code(secret: str, at: datetime | None = None) -> str:
    return pyotp.TOTP(secret).at(at or clock.now())


def unregistered_person(session: Session, offset: int = 0) -> Any:
    """A living person in the population registry, with a phone on record, who has no account yet."""
    from yiwang.identity.models import Account
    from yiwang.registry.models import Person

    taken = select(Account.citizen_id).where(Account.citizen_id.is_not(None))
    return session.scalars(
        select(Person)
        .where(Person.status == "正常", Person.citizen_id.not_in(taken), Person.phone.is_not(None))
        .order_by(Person.id)
        .offset(offset)
        .limit(1)
    ).one()


def problem(r: Any, status: int) -> dict[str, Any]:
    """Assert `r` is an RFC 9457 problem with `status` and a Chinese title; return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["title"]), body["title"]
    return body


def sms_to(db: Any, phone: str) -> list[Any]:
    """Messages the local SMS adapter queued for `phone` (the outbox), newest first."""
    from yiwang.identity.service.sms import outbox

    with db.session() as s:
        rows = outbox(s, phone=phone)
        s.expunge_all()
        return rows


def sms_code(db: Any, phone: str) -> str:
    """The 6-digit code in the newest message to `phone`."""
    found = re.search(r"验证码是 (\d{6})", sms_to(db, phone)[0].body)
    assert found, "no code in the newest message"
    return found.group(1)
