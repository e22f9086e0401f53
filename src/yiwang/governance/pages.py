"""Pages of 数据治理 for data officers under `/governance` (staff-wide layout; every form works
without JavaScript): loads and the upload form, the quality report with its rejected rows and inline
correction, the rule editor, the 一数一源 conflicts and the grading of data items.

The same service calls as the API. Every POST checks the session's CSRF token first; every 403 goes
to the audit chain through the app's problem handler.
"""

from __future__ import annotations

import json
import math
import shutil
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from yiwang import identity, registry, web
from yiwang.core.deps import ActorDep, DatabaseDep, SessionDep
from yiwang.core.errors import FieldError, Invalid, Problem
from yiwang.core.security import Actor, require_authenticated
from yiwang.governance import schemas as s
from yiwang.governance.api import end_request_transaction, receive_upload
from yiwang.governance.service import conflicts, grading, loads, rulesets
from yiwang.governance.service.access import can_manage, require_officer
from yiwang.governance.service.reading import FORMAT_LABELS, scratch_dir
from yiwang.governance.service.rules import RULE_LABELS, RULE_TYPES
from yiwang.web import FormFields

router = APIRouter(prefix="/governance", include_in_schema=False)

PAGE_SIZES = (20, 50, 100)
DONE = {
    "loaded": "文件已装载，质量报告如下。",
    "corrected": "更正已保存。该行已重新检查，可在全部更正后重新装载。",
    "dismissed": "该行已忽略（记录保留）。",
    "reloaded": "已更正的行已重新装载，这是新一次装载的质量报告。",
    "rules-saved": "质量规则已保存为新版本，之后的装载按新规则检查。",
    "confirmed": "已确认权威库的值。",
    "corrected-conflict": "权威库已更正，并记入审计。",
    "graded": "分级已写入政务信息资源目录。",
}
MASKING_LABELS = {
    "none": "不脱敏",
    "id": "证件号码（保留前6后4位）",
    "name": "姓名（保留姓氏）",
    "phone": "电话号码（保留前3后4位）",
    "address": "地址（保留至街道）",
    "date_to_year": "日期（只保留年份）",
    "hash": "哈希（SM3）",
    "drop": "不提供",
}


# ================================================================= plumbing


def require_csrf(request: Request, token: str | None) -> None:
    """A signed-in actor (else 401: the login page). The session's CSRF token itself is checked for
    every state-changing request by the kit (`yiwang.web.csrf`) before the route runs."""
    if not hasattr(request.state, "actor"):
        raise RuntimeError("require_csrf: resolve the actor first (add ActorDep to the route)")
    require_authenticated(request.state.actor)
    web.require_csrf(request, token)


def _render(
    request: Request, actor: Actor, template: str, title: str, *, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    """A governance page (`governance/<template>`) in the kit's layout, with the labels it needs."""
    return web.render(
        request,
        f"governance/{template}",
        title,
        status_code=status_code,
        done=DONE,
        wide=True,
        actor=actor,
        urlencode=urlencode,
        masking_labels=MASKING_LABELS,
        grade_labels=s.GRADE_LABELS,
        **ctx,
    )


_redirect = web.redirect
_recoverable = web.recoverable


def _paging(page: int, size: int) -> tuple[int, int]:
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    return max(page, 1), size


def _pages(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))


def _one(fields: dict[str, list[str]], key: str, default: str = "") -> str:
    values = fields.get(key)
    return values[-1] if values else default


def _departments(session: Session) -> list[tuple[str, str]]:
    out = []
    for spec in registry.resources():
        if all(code != spec.department for code, _ in out):
            out.append((spec.department, spec.department_name))
    return out


def _resource_options(session: Session, actor: Actor) -> list[dict[str, Any]]:
    return [
        {
            "value": spec.key,
            "label": f"{spec.name}（{spec.department_name}）"
            + ("" if can_manage(session, actor, spec) else " · 仅比对"),
        }
        for spec in registry.resources()
    ]


# ================================================================= loads


def _loads_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    form: dict[str, str] | None = None,
    errors: Any = None,
    failed_load: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    require_officer(actor, "governance.page.loads")
    params = request.query_params
    page, size = _paging(int(params.get("page", "1") or 1), int(params.get("size", "20") or 20))
    resource_key = params.get("resource_key", "")
    status = params.get("status", "")
    result = loads.list_loads(
        session,
        actor,
        resource_key=resource_key or None,
        status=status or None,
        offset=(page - 1) * size,
        limit=size,
    )
    own = identity.get_org_unit(session, actor.department_id).code if actor.department_id else ""
    return _render(
        request,
        actor,
        "loads.html",
        "数据装载与质量报告",
        status_code=status_code,
        result=result,
        page=page,
        pages=_pages(result.total, size),
        query={k: v for k, v in {"resource_key": resource_key, "status": status, "size": size}.items() if v},
        filters={"resource_key": resource_key, "status": status},
        resources=_resource_options(session, actor),
        statuses=s.LOAD_STATUSES,
        departments=_departments(session),
        formats=[("auto", "自动识别"), *FORMAT_LABELS.items()],
        encodings=[("auto", "自动识别"), ("UTF-8", "UTF-8"), ("GBK", "GBK"), ("GB18030", "GB18030")],
        modes=s.MODES,
        form=form or {"mode": "insert", "format": "auto", "encoding": "auto", "source_department": own},
        errors=errors,
        failed_load=failed_load,
        is_admin=actor.is_platform_admin,
        own_department=own,
    )


@router.get("", response_class=HTMLResponse)
def loads_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _loads_page(request, session, actor)


@router.post("/loads", response_class=HTMLResponse)
async def upload(request: Request, session: SessionDep, database: DatabaseDep, actor: ActorDep) -> Response:
    # Who may load is settled before the body is read (see `api.receive_upload`); the form's CSRF
    # token travels in the body, so it is checked as soon as the body is in.
    require_authenticated(actor)
    require_officer(actor, loads.ACTION)
    scratch = scratch_dir("upload")
    try:
        try:
            received = await receive_upload(request, scratch)
        except Problem as problem:
            if problem.status not in (413, 422):
                raise
            errors = [_on_form(e) for e in problem.errors] or [FieldError("file", problem.detail or "")]
            return await run_in_threadpool(
                _loads_page, request, session, actor, errors=errors, status_code=problem.status
            )
        require_csrf(request, received.fields.get("csrf_token", ""))
        form = {
            name: received.fields.get(name, default)
            for name, default in (
                ("resource_key", ""),
                ("mode", "insert"),
                ("format", "auto"),
                ("encoding", "auto"),
                ("source_department", ""),
            )
        }
        errors: list[FieldError] = []
        if not form["resource_key"]:
            errors.append(FieldError("resource_key", "请选择要装载的基础库资源"))
        if received.path is None:
            errors.append(FieldError("file", "请选择要上传的文件"))
        if errors:
            return await run_in_threadpool(
                _loads_page, request, session, actor, form=form, errors=errors, status_code=422
            )
        assert received.path is not None
        try:
            report = await run_in_threadpool(
                loads.load_file,
                database,
                actor,
                resource_key=form["resource_key"],
                path_or_bytes=received.path,
                filename=received.filename or "upload",
                format=form["format"],
                encoding=form["encoding"],
                mode=form["mode"],
                source_department=form["source_department"] or None,
            )
        except Problem as problem:
            if not _recoverable(problem):
                raise
            field_errors = list(problem.errors) or [FieldError("file", problem.detail or problem.title)]
            if problem.errors and problem.detail:
                field_errors.insert(0, FieldError("", problem.detail))
            return await run_in_threadpool(
                _loads_page,
                request,
                session,
                actor,
                form=form,
                errors=[_on_form(e) for e in field_errors],
                failed_load=problem.extra.get("load_id"),
                status_code=problem.status if problem.status < 500 else 500,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _redirect(f"/governance/loads/{report.id}?done=loaded")


def _on_form(error: FieldError) -> FieldError:
    """Errors about the file's content point at the file input."""
    known = ("resource_key", "mode", "format", "encoding", "source_department", "file", "")
    return error if error.field in known else FieldError("file", error.message)


def _report_page(
    request: Request,
    session: Session,
    actor: Actor,
    load_id: int,
    *,
    errors: Any = None,
    row_form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    report = loads.get_load(session, actor, load_id)
    params = request.query_params
    page, size = _paging(int(params.get("page", "1") or 1), int(params.get("size", "20") or 20))
    row_status = params.get("status", "")
    rows = loads.list_rejected_rows(
        session, actor, load_id, status=row_status or None, offset=(page - 1) * size, limit=size
    )
    try:
        spec = registry.resource(report.resource_key)
        fields = [(f.name, f.label) for f in spec.fields if f.name not in ("source", "updated_at")]
    except Problem:
        fields = []
    editable = loads.can_edit_load(session, actor, load_id)
    corrected = loads.list_rejected_rows(
        session, actor, load_id, status="corrected", limit=1, audit_access=False
    )
    return _render(
        request,
        actor,
        "report.html",
        f"质量报告 · 第 {report.id} 次装载",
        status_code=status_code,
        report=report,
        rows=rows,
        fields=fields,
        page=page,
        pages=_pages(rows.total, size),
        query={k: v for k, v in {"status": row_status, "size": size}.items() if v},
        row_status=row_status,
        row_statuses=s.ROW_STATUSES,
        editable=editable,
        corrected_count=corrected.total,
        errors=errors,
        row_form=row_form or {},
    )


@router.get("/loads/{load_id}", response_class=HTMLResponse)
def report_page(request: Request, load_id: int, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _report_page(request, session, actor, load_id)


@router.post("/rejected/{row_id}/correct", response_class=HTMLResponse)
def correct_row(
    request: Request, row_id: int, session: SessionDep, actor: ActorDep, fields: FormFields
) -> Response:
    require_csrf(request, _one(fields, "csrf_token"))
    values = {k[2:]: v[-1] for k, v in fields.items() if k.startswith("v.")}
    try:
        load_id = int(_one(fields, "load_id", "0") or 0)
    except ValueError:
        load_id = 0
    try:
        row = loads.correct_rejected_row(session, actor, row_id, values)
    except Problem as problem:
        if not _recoverable(problem) or not load_id:
            raise
        session.rollback()
        errors = [FieldError(f"row-{row_id}", e.message) for e in problem.errors] or [
            FieldError(f"row-{row_id}", problem.detail or problem.title)
        ]
        return _report_page(
            request,
            session,
            actor,
            load_id,
            errors=errors,
            row_form={row_id: values},
            status_code=problem.status,
        )
    return _redirect(f"/governance/loads/{row.load_id}?done=corrected#row-{row.id}")


@router.post("/rejected/{row_id}/dismiss", response_class=HTMLResponse)
def dismiss_row(
    request: Request,
    row_id: int,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    require_csrf(request, csrf_token)
    row = loads.dismiss_rejected_row(session, actor, row_id, reason)
    return _redirect(f"/governance/loads/{row.load_id}?done=dismissed#row-{row.id}")


@router.post("/loads/{load_id}/reload", response_class=HTMLResponse)
def reload(
    request: Request,
    load_id: int,
    session: SessionDep,
    database: DatabaseDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, csrf_token)
    end_request_transaction(session)
    try:
        report = loads.reload_rejected(database, actor, load_id)
    except Problem as problem:
        if not _recoverable(problem):
            raise
        return _report_page(
            request,
            session,
            actor,
            problem.extra.get("load_id", load_id),
            errors=[FieldError("reload", problem.detail or problem.title)],
            status_code=problem.status,
        )
    return _redirect(f"/governance/loads/{report.id}?done=reloaded")


# ================================================================= rules


@router.get("/rules", response_class=HTMLResponse)
def rules_index(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    require_officer(actor, "governance.page.rules")
    items = []
    for spec in registry.resources():
        current = rulesets.get_rule_set(session, actor, spec.key)
        items.append({"spec": spec, "rules": current, "manage": can_manage(session, actor, spec)})
    return _render(request, actor, "rules_index.html", "质量规则", items=items)


def _rules_page(
    request: Request,
    session: Session,
    actor: Actor,
    resource_key: str,
    *,
    text: str | None = None,
    note: str = "",
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    current = rulesets.get_rule_set(session, actor, resource_key)
    spec = registry.resource(resource_key)
    history = rulesets.rule_set_history(session, actor, resource_key)
    return _render(
        request,
        actor,
        "rules.html",
        f"质量规则 · {spec.name}",
        status_code=status_code,
        spec=spec,
        current=current,
        history=history,
        text=text if text is not None else json.dumps(current.rules, ensure_ascii=False, indent=2),
        note=note,
        errors=errors,
        manage=can_manage(session, actor, spec),
        rule_types=[(t, RULE_LABELS[t]) for t in RULE_TYPES],
    )


@router.get("/rules/{resource_key}", response_class=HTMLResponse)
def rules_page(request: Request, resource_key: str, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _rules_page(request, session, actor, resource_key)


@router.post("/rules/{resource_key}", response_class=HTMLResponse)
def rules_save(
    request: Request,
    resource_key: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    rules: Annotated[str, Form(max_length=200_000)] = "",
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        try:
            parsed = json.loads(rules)
        except json.JSONDecodeError as exc:
            raise Invalid.on(
                "rules", f"不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列（{exc.msg}）"
            ) from None
        rulesets.update_rule_set(session, actor, resource_key, parsed, note)
    except Problem as problem:
        if not _recoverable(problem):
            raise
        session.rollback()
        errors = [
            FieldError("rules", f"{e.field}：{e.message}" if e.field != "rules" else e.message)
            for e in problem.errors
        ] or [FieldError("rules", problem.detail)]
        return _rules_page(
            request,
            session,
            actor,
            resource_key,
            text=rules,
            note=note,
            errors=errors,
            status_code=problem.status,
        )
    return _redirect(f"/governance/rules/{resource_key}?done=rules-saved")


# ================================================================= conflicts


def _conflicts_page(
    request: Request, session: Session, actor: Actor, *, errors: Any = None, status_code: int = 200
) -> HTMLResponse:
    params = request.query_params
    page, size = _paging(int(params.get("page", "1") or 1), int(params.get("size", "20") or 20))
    filters = {k: params.get(k, "") for k in ("resource_key", "status", "subject")}
    result = conflicts.list_conflicts(
        session,
        actor,
        resource_key=filters["resource_key"] or None,
        status=filters["status"] or None,
        subject=filters["subject"] or None,
        offset=(page - 1) * size,
        limit=size,
    )
    manageable = {spec.key for spec in registry.resources() if can_manage(session, actor, spec)}
    return _render(
        request,
        actor,
        "conflicts.html",
        "一数一源冲突",
        status_code=status_code,
        result=result,
        page=page,
        pages=_pages(result.total, size),
        filters=filters,
        query={k: v for k, v in {**filters, "size": size}.items() if v},
        resources=[(spec.key, spec.name) for spec in registry.resources()],
        statuses=s.CONFLICT_STATUSES,
        manageable=manageable,
        errors=errors,
    )


@router.get("/conflicts", response_class=HTMLResponse)
def conflicts_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _conflicts_page(request, session, actor)


@router.post("/conflicts/{conflict_id}/resolve", response_class=HTMLResponse)
def resolve_conflict(
    request: Request,
    conflict_id: int,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    value: Annotated[str, Form(max_length=500)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        if action not in ("confirm", "correct"):
            raise Invalid.on(f"conflict-{conflict_id}", "请选择确认或更正")
        conflicts.resolve_conflict(
            session,
            actor,
            conflict_id,
            s.ConflictResolution(action=action, value=value or None, note=note),  # type: ignore[arg-type]
        )
    except Problem as problem:
        if not _recoverable(problem):
            raise
        session.rollback()
        errors = [FieldError(f"conflict-{conflict_id}", e.message) for e in problem.errors] or [
            FieldError(f"conflict-{conflict_id}", problem.detail or problem.title)
        ]
        return _conflicts_page(request, session, actor, errors=errors, status_code=problem.status)
    done = "confirmed" if action == "confirm" else "corrected-conflict"
    return _redirect(f"/governance/conflicts?done={done}#conflict-{conflict_id}")


# ================================================================= grading


@router.get("/grading", response_class=HTMLResponse)
def grading_index(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    require_officer(actor, "governance.page.grading")
    items = [{"spec": spec, "manage": can_manage(session, actor, spec)} for spec in registry.resources()]
    return _render(request, actor, "grading_index.html", "分类分级", items=items)


def _grading_page(
    request: Request,
    session: Session,
    actor: Actor,
    resource_key: str,
    *,
    errors: Any = None,
    form: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    data = grading.grading_suggestions(session, actor, resource_key)
    spec = registry.resource(resource_key)
    return _render(
        request,
        actor,
        "grading.html",
        f"分类分级 · {spec.name}",
        status_code=status_code,
        data=data,
        spec=spec,
        manage=can_manage(session, actor, spec),
        form=form,
        errors=errors,
    )


@router.get("/grading/{resource_key}", response_class=HTMLResponse)
def grading_page(request: Request, resource_key: str, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _grading_page(request, session, actor, resource_key)


@router.post("/grading/{resource_key}", response_class=HTMLResponse)
def grading_apply(
    request: Request, resource_key: str, session: SessionDep, actor: ActorDep, fields: FormFields
) -> Response:
    require_csrf(request, _one(fields, "csrf_token"))
    chosen = fields.get("apply", [])
    try:
        if not chosen:
            raise Invalid.on("apply", "请勾选要采用的分级建议")
        items = [
            s.GradeItem(
                field=name,
                grade=_one(fields, f"grade.{name}", "general"),  # type: ignore[arg-type]
                sensitive_personal=_one(fields, f"sensitive.{name}") == "true",
                masking=_one(fields, f"masking.{name}", "none"),  # type: ignore[arg-type]
            )
            for name in chosen
        ]
        grading.apply_grades(
            session, actor, resource_key, s.GradeApply(items=items, reason=_one(fields, "reason"))
        )
    except Problem as problem:
        if not _recoverable(problem):
            raise
        session.rollback()
        errors = list(problem.errors) or [FieldError("apply", problem.detail or problem.title)]
        return _grading_page(
            request, session, actor, resource_key, errors=errors, form=fields, status_code=problem.status
        )
    except ValueError as exc:
        session.rollback()
        return _grading_page(
            request,
            session,
            actor,
            resource_key,
            errors=[FieldError("apply", f"分级内容有误：{exc}")],
            form=fields,
            status_code=422,
        )
    return _redirect(f"/governance/grading/{resource_key}?done=graded")
