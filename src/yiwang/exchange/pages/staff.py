"""Staff pages of 共享交换 under `/exchange`: the data officer's requests to decide (with overdue
ones first), filing a request, grants and their revocation, objections to answer; the operator's
call statistics (every number links to the calls behind it), CSV export and the call log."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from yiwang import catalog, exchange, identity
from yiwang.core.clock import today_local
from yiwang.core.deps import ActorDep, SessionDep, audit_action
from yiwang.core.errors import Forbidden, Invalid, Problem
from yiwang.core.security import Actor, ActorKind, require_authenticated
from yiwang.exchange.nav import sees_stats
from yiwang.exchange.pages.common import (
    paging,
    render,
    router,
)
from yiwang.web import page_errors, parse, redirect, require_csrf

PAGE_SIZE = 20


def _require_staff(actor: Actor, action: str) -> None:
    require_authenticated(actor)
    if actor.kind is not ActorKind.STAFF and not actor.is_platform_admin:
        raise Forbidden(detail="共享交换工作台仅向政务工作人员开放").audited(actor, action)


def _field_names(session: Any, code: str) -> dict[str, str]:
    try:
        return {i.field_name: i.name for i in catalog.get_entry(session, code).items}
    except Problem:
        return {}


# ================================================================= home


@router.get("/exchange", response_class=HTMLResponse)
@audit_action("exchange.page.home")
def home(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    _require_staff(actor, "exchange.page.home")
    ctx: dict[str, Any] = {}
    try:
        incoming = exchange.list_requests(session, actor, box="incoming", status="submitted", limit=5)
        ctx["incoming"] = incoming
        ctx["objections"] = exchange.list_objections(session, actor, status="open", limit=1).total
    except Forbidden:
        ctx["incoming"] = None
    if sees_stats(actor):
        ctx["stats"] = exchange.call_stats(session, actor, by="resource")
    return render(request, actor, "index.html", "共享交换", **ctx)


# ================================================================= requests


@router.get("/exchange/requests", response_class=HTMLResponse)
@audit_action("exchange.request.list")
def requests_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    box: Annotated[str, Query(max_length=16)] = "incoming",
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    overdue: Annotated[str, Query(max_length=1)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    _require_staff(actor, "exchange.request.list")
    # "待我审批" is what is still waiting: decided requests only when asked for (status="" is all).
    if status_ is None:
        status_ = "submitted" if box == "incoming" else ""
    late = True if overdue == "1" else None
    first = exchange.list_requests(session, actor, box=box, status=status_, overdue=late, limit=1)
    offset, pages = paging(first.total, page, PAGE_SIZE)
    result = exchange.list_requests(
        session, actor, box=box, status=status_, overdue=late, offset=offset, limit=PAGE_SIZE
    )
    title = {"incoming": "待我审批的共享申请", "outgoing": "本部门提出的共享申请"}.get(box, "全部共享申请")
    query = {"box": box, "status": status_, "overdue": overdue}
    return render(
        request, actor, "requests.html", title, result=result, query=query, page=page, pages=pages, box=box
    )


def _shareable_entries(session: Any) -> list[Any]:
    return [
        e
        for e in catalog.published_entries(session)
        if e.sharing_type != "none" and e.mount is not None and e.mount.resource_key
    ]


@router.get("/exchange/requests/new", response_class=HTMLResponse)
@audit_action("exchange.request.file")
def new_request(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    resource: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    _require_staff(actor, "exchange.request.file")
    entries = _shareable_entries(session)
    chosen = next((e for e in entries if e.mount and e.mount.resource_key == resource), None)
    today = today_local().date()
    form = {
        "resource_key": resource,
        "purpose": "",
        "legal_basis": "",
        "fields": [],
        "rate_per_minute": 60,
        "period_from": today.isoformat(),
        "period_to": today.replace(year=today.year + 1, day=min(today.day, 28)).isoformat(),
        "client_id": "",
        "region_prefix": "",
    }
    return render(
        request,
        actor,
        "request_new.html",
        "提出共享申请",
        entries=entries,
        chosen=chosen,
        form=form,
        systems=exchange.filing_systems(session, actor),
    )


@router.post("/exchange/requests/new", response_class=HTMLResponse)
@audit_action("exchange.request.file")
def file_request_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    resource_key: Annotated[str, Form(max_length=64)] = "",
    client_id: Annotated[str, Form(max_length=64)] = "",
    purpose: Annotated[str, Form(max_length=400)] = "",
    legal_basis: Annotated[str, Form(max_length=4000)] = "",
    fields: Annotated[list[str] | None, Form()] = None,
    allow_sensitive: Annotated[str, Form(max_length=1)] = "",
    bulk: Annotated[str, Form(max_length=1)] = "",
    region_prefix: Annotated[str, Form(max_length=12)] = "",
    rate_per_minute: Annotated[str, Form(max_length=8)] = "60",
    period_from: Annotated[str, Form(max_length=10)] = "",
    period_to: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    require_csrf(request, csrf_token)
    form = {
        "resource_key": resource_key,
        "client_id": client_id.strip() or None,
        "purpose": purpose,
        "legal_basis": legal_basis,
        "fields": fields or [],
        "allow_sensitive": allow_sensitive == "1",
        "bulk": bulk == "1",
        "region_prefix": region_prefix.strip() or None,
        "rate_per_minute": rate_per_minute,
        "period_from": period_from,
        "period_to": period_to,
    }
    try:
        data = parse(exchange.RequestCreate, form)
        req = exchange.file_request(session, actor, data)
    except Invalid as problem:
        session.rollback()
        entries = _shareable_entries(session)
        chosen = next((e for e in entries if e.mount and e.mount.resource_key == resource_key), None)
        shown = {**form, "client_id": client_id, "region_prefix": region_prefix}
        return render(
            request,
            actor,
            "request_new.html",
            "提出共享申请",
            status_code=422,
            entries=entries,
            chosen=chosen,
            form=shown,
            systems=exchange.filing_systems(session, actor),
            errors=page_errors(problem, "purpose"),
        )
    return redirect(f"/exchange/requests/{req.id}?done=filed")


@router.get("/exchange/requests/{request_id}", response_class=HTMLResponse)
@audit_action("exchange.request.read")
def request_page(request: Request, session: SessionDep, actor: ActorDep, request_id: int) -> HTMLResponse:
    _require_staff(actor, "exchange.request.read")
    req = exchange.get_request(session, actor, request_id)
    return _request_view(request, session, actor, req)


def _request_view(
    request: Request,
    session: Any,
    actor: Actor,
    req: Any,
    *,
    errors: Any = None,
    form: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    from yiwang.exchange.service.common import is_officer_of

    names = _field_names(session, req.catalog_code)
    can_decide = exchange.may_decide(session, actor, req.id)
    can_withdraw = req.status == "submitted" and is_officer_of(session, actor, req.consumer_dept_id)
    form = form or {
        "decision": "",
        "opinion": "",
        "fields": list(req.fields),
        "period_to": req.period_to.isoformat(),
        "rate_per_minute": req.rate_per_minute,
        "allow_sensitive": req.allow_sensitive,
        "allow_bulk": req.bulk,
        "region_prefix": req.region_prefix or "",
    }
    return render(
        request,
        actor,
        "request.html",
        f"共享申请 {req.number}",
        req=req,
        names=names,
        can_decide=can_decide,
        can_withdraw=can_withdraw,
        form=form,
        errors=errors,
        status_code=status_code,
    )


@router.post("/exchange/requests/{request_id}/decision", response_class=HTMLResponse)
@audit_action("exchange.request.decide")
def decide_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    request_id: int,
    csrf_token: Annotated[str, Form()] = "",
    decision: Annotated[str, Form(max_length=16)] = "",
    opinion: Annotated[str, Form(max_length=2000)] = "",
    fields: Annotated[list[str] | None, Form()] = None,
    period_to: Annotated[str, Form(max_length=10)] = "",
    rate_per_minute: Annotated[str, Form(max_length=8)] = "",
    allow_sensitive: Annotated[str, Form(max_length=1)] = "",
    allow_bulk: Annotated[str, Form(max_length=1)] = "",
    region_prefix: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    require_csrf(request, csrf_token)
    body: dict[str, Any] = {"decision": decision, "opinion": opinion}
    if decision == "narrow":
        body.update(
            fields=fields or [],
            period_to=period_to or None,
            rate_per_minute=rate_per_minute or None,
            allow_sensitive=allow_sensitive == "1",
            allow_bulk=allow_bulk == "1",
            region_prefix=region_prefix.strip() or None,
        )
    try:
        if decision not in ("approve", "narrow", "refuse"):
            raise Invalid.on("decision", "请选择审批结果：同意、收窄后同意或不予同意")
        req = exchange.decide_request(session, actor, request_id, parse(exchange.Decision, body))
    except (Invalid, Problem) as problem:
        if problem.status == 403:
            raise
        session.rollback()
        req = exchange.get_request(session, actor, request_id)
        form = {
            "decision": decision,
            "opinion": opinion,
            "fields": fields or [],
            "period_to": period_to,
            "rate_per_minute": rate_per_minute,
            "allow_sensitive": allow_sensitive == "1",
            "allow_bulk": allow_bulk == "1",
            "region_prefix": region_prefix,
        }
        status = problem.status if problem.status in (409, 422) else 422
        return _request_view(
            request,
            session,
            actor,
            req,
            errors=page_errors(problem, "decision"),
            form=form,
            status_code=status,
        )
    return redirect(f"/exchange/requests/{req.id}?done={req.status}")


@router.post("/exchange/requests/{request_id}/withdraw")
@audit_action("exchange.request.withdraw")
def withdraw_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    request_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, csrf_token)
    exchange.withdraw_request(session, actor, request_id)
    return redirect(f"/exchange/requests/{request_id}?done=withdrawn")


# ================================================================= grants


@router.get("/exchange/grants", response_class=HTMLResponse)
@audit_action("exchange.grant.list")
def grants_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    box: Annotated[str, Query(max_length=16)] = "incoming",
    state: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    _require_staff(actor, "exchange.grant.list")
    first = exchange.list_grants(session, actor, box=box, state=state, limit=1)
    offset, pages = paging(first.total, page, PAGE_SIZE)
    result = exchange.list_grants(session, actor, box=box, state=state, offset=offset, limit=PAGE_SIZE)
    query = {"box": box, "state": state}
    return render(
        request, actor, "grants.html", "共享授权", result=result, query=query, page=page, pages=pages
    )


@router.get("/exchange/grants/{grant_id}", response_class=HTMLResponse)
@audit_action("exchange.grant.read")
def grant_page(request: Request, session: SessionDep, actor: ActorDep, grant_id: int) -> HTMLResponse:
    from yiwang.exchange.service.common import is_officer_of

    _require_staff(actor, "exchange.grant.read")
    grant, events = exchange.get_grant(session, actor, grant_id)
    can_revoke = grant.state != "revoked" and is_officer_of(session, actor, grant.provider_dept_id)
    return render(
        request,
        actor,
        "grant.html",
        f"共享授权 {grant.id}",
        grant=grant,
        events=events,
        can_revoke=can_revoke,
        names=_field_names(session, grant.catalog_code),
    )


@router.post("/exchange/grants/{grant_id}/revoke")
@audit_action("exchange.grant.revoke")
def revoke_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    grant_id: int,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        exchange.revoke_grant(session, actor, grant_id, reason)
    except Invalid as problem:
        session.rollback()
        grant, events = exchange.get_grant(session, actor, grant_id)
        return render(
            request,
            actor,
            "grant.html",
            f"共享授权 {grant.id}",
            status_code=422,
            grant=grant,
            events=events,
            can_revoke=True,
            names=_field_names(session, grant.catalog_code),
            errors=page_errors(problem, "reason"),
        )
    return redirect(f"/exchange/grants/{grant_id}?done=revoked")


# ================================================================= objections


@router.get("/exchange/objections", response_class=HTMLResponse)
@audit_action("exchange.objection.list")
def objections_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    status_: Annotated[str, Query(alias="status", max_length=16)] = "open",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    _require_staff(actor, "exchange.objection.list")
    first = exchange.list_objections(session, actor, status=status_, limit=1)
    offset, pages = paging(first.total, page, PAGE_SIZE)
    result = exchange.list_objections(session, actor, status=status_, offset=offset, limit=PAGE_SIZE)
    return render(
        request,
        actor,
        "objections.html",
        "数据使用异议",
        result=result,
        query={"status": status_},
        page=page,
        pages=pages,
    )


@router.post("/exchange/objections/{objection_id}/answer")
@audit_action("exchange.objection.answer")
def answer_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    objection_id: int,
    csrf_token: Annotated[str, Form()] = "",
    answer: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        exchange.answer_objection(
            session, actor, objection_id, parse(exchange.ObjectionAnswer, {"answer": answer})
        )
    except Invalid as problem:
        session.rollback()
        result = exchange.list_objections(session, actor, status="open", limit=PAGE_SIZE)
        return render(
            request,
            actor,
            "objections.html",
            "数据使用异议",
            status_code=422,
            result=result,
            query={"status": "open"},
            page=1,
            pages=1,
            errors=page_errors(problem, f"answer-{objection_id}"),
            answering=objection_id,
            typed=answer,
        )
    return redirect("/exchange/objections?done=answered")


# ================================================================= statistics and the call log


def _stats_args(by: str, side: str, date_from: str, date_to: str) -> dict[str, Any]:
    def day(value: str, field: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Invalid.on(field, "日期格式应为 YYYY-MM-DD") from None

    return {"by": by, "side": side, "date_from": day(date_from, "from"), "date_to": day(date_to, "to")}


@router.get("/exchange/stats", response_class=HTMLResponse)
@audit_action("exchange.stats.read")
def stats_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    by: Annotated[str, Query(max_length=16)] = "resource",
    side: Annotated[str, Query(max_length=16)] = "provider",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> HTMLResponse:
    _require_staff(actor, "exchange.stats.read")
    stats = exchange.call_stats(session, actor, **_stats_args(by, side, date_from, date_to))
    query = {"by": by, "side": side, "from": stats.date_from.isoformat(), "to": stats.date_to.isoformat()}
    return render(request, actor, "stats.html", "共享调用统计", stats=stats, query=query)


@router.get("/exchange/stats.csv")
@audit_action("exchange.stats.read")
def stats_csv_page(
    session: SessionDep,
    actor: ActorDep,
    by: Annotated[str, Query(max_length=16)] = "resource",
    side: Annotated[str, Query(max_length=16)] = "provider",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    _require_staff(actor, "exchange.stats.read")
    stats = exchange.call_stats(session, actor, **_stats_args(by, side, date_from, date_to))
    name = f"exchange-stats-{stats.by}-{stats.date_from:%Y%m%d}-{stats.date_to:%Y%m%d}.csv"
    return Response(
        exchange.stats_csv(stats),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.post("/exchange/stats/roll-up")
@audit_action("exchange.stats.roll_up")
def roll_up_page(
    request: Request, session: SessionDep, actor: ActorDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    require_csrf(request, csrf_token)
    exchange.roll_up_now(session, actor)
    return redirect("/exchange/stats?done=rolled-up")


@router.get("/exchange/calls", response_class=HTMLResponse)
@audit_action("exchange.calls.read")
def calls_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    catalog_code: Annotated[str, Query(max_length=24)] = "",
    department_id: Annotated[str, Query(max_length=12)] = "",
    side: Annotated[str, Query(max_length=16)] = "provider",
    day: Annotated[str, Query(max_length=10)] = "",
    result: Annotated[str, Query(max_length=8)] = "",
    call: Annotated[str, Query(max_length=19)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    _require_staff(actor, "exchange.calls.read")
    dept = int(department_id) if department_id.isdigit() else None
    if call and not call.isdigit():
        raise Invalid.on("call", "调用编号应为数字")
    when = _stats_args("day", side, day, "")["date_from"]
    log = exchange.call_log(
        session,
        actor,
        catalog_code=catalog_code,
        department_id=dept,
        side=side,
        day=when,
        result=result,
        call_id=int(call) if call else None,
        offset=(page - 1) * 50,
        limit=50,
    )
    query = {
        "catalog_code": catalog_code,
        "department_id": department_id,
        "side": side,
        "day": day,
        "result": result,
        "call": call,
    }
    return render(request, actor, "calls.html", "共享调用日志", log=log, query=query, page=page)


# ================================================================= delegations


def _delegation_page(
    request: Request, session: Any, actor: Actor, *, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    items = exchange.list_delegations(session, actor)
    providers = [
        (str(u), identity.get_org_unit(session, u).name) for u in sorted(actor.units_of("data_officer"))
    ]
    return render(
        request,
        actor,
        "delegations.html",
        "审批委托",
        status_code=status_code,
        items=items,
        providers=providers,
        me=actor.account_id,
        **ctx,
    )


@router.get("/exchange/delegations", response_class=HTMLResponse)
@audit_action("exchange.delegation.list")
def delegations_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    _require_staff(actor, "exchange.delegation.list")
    return _delegation_page(request, session, actor, form={})


@router.post("/exchange/delegations", response_class=HTMLResponse)
@audit_action("exchange.delegation.create")
def delegate_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    provider_dept_id: Annotated[str, Form(max_length=12)] = "",
    delegate_username: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=400)] = "",
    valid_until: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    require_csrf(request, csrf_token)
    _require_staff(actor, "exchange.delegation.create")
    form = {
        "provider_dept_id": provider_dept_id,
        "delegate_username": delegate_username,
        "reason": reason,
        "valid_until": valid_until,
    }
    try:
        delegate = identity.find_account(session, delegate_username) if delegate_username.strip() else None
        if delegate is None:
            raise Invalid.on("delegate_username", "请填写受托平台运营人员的用户名（须为已登记的账号）")
        data = parse(
            exchange.DelegationCreate,
            {
                "provider_dept_id": provider_dept_id or None,
                "delegate_account_id": delegate.id,
                "reason": reason,
                "valid_until": valid_until or None,
            },
        )
        exchange.create_delegation(session, actor, data)
    except Invalid as problem:
        session.rollback()
        errors = [
            e if e.field != "delegate_account_id" else type(e)("delegate_username", e.message)
            for e in page_errors(problem, "reason")
        ]
        return _delegation_page(request, session, actor, status_code=422, form=form, errors=errors)
    return redirect("/exchange/delegations?done=delegated")


@router.post("/exchange/delegations/{delegation_id}/revoke")
@audit_action("exchange.delegation.revoke")
def revoke_delegation_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    delegation_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, csrf_token)
    exchange.revoke_delegation(session, actor, delegation_id)
    return redirect("/exchange/delegations?done=undelegated")
