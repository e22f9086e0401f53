"""The auditor's pages under `/audit`: the chain's state with verification on demand (progress shown
while it runs, polled with htmx or by reloading the page), and the audit records filtered by actor,
data subject, action and days. The same service calls as everywhere (`yiwang.audit.service`); every
refusal goes to the audit chain through the app's problem handler.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang import identity, web
from yiwang.audit import service
from yiwang.core.deps import ActorDep, DatabaseDep, SessionDep
from yiwang.core.errors import FieldError, Invalid, Problem
from yiwang.core.labels import action_labels
from yiwang.core.security import Actor, require_authenticated
from yiwang.web import templates

router = APIRouter(prefix="/audit", include_in_schema=False)


def _render(
    request: Request, template: str, title: str, *, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    return web.render(
        request, f"audit/{template}", title, status_code=status_code, wide=True, urlencode=urlencode, **ctx
    )


@router.get("", response_class=HTMLResponse)
def status_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    require_authenticated(actor)
    view = service.overview(session, actor)
    notices = []
    if request.query_params.get("done") == "started":
        notices.append(
            {"kind": "success", "text": "已开始核验。核验在后台进行，可以离开本页，稍后回来查看结果。"}
        )
    return _render(request, "index.html", "审计链", view=view, notices=notices)


@router.post("/verify")
def verify_submit(
    request: Request,
    database: DatabaseDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_authenticated(actor)
    identity.require_csrf(request, csrf_token)
    service.start_verification(database, actor)
    return RedirectResponse("/audit?done=started", status_code=303)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_fragment(request: Request, session: SessionDep, actor: ActorDep, run_id: int) -> Response:
    """The progress box of one run, for htmx polling; a plain visit goes to the status page."""
    require_authenticated(actor)
    run = service.get_run(session, actor, run_id)
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse("/audit", status_code=303)
    response = templates().TemplateResponse(request, "audit/_run.html", {"request": request, "run": run})
    response.headers["Cache-Control"] = "no-store"
    return response


def _parse_day(value: str, field: str, errors: list[FieldError]) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(FieldError(field, "请按“年-月-日”填写日期，例如 2026-12-01"))
        return None


@router.get("/records", response_class=HTMLResponse)
def records_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    who: str = "",
    subject: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    page: str = "1",
) -> HTMLResponse:
    require_authenticated(actor)
    service.require_reader(actor)
    query = {"who": who, "subject": subject, "action": action, "since": since, "until": until}
    errors: list[FieldError] = []
    if len(who) > 64:
        errors.append(FieldError("who", "操作人最多 64 个字"))
    if len(subject) > 32:
        errors.append(FieldError("subject", "数据主体应为身份证号码或统一社会信用代码（18 位）"))
    since_day = _parse_day(since, "since", errors)
    until_day = _parse_day(until, "until", errors)
    page_no = int(page) if page.isdigit() else 0
    result = None
    if not errors:
        try:
            filters = service.RecordFilters(who[:64], subject[:32], action, since_day, until_day)
            result = service.search_records(
                session, actor, filters, page=page_no, page_size=service.PAGE_SIZE
            )
        except Invalid as problem:
            errors = list(problem.errors)
        except Problem:
            raise
    actions = sorted(action_labels().items(), key=lambda kv: (kv[0].split(".")[0], kv[1]))
    return _render(
        request,
        "records.html",
        "审计记录",
        status_code=422 if errors else 200,
        query=query,
        result=result,
        errors=errors or None,
        actions=actions,
    )


def can_open(actor: Actor) -> bool:
    """Whether `actor` may open /audit (for homes and menus)."""
    return service.can_read(actor)
