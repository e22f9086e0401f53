"""What the catalog's pages share: the router, the `done` notices, rendering with the catalog's
vocabulary, the list filters. The rest (layout, navigation, CSRF, forms, paging) is the kit's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from yiwang import web
from yiwang.catalog import service, vocab
from yiwang.catalog.nav import is_editor
from yiwang.core.security import Actor, require_authenticated
from yiwang.web import bool_or_none, int_or_none

router = APIRouter(prefix="/catalog", include_in_schema=False)

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
    """A signed-in actor (else 401: the login page). The session's CSRF token itself is checked for
    every state-changing request by the kit (`yiwang.web.csrf`) before the route runs."""
    actor = getattr(request.state, "actor", None)
    if actor is None:
        raise RuntimeError("require_csrf: resolve the actor first (add ActorDep to the route)")
    require_authenticated(actor)
    web.require_csrf(request, token)


def render(
    request: Request, actor: Actor, template: str, title: str, *, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    """A catalog page (`catalog/<template>`) in the kit's layout, with the catalog's vocabulary."""
    return web.render(
        request,
        f"catalog/{template}",
        title,
        status_code=status_code,
        done=DONE,
        wide=True,
        actor=actor,
        vocab=vocab,
        url_code=vocab.url_code,
        urlencode=urlencode,
        is_editor=is_editor(actor),
        **ctx,
    )


def entry_url(code: str, suffix: str = "", done: str = "") -> str:
    url = f"/catalog/entries/{vocab.url_code(code)}{suffix}"
    return f"{url}?done={done}" if done else url


def manage_url(code: str, suffix: str, done: str = "") -> str:
    url = f"/catalog/manage/{vocab.url_code(code)}{suffix}"
    return f"{url}?done={done}" if done else url


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
