"""Mounting (挂接): binding a published entry to the live resource that serves it, and grading items.

An entry is *mounted* while it has an active `catalog_mount` row: to a registry resource (its items
must all be fields of the resource, and the resource must belong to the provider), to an API
endpoint (form 接口) or to a file (form 文件). Unmounting keeps the row, marked inactive.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

import yiwang.identity as identity
from yiwang.catalog import vocab
from yiwang.catalog.events import EntryMounted, EntryUnmounted, ItemGradeChanged
from yiwang.catalog.models import CatalogEntry, CatalogMount
from yiwang.catalog.resources import Resource, find_resource, list_resources
from yiwang.catalog.schemas import EntryRead, ItemGradeChange, ItemRead, MountCreate, ResourceOption
from yiwang.catalog.service import search
from yiwang.catalog.service.common import (
    add_event,
    audit_entry,
    can_read,
    invalid,
    load_entry,
    read_model,
    refuse,
    require_editor,
    require_reader,
)
from yiwang.core import clock, events
from yiwang.core.errors import Conflict, FieldError, Invalid, NotFound
from yiwang.core.security import Actor
from yiwang.core.timeline import actor_ref

_ENDPOINT = re.compile(r"^(https?://[^\s/$.?#][^\s]*|/[^\s]*)$")


def _resource_department_id(session: Session, resource: Resource) -> int | None:
    if not resource.department:
        return None
    unit = identity.find_org_unit_by_code(session, resource.department)
    return unit.id if unit is not None else None


def mount_entry(session: Session, actor: Actor, code: str, data: MountCreate) -> EntryRead:
    """Bind a published entry to a live resource (one live binding per entry and per resource)."""
    action = "catalog.entry.mount"
    entry = load_entry(session, code, items=True, for_update=True)
    require_editor(session, actor, entry, action)
    if entry.status != "published":
        raise Conflict(
            detail=f"目录“{entry.name}”{vocab.label(vocab.STATUSES, entry.status)}，只有已发布的目录才能挂接"
        )
    current = session.scalars(
        select(CatalogMount).where(CatalogMount.entry_id == entry.id, CatalogMount.active.is_(True))
    ).first()
    if current is not None:
        raise Conflict(detail=f"目录“{entry.name}”已挂接，请先解除现有挂接")
    resource_key: str | None = None
    if data.kind == "resource":
        resource = find_resource(data.resource_key or "")
        if resource is None:
            raise Invalid.on("resource_key", f"基础库中没有标识为“{data.resource_key}”的资源")
        owner = _resource_department_id(session, resource)
        if owner is not None and owner != entry.department_id:
            raise Invalid.on(
                "resource_key",
                f"资源“{resource.name}”由{resource.department_name or resource.department}提供，"
                f"不能挂接到{entry.provider_name}的目录",
            )
        fields = set(resource.field_names)
        unknown = [i for i in entry.items if i.field_name not in fields]
        if unknown:
            listed = "、".join(f"{i.name}（{i.field_name}）" for i in unknown)
            raise Invalid(
                detail=f"以下信息项不是资源“{resource.name}”的字段：{listed}",
                errors=[FieldError("items", f"资源“{resource.name}”没有字段：{listed}")],
            )
        taken = session.scalars(
            select(CatalogEntry.code)
            .join(CatalogMount, CatalogMount.entry_id == CatalogEntry.id)
            .where(CatalogMount.resource_key == resource.key, CatalogMount.active.is_(True))
        ).first()
        if taken is not None:
            raise Conflict(detail=f"资源“{resource.name}”已挂接到目录 {taken}")
        resource_key = resource.key
    elif data.kind == "api":
        if entry.form != "api":
            raise Invalid.on("kind", "只有资源格式为“接口”的目录才能挂接接口地址")
        if not _ENDPOINT.fullmatch(data.endpoint):
            raise Invalid.on("endpoint", "接口地址应为 http(s):// 开头的网址或以 / 开头的路径")
    else:
        if entry.form != "file":
            raise Invalid.on("kind", "只有资源格式为“文件”的目录才能挂接文件")
    mount = CatalogMount(
        entry_id=entry.id,
        kind=data.kind,
        resource_key=resource_key,
        endpoint=data.endpoint if data.kind == "api" else "",
        description=data.description,
        active=True,
        mounted_at=clock.now(),
        mounted_by=actor_ref(actor),
        mounted_by_name=actor.label()[:100],
    )
    session.add(mount)
    session.flush()
    detail = {"kind": data.kind, "resource_key": resource_key, "endpoint": mount.endpoint}
    add_event(session, actor, entry, "mounted", from_status=entry.status, detail=detail)
    audit_entry(session, actor, action, entry, detail)
    events.publish(session, EntryMounted(code=entry.code, resource_key=resource_key, kind=data.kind))
    return read_model(session, entry)


def unmount_entry(session: Session, actor: Actor, code: str, reason: str) -> EntryRead:
    action = "catalog.entry.unmount"
    entry = load_entry(session, code, items=True, for_update=True)
    require_editor(session, actor, entry, action)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid.on("reason", "请写明解除挂接的原因")
    mount = session.scalars(
        select(CatalogMount).where(CatalogMount.entry_id == entry.id, CatalogMount.active.is_(True))
    ).first()
    if mount is None:
        raise Conflict(detail=f"目录“{entry.name}”没有挂接资源")
    mount.active = False
    mount.unmounted_at = clock.now()
    mount.unmounted_by_name = actor.label()[:100]
    mount.unmount_reason = reason
    session.flush()
    detail = {"kind": mount.kind, "resource_key": mount.resource_key}
    add_event(session, actor, entry, "unmounted", from_status=entry.status, opinion=reason, detail=detail)
    audit_entry(session, actor, action, entry, {**detail, "reason": reason})
    events.publish(session, EntryUnmounted(code=entry.code, resource_key=mount.resource_key, kind=mount.kind))
    return read_model(session, entry)


def mount_history(session: Session, actor: Actor, code: str) -> list[CatalogMount]:
    require_reader(actor)
    entry = load_entry(session, code)
    if not can_read(session, actor, entry):
        raise refuse(
            actor,
            "catalog.entry.read",
            f"目录“{entry.name}”尚未发布，无权查看其挂接记录",
            object_id=entry.code,
        )
    return list(
        session.scalars(
            select(CatalogMount)
            .where(CatalogMount.entry_id == entry.id)
            .order_by(CatalogMount.mounted_at.desc(), CatalogMount.id.desc())
        )
    )


def resource_options(session: Session, actor: Actor) -> list[ResourceOption]:
    """Every registry resource with the code of the entry it is mounted on (if any)."""
    require_reader(actor)
    bound = dict(
        session.execute(
            select(CatalogMount.resource_key, CatalogEntry.code)
            .join(CatalogEntry, CatalogEntry.id == CatalogMount.entry_id)
            .where(CatalogMount.active.is_(True), CatalogMount.resource_key.is_not(None))
        ).all()
    )
    return [
        ResourceOption(
            key=r.key,
            name=r.name,
            department=r.department_name or r.department,
            fields=list(r.field_names),
            mounted_by=bound.get(r.key),
        )
        for r in list_resources()
    ]


def entry_for_resource(session: Session, resource_key: str) -> EntryRead | None:
    """The published entry a registry resource is mounted on, or None (for the exchange)."""
    entry = session.scalars(
        select(CatalogEntry)
        .join(CatalogMount, CatalogMount.entry_id == CatalogEntry.id)
        .where(CatalogMount.resource_key == resource_key, CatalogMount.active.is_(True))
    ).first()
    if entry is None:
        return None
    return read_model(session, entry)


# ================================================================= grading


def set_item_grade(
    session: Session, actor: Actor, code: str, field_name: str, change: ItemGradeChange
) -> ItemRead:
    """Set a data item's grade (一般/重要/核心), its PIPL sensitivity and masking rule.

    For the provider's data officer or a platform admin (governance calls it too); allowed in every
    status but retired, so a published entry's grading can be corrected without a new review."""
    action = "catalog.item.grade"
    entry = load_entry(session, code, items=True, for_update=True)
    require_editor(session, actor, entry, action)
    if entry.status == "retired":
        raise Conflict(detail=f"目录“{entry.name}”已撤销，不能再调整分级")
    item = next((i for i in entry.items if i.field_name == field_name), None)
    if item is None:
        raise NotFound(detail=f"目录“{entry.name}”没有信息项 {field_name}")
    sensitive = item.sensitive_personal if change.sensitive_personal is None else change.sensitive_personal
    masking = item.masking if change.masking is None else change.masking
    if (change.grade == "core" or sensitive) and masking == "none":
        raise invalid([("masking", f"信息项“{item.name}”为核心数据或敏感个人信息，须指定脱敏规则")])
    before = {"grade": item.grade, "sensitive_personal": item.sensitive_personal, "masking": item.masking}
    after = {"grade": change.grade, "sensitive_personal": sensitive, "masking": masking}
    if before == after:
        return ItemRead.model_validate(item)
    item.grade, item.sensitive_personal, item.masking = change.grade, sensitive, masking
    entry.version += 1
    entry.updated_at = clock.now()
    session.flush()
    detail = {"field_name": field_name, "before": before, "after": after}
    add_event(
        session,
        actor,
        entry,
        "grade_changed",
        from_status=entry.status,
        opinion=change.reason.strip(),
        detail=detail,
    )
    audit_entry(session, actor, action, entry, {**detail, "reason": change.reason.strip()})
    search.reindex_entry(session, entry, entry.items)
    events.publish(
        session,
        ItemGradeChanged(
            code=entry.code,
            field_name=field_name,
            grade=change.grade,
            sensitive_personal=sensitive,
            masking=masking,
        ),
    )
    return ItemRead.model_validate(item)
