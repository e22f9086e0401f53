"""Rendering a page in the shared layout: one call for every module's pages.

    from yiwang.web import redirect, render

    DONE = {"issued": "证照已签发。"}          # notices shown after a POST → 303 → GET

    @router.get("/licenses/{licence_id}", response_class=HTMLResponse)
    def licence_page(request: Request, licence_id: int, session: SessionDep, actor: ActorDep):
        row = service.get_licence(session, actor, licence_id)
        return render(request, "licenses/licence.html", row.name, done=DONE, licence=row)

    ...
    return redirect(f"/licenses/{row.id}?done=issued")

`render` fills the CSRF token (setting the anonymous cookie when it had to make one), the global
navigation and the current section's menu (from the registry), the success notice named by the
`done` query parameter (looked up in `done`, so no text ever comes from the URL) and marks the page
`no-store` (pages show personal and official data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from yiwang.web.csrf import csrf_token, set_csrf_cookie
from yiwang.web.pages import page_context
from yiwang.web.templating import templates

NO_STORE = {"Cache-Control": "no-store"}


def done_notice(request: Request, done: Mapping[str, str] | None) -> dict[str, str] | None:
    text = (done or {}).get(request.query_params.get("done", ""))
    return {"kind": "success", "text": text} if text else None


def render(
    request: Request,
    template: str,
    title: str = "",
    *,
    status_code: int = 200,
    done: Mapping[str, str] | None = None,
    wide: bool | None = None,
    **ctx: Any,
) -> HTMLResponse:
    """Render `template` (a name under some module's `templates/`) as a whole page.

    `title` is the page's heading and `<title>`; `wide` selects the staff workbench width (default:
    wide for staff, narrow for citizens and visitors); the rest goes to the template."""
    notices = list(ctx.pop("notices", []))
    notice = done_notice(request, done)
    if notice:
        notices.insert(0, notice)
    if wide is None:
        actor = getattr(request.state, "actor", None)
        wide = actor is not None and getattr(actor.kind, "value", "") == "staff"
    ctx.setdefault("body_class", "wide" if wide else "")
    ctx.setdefault("csrf_token", csrf_token(request))
    if title:
        ctx.setdefault("page_title", title)
        ctx.setdefault("title", title)
    context = page_context(request, notices=notices, **ctx)
    response = templates().TemplateResponse(request, template, context, status_code=status_code)
    set_csrf_cookie(request, response)
    response.headers.update(NO_STORE)
    return response


def redirect(url: str) -> RedirectResponse:
    """303 See Other to `url` (after a POST), not cached."""
    response = RedirectResponse(url, status_code=303)
    response.headers.update(NO_STORE)
    return response
