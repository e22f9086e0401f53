"""The entry life cycle: draft → submitted → published (or returned with an opinion) → retired.

Every function here is one command: it checks permission, validates, writes in the caller's
transaction, appends its timeline row and audit record, and publishes its event after commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yiwang.catalog import vocab
from yiwang.catalog.events import EntryPublished, EntryRetired, EntryReturned, EntrySubmitted
from yiwang.catalog.models import CatalogEntry, CatalogEntryEvent, CatalogItem, CatalogMount
from yiwang.catalog.schemas import EntryCreate, EntryRead, EntryUpdate, ItemIn, Review, TimelineEvent
from yiwang.catalog.service import search
from yiwang.catalog.service.common import (
    EDITOR_ROLE,
    add_event,
    audit_entry,
    can_read,
    editable_units,
    invalid,
    load_entry,
    read_model,
    refuse,
    require_editor,
    require_reader,
    require_reviewer,
    resolve_department,
)
from yiwang.core import clock, events
from yiwang.core.db import serialise_on
from yiwang.core.errors import Conflict, Invalid
from yiwang.core.security import Actor, ActorKind, require_authenticated

EDITABLE = ("draft", "returned")
# Entry fields `update_entry` may change (items are handled apart).
_SCALARS = (
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
_MAX_CODE_ATTEMPTS = 5


# ================================================================= validation


def _check_attributes(values: dict[str, Any]) -> None:
    """Rules across fields (GB/T 21063 共享属性 and 开放属性); every failing field is reported."""
    errors: list[tuple[str, str]] = []
    sharing = values["sharing_type"]
    if sharing == "conditional" and not (values.get("sharing_condition") or "").strip():
        errors.append(("sharing_condition", "有条件共享的资源须写明共享条件"))
    if sharing == "none" and not (values.get("unshared_reason") or "").strip():
        errors.append(("unshared_reason", "不予共享的资源须写明不予共享的法律、行政法规或政策依据"))
    if sharing != "none" and not values.get("sharing_method"):
        errors.append(("sharing_method", "请选择共享方式"))
    if sharing == "none" and values.get("open_type") != "none":
        errors.append(("open_type", "不予共享的资源不能向社会开放"))
    if values.get("open_type") == "conditional" and not (values.get("open_condition") or "").strip():
        errors.append(("open_condition", "有条件开放的资源须写明开放条件"))
    if errors:
        raise invalid(errors)


def _check_items(items: list[ItemIn]) -> None:
    errors = []
    for i, item in enumerate(items):
        if (item.grade == "core" or item.sensitive_personal) and item.masking == "none":
            errors.append(
                (f"items.{i}.masking", f"信息项“{item.name}”为核心数据或敏感个人信息，须指定脱敏规则")
            )
    if errors:
        raise invalid(errors)


def _check_linked(session: Session, codes: list[str], own_code: str | None = None) -> None:
    if not codes:
        return
    if own_code and own_code in codes:
        raise Invalid.on("linked_codes", "关联资源代码不能是本目录自己")
    found = set(session.scalars(select(CatalogEntry.code).where(CatalogEntry.code.in_(codes))))
    missing = [c for c in codes if c not in found]
    if missing:
        raise Invalid.on("linked_codes", f"关联资源代码不存在：{'、'.join(missing)}")


def _item_rows(items: list[ItemIn]) -> list[CatalogItem]:
    return [
        CatalogItem(
            position=i,
            field_name=it.field_name,
            name=it.name,
            data_type=it.data_type,
            length=it.length,
            grade=it.grade,
            sensitive_personal=it.sensitive_personal,
            masking=it.masking,
            description=it.description,
        )
        for i, it in enumerate(items, start=1)
    ]


# ================================================================= codes


def next_code(session: Session, category_code: str) -> str:
    """The next free resource code under a classification: `<category>/<6-digit sequence>`."""
    prefix = f"{category_code}/"
    last = session.scalar(
        select(func.max(CatalogEntry.code)).where(CatalogEntry.code.startswith(prefix, autoescape=True))
    )
    seq = int(last.split("/")[1]) + 1 if last else 1
    if seq > 999_999:
        raise Conflict(detail=f"分类 {category_code} 下的顺序码已用完")
    return f"{prefix}{seq:06d}"


def _insert_with_code(session: Session, entry: CatalogEntry, given: bool) -> None:
    """Flush the new entry; a generated code that a concurrent draft took is generated again."""
    if not given:
        # Drafts under one classification take their sequence numbers one at a time (PostgreSQL; a
        # SQLite write already holds the database's lock), so a burst of drafts does not run out of
        # retries; the unique code and the retry below stay as the backstop.
        serialise_on(session, f"catalog.code:{entry.category_code}")
    for _ in range(_MAX_CODE_ATTEMPTS):
        if not given:
            entry.code = next_code(session, entry.category_code)
        try:
            with session.begin_nested():
                session.add(entry)
                session.flush()
            return
        except IntegrityError:
            if given:
                raise Conflict(detail=f"资源代码 {entry.code} 已被使用") from None
    raise Conflict(detail="资源代码生成冲突，请重试")


# ================================================================= commands


def draft_entry(session: Session, actor: Actor, data: EntryCreate) -> EntryRead:
    """A data officer (for their department) or a platform admin drafts a new entry."""
    action = "catalog.entry.draft"
    require_authenticated(actor)
    if actor.kind is not ActorKind.STAFF and not actor.is_platform_admin:
        raise refuse(actor, action, "只有政务工作人员可以编制目录")
    if not (actor.holds_for_department(EDITOR_ROLE) or actor.is_platform_admin):
        raise refuse(actor, action, "只有部门数据管理员或平台管理员可以编制目录")
    department_id = data.department_id or actor.department_id
    if department_id is None:
        raise Invalid.on("department_id", "请选择提供方部门")
    unit = resolve_department(session, department_id, "department_id")
    units = editable_units(session, actor)
    if units is not None and unit.id not in units:
        raise refuse(
            actor,
            action,
            f"您只能为本部门编制目录，不能为“{unit.name}”编制",
            object_type="org_unit",
            object_id=unit.id,
        )
    values = data.model_dump()
    _check_attributes(values)
    _check_items(data.items)
    if data.code and not data.code.startswith(data.category_code + "/"):
        raise Invalid.on("code", f"资源代码应以分类代码 {data.category_code}/ 开头")
    if data.code and session.scalar(select(CatalogEntry.id).where(CatalogEntry.code == data.code)):
        raise Conflict(detail=f"资源代码 {data.code} 已被使用")
    _check_linked(session, data.linked_codes, data.code)
    now = clock.now()
    entry = CatalogEntry(
        code=data.code or "",
        category_code=data.category_code,
        department_id=unit.id,
        provider_name=unit.short_name or unit.name,
        provider_code=unit.credit_code or unit.code,
        linked_codes=list(data.linked_codes),
        status="draft",
        version=1,
        created_at=now,
        created_by=actor.account_id,
        updated_at=now,
        **{k: values[k] for k in _SCALARS},
    )
    entry.items = _item_rows(data.items)
    _insert_with_code(session, entry, bool(data.code))
    add_event(session, actor, entry, "drafted", detail={"items": len(data.items)})
    search.reindex_entry(session, entry, entry.items)
    audit_entry(session, actor, action, entry)
    return read_model(session, entry)


def update_entry(session: Session, actor: Actor, code: str, data: EntryUpdate) -> EntryRead:
    """Change a draft or returned entry; `data.items`, when given, replaces all items."""
    action = "catalog.entry.update"
    entry = load_entry(session, code, items=True, for_update=True)
    require_editor(session, actor, entry, action)
    if entry.status not in EDITABLE:
        raise Conflict(
            detail=f"目录“{entry.name}”{vocab.label(vocab.STATUSES, entry.status)}，"
            "只有草稿或被退回的目录可以修改"
        )
    changes = data.model_dump(exclude_unset=True)
    values = {k: getattr(entry, k) for k in _SCALARS}
    values.update({k: v for k, v in changes.items() if k in _SCALARS and v is not None})
    _check_attributes(values)
    if data.items is not None:
        _check_items(data.items)
    changed: list[str] = [k for k in _SCALARS if values[k] != getattr(entry, k)]
    if data.category_code and data.category_code != entry.category_code:
        entry.category_code = data.category_code
        changed.append("category_code")
    if data.linked_codes is not None and data.linked_codes != list(entry.linked_codes or []):
        _check_linked(session, data.linked_codes, entry.code)
        entry.linked_codes = list(data.linked_codes)
        changed.append("linked_codes")
    for k in _SCALARS:
        setattr(entry, k, values[k])
    if data.items is not None:
        old = [
            (
                i.field_name,
                i.name,
                i.data_type,
                i.length,
                i.grade,
                i.sensitive_personal,
                i.masking,
                i.description,
            )
            for i in entry.items
        ]
        new = [
            (
                i.field_name,
                i.name,
                i.data_type,
                i.length,
                i.grade,
                i.sensitive_personal,
                i.masking,
                i.description,
            )
            for i in data.items
        ]
        if old != new:
            entry.items.clear()
            session.flush()
            entry.items.extend(_item_rows(data.items))
            changed.append("items")
    if not changed:
        return read_model(session, entry)
    old_code = entry.code
    if "category_code" in changed:
        # A code follows its classification; the entry was never published, so nothing refers to it.
        entry.code = next_code(session, entry.category_code)
    entry.version += 1
    entry.updated_at = clock.now()
    session.flush()
    detail: dict[str, Any] = {"changed": changed}
    if entry.code != old_code:
        detail["old_code"] = old_code
    add_event(session, actor, entry, "updated", from_status=entry.status, detail=detail)
    search.reindex_entry(session, entry, entry.items)
    audit_entry(session, actor, action, entry, detail)
    return read_model(session, entry)


def submit_entry(session: Session, actor: Actor, code: str) -> EntryRead:
    """Send a complete draft (or a corrected returned entry) to the platform operator for review."""
    action = "catalog.entry.submit"
    entry = load_entry(session, code, items=True, for_update=True)
    require_editor(session, actor, entry, action)
    if entry.status not in EDITABLE:
        raise Conflict(detail=f"目录“{entry.name}”{vocab.label(vocab.STATUSES, entry.status)}，不能再提交")
    errors: list[tuple[str, str]] = []
    if not entry.items:
        errors.append(("items", "请至少登记一个信息项"))
    if len(entry.abstract.strip()) < 10:
        errors.append(("abstract", "请填写信息资源摘要（不少于 10 个字）"))
    if not entry.contact_name.strip():
        errors.append(("contact_name", "请填写联系人"))
    if not entry.contact_phone.strip():
        errors.append(("contact_phone", "请填写联系电话"))
    if errors:
        raise invalid(errors)
    before = entry.status
    entry.status = "submitted"
    entry.submitted_at = entry.updated_at = clock.now()
    add_event(session, actor, entry, "submitted", from_status=before)
    audit_entry(session, actor, action, entry)
    events.publish(session, EntrySubmitted(code=entry.code, department_id=entry.department_id))
    return read_model(session, entry)


def review_entry(session: Session, actor: Actor, code: str, review: Review) -> EntryRead:
    """The platform operator approves (→ published) or returns (→ returned, opinion required)."""
    action = "catalog.entry.review"
    require_reviewer(actor, action, vocab.normalise_code(code))
    entry = load_entry(session, code, items=True, for_update=True)
    if entry.status != "submitted":
        raise Conflict(
            detail=f"目录“{entry.name}”{vocab.label(vocab.STATUSES, entry.status)}，只能审核已提交的目录"
        )
    opinion = review.opinion.strip()
    before = entry.status
    now = clock.now()
    if review.decision == "return":
        if len(opinion) < 2:
            raise Invalid.on("opinion", "退回时须写明审核意见，说明需要修改的地方")
        entry.status = "returned"
        entry.review_opinion = opinion
        entry.updated_at = now
        add_event(session, actor, entry, "returned", from_status=before, opinion=opinion)
        audit_entry(session, actor, "catalog.entry.return", entry, {"opinion": opinion})
        events.publish(session, EntryReturned(code=entry.code, department_id=entry.department_id))
    else:
        entry.status = "published"
        entry.review_opinion = opinion
        entry.published_at = entry.updated_at = now
        add_event(session, actor, entry, "approved", from_status=before, opinion=opinion)
        audit_entry(session, actor, "catalog.entry.approve", entry, {"opinion": opinion})
        events.publish(session, EntryPublished(code=entry.code, department_id=entry.department_id))
    return read_model(session, entry)


def retire_entry(session: Session, actor: Actor, code: str, reason: str) -> EntryRead:
    """Withdraw an entry from the catalog (撤销). Its live mount ends with it; nothing is deleted."""
    action = "catalog.entry.retire"
    entry = load_entry(session, code, items=True, for_update=True)
    require_editor(session, actor, entry, action)
    if entry.status == "retired":
        raise Conflict(detail=f"目录“{entry.name}”已撤销")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid.on("reason", "请写明撤销原因")
    now = clock.now()
    mount = session.scalars(
        select(CatalogMount).where(CatalogMount.entry_id == entry.id, CatalogMount.active.is_(True))
    ).first()
    if mount is not None:
        mount.active = False
        mount.unmounted_at = now
        mount.unmounted_by_name = actor.label()[:100]
        mount.unmount_reason = f"目录撤销：{reason}"
        add_event(
            session,
            actor,
            entry,
            "unmounted",
            from_status=entry.status,
            opinion=mount.unmount_reason,
            detail={"resource_key": mount.resource_key, "kind": mount.kind},
        )
    before = entry.status
    entry.status = "retired"
    entry.retired_at = entry.updated_at = now
    session.flush()
    add_event(session, actor, entry, "retired", from_status=before, opinion=reason)
    audit_entry(session, actor, action, entry, {"reason": reason})
    events.publish(session, EntryRetired(code=entry.code, department_id=entry.department_id))
    return read_model(session, entry)


# ================================================================= reads


def read_entry(session: Session, actor: Actor, code: str) -> EntryRead:
    """One entry as `actor` may see it: published ones for every staff member and system, the rest
    for the provider department and admins."""
    require_reader(actor)
    entry = load_entry(session, code, items=True)
    if not can_read(session, actor, entry):
        raise refuse(
            actor,
            "catalog.entry.read",
            f"目录“{entry.name}”尚未发布，只有{entry.provider_name}和平台管理员可以查看",
            object_id=entry.code,
        )
    return read_model(session, entry)


def entry_timeline(session: Session, actor: Actor, code: str) -> list[TimelineEvent]:
    require_reader(actor)
    entry = load_entry(session, code)
    if not can_read(session, actor, entry):
        raise refuse(
            actor, "catalog.entry.read", f"目录“{entry.name}”尚未发布，无权查看其记录", object_id=entry.code
        )
    rows = session.scalars(
        select(CatalogEntryEvent)
        .where(CatalogEntryEvent.entry_id == entry.id)
        .order_by(CatalogEntryEvent.at, CatalogEntryEvent.id)
    )
    return [TimelineEvent.model_validate(r) for r in rows]


def get_entry(session: Session, code: str) -> EntryRead:
    """The entry with `code` and its items, whatever its status (for the modules above: exchange,
    governance). NotFound when there is none. No permission check: callers decide what to show."""
    return read_model(session, load_entry(session, code, items=True))
