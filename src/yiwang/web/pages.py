"""Shared page plumbing: the large-text preference, the base page context, the static mount."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from yiwang.core.security import ANONYMOUS
from yiwang.web.templating import STATIC_DIR

LARGE_TEXT_COOKIE = "yiwang_large"
LARGE_TEXT_MAX_AGE = 365 * 24 * 3600

router = APIRouter(tags=["web"])


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default` — no open redirects.

    Accepts "/path?query#frag"; refuses "//host", "/\\host", "http://…", "javascript:…", relative
    paths and anything with control characters (browsers drop tabs and newlines, turning
    "/\\t/evil" into "//evil")."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


@router.get("/prefs/large-text", include_in_schema=False)
def large_text_pref(
    request: Request,
    on: bool = Query(True, description="1 to turn large-text mode on, 0 to turn it off"),
    next_: str = Query("/", alias="next"),
) -> RedirectResponse:
    """Turn 大字模式 on or off (works without JavaScript) and go back to the page it came from."""
    response = RedirectResponse(safe_next(next_), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    secure = request.url.scheme == "https"
    if on:
        response.set_cookie(
            LARGE_TEXT_COOKIE,
            "1",
            max_age=LARGE_TEXT_MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure,
        )
    else:
        response.delete_cookie(LARGE_TEXT_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
    return response


def is_large_text(request: Request) -> bool:
    return request.cookies.get(LARGE_TEXT_COOKIE) == "1"


def current_path(request: Request) -> str:
    """The path and query of this request, to come back to after a preference or a login."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def page_context(request: Request, **extra: Any) -> dict[str, Any]:
    """The variables `base.html` expects, filled from the request; `extra` adds to or overrides them.

    From `request.state` when set by middleware or dependencies: `page_user` (→ `user`; an object with
    `.name` and `.kind_label`, or None when anonymous), `csrf_token`, `notices`. The navigation comes
    from the app's registry (`yiwang.web.nav`) for the resolved actor: `nav` (the global sections),
    `section` (the current one) and `section_menu` (its own menu, shown beneath the global one).
    """
    state = request.state
    user = getattr(state, "page_user", None)
    if user is not None and getattr(user, "is_authenticated", True) is False:
        user = None
    actor = getattr(state, "actor", None) or ANONYMOUS
    registry = getattr(request.app.state, "nav", None) if "app" in request.scope else None
    nav: list[Any] = []
    section = None
    menu: list[Any] = []
    if registry is not None:
        nav = registry.global_nav(request.url.path, actor)
        section, menu = registry.section_menu(request.url.path, request.url.query, actor)
    ctx: dict[str, Any] = {
        "request": request,
        "large_text": is_large_text(request),
        "user": user,
        "nav": nav,
        "section": section,
        "section_menu": menu,
        "csrf_token": getattr(state, "csrf_token", None) or "",
        "notices": list(getattr(state, "notices", None) or []),
        "current_path": current_path(request),
        "errors": None,
        "body_class": "",
    }
    ctx.update(extra)
    return ctx


class VersionedStaticFiles(StaticFiles):
    """StaticFiles that lets browsers keep a `?v=<hash>` URL for a year (its content never changes
    under that URL) and makes them revalidate an unversioned one."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            query = scope.get("query_string", b"")
            versioned = any(p.startswith(b"v=") for p in query.split(b"&"))
            response.headers["Cache-Control"] = (
                "public, max-age=31536000, immutable" if versioned else "no-cache"
            )
        return response


def mount_static(app: FastAPI) -> None:
    """Serve `yiwang/web/static` at /static (route name "static")."""
    app.mount("/static", VersionedStaticFiles(directory=STATIC_DIR), name="static")
