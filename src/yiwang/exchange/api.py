"""REST API of 共享交换 under `/api/v1/exchange`: parse, call the service with the actor, return.

* `/data/{resource_key}` (GET by subject), `/data/{resource_key}/query` (POST, several subjects),
  `/data/{resource_key}/slice` (GET, regional / bulk pages) — the shared-data API. These routes run
  the whole pipeline in one worker-thread hop and manage their own transaction (`service.serve`): a
  refused call is logged (call log + audit) after its transaction rolled back, and answered here as
  problem+json — so the app's handler does not audit it a second time.
* `/requests`, `/grants` — filing and deciding sharing requests, revoking grants.
* `/my-data-use` — "who used my data" for citizens and enterprises, and their objections;
  `/objections` — the provider's side of objections.
* `/delegations` — a provider's audited delegation of its decisions to an operator.
* `/stats`, `/calls` — call statistics and the call log behind them; `/settings`.

Errors are problem+json with Chinese titles; every refusal is on the audit chain.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from yiwang.core import edge
from yiwang.core.deps import ActorDep, SessionDep, accepts_scopes, audit_action
from yiwang.core.edge import open_to_anonymous
from yiwang.core.security import EXCHANGE_CALL
from yiwang.exchange import schemas as s
from yiwang.exchange import service
from yiwang.web import problem_response

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录或令牌无效（problem+json）"},
    403: {"description": "无权进行此操作；拒绝记录写入审计链（problem+json）"},
    404: {"description": "对象不存在（problem+json）"},
    409: {"description": "当前状态不允许此操作（problem+json）"},
    422: {"description": "提交的内容有误（problem+json，errors 列出字段）"},
}
DATA_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    403: {
        "description": "没有授权、授权到期或撤销、用途或字段超出授权、不予共享"
        "（problem+json；已记入调用日志和审计链）"
    },
    429: {"description": "超过授权的每分钟调用上限（problem+json，Retry-After 头）"},
    502: {"description": "部门系统暂时无法提供数据"},
    504: {"description": "部门系统响应超时"},
}
Offset = Annotated[edge.Offset, Query(description="跳过的条数")]
Limit = Annotated[int, Query(ge=1, le=500, description="每页条数")]
ResourceKey = Annotated[str, Path(max_length=64, description="基础库资源标识，如 population")]
Purpose = Annotated[str, Query(max_length=400, description="调用用途，须与共享授权所载用途一致")]
Fields = Annotated[
    str | None, Query(max_length=2000, description="只要这些字段（逗号分隔）；缺省为授权的全部字段")
]


# ================================================================= the shared-data API


def _run(request: Request, req: service.CallRequest) -> Response:
    outcome = service.serve_http(request.app.state.db, request, req)
    if outcome.problem is not None:
        return problem_response(request, outcome.problem, outcome.headers)
    return Response(
        outcome.body, media_type="application/json", headers={"Cache-Control": "no-store", **outcome.headers}
    )


@router.get("/data/{resource_key}", responses=DATA_PROBLEMS, summary="按主体查询共享数据")
@accepts_scopes(EXCHANGE_CALL)
@open_to_anonymous  # authenticates its caller itself, before reading anything
def query_subject(
    request: Request,
    resource_key: ResourceKey,
    subject: Annotated[str, Query(max_length=64, description="公民身份号码或统一社会信用代码")] = "",
    purpose: Purpose = "",
    fields: Fields = None,
) -> Response:
    """One subject's records of a resource, only the granted fields, masked by grade and purpose.
    Authenticate with a client-credentials token (`/oidc/token`), or as staff of a department holding
    a grant. Every call, answered or refused, is written to the call log and the audit chain."""
    return _run(request, service.CallRequest("subject", resource_key, purpose, (subject,), fields))


class BatchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subjects: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=200)
    purpose: str = Field(default="", max_length=400)
    fields: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=200)


@router.post("/data/{resource_key}/query", responses=DATA_PROBLEMS, summary="批量按主体查询共享数据")
@accepts_scopes(EXCHANGE_CALL)
@open_to_anonymous
def query_batch(request: Request, resource_key: ResourceKey, body: Annotated[BatchQuery, Body()]) -> Response:
    """Several subjects at once (up to the `max_batch` setting, 50 by default); all or nothing: one
    invalid subject refuses the whole request. One call-log row and audit record per subject."""
    req = service.CallRequest("batch", resource_key, body.purpose, tuple(body.subjects), body.fields)
    return _run(request, req)


@router.get(
    "/data/{resource_key}/slice", responses=DATA_PROBLEMS, summary="按地区切片获取共享数据（数据回流）"
)
@accepts_scopes(EXCHANGE_CALL)
@open_to_anonymous
def query_slice(
    request: Request,
    resource_key: ResourceKey,
    purpose: Purpose = "",
    region: Annotated[str, Query(max_length=12, description="地区代码前缀；缺省为授权的地区")] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    fields: Fields = None,
) -> Response:
    """A page of a resource, optionally of one district or street — only under a grant that allows
    bulk access, and only within its region. `next_offset` is null on the last page."""
    req = service.CallRequest("slice", resource_key, purpose, (), fields, region, offset, limit)
    return _run(request, req)


# ================================================================= requests and grants


@router.post(
    "/requests",
    response_model=s.RequestRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="提出共享申请",
)
@audit_action("exchange.request.file")
@accepts_scopes(EXCHANGE_CALL)
def file_request(session: SessionDep, actor: ActorDep, data: s.RequestCreate) -> s.RequestRead:
    return service.file_request(session, actor, data)


@router.get("/requests", response_model=s.RequestList, responses=PROBLEMS, summary="共享申请列表")
@audit_action("exchange.request.list")
@accepts_scopes(EXCHANGE_CALL)
def list_requests(
    session: SessionDep,
    actor: ActorDep,
    box: Annotated[
        Literal["incoming", "outgoing", "all"], Query(description="incoming 待我方审批；outgoing 我方提出")
    ] = "incoming",
    status_: Annotated[str, Query(alias="status", max_length=16)] = "",
    overdue: Annotated[bool | None, Query(description="只看（或排除）已超期未审批的申请")] = None,
    resource_key: Annotated[str, Query(max_length=64)] = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> s.RequestList:
    return service.list_requests(
        session,
        actor,
        box=box,
        status=status_,
        overdue=overdue,
        resource_key=resource_key,
        offset=offset,
        limit=limit,
    )


@router.get(
    "/requests/{request_id}", response_model=s.RequestRead, responses=PROBLEMS, summary="共享申请详情"
)
@audit_action("exchange.request.read")
@accepts_scopes(EXCHANGE_CALL)
def get_request(session: SessionDep, actor: ActorDep, request_id: edge.DbId) -> s.RequestRead:
    return service.get_request(session, actor, request_id)


@router.post(
    "/requests/{request_id}/decision",
    response_model=s.RequestRead,
    responses=PROBLEMS,
    summary="审批共享申请",
)
@audit_action("exchange.request.decide")
def decide_request(
    session: SessionDep, actor: ActorDep, request_id: edge.DbId, decision: s.Decision
) -> s.RequestRead:
    return service.decide_request(session, actor, request_id, decision)


@router.post(
    "/requests/{request_id}/withdraw",
    response_model=s.RequestRead,
    responses=PROBLEMS,
    summary="撤回共享申请",
)
@audit_action("exchange.request.withdraw")
@accepts_scopes(EXCHANGE_CALL)
def withdraw_request(session: SessionDep, actor: ActorDep, request_id: edge.DbId) -> s.RequestRead:
    return service.withdraw_request(session, actor, request_id)


@router.get("/grants", response_model=s.GrantList, responses=PROBLEMS, summary="共享授权列表")
@audit_action("exchange.grant.list")
@accepts_scopes(EXCHANGE_CALL)
def list_grants(
    session: SessionDep,
    actor: ActorDep,
    box: Annotated[Literal["incoming", "outgoing", "all"], Query()] = "incoming",
    state: Annotated[str, Query(max_length=16, description="active / expired / pending / revoked")] = "",
    resource_key: Annotated[str, Query(max_length=64)] = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> s.GrantList:
    return service.list_grants(
        session, actor, box=box, state=state, resource_key=resource_key, offset=offset, limit=limit
    )


class GrantDetail(BaseModel):
    grant: s.GrantRead
    timeline: list[s.TimelineEvent]


@router.get("/grants/{grant_id}", response_model=GrantDetail, responses=PROBLEMS, summary="共享授权详情")
@audit_action("exchange.grant.read")
@accepts_scopes(EXCHANGE_CALL)
def get_grant(session: SessionDep, actor: ActorDep, grant_id: edge.DbId) -> GrantDetail:
    grant, events = service.get_grant(session, actor, grant_id)
    return GrantDetail(grant=grant, timeline=events)


@router.post(
    "/grants/{grant_id}/revoke", response_model=s.GrantRead, responses=PROBLEMS, summary="撤销共享授权"
)
@audit_action("exchange.grant.revoke")
def revoke_grant(
    session: SessionDep, actor: ActorDep, grant_id: edge.DbId, body: s.RevokeGrant
) -> s.GrantRead:
    return service.revoke_grant(session, actor, grant_id, body.reason)


# ================================================================= who used my data


@router.get("/my-data-use", response_model=s.DataUsePage, responses=PROBLEMS, summary="谁用了我的数据")
@audit_action("exchange.data_use.read")
def my_data_use(
    session: SessionDep,
    actor: ActorDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> s.DataUsePage:
    """Every shared-data call about the signed-in citizen (their citizen ID) or the enterprise acted
    for (its credit code), newest first: department, system, resource, purpose, when, result."""
    return service.my_data_use(session, actor, offset=offset, limit=limit)


@router.get(
    "/my-data-use/platform",
    response_model=list[s.PlatformAccess],
    responses=PROBLEMS,
    summary="平台内其他涉及我的数据的记录",
)
@audit_action("exchange.data_use.read")
def platform_access(
    session: SessionDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=100)] = 30
) -> list[s.PlatformAccess]:
    return service.platform_access(session, actor, limit=limit)


@router.get(
    "/my-data-use/{call_id}", response_model=s.CallRead, responses=PROBLEMS, summary="一条数据使用记录"
)
@audit_action("exchange.data_use.read")
def data_use_call(session: SessionDep, actor: ActorDep, call_id: edge.DbId) -> s.CallRead:
    return service.data_use_call(session, actor, call_id)


@router.post(
    "/my-data-use/{call_id}/objection",
    response_model=s.ObjectionRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="对数据使用提出异议",
)
@audit_action("exchange.objection.raise")
def raise_objection(
    session: SessionDep, actor: ActorDep, call_id: edge.DbId, body: s.ObjectionCreate
) -> s.ObjectionRead:
    return service.raise_objection(session, actor, call_id, body)


@router.get(
    "/objections", response_model=s.ObjectionList, responses=PROBLEMS, summary="数据使用异议（提供部门）"
)
@audit_action("exchange.objection.list")
def list_objections(
    session: SessionDep,
    actor: ActorDep,
    status_: Annotated[str, Query(alias="status", max_length=16)] = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> s.ObjectionList:
    return service.list_objections(session, actor, status=status_, offset=offset, limit=limit)


@router.get("/objections/{objection_id}", response_model=s.ObjectionRead, responses=PROBLEMS)
@audit_action("exchange.objection.read")
def get_objection(session: SessionDep, actor: ActorDep, objection_id: edge.DbId) -> s.ObjectionRead:
    return service.get_objection(session, actor, objection_id)


@router.post("/objections/{objection_id}/answer", response_model=s.ObjectionRead, responses=PROBLEMS)
@audit_action("exchange.objection.answer")
def answer_objection(
    session: SessionDep, actor: ActorDep, objection_id: edge.DbId, body: s.ObjectionAnswer
) -> s.ObjectionRead:
    return service.answer_objection(session, actor, objection_id, body)


# ================================================================= delegations

DelegationId = Annotated[int, Path(ge=1, le=2_147_483_647, description="委托编号")]


@router.get(
    "/delegations", response_model=list[s.DelegationRead], responses=PROBLEMS, summary="共享审批委托列表"
)
@audit_action("exchange.delegation.list")
def list_delegations(
    session: SessionDep, actor: ActorDep, active: Annotated[bool, Query(description="只看有效的")] = False
) -> list[s.DelegationRead]:
    return service.list_delegations(session, actor, active_only=active)


@router.post(
    "/delegations",
    response_model=s.DelegationRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="委托平台运营人员代为审批（提供部门数据管理员）",
)
@audit_action("exchange.delegation.create")
def create_delegation(session: SessionDep, actor: ActorDep, data: s.DelegationCreate) -> s.DelegationRead:
    return service.create_delegation(session, actor, data)


@router.post(
    "/delegations/{delegation_id}/revoke",
    response_model=s.DelegationRead,
    responses=PROBLEMS,
    summary="撤销委托",
)
@audit_action("exchange.delegation.revoke")
def revoke_delegation(session: SessionDep, actor: ActorDep, delegation_id: DelegationId) -> s.DelegationRead:
    return service.revoke_delegation(session, actor, delegation_id)


# ================================================================= statistics, call log, settings


@router.get(
    "/stats",
    response_model=s.StatsRead,
    responses={**PROBLEMS, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    summary="共享调用统计（服务次数 / 交换总量）",
)
@audit_action("exchange.stats.read")
def stats(
    session: SessionDep,
    actor: ActorDep,
    by: Annotated[Literal["resource", "department", "day"], Query()] = "resource",
    side: Annotated[
        Literal["provider", "consumer"], Query(description="按部门统计时：提供方或使用方")
    ] = "provider",
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    format_: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Any:
    result = service.call_stats(session, actor, by=by, side=side, date_from=date_from, date_to=date_to)
    if format_ == "csv":
        name = f"exchange-stats-{by}-{result.date_from:%Y%m%d}-{result.date_to:%Y%m%d}.csv"
        return Response(
            service.stats_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
    return result


@router.post("/stats/roll-up", responses=PROBLEMS, summary="汇总调用统计（平台管理员）")
@audit_action("exchange.stats.roll_up")
def roll_up(session: SessionDep, actor: ActorDep) -> dict[str, int]:
    return {"folded": service.roll_up_now(session, actor)}


@router.get("/calls", response_model=s.CallLogPage, responses=PROBLEMS, summary="调用日志")
@audit_action("exchange.calls.read")
def calls(
    session: SessionDep,
    actor: ActorDep,
    resource_key: Annotated[str, Query(max_length=64)] = "",
    catalog_code: Annotated[str, Query(max_length=24)] = "",
    department_id: edge.OptionalDbId = None,
    side: Annotated[Literal["provider", "consumer"], Query()] = "provider",
    day: date | None = None,
    result: Annotated[str, Query(max_length=8)] = "",
    client_id: Annotated[str, Query(max_length=64)] = "",
    before_id: edge.OptionalDbId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> s.CallLogPage:
    return service.call_log(
        session,
        actor,
        resource_key=resource_key,
        catalog_code=catalog_code,
        department_id=department_id,
        side=side,
        day=day,
        result=result,
        client_id=client_id,
        before_id=before_id,
        offset=offset,
        limit=limit,
    )


@router.get("/settings", response_model=s.SettingsRead, responses=PROBLEMS, summary="共享交换设置")
@audit_action("exchange.settings.read")
def read_settings(session: SessionDep, actor: ActorDep) -> s.SettingsRead:
    return service.read_settings(session, actor)


@router.put("/settings", response_model=s.SettingsRead, responses=PROBLEMS, summary="修改共享交换设置")
@audit_action("exchange.settings.update")
def update_settings(session: SessionDep, actor: ActorDep, data: s.SettingsUpdate) -> s.SettingsRead:
    return service.update_settings(session, actor, data)
