"""The demand list's pages: filing a demand and answering it."""

from __future__ import annotations

from typing import Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from yiwang.catalog import schemas as s
from yiwang.catalog import service
from yiwang.catalog.pages.common import (
    is_editor,
    render,
    require_csrf,
    router,
)
from yiwang.catalog.service.common import refuse, require_reader
from yiwang.core.deps import ActorDep, SessionDep
from yiwang.core.errors import Problem
from yiwang.core.security import Actor
from yiwang.web import (
    int_or_none,
    parse,
    recoverable,
    redirect,
)

# ================================================================= demands


def _demand_form(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    form: dict[str, Any] | None = None,
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        actor,
        "demand_new.html",
        "登记数据需求",
        status_code=status_code,
        form=form or {},
        errors=errors,
        departments=service.catalog_departments(session, actor),
    )


@router.get("/demands/new", response_class=HTMLResponse)
def demand_new(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    require_reader(actor, "catalog.demand.file")
    if not is_editor(actor):
        raise refuse(
            actor,
            "catalog.demand.file",
            "只有部门数据管理员或平台管理员可以登记数据需求",
            object_type="catalog_demand",
        )
    return _demand_form(request, session, actor)


@router.post("/demands/new", response_class=HTMLResponse)
def demand_create(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
    title: str = Form(""),
    description: str = Form(""),
    purpose: str = Form(""),
    wanted_items: str = Form(""),
    provider_department_id: str = Form(""),
) -> Response:
    require_csrf(request, csrf_token)
    form = {
        "title": title,
        "description": description,
        "purpose": purpose,
        "wanted_items": wanted_items,
        "provider_department_id": provider_department_id,
    }
    try:
        data = parse(
            s.DemandCreate,
            {
                "title": title,
                "description": description,
                "purpose": purpose,
                "wanted_items": [
                    w for w in wanted_items.replace("，", ",").replace("、", ",").split(",") if w.strip()
                ],
                "provider_department_id": int_or_none(provider_department_id, "provider_department_id"),
            },
        )
        demand = service.file_demand(session, actor, data)
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        return _demand_form(request, session, actor, form=form, errors=problem, status_code=problem.status)
    return redirect(f"/catalog/demands/{demand.id}?done=demand-filed")


def _demand_page(
    request: Request,
    session: Session,
    actor: Actor,
    demand_id: int,
    *,
    form: dict[str, Any] | None = None,
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    demand = service.get_demand(session, actor, demand_id)
    from yiwang.catalog.service.common import editable_units

    units = editable_units(session, actor)
    can_answer = demand.status in ("open", "planned") and (
        units is None
        or (
            bool(units)
            and (
                demand.provider_department_id in units
                if demand.provider_department_id
                else demand.requester_department_id not in units
            )
        )
    )
    return render(
        request,
        actor,
        "demand.html",
        demand.title,
        status_code=status_code,
        demand=demand,
        can_answer=can_answer,
        form=form or {},
        errors=errors,
    )


@router.get("/demands/{demand_id}", response_class=HTMLResponse)
def demand_detail(request: Request, demand_id: int, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _demand_page(request, session, actor, demand_id)


@router.post("/demands/{demand_id}/answer", response_class=HTMLResponse)
def demand_answer(
    request: Request,
    demand_id: int,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
    outcome: str = Form(""),
    answer: str = Form(""),
    entry_code: str = Form(""),
) -> Response:
    require_csrf(request, csrf_token)
    form = {"outcome": outcome, "answer": answer, "entry_code": entry_code}
    try:
        data = parse(
            s.DemandAnswer, {"outcome": outcome or None, "answer": answer, "entry_code": entry_code or None}
        )
        service.answer_demand(session, actor, demand_id, data)
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        return _demand_page(
            request, session, actor, demand_id, form=form, errors=problem, status_code=problem.status
        )
    return redirect(f"/catalog/demands/{demand_id}?done=demand-answered")
