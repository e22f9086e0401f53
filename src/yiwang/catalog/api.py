"""REST API of 政务信息资源目录 under `/api/v1/catalog`: parse, call the service with the actor, return.

Codes contain a slash (`101001/000001`); in paths it is written as a hyphen (`101001-000001`).
Errors are problem+json with Chinese titles; every 403 is recorded on the audit chain (the services
mark their refusals with `Problem.audited`, the app's problem handler writes them).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel

from yiwang.catalog import schemas as s
from yiwang.catalog import service, vocab
from yiwang.catalog.service import exports
from yiwang.catalog.service.common import require_reader
from yiwang.core import edge
from yiwang.core.clock import now as clock_now
from yiwang.core.clock import to_local
from yiwang.core.deps import ActorDep, SessionDep, accepts_scopes
from yiwang.core.security import CATALOG_READ

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录或令牌无效（problem+json）"},
    403: {"description": "无权进行此操作；拒绝记录写入审计链（problem+json）"},
    404: {"description": "对象不存在（problem+json）"},
    409: {"description": "当前状态不允许此操作（problem+json）"},
    422: {"description": "提交的内容有误（problem+json，errors 列出字段）"},
}
Code = Annotated[str, Path(max_length=24, description="资源代码，斜杠写作连字符，如 101001-000001")]
ExportFormat = Annotated[Literal["csv", "xlsx"], Path(description="导出格式：csv（UTF-8 带 BOM）或 xlsx")]


# ================================================================= shared parameters


def entry_filters(
    q: Annotated[str, Query(max_length=200, description="关键字（中文分词全文检索）")] = "",
    status_: Annotated[
        str, Query(alias="status", description="状态：draft/submitted/returned/published/retired")
    ] = "",
    department_id: Annotated[edge.OptionalDbId, Query(description="提供方部门")] = None,
    form: Annotated[str, Query(description="资源格式：table/api/file")] = "",
    sharing_type: Annotated[str, Query(description="共享类型：unconditional/conditional/none")] = "",
    open_type: Annotated[str, Query(description="开放类型：none/conditional/unconditional")] = "",
    update_cycle: Annotated[str, Query(description="更新周期")] = "",
    category: Annotated[str, Query(max_length=9, description="分类代码前缀，如 1、101、101001")] = "",
    mounted: Annotated[bool | None, Query(description="是否已挂接")] = None,
    sort: Annotated[
        str,
        Query(max_length=20, description="排序：code/name/provider/published_at/updated_at，前加 - 为倒序"),
    ] = "",
) -> service.EntryFilters:
    return service.EntryFilters(
        q=q,
        status=status_,
        department_id=department_id,
        form=form,
        sharing_type=sharing_type,
        open_type=open_type,
        update_cycle=update_cycle,
        category=category,
        mounted=mounted,
        sort=sort,
    )


FiltersDep = Annotated[service.EntryFilters, Depends(entry_filters)]
Offset = Annotated[edge.Offset, Query(description="跳过的条数")]
Limit = Annotated[int, Query(ge=1, le=500, description="每页条数")]


def _stamp() -> str:
    return to_local(clock_now()).strftime("%Y%m%d")


def export_response(kind: str, fmt: str, table: exports.Table) -> Response:
    """A CSV or XLSX download of a list, named in ASCII and (RFC 5987) in Chinese."""
    ascii_name = f"{exports.LIST_FILENAMES[kind]}-{_stamp()}.{fmt}"
    chinese = f"{exports.LIST_TITLES[kind]}-{_stamp()}.{fmt}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(chinese)}"
    if fmt == "csv":
        body, media = exports.to_csv(table), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx(table, exports.LIST_TITLES[kind])
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        content=body,
        media_type=media,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


# ================================================================= vocabularies


class Vocabularies(BaseModel):
    forms: dict[str, str]
    sharing_types: dict[str, str]
    sharing_methods: dict[str, str]
    open_types: dict[str, str]
    update_cycles: dict[str, str]
    grades: dict[str, str]
    data_types: dict[str, str]
    masking_rules: dict[str, str]
    statuses: dict[str, str]
    demand_statuses: dict[str, str]
    categories: list[s.CategoryNode]


def category_tree() -> list[s.CategoryNode]:
    return [
        s.CategoryNode(
            code=cls,
            name=name,
            children=[s.CategoryNode(code=cls + sub, name=n) for sub, n in vocab.SUBCLASSES[cls].items()],
        )
        for cls, name in vocab.CLASSES.items()
    ]


@router.get("/vocabularies", response_model=Vocabularies, summary="取值表与资源分类", responses=PROBLEMS)
@accepts_scopes(CATALOG_READ)
def vocabularies(actor: ActorDep) -> Vocabularies:
    require_reader(actor)
    return Vocabularies(
        forms=vocab.FORMS,
        sharing_types=vocab.SHARING_TYPES,
        sharing_methods=vocab.SHARING_METHODS,
        open_types=vocab.OPEN_TYPES,
        update_cycles=vocab.UPDATE_CYCLES,
        grades=vocab.GRADES,
        data_types=vocab.DATA_TYPES,
        masking_rules=vocab.MASKING_RULES,
        statuses=vocab.STATUSES,
        demand_statuses=vocab.DEMAND_STATUSES,
        categories=category_tree(),
    )


# ================================================================= entries


@router.get("/entries", response_model=s.EntryList, summary="目录列表", responses=PROBLEMS)
@accepts_scopes(CATALOG_READ)
def list_entries(
    session: SessionDep, actor: ActorDep, filters: FiltersDep, offset: Offset = 0, limit: Limit = 50
) -> s.EntryList:
    """已发布的目录，加上本部门各状态的目录（平台管理员可见全部）。"""
    return service.list_entries(session, actor, filters, offset=offset, limit=limit)


@router.post(
    "/entries",
    response_model=s.EntryRead,
    status_code=status.HTTP_201_CREATED,
    summary="起草目录",
    responses=PROBLEMS,
)
def draft_entry(session: SessionDep, actor: ActorDep, body: s.EntryCreate) -> s.EntryRead:
    """部门数据管理员为本部门（平台管理员为任一部门）起草目录；资源代码留空时按分类自动编码。"""
    return service.draft_entry(session, actor, body)


@router.get("/entries/{code}", response_model=s.EntryRead, summary="目录详情", responses=PROBLEMS)
@accepts_scopes(CATALOG_READ)
def read_entry(session: SessionDep, actor: ActorDep, code: Code) -> s.EntryRead:
    return service.read_entry(session, actor, code)


@router.patch(
    "/entries/{code}", response_model=s.EntryRead, summary="修改目录（草稿或被退回）", responses=PROBLEMS
)
def update_entry(session: SessionDep, actor: ActorDep, code: Code, body: s.EntryUpdate) -> s.EntryRead:
    """只修改提交的字段；给出 items 时替换全部信息项。"""
    return service.update_entry(session, actor, code, body)


@router.post("/entries/{code}/submit", response_model=s.EntryRead, summary="提交审核", responses=PROBLEMS)
def submit_entry(session: SessionDep, actor: ActorDep, code: Code) -> s.EntryRead:
    return service.submit_entry(session, actor, code)


@router.post(
    "/entries/{code}/review", response_model=s.EntryRead, summary="审核（通过发布或退回）", responses=PROBLEMS
)
def review_entry(session: SessionDep, actor: ActorDep, code: Code, body: s.Review) -> s.EntryRead:
    """平台管理员审核已提交的目录：approve 通过并发布，return 退回（须写审核意见）。"""
    return service.review_entry(session, actor, code, body)


@router.post("/entries/{code}/retire", response_model=s.EntryRead, summary="撤销目录", responses=PROBLEMS)
def retire_entry(session: SessionDep, actor: ActorDep, code: Code, body: s.ReasonIn) -> s.EntryRead:
    return service.retire_entry(session, actor, code, body.reason)


@router.get(
    "/entries/{code}/timeline",
    response_model=list[s.TimelineEvent],
    summary="目录变更记录",
    responses=PROBLEMS,
)
def entry_timeline(session: SessionDep, actor: ActorDep, code: Code) -> list[s.TimelineEvent]:
    return service.entry_timeline(session, actor, code)


@router.get("/entries/{code}/items", response_model=list[s.ItemRead], summary="信息项", responses=PROBLEMS)
@accepts_scopes(CATALOG_READ)
def entry_items(session: SessionDep, actor: ActorDep, code: Code) -> list[s.ItemRead]:
    return service.read_entry(session, actor, code).items


@router.put(
    "/entries/{code}/items/{field_name}/grade",
    response_model=s.ItemRead,
    summary="调整信息项分级与脱敏规则",
    responses=PROBLEMS,
)
def set_item_grade(
    session: SessionDep, actor: ActorDep, code: Code, field_name: str, body: s.ItemGradeChange
) -> s.ItemRead:
    return service.set_item_grade(session, actor, code, field_name, body)


@router.get(
    "/entries/{code}/mounts", response_model=list[s.MountRead], summary="挂接记录", responses=PROBLEMS
)
def entry_mounts(session: SessionDep, actor: ActorDep, code: Code) -> list[s.MountRead]:
    return [s.MountRead.model_validate(m) for m in service.mount_history(session, actor, code)]


@router.post(
    "/entries/{code}/mounts",
    response_model=s.EntryRead,
    status_code=status.HTTP_201_CREATED,
    summary="挂接资源",
    responses=PROBLEMS,
)
def mount_entry(session: SessionDep, actor: ActorDep, code: Code, body: s.MountCreate) -> s.EntryRead:
    """把已发布的目录挂接到基础库资源（信息项须都是资源的字段）、接口地址或文件。"""
    return service.mount_entry(session, actor, code, body)


@router.post("/entries/{code}/unmount", response_model=s.EntryRead, summary="解除挂接", responses=PROBLEMS)
def unmount_entry(session: SessionDep, actor: ActorDep, code: Code, body: s.ReasonIn) -> s.EntryRead:
    return service.unmount_entry(session, actor, code, body.reason)


@router.get("/review-queue", response_model=s.EntryList, summary="待审核目录", responses=PROBLEMS)
def review_queue(session: SessionDep, actor: ActorDep, offset: Offset = 0, limit: Limit = 50) -> s.EntryList:
    return service.review_queue(session, actor, offset=offset, limit=limit)


@router.get(
    "/resources", response_model=list[s.ResourceOption], summary="可挂接的基础库资源", responses=PROBLEMS
)
def resources(session: SessionDep, actor: ActorDep) -> list[s.ResourceOption]:
    return service.resource_options(session, actor)


@router.get("/search", response_model=s.EntryList, summary="目录检索（中文分词）", responses=PROBLEMS)
@accepts_scopes(CATALOG_READ)
def search(
    session: SessionDep,
    actor: ActorDep,
    filters: FiltersDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> s.EntryList:
    """按资源名称、摘要、提供方、信息项等检索，支持“婚姻”“户籍”“社保”等两字词；结果按相关度排序。"""
    return service.search_entries(session, actor, filters.q, filters, offset=offset, limit=limit)


# ================================================================= demands


@router.get("/demands", response_model=s.DemandList, summary="需求目录", responses=PROBLEMS)
def demands(
    session: SessionDep,
    actor: ActorDep,
    status_: Annotated[str, Query(alias="status")] = "",
    department_id: edge.OptionalDbId = None,
    q: Annotated[str, Query(max_length=100)] = "",
    sort: Annotated[str, Query(max_length=20)] = "-created_at",
    offset: Offset = 0,
    limit: Limit = 50,
) -> s.DemandList:
    return service.demand_list(
        session,
        actor,
        status=_demand_status(status_),
        department_id=department_id,
        q=q,
        sort=sort,
        offset=offset,
        limit=limit,
    )


def _demand_status(value: str) -> str:
    from yiwang.core.errors import Invalid

    if value and value not in vocab.DEMAND_STATUSES:
        raise Invalid.on("status", f"{value} 不是允许的取值（{'、'.join(vocab.DEMAND_STATUSES)}）")
    return value


@router.post(
    "/demands",
    response_model=s.DemandRead,
    status_code=status.HTTP_201_CREATED,
    summary="登记数据需求",
    responses=PROBLEMS,
)
def file_demand(session: SessionDep, actor: ActorDep, body: s.DemandCreate) -> s.DemandRead:
    return service.file_demand(session, actor, body)


@router.get("/demands/{demand_id}", response_model=s.DemandRead, summary="需求详情", responses=PROBLEMS)
def demand(session: SessionDep, actor: ActorDep, demand_id: edge.DbId) -> s.DemandRead:
    return service.get_demand(session, actor, demand_id)


@router.post(
    "/demands/{demand_id}/answer", response_model=s.DemandRead, summary="答复数据需求", responses=PROBLEMS
)
def answer_demand(
    session: SessionDep, actor: ActorDep, demand_id: edge.DbId, body: s.DemandAnswer
) -> s.DemandRead:
    return service.answer_demand(session, actor, demand_id, body)


# ================================================================= derived lists and exports

EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    200: {
        "description": "CSV（UTF-8 带 BOM）或 XLSX 文件",
        "content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
    },
}


@router.get("/lists/sharing", response_model=s.SharingList, summary="共享目录", responses=PROBLEMS)
@accepts_scopes(CATALOG_READ)
def sharing_list(
    session: SessionDep, actor: ActorDep, filters: FiltersDep, offset: Offset = 0, limit: Limit = 50
) -> s.SharingList:
    """已发布、共享类型为无条件共享或有条件共享的目录。"""
    return service.sharing_list(session, actor, filters, offset=offset, limit=limit)


@router.get(
    "/lists/sharing.{fmt}", summary="导出共享目录", response_class=Response, responses=EXPORT_RESPONSES
)
@accepts_scopes(CATALOG_READ)
def sharing_export(session: SessionDep, actor: ActorDep, filters: FiltersDep, fmt: ExportFormat) -> Response:
    rows = service.sharing_list(session, actor, filters, limit=None).items
    return export_response("sharing", fmt, exports.sharing_table(rows))


@router.get("/lists/open", response_model=s.SharingList, summary="开放目录", responses=PROBLEMS)
@accepts_scopes(CATALOG_READ)
def open_list(
    session: SessionDep, actor: ActorDep, filters: FiltersDep, offset: Offset = 0, limit: Limit = 50
) -> s.SharingList:
    """已发布、开放类型为有条件开放或无条件开放的目录。"""
    return service.open_list(session, actor, filters, offset=offset, limit=limit)


@router.get("/lists/open.{fmt}", summary="导出开放目录", response_class=Response, responses=EXPORT_RESPONSES)
@accepts_scopes(CATALOG_READ)
def open_export(session: SessionDep, actor: ActorDep, filters: FiltersDep, fmt: ExportFormat) -> Response:
    rows = service.open_list(session, actor, filters, limit=None).items
    return export_response("open", fmt, exports.sharing_table(rows))


@router.get("/lists/demand", response_model=s.DemandList, summary="需求目录", responses=PROBLEMS)
@accepts_scopes(CATALOG_READ)
def demand_list(
    session: SessionDep,
    actor: ActorDep,
    status_: Annotated[str, Query(alias="status")] = "",
    department_id: edge.OptionalDbId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> s.DemandList:
    return service.demand_list(
        session,
        actor,
        status=_demand_status(status_),
        department_id=department_id,
        offset=offset,
        limit=limit,
    )


@router.get(
    "/lists/demand.{fmt}", summary="导出需求目录", response_class=Response, responses=EXPORT_RESPONSES
)
@accepts_scopes(CATALOG_READ)
def demand_export(
    session: SessionDep,
    actor: ActorDep,
    fmt: ExportFormat,
    status_: Annotated[str, Query(alias="status")] = "",
    department_id: edge.OptionalDbId = None,
) -> Response:
    rows = service.demand_list(
        session, actor, status=_demand_status(status_), department_id=department_id, limit=None
    ).items
    return export_response("demand", fmt, exports.demand_table(rows))


@router.get(
    "/lists/responsibility", response_model=s.ResponsibilityList, summary="责任清单", responses=PROBLEMS
)
def responsibility_list(
    session: SessionDep, actor: ActorDep, department_id: edge.OptionalDbId = None
) -> s.ResponsibilityList:
    """每个提供部门的目录数（按状态）、挂接数、待答复需求和目录联系人。"""
    return service.responsibility_list(session, actor, department_id=department_id)


@router.get(
    "/lists/responsibility.{fmt}", summary="导出责任清单", response_class=Response, responses=EXPORT_RESPONSES
)
def responsibility_export(
    session: SessionDep, actor: ActorDep, fmt: ExportFormat, department_id: edge.OptionalDbId = None
) -> Response:
    rows = service.responsibility_list(session, actor, department_id=department_id).items
    return export_response("responsibility", fmt, exports.responsibility_table(rows))


@router.get("/rates", response_model=s.RatesRead, summary="编目与挂接统计", responses=PROBLEMS)
def rates(session: SessionDep, actor: ActorDep) -> s.RatesRead:
    """由目录数据实时计算：挂接率 = 已挂接 / 已发布；编目率 = 已编目挂接的基础库资源 / 基础库资源。"""
    return service.catalog_rates(session, actor)


@router.get("/rates.{fmt}", summary="导出编目统计", response_class=Response, responses=EXPORT_RESPONSES)
def rates_export(session: SessionDep, actor: ActorDep, fmt: ExportFormat) -> Response:
    return export_response("rates", fmt, exports.rates_table(service.catalog_rates(session, actor)))
