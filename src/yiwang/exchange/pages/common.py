"""What the exchange's pages share: the router, the `done` notices, rendering with the exchange's
schemas, paging by total. Layout, navigation (`exchange/nav.py`), CSRF and forms are the kit's."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from yiwang import web
from yiwang.core.security import Actor
from yiwang.exchange import schemas
from yiwang.exchange.nav import is_officer, sees_stats

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
    "delegated": "已委托。受托人可在委托期内代本部门审批共享申请，每次审批都会记入审计。",
    "undelegated": "委托已撤销。",
}


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
    """An exchange page (`exchange/<template>`) in the kit's layout; citizen pages are narrow."""
    return web.render(
        request,
        f"exchange/{template}",
        title,
        status_code=status_code,
        done=DONE,
        wide=not citizen,
        actor=actor,
        urlencode=urlencode,
        s=schemas,
        is_officer=is_officer(actor),
        sees_stats=sees_stats(actor),
        **ctx,
    )


def paging(total: int, page: int, size: int) -> tuple[int, int]:
    """(offset, number of pages) for 1-based `page`."""
    pages = max(1, math.ceil(total / size)) if size else 1
    return (max(1, min(page, pages)) - 1) * size, pages
