"""Plumbing shared by the catalog's pages: the router, CSRF, rendering, form parsing, paging."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError

import yiwang.identity as identity
from yiwang.catalog import service, vocab
from yiwang.catalog.service.common import EDITOR_ROLE
from yiwang.core.errors import Forbidden, Invalid, Problem, from_validation_errors
from yiwang.core.security import Actor, require_authenticated
from yiwang.web import page_context, templates

router = APIRouter(prefix="/catalog", include_in_schema=False)

PAGE_SIZES = (20, 50, 100)
DONE = {
    "drafted": "目录草稿已保存。请继续登记信息项。",
    "saved": "修改已保存。",
    "items": "信息项已保存。",
    "submitted": "已提交审核。平台管理员审核通过后目录即发布。",
    "approved": "目录已审核通过并发布。",
    "returned": "目录已退回，提供部门会看到您的审核意见。",
    "retired": "目录已撤销。",
    "mounted": "目录已挂接资源。",
    "unmounted": "已解除挂接。",
    "graded": "分级和脱敏规则已保存。",
    "demand-filed": "数据需求已登记。",
    "demand-answered": "需求已答复。",
}


# ================================================================= plumbing


def require_csrf(request: Request, token: str | None) -> None:
    """A signed-in actor (else 401: the login page) whose POST carries the session's CSRF token
    (`identity.require_csrf`); a failed check is a 403 recorded as `catalog.page.csrf`."""
    actor = getattr(request.state, "actor", None)
    if actor is None:
        raise RuntimeError("require_csrf: resolve the actor first (add ActorDep to the route)")
    require_authenticated(actor)
    try:
        identity.require_csrf(request, token)
    except Forbidden as exc:
        raise exc.audited(
            actor, "catalog.page.csrf", detail={"method": request.method, "path": request.url.path}
        ) from None


def is_editor(actor: Actor) -> bool:
    return EDITOR_ROLE in actor.roles or actor.is_platform_admin


NAV = (
    ("/catalog", "目录查询", None),
    ("/catalog/lists/sharing", "共享目录", None),
    ("/catalog/lists/open", "开放目录", None),
    ("/catalog/lists/demand", "需求目录", None),
    ("/catalog/lists/responsibility", "责任清单", None),
    ("/catalog/rates", "编目统计", None),
    ("/catalog/manage", "本部门目录", "editor"),
    ("/catalog/review", "目录审核", "admin"),
)


def catalog_nav(request: Request, actor: Actor) -> list[dict[str, Any]]:
    path = request.url.path
    items = [{"href": "/", "label": "首页", "current": False}]
    for href, label, who in NAV:
        if who == "editor" and not is_editor(actor):
            continue
        if who == "admin" and not actor.is_platform_admin:
            continue
        current = path == href if href == "/catalog" else path == href or path.startswith(href + "/")
        if href == "/catalog" and path.startswith("/catalog/entries/"):
            current = True
        items.append({"href": href, "label": label, "current": current})
    return items


def render(
    request: Request, actor: Actor, template: str, title: str, *, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    notices = list(ctx.pop("notices", []))
    done = request.query_params.get("done", "")
    if done in DONE:
        notices.append({"kind": "success", "text": DONE[done]})
    context = page_context(
        request,
        body_class="wide",
        nav=catalog_nav(request, actor),
        page_title=title,
        title=title,
        actor=actor,
        notices=notices,
        vocab=vocab,
        url_code=vocab.url_code,
        urlencode=urlencode,
        is_editor=is_editor(actor),
        **ctx,
    )
    response = templates().TemplateResponse(request, f"catalog/{template}", context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def entry_url(code: str, suffix: str = "", done: str = "") -> str:
    url = f"/catalog/entries/{vocab.url_code(code)}{suffix}"
    return f"{url}?done={done}" if done else url


def manage_url(code: str, suffix: str, done: str = "") -> str:
    url = f"/catalog/manage/{vocab.url_code(code)}{suffix}"
    return f"{url}?done={done}" if done else url


def parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_errors(list(exc.errors())) from None


def int_or_none(value: str | None, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid.on(field, "请选择列表中的一项") from None


def bool_or_none(value: str | None) -> bool | None:
    return {"true": True, "1": True, "false": False, "0": False}.get((value or "").strip().lower())


def recoverable(problem: Problem) -> bool:
    """Errors shown again on the form (bad input, a state conflict); refusals and 404s get the error page."""
    return problem.status not in (401, 403, 404)


def page_count(total: int, size: int) -> int:
    return max(1, math.ceil(total / size)) if size else 1


def paging(page: int, size: int) -> tuple[int, int, int]:
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    page = max(1, page)
    return page, size, (page - 1) * size


def filters_from(params: dict[str, str]) -> service.EntryFilters:
    return service.EntryFilters(
        q=params.get("q", "").strip()[:200],
        status=params.get("status", ""),
        department_id=int_or_none(params.get("department_id"), "department_id"),
        form=params.get("form", ""),
        sharing_type=params.get("sharing_type", ""),
        open_type=params.get("open_type", ""),
        update_cycle=params.get("update_cycle", ""),
        category=params.get("category", "").strip(),
        mounted=bool_or_none(params.get("mounted")),
        sort=params.get("sort", ""),
    )


FILTER_KEYS = (
    "q",
    "status",
    "department_id",
    "form",
    "sharing_type",
    "open_type",
    "update_cycle",
    "category",
    "mounted",
    "sort",
    "size",
)


def list_query(request: Request) -> dict[str, str]:
    """The list's filters as they came (for the form, sort links and page links)."""
    return {k: request.query_params.get(k, "") for k in FILTER_KEYS if request.query_params.get(k, "")}
