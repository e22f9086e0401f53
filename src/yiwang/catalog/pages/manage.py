"""A data officer's workbench: drafting in three steps (basic information → items → check and
submit), editing, mounting, grading and retiring."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.orm import Session

import yiwang.identity as identity
from yiwang.catalog import schemas as s
from yiwang.catalog import service, vocab
from yiwang.catalog.pages.common import (
    entry_url,
    is_editor,
    manage_url,
    render,
    require_csrf,
    router,
)
from yiwang.catalog.service.common import refuse, require_reader
from yiwang.core.deps import ActorDep, SessionDep
from yiwang.core.errors import FieldError, Invalid, Problem, from_validation_errors
from yiwang.core.security import Actor
from yiwang.web import (
    bool_or_none,
    int_or_none,
    page_count,
    paging,
    parse,
    recoverable,
    redirect,
)

# ================================================================= a data officer's workbench


@router.get("/manage", response_class=HTMLResponse)
def manage(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    status: str = "",
    department_id: str = "",
    page: int = 1,
    size: int = 50,
) -> HTMLResponse:
    require_reader(actor, "catalog.manage")
    if not is_editor(actor):
        raise refuse(actor, "catalog.manage", "只有部门数据管理员或平台管理员可以维护目录")
    page, size, offset = paging(page, size)
    dept = int_or_none(department_id, "department_id")
    if not actor.is_platform_admin:
        dept = actor.department_id
    if status and status not in vocab.STATUSES:
        status = ""
    f = service.EntryFilters(status=status, department_id=dept, sort="-updated_at")
    result = service.list_entries(session, actor, f, offset=offset, limit=size)
    counts = {
        k: service.list_entries(
            session, actor, service.EntryFilters(status=k, department_id=dept), limit=1
        ).total
        for k in vocab.STATUSES
    }
    return render(
        request,
        actor,
        "manage.html",
        "本部门目录" if not actor.is_platform_admin else "目录维护",
        result=result,
        counts=counts,
        status=status,
        department_id=dept,
        page=page,
        size=size,
        pages=page_count(result.total, size),
        departments=service.catalog_departments(session, actor),
    )


CATEGORY_OPTIONS = [
    (cls + sub, f"{cls}{sub} {vocab.CLASSES[cls]} / {name}")
    for cls in vocab.CLASSES
    for sub, name in vocab.SUBCLASSES[cls].items()
]
ENTRY_FIELDS = (
    "name",
    "abstract",
    "form",
    "sharing_type",
    "sharing_condition",
    "unshared_reason",
    "sharing_method",
    "open_type",
    "open_condition",
    "update_cycle",
    "contact_name",
    "contact_phone",
)


def _entry_form(
    request: Request,
    actor: Actor,
    *,
    form: dict[str, Any],
    errors: Any = None,
    entry: s.EntryRead | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    title = f"修改目录：{entry.name}" if entry else "起草目录"
    return render(
        request,
        actor,
        "entry_form.html",
        title,
        status_code=status_code,
        form=form,
        errors=errors,
        entry=entry,
        category_options=CATEGORY_OPTIONS,
    )


def _category_errors(problem: Problem, form: dict[str, Any]) -> Problem:
    """`category_code` is built from two inputs: put its message beside the one to correct."""
    for err in problem.errors:
        if err.field == "category_code":
            err.field = "class_item" if not form.get("class_item") else "category_rest"
    return problem


def _form_from_entry(entry: s.EntryRead) -> dict[str, Any]:
    form = {k: getattr(entry, k) for k in ENTRY_FIELDS}
    form["class_item"] = entry.category_code[:3]
    form["category_rest"] = entry.category_code[3:]
    form["linked_codes"] = "\n".join(entry.linked_codes)
    return form


class EntryPageForm(BaseModel):
    """The fields of the entry form (step 1), for both drafting and editing: what was typed comes back
    unchanged when the page is shown again with errors."""

    model_config = ConfigDict(extra="ignore")

    csrf_token: str = ""
    class_item: str = ""
    category_rest: str = ""
    department_code: str = ""  # only when drafting: a platform admin may draft for a department
    name: str = ""
    abstract: str = ""
    form: str = ""
    sharing_type: str = ""
    sharing_condition: str = ""
    unshared_reason: str = ""
    sharing_method: str = ""
    open_type: str = ""
    open_condition: str = ""
    update_cycle: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    linked_codes: str = ""

    def values(self, *, with_department: bool = True) -> dict[str, str]:
        data = self.model_dump(exclude={"csrf_token"})
        if not with_department:
            del data["department_code"]
        return data


def _entry_data(form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as an `EntryCreate` / `EntryUpdate` payload."""
    category = (form.get("class_item", "") + form.get("category_rest", "").strip()).strip()
    data: dict[str, Any] = {k: (form.get(k) or "") for k in ENTRY_FIELDS}
    for k in ("form", "sharing_type", "open_type", "update_cycle"):
        if not data[k]:
            del data[k]  # a missing choice is "必填项未填写", not "不是允许的取值"
    data["category_code"] = category
    data["linked_codes"] = [c.strip() for c in form.get("linked_codes", "").split() if c.strip()]
    return data


@router.get("/manage/new", response_class=HTMLResponse)
def entry_new(request: Request, actor: ActorDep) -> HTMLResponse:
    require_reader(actor, "catalog.entry.draft")
    if not is_editor(actor):
        raise refuse(actor, "catalog.entry.draft", "只有部门数据管理员或平台管理员可以编制目录")
    return _entry_form(request, actor, form={"open_type": "none"})


@router.post("/manage/new", response_class=HTMLResponse)
def entry_create(
    request: Request, session: SessionDep, actor: ActorDep, posted: Annotated[EntryPageForm, Form()]
) -> Response:
    require_csrf(request, posted.csrf_token)
    form = posted.values()
    department_code = posted.department_code
    try:
        data = _entry_data(form)
        if department_code.strip():
            unit = identity.find_org_unit_by_code(session, department_code.strip())
            if unit is None:
                raise Invalid.on("department_code", f"没有编码为“{department_code.strip()}”的部门")
            data["department_id"] = unit.id
        entry = service.draft_entry(session, actor, parse(s.EntryCreate, data))
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        problem = _category_errors(problem, form)
        return _entry_form(request, actor, form=form, errors=problem, status_code=problem.status)
    return redirect(manage_url(entry.code, "/items", "drafted"))


@router.get("/manage/{code}/edit", response_class=HTMLResponse)
def entry_edit(request: Request, code: str, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    entry = service.read_entry(session, actor, code)
    return _entry_form(request, actor, form=_form_from_entry(entry), entry=entry)


@router.post("/manage/{code}/edit", response_class=HTMLResponse)
def entry_save(
    request: Request,
    code: str,
    session: SessionDep,
    actor: ActorDep,
    posted: Annotated[EntryPageForm, Form()],
) -> Response:
    require_csrf(request, posted.csrf_token)
    form = posted.values(with_department=False)
    try:
        entry = service.update_entry(session, actor, code, parse(s.EntryUpdate, _entry_data(form)))
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        entry = service.read_entry(session, actor, code)
        problem = _category_errors(problem, form)
        return _entry_form(request, actor, form=form, entry=entry, errors=problem, status_code=problem.status)
    return redirect(manage_url(entry.code, "/items", "saved"))


# ---- items (step 2)


def _items_page(
    request: Request,
    session: Session,
    actor: Actor,
    code: str,
    *,
    form: dict[str, Any] | None = None,
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    entry = service.read_entry(session, actor, code)
    return render(
        request,
        actor,
        "entry_items.html",
        f"信息项：{entry.name}",
        status_code=status_code,
        entry=entry,
        form=form or {"data_type": "string", "grade": "general", "masking": "none"},
        errors=errors,
    )


@router.get("/manage/{code}/items", response_class=HTMLResponse)
def entry_items(request: Request, code: str, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _items_page(request, session, actor, code)


def _items_in(entry: s.EntryRead) -> list[dict[str, Any]]:
    return [i.model_dump() for i in entry.items]


@router.post("/manage/{code}/items/add", response_class=HTMLResponse)
def item_add(
    request: Request,
    code: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    field_name: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    data_type: Annotated[str, Form()] = "",
    length: Annotated[str, Form()] = "",
    grade: Annotated[str, Form()] = "",
    sensitive_personal: Annotated[str, Form()] = "",
    masking: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, csrf_token)
    form = {
        "field_name": field_name,
        "name": name,
        "data_type": data_type,
        "length": length,
        "grade": grade,
        "sensitive_personal": sensitive_personal,
        "masking": masking,
        "description": description,
    }
    try:
        entry = service.read_entry(session, actor, code)
        raw = {
            "field_name": field_name.strip(),
            "name": name,
            "data_type": data_type or "string",
            "length": length.strip() or None,
            "grade": grade or "general",
            "sensitive_personal": sensitive_personal == "true",
            "masking": masking or "none",
            "description": description,
        }
        try:
            item = s.ItemIn.model_validate(raw)
        except ValidationError as exc:
            raise from_validation_errors(list(exc.errors())) from None
        if entry.item(item.field_name) is not None:
            raise Invalid.on("field_name", f"字段名 {item.field_name} 已登记")
        items = [*_items_in(entry), item.model_dump()]
        service.update_entry(session, actor, code, parse(s.EntryUpdate, {"items": items}))
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        problem = _item_errors(problem)
        return _items_page(
            request, session, actor, code, form=form, errors=problem, status_code=problem.status
        )
    return redirect(manage_url(entry.code, "/items", "items"))


def _item_errors(problem: Problem) -> Problem:
    """`items.3.masking` → `masking`, so the message sits beside the add-item form's field."""
    for err in problem.errors:
        if err.field.startswith("items."):
            err.field = err.field.rsplit(".", 1)[-1]
    return problem


@router.post("/manage/{code}/items/{field_name}/remove", response_class=HTMLResponse)
def item_remove(
    request: Request,
    code: str,
    field_name: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        entry = service.read_entry(session, actor, code)
        items = [i for i in _items_in(entry) if i["field_name"] != field_name]
        service.update_entry(session, actor, code, parse(s.EntryUpdate, {"items": items}))
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        return _items_page(request, session, actor, code, errors=problem, status_code=problem.status)
    return redirect(manage_url(entry.code, "/items", "items"))


# ---- check your answers and submit (step 3)


@router.get("/manage/{code}/submit", response_class=HTMLResponse)
def entry_check(request: Request, code: str, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    entry = service.read_entry(session, actor, code)
    return render(request, actor, "entry_check.html", f"核对并提交：{entry.name}", entry=entry)


@router.post("/manage/{code}/submit", response_class=HTMLResponse)
def entry_submit(
    request: Request, code: str, session: SessionDep, actor: ActorDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    require_csrf(request, csrf_token)
    try:
        entry = service.submit_entry(session, actor, code)
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        entry = service.read_entry(session, actor, code)
        return render(
            request,
            actor,
            "entry_check.html",
            f"核对并提交：{entry.name}",
            entry=entry,
            errors=problem,
            status_code=problem.status,
        )
    return redirect(entry_url(entry.code, done="submitted"))


# ---- mount, unmount, retire, grade


def _mount_page(
    request: Request,
    session: Session,
    actor: Actor,
    code: str,
    *,
    form: dict[str, Any] | None = None,
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    entry = service.read_entry(session, actor, code)
    options = service.resource_options(session, actor)
    return render(
        request,
        actor,
        "entry_mount.html",
        f"挂接资源：{entry.name}",
        status_code=status_code,
        entry=entry,
        resources=options,
        form=form or {"kind": "resource"},
        errors=errors,
    )


@router.get("/manage/{code}/mount", response_class=HTMLResponse)
def entry_mount_form(request: Request, code: str, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _mount_page(request, session, actor, code)


@router.post("/manage/{code}/mount", response_class=HTMLResponse)
def entry_mount(
    request: Request,
    code: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "resource",
    resource_key: Annotated[str, Form()] = "",
    endpoint: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, csrf_token)
    form = {"kind": kind, "resource_key": resource_key, "endpoint": endpoint, "description": description}
    try:
        data = parse(
            s.MountCreate,
            {
                "kind": kind or None,
                "resource_key": resource_key or None,
                "endpoint": endpoint,
                "description": description,
            },
        )
        entry = service.mount_entry(session, actor, code, data)
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        if problem.errors and problem.errors[0].field in ("body", ""):
            problem.errors = [
                FieldError("resource_key" if kind == "resource" else "endpoint", problem.detail)
            ]
        return _mount_page(
            request, session, actor, code, form=form, errors=problem, status_code=problem.status
        )
    return redirect(entry_url(entry.code, done="mounted"))


@router.post("/manage/{code}/unmount", response_class=HTMLResponse)
def entry_unmount(
    request: Request,
    code: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        entry = service.unmount_entry(session, actor, code, reason)
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        return _mount_page(request, session, actor, code, errors=problem, status_code=problem.status)
    return redirect(entry_url(entry.code, done="unmounted"))


@router.get("/manage/{code}/retire", response_class=HTMLResponse)
def entry_retire_form(request: Request, code: str, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    entry = service.read_entry(session, actor, code)
    return render(request, actor, "entry_retire.html", f"撤销目录：{entry.name}", entry=entry, form={})


@router.post("/manage/{code}/retire", response_class=HTMLResponse)
def entry_retire(
    request: Request,
    code: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        entry = service.retire_entry(session, actor, code, reason)
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        entry = service.read_entry(session, actor, code)
        return render(
            request,
            actor,
            "entry_retire.html",
            f"撤销目录：{entry.name}",
            entry=entry,
            form={"reason": reason},
            errors=problem,
            status_code=problem.status,
        )
    return redirect(entry_url(entry.code, done="retired"))


@router.get("/manage/{code}/items/{field_name}/grade", response_class=HTMLResponse)
def item_grade_form(
    request: Request, code: str, field_name: str, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    entry = service.read_entry(session, actor, code)
    item = entry.item(field_name)
    if item is None:
        from yiwang.core.errors import NotFound

        raise NotFound(detail=f"目录“{entry.name}”没有信息项 {field_name}")
    form = {
        "grade": item.grade,
        "sensitive_personal": "true" if item.sensitive_personal else "false",
        "masking": item.masking,
    }
    return render(
        request, actor, "item_grade.html", f"调整分级：{item.name}", entry=entry, item=item, form=form
    )


@router.post("/manage/{code}/items/{field_name}/grade", response_class=HTMLResponse)
def item_grade(
    request: Request,
    code: str,
    field_name: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    grade: Annotated[str, Form()] = "",
    sensitive_personal: Annotated[str, Form()] = "",
    masking: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, csrf_token)
    form = {"grade": grade, "sensitive_personal": sensitive_personal, "masking": masking, "reason": reason}
    try:
        change = parse(
            s.ItemGradeChange,
            {
                "grade": grade or None,
                "sensitive_personal": bool_or_none(sensitive_personal),
                "masking": masking or None,
                "reason": reason,
            },
        )
        service.set_item_grade(session, actor, code, field_name, change)
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        entry = service.read_entry(session, actor, code)
        item = entry.item(field_name)
        return render(
            request,
            actor,
            "item_grade.html",
            f"调整分级：{field_name}",
            entry=entry,
            item=item,
            form=form,
            errors=problem,
            status_code=problem.status,
        )
    return redirect(entry_url(code, done="graded") + "#items")
