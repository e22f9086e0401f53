"""Security headers on every response, and the last-resort answer when something breaks.

One pure-ASGI middleware, outermost in the app's own stack, so pages, API answers, static files,
redirects and error answers all pass through it:

- `Content-Security-Policy`: pages load scripts, styles, images and fonts only from this site; no
  inline script or style (the templates keep both in static files), no plugins, no framing. Non-HTML
  answers get `default-src 'none'`. The interactive API documentation (`/docs`, `/redoc`) needs its
  bootstrap script inline: its policy allows exactly those scripts by their SHA-256 hashes, computed
  from the page as served, and nothing else inline.
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`, a `Permissions-Policy` that
  turns off device features, `X-Frame-Options: DENY` and `Cross-Origin-Opener-Policy: same-origin`.
- Over HTTPS (the request scheme, or a `https://` base URL, or `YIWANG_SECURE_COOKIES`):
  `Strict-Transport-Security`, and every `Set-Cookie` gains `Secure`. Behind a reverse proxy the
  scheme comes from `X-Forwarded-Proto`, believed only from the addresses in `YIWANG_TRUSTED_PROXIES`.
- An exception nothing else handled becomes a 500 problem+json with a Chinese title and no internals
  (a short Chinese page for browsers); the traceback goes to the log with the request's method and path.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yiwang.core.errors import PROBLEM_MEDIA_TYPE

log = logging.getLogger("yiwang.http")

API_PREFIXES = ("/api/", "/oidc/", "/.well-known/")

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# JSON, CSV, files: nothing in them may run or load anything, even when opened directly.
DATA_CSP = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc: their bundles are static files; their bootstrap scripts are inline and allowed by
# hash; ReDoc injects <style> elements and starts a web worker from a blob.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc", "/docs/oauth2-redirect")
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()"
)
STATIC_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
STATIC_NAMES = frozenset(name for name, _ in STATIC_HEADERS)
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)

ERROR_TITLE = "服务器内部错误"
ERROR_DETAIL = "处理请求时发生意外错误，已记录。请稍后重试；如仍有问题，请联系平台运维。"
_ERROR_PAGE = (
    '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f"<title>{ERROR_TITLE} - 一网</title></head><body><main><h1>{ERROR_TITLE}</h1>"
    f'<p>{ERROR_DETAIL}</p><p><a href="/">返回首页</a></p></main></body></html>'
)


def inline_script_hashes(html: bytes) -> list[str]:
    """`'sha256-…'` CSP sources for every inline <script> in `html`."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def _networks(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip()]


class SecurityHeaders:
    """ASGI middleware; see the module docstring. `docs_paths` get the hashed-inline-script policy."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        docs_paths: Iterable[str] = (),
        trusted_proxies: Iterable[str] = (),
        always_secure: bool = False,
        hsts_seconds: int = 31_536_000,
    ) -> None:
        self.app = app
        self.docs_paths = frozenset(p for p in docs_paths if p)
        self.trusted = _networks(trusted_proxies)
        self.always_secure = always_secure
        self.hsts = f"max-age={hsts_seconds}; includeSubDomains".encode() if hsts_seconds > 0 else b""

    def _forwarded_scheme(self, scope: Scope) -> str | None:
        if not self.trusted or not scope.get("client"):
            return None
        try:
            peer = ipaddress.ip_address(scope["client"][0])
        except ValueError:
            return None
        if not any(peer in net for net in self.trusted):
            return None
        values = [v for name, v in scope.get("headers", ()) if name == b"x-forwarded-proto"]
        if not values:
            return None
        # The last entry is the one our own proxy wrote; earlier ones may come from the client.
        proto = values[-1].decode("latin-1").split(",")[-1].strip().lower()
        return proto if proto in ("http", "https") else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        forwarded = self._forwarded_scheme(scope)
        if forwarded:
            scope = {**scope, "scheme": forwarded}
        secure = self.always_secure or scope.get("scheme") == "https"
        is_docs = scope.get("path", "") in self.docs_paths
        started = False
        held: Message | None = None
        chunks: list[bytes] = []

        def decorate(message: Message, body: bytes | None) -> Message:
            headers = [
                (k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"
            ]
            content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            if is_docs and body is not None:
                csp = DOCS_CSP.format(hashes=" ".join(inline_script_hashes(body)))
            elif content_type.startswith(b"text/html"):
                csp = PAGE_CSP
            else:
                csp = DATA_CSP
            out = [(k, v) for k, v in headers if k.lower() not in STATIC_NAMES]
            if secure:
                out = [(k, _secure_cookie(v) if k.lower() == b"set-cookie" else v) for k, v in out]
                if self.hsts:
                    out.append((b"strict-transport-security", self.hsts))
            out.append((b"content-security-policy", csp.encode()))
            out.extend(STATIC_HEADERS)
            return {**message, "headers": out}

        async def send_wrapper(message: Message) -> None:
            nonlocal started, held
            if message["type"] == "http.response.start":
                started = True
                if is_docs:
                    held = message  # the policy needs the body's inline scripts: hold until complete
                    return
                await send(decorate(message, None))
                return
            if held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                await send(decorate(held, body))
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # `last_resort` below already answered and logged; Starlette re-raises for the server's
            # log, which would only repeat the traceback.
            if not started:
                raise


async def last_resort(request: Request, exc: Exception) -> Response:
    """The app's handler for `Exception`: a Chinese 500 without internals; the traceback is logged."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    path = request.url.path
    if "text/html" in request.headers.get("accept", "") and not path.startswith(API_PREFIXES):
        return HTMLResponse(_ERROR_PAGE, status_code=500, headers={"Cache-Control": "no-store"})
    problem = {
        "type": "/problems/internal-error",
        "title": ERROR_TITLE,
        "status": 500,
        "detail": ERROR_DETAIL,
        "instance": path,
    }
    return JSONResponse(
        problem, status_code=500, media_type=PROBLEM_MEDIA_TYPE, headers={"Cache-Control": "no-store"}
    )


def install(app: FastAPI, settings: Any) -> None:
    """Wrap the whole app — outside Starlette's error middleware, so its 500s are covered too, and
    outside any middleware a module adds — and register the last-resort handler."""
    app.add_exception_handler(Exception, last_resort)
    build = app.build_middleware_stack
    secure = settings.secure_cookies or str(settings.base_url).startswith("https://")
    # FastAPI's own documentation URLs, and the usual ones in case the docs are served by a route of
    # their own (vendored assets, `docs_url=None`).
    docs = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url, *DOCS_PATHS}

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(
            build(),
            docs_paths=[p for p in docs if p],
            trusted_proxies=settings.trusted_proxies.split(","),
            always_secure=secure,
            hsts_seconds=settings.hsts_seconds,
        )

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]


def _secure_cookie(value: bytes) -> bytes:
    attributes = [a.strip().lower() for a in value.split(b";")[1:]]
    return value if b"secure" in attributes else value + b"; Secure"
