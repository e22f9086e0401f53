"""Browsing: search, an entry, the derived lists and the figures (every staff member)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from yiwang.catalog import schemas as s
from yiwang.catalog import service, vocab
from yiwang.catalog.pages.common import (
    filters_from,
    is_editor,
    list_query,
    render,
    router,
)
from yiwang.catalog.resources import list_resources
from yiwang.catalog.service.common import require_reader
from yiwang.core.deps import ActorDep, SessionDep
from yiwang.core.errors import Invalid
from yiwang.core.security import Actor
from yiwang.web import (
    PAGE_SIZES,
    int_or_none,
    page_count,
    paging,
)

# ================================================================= browse and search


@router.get("", response_class=HTMLResponse)
def index(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    page: Annotated[int, Query(ge=1)] = 1,
    size: int = 20,
) -> HTMLResponse:
    require_reader(actor)
    query = list_query(request)
    page, size, offset = paging(page, size)
    errors = None
    result = None
    try:
        f = filters_from(query)
        if f.q:
            result = service.search_entries(session, actor, f.q, f, offset=offset, limit=size)
        else:
            result = service.list_entries(session, actor, f, offset=offset, limit=size)
    except Invalid as problem:
        errors = problem
    return render(
        request,
        actor,
        "index.html",
        "政务信息资源目录",
        status_code=422 if errors else 200,
        result=result,
        errors=errors,
        query=query,
        page=page,
        size=size,
        pages=page_count(result.total, size) if result else 1,
        departments=service.catalog_departments(session, actor),
        page_sizes=[(n, f"{n} 条") for n in PAGE_SIZES],
    )


@router.get("/entries/{code}", response_class=HTMLResponse)
def entry_page(request: Request, code: str, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    entry = service.read_entry(session, actor, code)
    timeline = service.entry_timeline(session, actor, code)
    history = [s.MountRead.model_validate(m) for m in service.mount_history(session, actor, code)]
    from yiwang.catalog.service.common import can_edit

    return render(
        request,
        actor,
        "entry.html",
        entry.name,
        entry=entry,
        timeline=timeline,
        mounts=history,
        resource_names={r.key: r.name for r in list_resources()},
        can_edit=can_edit(session, actor, entry.department_id),
    )


# ================================================================= derived lists

LIST_TITLES = {"sharing": "共享目录", "open": "开放目录", "demand": "需求目录", "responsibility": "责任清单"}


@router.get("/lists/sharing", response_class=HTMLResponse)
def sharing_page(
    request: Request, session: SessionDep, actor: ActorDep, page: int = 1, size: int = 20
) -> Response:
    return _shared_list(request, session, actor, "sharing", page, size)


@router.get("/lists/open", response_class=HTMLResponse)
def open_page(
    request: Request, session: SessionDep, actor: ActorDep, page: int = 1, size: int = 20
) -> Response:
    return _shared_list(request, session, actor, "open", page, size)


def _shared_list(
    request: Request, session: Session, actor: Actor, kind: str, page: int, size: int
) -> Response:
    require_reader(actor)
    query = list_query(request)
    page, size, offset = paging(page, size)
    errors = None
    result = None
    try:
        f = filters_from(query)
        fn = service.sharing_list if kind == "sharing" else service.open_list
        result = fn(session, actor, f, offset=offset, limit=size)
    except Invalid as problem:
        errors = problem
    export_query = urlencode({k: v for k, v in query.items() if k not in ("size",)})
    return render(
        request,
        actor,
        "list_entries.html",
        LIST_TITLES[kind],
        status_code=422 if errors else 200,
        kind=kind,
        result=result,
        errors=errors,
        query=query,
        page=page,
        size=size,
        pages=page_count(result.total, size) if result else 1,
        departments=service.catalog_departments(session, actor),
        page_sizes=[(n, f"{n} 条") for n in PAGE_SIZES],
        export_csv=f"/api/v1/catalog/lists/{kind}.csv?{export_query}",
        export_xlsx=f"/api/v1/catalog/lists/{kind}.xlsx?{export_query}",
    )


@router.get("/lists/demand", response_class=HTMLResponse)
def demand_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    status: str = "",
    department_id: str = "",
    q: str = "",
    sort: str = "-created_at",
    page: int = 1,
    size: int = 20,
) -> Response:
    require_reader(actor, "catalog.demand.read")
    page, size, offset = paging(page, size)
    errors = None
    result = None
    query = {
        k: v for k, v in {"status": status, "department_id": department_id, "q": q, "sort": sort}.items() if v
    }
    try:
        if status and status not in vocab.DEMAND_STATUSES:
            raise Invalid.on("status", "请选择列表中的状态")
        result = service.demand_list(
            session,
            actor,
            status=status or None,
            department_id=int_or_none(department_id, "department_id"),
            q=q.strip()[:100],
            sort=sort,
            offset=offset,
            limit=size,
        )
    except Invalid as problem:
        errors = problem
    export_query = urlencode({k: v for k, v in query.items() if k in ("status", "department_id")})
    return render(
        request,
        actor,
        "list_demands.html",
        "需求目录",
        status_code=422 if errors else 200,
        result=result,
        errors=errors,
        query=query,
        page=page,
        size=size,
        pages=page_count(result.total, size) if result else 1,
        departments=service.catalog_departments(session, actor),
        page_sizes=[(n, f"{n} 条") for n in PAGE_SIZES],
        can_file=is_editor(actor),
        export_csv=f"/api/v1/catalog/lists/demand.csv?{export_query}",
        export_xlsx=f"/api/v1/catalog/lists/demand.xlsx?{export_query}",
    )


@router.get("/lists/responsibility", response_class=HTMLResponse)
def responsibility_page(
    request: Request, session: SessionDep, actor: ActorDep, sort: str = "-published"
) -> HTMLResponse:
    result = service.responsibility_list(session, actor)
    key = sort.lstrip("-")
    rows = list(result.items)
    if key in ("entries", "published", "mounted", "drafts", "submitted", "demands_open", "provider_name"):
        rows.sort(key=lambda r: getattr(r, key), reverse=sort.startswith("-"))
    return render(
        request,
        actor,
        "list_responsibility.html",
        "责任清单",
        rows=rows,
        sort=sort,
        export_csv="/api/v1/catalog/lists/responsibility.csv",
        export_xlsx="/api/v1/catalog/lists/responsibility.xlsx",
    )


@router.get("/rates", response_class=HTMLResponse)
def rates_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    rates = service.catalog_rates(session, actor)
    return render(request, actor, "rates.html", "编目与挂接统计", rates=rates)
