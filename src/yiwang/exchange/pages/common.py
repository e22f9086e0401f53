"""Plumbing shared by the exchange's pages: the router, rendering, navigation, forms, paging."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError

from yiwang import identity
from yiwang.core.errors import FieldError, Problem, field_labels, from_validation_errors
from yiwang.core.security import Actor, ActorKind
from yiwang.exchange import schemas
from yiwang.web import page_context, templates

router = APIRouter(include_in_schema=False)

DONE = {
    "filed": "共享申请已提交，提供部门将在规定的工作日内审批。",
    "approved": "已同意该申请，授权已生成。",
    "narrowed": "已收窄后同意，授权按收窄后的条件生成。",
    "refused": "已不予同意，申请方会看到您的理由。",
    "withdrawn": "申请已撤回。",
    "revoked": "授权已撤销，之后的调用将被拒绝。",
    "answered": "已答复异议，提出人会在“数据使用记录”中看到答复。",
    "objection": "您的异议已提交给提供数据的部门，答复后会显示在这条记录下面。",
    "rolled-up": "统计已汇总到最新。",
}

STAFF_NAV = (
    ("/exchange", "共享交换", None),
    ("/exchange/requests?box=incoming", "待我审批", "officer"),
    ("/exchange/requests?box=outgoing", "本部门申请", "officer"),
    ("/exchange/grants", "共享授权", "officer"),
    ("/exchange/objections", "数据使用异议", "officer"),
    ("/exchange/stats", "调用统计", "stats"),
    ("/exchange/calls", "调用日志", "stats"),
)


def is_officer(actor: Actor) -> bool:
    return actor.is_platform_admin or (actor.kind is ActorKind.STAFF and "data_officer" in actor.roles)


def sees_stats(actor: Actor) -> bool:
    return is_officer(actor) or actor.has_role("platform_admin", "auditor", "leader")


def staff_nav(request: Request, actor: Actor) -> list[dict[str, Any]]:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    items = [{"href": "/", "label": "首页", "current": False}]
    for href, label, who in STAFF_NAV:
        if who == "officer" and not is_officer(actor):
            continue
        if who == "stats" and not sees_stats(actor):
            continue
        path = href.split("?")[0]
        current = here == href if "?" in href else request.url.path == path
        items.append({"href": href, "label": label, "current": current})
    return items


def citizen_nav(request: Request) -> list[dict[str, Any]]:
    path = request.url.path
    return [
        {"href": "/", "label": "首页", "current": path == "/"},
        {"href": "/me", "label": "个人中心", "current": path == "/me"},
        {"href": "/me/data-use", "label": "数据使用记录", "current": path.startswith("/me/data-use")},
    ]


def render(
    request: Request,
    actor: Actor,
    template: str,
    title: str,
    *,
    status_code: int = 200,
    citizen: bool = False,
    **ctx: Any,
) -> HTMLResponse:
    """Render `exchange/<template>` in the shared layout, with the CSRF token, the navigation and the
    `done` notice of a redirect after a POST."""
    notices = list(ctx.pop("notices", []))
    done = DONE.get(request.query_params.get("done", ""))
    if done:
        notices.insert(0, {"kind": "success", "text": done})
    token = identity.csrf_token(request)
    context = page_context(
        request,
        body_class="" if citizen else "wide",
        nav=citizen_nav(request) if citizen else staff_nav(request, actor),
        csrf_token=token,
        page_title=title,
        title=title,
        actor=actor,
        notices=notices,
        urlencode=urlencode,
        s=schemas,
        is_officer=is_officer(actor),
        sees_stats=sees_stats(actor),
        **ctx,
    )
    response = templates().TemplateResponse(request, f"exchange/{template}", context, status_code=status_code)
    identity.set_csrf_cookie(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """A form as a pydantic model, or the Invalid problem with Chinese messages per field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_errors(list(exc.errors()), field_labels(model)) from None


def page_errors(problem: Problem, default_field: str = "") -> list[FieldError]:
    return list(problem.errors) or [FieldError(default_field, problem.detail or problem.title)]


def paging(total: int, page: int, size: int) -> tuple[int, int]:
    """(offset, number of pages) for 1-based `page`."""
    pages = max(1, math.ceil(total / size)) if size else 1
    return (max(1, min(page, pages)) - 1) * size, pages
