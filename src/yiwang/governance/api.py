"""REST API of 数据治理 under `/api/v1/governance`: parse, call the service with the actor, return.

Errors are problem+json with Chinese titles; every 403 is recorded on the audit chain by the app's
problem handler (services mark theirs with `Problem.audited`, naming the action and object).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.formparsers import MultiPartException, MultiPartParser

from yiwang import registry
from yiwang.core import edge
from yiwang.core.deps import ActorDep, DatabaseDep, SessionDep
from yiwang.core.errors import FieldError, Invalid, Problem
from yiwang.core.pagination import Page
from yiwang.governance import schemas as s
from yiwang.governance.service import conflicts, grading, loads, rulesets
from yiwang.governance.service.access import can_manage, require_officer
from yiwang.governance.service.reading import scratch_dir

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
# Uploads are streamed to a temporary file up to this size; bigger files belong on the CLI
# (`yiwang` / `load_file` with a path). The form's other fields and boundaries fit in the overhead.
MAX_UPLOAD_BYTES = 256 << 20
FORM_OVERHEAD = 64 * 1024


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


class TooLarge(Problem):
    default_status = 413
    default_slug = "governance-upload-too-large"
    default_title = "文件过大"


def _too_large() -> TooLarge:
    limit = MAX_UPLOAD_BYTES >> 20
    return TooLarge(
        detail=f"上传的文件超过 {limit} MB，未接收。请分批装载，或由运维人员使用命令行装载。",
        errors=[FieldError("file", f"文件不能超过 {limit} MB")],
    )


@dataclass
class Upload:
    """A received upload: the form's text fields, and the file spooled into `scratch`."""

    fields: dict[str, str]
    path: Path | None
    filename: str


async def receive_upload(request: Request, scratch: Path) -> Upload:
    """Read a multipart upload as a stream into `scratch`, refusing (413) as soon as it passes
    MAX_UPLOAD_BYTES — announced or not. Call it only once the caller is authenticated and allowed
    to load: FastAPI would otherwise read and spool the whole body before any check ran."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES + FORM_OVERHEAD:
        raise _too_large()
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid.on("file", "请以 multipart/form-data 表单上传文件")

    async def limited() -> AsyncIterator[bytes]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES + FORM_OVERHEAD:
                raise _too_large()
            yield chunk

    parser = MultiPartParser(request.headers, limited(), max_files=1, max_fields=20, max_part_size=64 * 1024)
    try:
        form = await parser.parse()
    except MultiPartException:
        raise Invalid.on("file", "上传的表单格式不正确，请重新选择文件后提交") from None
    try:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        upload = next((v for _, v in form.multi_items() if isinstance(v, StarletteUpload)), None)
        if upload is None or not upload.filename:
            return Upload(fields, None, "")
        if (upload.size or 0) > MAX_UPLOAD_BYTES:
            raise _too_large()
        target = scratch / "upload.bin"
        # The parser spooled it to an anonymous temporary file (gone when closed); copy it to ours.
        await run_in_threadpool(_copy, upload.file, target)
        return Upload(fields, target, upload.filename)
    finally:
        await form.close()


def _copy(source: Any, target: Path) -> None:
    source.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


_TEXT_FIELDS = {"resource_key": 64, "mode": 8, "format": 16, "encoding": 16, "source_department": 32}


def upload_field(upload: Upload, name: str, default: str = "") -> str:
    value = upload.fields.get(name, default).strip() or default
    if len(value) > _TEXT_FIELDS.get(name, 200):
        raise Invalid.on(name, f"内容过长（最多 {_TEXT_FIELDS.get(name, 200)} 个字符）")
    return value


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "resource_key"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "数据文件"},
                        "resource_key": {"type": "string", "maxLength": 64, "description": "基础库资源"},
                        "mode": {"type": "string", "enum": ["insert", "upsert"], "default": "insert"},
                        "format": {
                            "type": "string",
                            "default": "auto",
                            "description": "auto/csv/xlsx/json/parquet",
                        },
                        "encoding": {
                            "type": "string",
                            "default": "auto",
                            "description": "auto/UTF-8/GBK/GB18030",
                        },
                        "source_department": {
                            "type": "string",
                            "maxLength": 32,
                            "description": "数据来源部门代码",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/loads",
    response_model=s.LoadReport,
    status_code=status.HTTP_201_CREATED,
    summary="上传文件并装载（CSV、XLSX、JSON、Parquet）",
    description=(
        "先验证身份与权限，再接收文件；文件以流的方式接收，超过上限即以 413 拒绝。"
        "Excel 文件另有解压后大小、压缩比与行数的上限。"
    ),
    responses={**LOAD_PROBLEMS, 413: {"description": "文件超过上传上限（problem+json）"}},
    openapi_extra=UPLOAD_BODY,
)
async def upload(request: Request, database: DatabaseDep, actor: ActorDep) -> s.LoadReport:
    # Authorised before a byte of the body is read: an anonymous or unauthorised upload is refused
    # at once instead of being spooled to disk first.
    require_officer(actor, loads.ACTION)
    scratch = scratch_dir("upload")
    try:
        received = await receive_upload(request, scratch)
        resource_key = upload_field(received, "resource_key")
        if not resource_key:
            raise Invalid.on("resource_key", "请指定要装载的基础库资源")
        if received.path is None:
            raise Invalid.on("file", "请选择要上传的文件")
        mode = upload_field(received, "mode", "insert")
        if mode not in ("insert", "upsert"):
            raise Invalid.on("mode", "导入方式只能是 insert（仅新增）或 upsert（新增或更新）")
        return await run_in_threadpool(
            loads.load_file,
            database,
            actor,
            resource_key=resource_key,
            path_or_bytes=received.path,
            filename=received.filename,
            format=upload_field(received, "format", "auto"),
            encoding=upload_field(received, "encoding", "auto"),
            mode=mode,
            source_department=upload_field(received, "source_department") or None,
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
