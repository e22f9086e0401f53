"""REST API of 数据治理 under `/api/v1/governance`: parse, call the service with the actor, return.

Errors are problem+json with Chinese titles; every 403 is recorded on the audit chain by the app's
problem handler (services mark theirs with `Problem.audited`, naming the action and object).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from pydantic import BaseModel, Field

from yiwang import registry
from yiwang.core import edge
from yiwang.core.deps import ActorDep, DatabaseDep, SessionDep
from yiwang.core.errors import Invalid
from yiwang.core.pagination import Page
from yiwang.governance import schemas as s
from yiwang.governance.service import conflicts, grading, loads, rulesets
from yiwang.governance.service.access import can_manage, require_officer

router = APIRouter(prefix="/api/v1/governance", tags=["governance"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录或令牌无效（problem+json）"},
    403: {"description": "无权进行此操作；拒绝记录写入审计链（problem+json）"},
    404: {"description": "对象不存在（problem+json）"},
    409: {"description": "当前状态不允许此操作（problem+json）"},
    422: {"description": "提交的内容有误（problem+json，errors 列出字段）"},
}
LOAD_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    422: {
        "description": "文件无法装载（编码、格式、列不符）；装载记录为失败，未写入任何数据（problem+json）"
    },
    500: {"description": "写入时出错，已全部撤销（problem+json，load_id 指向失败的装载记录）"},
}
Offset = Annotated[edge.Offset, Query(description="跳过的条数")]
Limit = Annotated[int, Query(ge=1, le=500, description="每页条数")]
# Uploads are spooled to a temporary file; bigger files belong on the CLI (`load_file` with a path).
MAX_UPLOAD_BYTES = 1 << 30


class ResourceInfo(BaseModel):
    key: str
    name: str
    department: str
    department_name: str
    fields: list[dict[str, Any]]
    key_fields: list[str]
    can_load_authoritative: bool


class DismissBody(BaseModel):
    reason: str = Field(default="", max_length=200)


@router.get("/resources", response_model=list[ResourceInfo], summary="可装载的基础库资源", responses=PROBLEMS)
def resources(session: SessionDep, actor: ActorDep) -> list[ResourceInfo]:
    require_officer(actor, "governance.resources.read")
    return [
        ResourceInfo(
            key=spec.key,
            name=spec.name,
            department=spec.department,
            department_name=spec.department_name,
            fields=[
                {"name": f.name, "label": f.label, "type": f.type, "nullable": f.nullable}
                for f in spec.fields
            ],
            key_fields=list(spec.key_fields),
            can_load_authoritative=can_manage(session, actor, spec),
        )
        for spec in registry.resources()
    ]


def end_request_transaction(session: SessionDep) -> None:
    """A load runs its own transactions (the running record, the load, a failure record), so the
    request's session — which only resolved the actor — commits first: it then holds no lock (SQLite
    allows one writer) and its end cannot take the load's records along."""
    session.commit()


def spool_upload(file: UploadFile, scratch: Path) -> Path:
    """Copy an upload to a file (chunk by chunk), refusing one larger than MAX_UPLOAD_BYTES."""
    target = scratch / "upload.bin"
    size = 0
    with target.open("wb") as out:
        while chunk := file.file.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise Invalid.on("file", f"文件超过 {MAX_UPLOAD_BYTES >> 20} MB，请分批装载或使用命令行")
            out.write(chunk)
    return target


@router.post(
    "/loads",
    response_model=s.LoadReport,
    status_code=status.HTTP_201_CREATED,
    summary="上传文件并装载（CSV、XLSX、JSON、Parquet）",
    responses=LOAD_PROBLEMS,
)
def upload(
    session: SessionDep,
    database: DatabaseDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="数据文件")],
    resource_key: Annotated[str, Form(max_length=64, description="基础库资源，如 population")],
    mode: Annotated[
        Literal["insert", "upsert"], Form(description="insert 仅新增；upsert 新增或更新")
    ] = "insert",
    format: Annotated[str, Form(description="auto / csv / xlsx / json / parquet")] = "auto",
    encoding: Annotated[str, Form(description="auto / UTF-8 / GBK / GB18030")] = "auto",
    source_department: Annotated[
        str, Form(max_length=32, description="数据来源部门代码；不是资源的权威部门时只做比对，不写入")
    ] = "",
) -> s.LoadReport:
    end_request_transaction(session)
    scratch = Path(tempfile.mkdtemp(prefix="yiwang-upload-"))
    try:
        path = spool_upload(file, scratch)
        return loads.load_file(
            database,
            actor,
            resource_key=resource_key,
            path_or_bytes=path,
            filename=file.filename or "upload",
            format=format,
            encoding=encoding,
            mode=mode,
            source_department=source_department or None,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@router.get("/loads", response_model=Page[s.LoadRow], summary="装载记录", responses=PROBLEMS)
def list_loads(
    session: SessionDep,
    actor: ActorDep,
    resource_key: Annotated[str, Query(max_length=64)] = "",
    status_: Annotated[str, Query(alias="status", description="running/succeeded/partial/failed")] = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[s.LoadRow]:
    return loads.list_loads(
        session, actor, resource_key=resource_key or None, status=status_ or None, offset=offset, limit=limit
    )


@router.get("/loads/{load_id}", response_model=s.LoadReport, summary="质量报告", responses=PROBLEMS)
def load_report(load_id: edge.DbId, session: SessionDep, actor: ActorDep) -> s.LoadReport:
    return loads.get_load(session, actor, load_id)


@router.get(
    "/loads/{load_id}/rejected",
    response_model=Page[s.RejectedRowRead],
    summary="被拒收的数据行（含原因）",
    responses=PROBLEMS,
)
def rejected_rows(
    load_id: edge.DbId,
    session: SessionDep,
    actor: ActorDep,
    status_: Annotated[str, Query(alias="status", description="open/corrected/reloaded/dismissed")] = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[s.RejectedRowRead]:
    return loads.list_rejected_rows(
        session, actor, load_id, status=status_ or None, offset=offset, limit=limit
    )


@router.get("/loads/{load_id}/rejected.csv", summary="导出被拒收的数据行（CSV）", responses=PROBLEMS)
def rejected_csv(
    load_id: edge.DbId,
    session: SessionDep,
    actor: ActorDep,
    status_: Annotated[str, Query(alias="status")] = "",
) -> Response:
    body = loads.rejected_rows_csv(session, actor, load_id, status=status_ or None)
    chinese = f"被拒收数据-第{load_id}次装载.csv"
    return Response(
        content=body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="rejected-{load_id}.csv"; '
            f"filename*=UTF-8''{quote(chinese)}",
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/loads/{load_id}/reload",
    response_model=s.LoadReport,
    status_code=status.HTTP_201_CREATED,
    summary="重新装载已更正的行（生成一次新的装载）",
    responses=LOAD_PROBLEMS,
)
def reload(load_id: edge.DbId, session: SessionDep, database: DatabaseDep, actor: ActorDep) -> s.LoadReport:
    end_request_transaction(session)
    return loads.reload_rejected(database, actor, load_id)


@router.patch(
    "/rejected/{row_id}", response_model=s.RejectedRowRead, summary="更正被拒收的行", responses=PROBLEMS
)
def correct_row(
    row_id: edge.DbId, body: s.RowCorrection, session: SessionDep, actor: ActorDep
) -> s.RejectedRowRead:
    return loads.correct_rejected_row(session, actor, row_id, body.values)


@router.post(
    "/rejected/{row_id}/dismiss",
    response_model=s.RejectedRowRead,
    summary="忽略被拒收的行（保留记录）",
    responses=PROBLEMS,
)
def dismiss_row(
    row_id: edge.DbId, body: DismissBody, session: SessionDep, actor: ActorDep
) -> s.RejectedRowRead:
    return loads.dismiss_rejected_row(session, actor, row_id, body.reason)


@router.get(
    "/rules/{resource_key}",
    response_model=s.RuleSetRead,
    summary="质量规则（现行或指定版本）",
    responses=PROBLEMS,
)
def get_rules(
    resource_key: str,
    session: SessionDep,
    actor: ActorDep,
    version: Annotated[edge.Int32 | None, Query(ge=0)] = None,
) -> s.RuleSetRead:
    return rulesets.get_rule_set(session, actor, resource_key, version)


@router.get(
    "/rules/{resource_key}/history",
    response_model=list[s.RuleSetRead],
    summary="规则版本",
    responses=PROBLEMS,
)
def rules_history(resource_key: str, session: SessionDep, actor: ActorDep) -> list[s.RuleSetRead]:
    return rulesets.rule_set_history(session, actor, resource_key)


@router.put(
    "/rules/{resource_key}",
    response_model=s.RuleSetRead,
    summary="保存质量规则（生成新版本）",
    responses=PROBLEMS,
)
def put_rules(resource_key: str, body: s.RuleSetWrite, session: SessionDep, actor: ActorDep) -> s.RuleSetRead:
    return rulesets.update_rule_set(session, actor, resource_key, body.rules, body.note)


@router.get("/conflicts", response_model=Page[s.ConflictRead], summary="一数一源冲突", responses=PROBLEMS)
def list_conflicts(
    session: SessionDep,
    actor: ActorDep,
    resource_key: Annotated[str, Query(max_length=64)] = "",
    status_: Annotated[
        str, Query(alias="status", description="resolved_by_authority/confirmed/corrected")
    ] = "",
    subject: Annotated[str, Query(max_length=64)] = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[s.ConflictRead]:
    return conflicts.list_conflicts(
        session,
        actor,
        resource_key=resource_key or None,
        status=status_ or None,
        subject=subject or None,
        offset=offset,
        limit=limit,
    )


@router.get("/conflicts/{conflict_id}", response_model=s.ConflictRead, summary="冲突详情", responses=PROBLEMS)
def get_conflict(conflict_id: edge.DbId, session: SessionDep, actor: ActorDep) -> s.ConflictRead:
    return conflicts.get_conflict(session, actor, conflict_id)


@router.post(
    "/conflicts/{conflict_id}/resolve",
    response_model=s.ConflictRead,
    summary="权威部门确认或更正",
    responses=PROBLEMS,
)
def resolve(
    conflict_id: edge.DbId, body: s.ConflictResolution, session: SessionDep, actor: ActorDep
) -> s.ConflictRead:
    return conflicts.resolve_conflict(session, actor, conflict_id, body)


@router.get("/grading/{resource_key}", response_model=s.GradingRead, summary="分级建议", responses=PROBLEMS)
def grading_suggestions(resource_key: str, session: SessionDep, actor: ActorDep) -> s.GradingRead:
    return grading.grading_suggestions(session, actor, resource_key)


@router.post(
    "/grading/{resource_key}",
    response_model=s.GradeApplied,
    summary="确认分级（写入目录）",
    responses=PROBLEMS,
)
def apply_grading(
    resource_key: str, body: s.GradeApply, session: SessionDep, actor: ActorDep
) -> s.GradeApplied:
    return grading.apply_grades(session, actor, resource_key, body)
