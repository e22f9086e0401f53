"""The citizen's (and enterprise's) data-use page: 谁用了我的数据, phone first, in plain Chinese, and
the objection form (`/me/data-use`, `/me/data-use/{call_id}/objection`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from yiwang import exchange
from yiwang.core.deps import ActorDep, SessionDep, audit_action
from yiwang.core.errors import Invalid
from yiwang.exchange.pages.common import (
    paging,
    render,
    router,
)
from yiwang.web import page_errors, parse, redirect, require_csrf

PAGE_SIZE = 20


@router.get("/me/data-use", response_class=HTMLResponse)
@audit_action("exchange.data_use.read")
def data_use_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    first = exchange.my_data_use(session, actor, limit=1)
    offset, pages = paging(first.total, page, PAGE_SIZE)
    use = exchange.my_data_use(session, actor, offset=offset, limit=PAGE_SIZE)
    others = exchange.platform_access(session, actor, limit=20) if page == 1 else []
    return render(
        request,
        actor,
        "my_data_use.html",
        "谁用了我的数据",
        citizen=True,
        use=use,
        others=others,
        page=page,
        pages=pages,
    )


@router.get("/me/data-use/{call_id}/objection", response_class=HTMLResponse)
@audit_action("exchange.objection.raise")
def objection_form(request: Request, session: SessionDep, actor: ActorDep, call_id: int) -> HTMLResponse:
    call = exchange.data_use_call(session, actor, call_id)
    return render(
        request, actor, "objection_new.html", "对数据使用提出异议", citizen=True, call=call, text=""
    )


@router.post("/me/data-use/{call_id}/objection", response_class=HTMLResponse)
@audit_action("exchange.objection.raise")
def objection_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    call_id: int,
    csrf_token: Annotated[str, Form()] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        exchange.raise_objection(session, actor, call_id, parse(exchange.ObjectionCreate, {"text": text}))
    except Invalid as problem:
        session.rollback()
        call = exchange.data_use_call(session, actor, call_id)
        return render(
            request,
            actor,
            "objection_new.html",
            "对数据使用提出异议",
            citizen=True,
            call=call,
            text=text,
            errors=page_errors(problem, "text"),
            status_code=422,
        )
    return redirect(f"/me/data-use?done=objection#call-{call_id}")
