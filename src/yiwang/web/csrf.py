"""CSRF protection for every state-changing request made with a browser's cookie session.

The rule, applied to every route of the app (no route can forget it):

* A GET, HEAD or OPTIONS request changes nothing and needs no token.
* A request with an `Authorization` header (a bearer token; a relying party's client credentials)
  carries its own proof and needs no token: a browser never adds that header by itself.
* A POST, PUT, PATCH or DELETE whose actor was resolved from the session cookie must carry the
  session's CSRF token, as the `X-CSRF-Token` header (htmx sends it: `base.html` sets `hx-headers`) or
  as the form field `csrf_token` (every POST form has it hidden). Otherwise: 403, problem type
  `/problems/csrf`, nothing done.

Two pieces make this work without the kit knowing how sessions are kept (identity does that, above
the kit): `read_submitted_token`, an app-wide dependency, reads the submitted token before any route
code runs (a form body can only be read asynchronously); `check_session_csrf` runs right after the
app's actor resolver (`core.deps.get_actor` calls the app's `actor_checks`) and compares it with the
token of the session the resolver found — duck-typed: the resolver sets `request.state.web_session`
(an object with `.csrf_token`) when the actor came from a cookie. Routes that never resolve an actor
never use the cookie's authority, so they need no check.

Forms shown to a visitor without a session (login, registration) use a signed double-submit token
instead: `csrf_token(request)` makes one (HMAC-SM3 under a key derived from the master key) and
`set_csrf_cookie` sets its cookie; the handler calls `require_csrf(request, token)`.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any

from fastapi import Request
from starlette.responses import Response

from yiwang.core.crypto import hmac_sm3
from yiwang.core.errors import Forbidden
from yiwang.settings import get_settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = "x-csrf-token"
FIELD = "csrf_token"
ANONYMOUS_COOKIE = "yiwang_csrf"
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
BODY_CHECK_ATTR = "__csrf_checked_in_body__"

__all__ = [
    "ANONYMOUS_COOKIE",
    "CsrfFailed",
    "check_session_csrf",
    "checks_csrf_in_body",
    "csrf_token",
    "read_submitted_token",
    "require_csrf",
    "set_csrf_cookie",
]


class CsrfFailed(Forbidden):
    default_slug = "csrf"
    default_title = "页面已过期"


def _failed() -> CsrfFailed:
    return CsrfFailed(detail="页面已过期或不是从本站提交的。请返回上一页，刷新后重新提交。")


def _key() -> bytes:
    # The derivation label is the one identity used before the kit took CSRF over, so tokens already
    # in open pages stay valid across the upgrade.
    return hmac_sm3(get_settings().resolved_master_key(), b"yiwang/identity/form-csrf/v1")


def _sign(nonce: str) -> str:
    return hmac_sm3(_key(), nonce.encode()).hex()


def _secure(request: Request) -> bool:
    return get_settings().secure_cookies or request.url.scheme == "https"


def anonymous_token(request: Request) -> str:
    """The double-submit token for a visitor without a session: HMAC of a random cookie value (made
    now, and set on the response by `set_csrf_cookie`, when the visitor has none)."""
    nonce = getattr(request.state, "csrf_nonce", None) or request.cookies.get(ANONYMOUS_COOKIE, "")
    if not _NONCE.fullmatch(nonce):
        nonce = secrets.token_urlsafe(24)
        request.state.csrf_nonce_new = True
    request.state.csrf_nonce = nonce
    return _sign(nonce)


def anonymous_ok(request: Request, token: str | None) -> bool:
    nonce = request.cookies.get(ANONYMOUS_COOKIE, "")
    return bool(token and _NONCE.fullmatch(nonce) and hmac.compare_digest(token, _sign(nonce)))


def _session(request: Request) -> Any:
    return getattr(request.state, "web_session", None)


def _session_token(request: Request) -> str:
    # The resolver copies the token to `request.state.csrf_token` as a plain string; prefer it, since
    # the session row may be detached by the time an error page renders.
    return getattr(request.state, "csrf_token", None) or _session(request).csrf_token


def csrf_token(request: Request) -> str:
    """The token for this page's forms: the session's, else the anonymous double-submit one."""
    if _session(request) is not None:
        return _session_token(request)
    token = getattr(request.state, "csrf_token", None)
    if not token:
        token = anonymous_token(request)
        request.state.csrf_token = token
    return token


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Set the anonymous CSRF cookie if `csrf_token` had to make a new one for this page."""
    if getattr(request.state, "csrf_nonce_new", False):
        response.set_cookie(
            ANONYMOUS_COOKIE,
            request.state.csrf_nonce,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
            path="/",
        )


def submitted(request: Request, form_token: str | None = None) -> str:
    token = form_token or getattr(request.state, "csrf_submitted", "") or request.headers.get(HEADER, "")
    return token.strip()


def require_csrf(request: Request, form_token: str | None = None) -> None:
    """Refuse a POST that did not come from one of our own pages: with a session, its token; without
    one, the signed double-submit token. For the forms anonymous visitors post (login, registration);
    with a session `check_session_csrf` has already checked every state-changing request."""
    if not hasattr(request.state, "actor"):
        # Without the actor, a session cookie is not yet known and the anonymous check would apply.
        raise RuntimeError("require_csrf: resolve the actor first (add ActorDep to the route)")
    token = submitted(request, form_token)
    ws = _session(request)
    if ws is not None:
        ok = bool(token) and hmac.compare_digest(token, _session_token(request))
    else:
        ok = anonymous_ok(request, token)
    if not ok:
        raise _failed()


def checks_csrf_in_body(fn: Any) -> Any:
    """Mark a multipart route that checks the form's `csrf_token` itself (`require_csrf`) as soon as
    it has authorised the caller and streamed the body in. Any other multipart write of a cookie
    session must send the `X-CSRF-Token` header."""
    setattr(fn, BODY_CHECK_ATTR, True)
    return fn


async def read_submitted_token(request: Request) -> None:
    """App-wide dependency: remember the token a state-changing cookie request submitted (header, or
    the `csrf_token` field of a urlencoded form) for `check_session_csrf`. Reading such a form here
    is free: Starlette keeps the parsed form for the route. A multipart body is never read here: that
    would spool an upload to disk before anyone was authenticated (see `checks_csrf_in_body`)."""
    if request.method in SAFE_METHODS or request.headers.get("authorization"):
        return
    token = request.headers.get(HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not token and content_type.startswith(_URLENCODED):
        form = await request.form()
        value = form.get(FIELD)
        token = value if isinstance(value, str) else ""
    request.state.csrf_submitted = token


def check_session_csrf(request: Request, actor: Any) -> None:
    """Run by `core.deps.get_actor` right after the actor is resolved: a state-changing request whose
    actor came from the session cookie must carry that session's token."""
    if request.method in SAFE_METHODS or request.headers.get("authorization"):
        return
    ws = _session(request)
    if ws is None:
        return
    token = submitted(request)
    if not token and request.headers.get("content-type", "").startswith(_MULTIPART):
        endpoint = request.scope.get("endpoint")
        if getattr(endpoint, BODY_CHECK_ATTR, False):
            return  # the route checks the token in the body once it has authorised the caller
    if not (token and hmac.compare_digest(token, _session_token(request))):
        # A plain 403: the app's problem handler records it in the audit chain under the route's action.
        raise _failed()
