"""What every catalog service shares: who may do what, loading entries, timeline rows, read models.

Authorisation lives here (DESIGN §3 rule 2), so the API, the pages, the CLI and the demo reach the
same decision:

* reading published entries and the derived lists: every authenticated staff member or system;
* reading drafts, submitted, returned or retired entries: staff of the provider department (its
  subtree), department admins over it, platform admins;
* drafting, editing, submitting, retiring, mounting, grading: the provider department's data officer
  (`data_officer` role, department = `actor.department_id`, subtree included) or a platform admin;
* reviewing: platform admins (the platform operator, 大数据局).

A refusal is a `Forbidden` marked with `.audited(actor, action, …)`; the app's problem handler writes
it to the audit chain after the request's transaction has rolled back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import yiwang.identity as identity
from yiwang.catalog.models import CatalogEntry, CatalogEntryEvent, CatalogMount
from yiwang.catalog.schemas import EntryRead, MountRead
from yiwang.catalog.vocab import code_problem, normalise_code
from yiwang.core import audit, errors, timeline
from yiwang.core.errors import Forbidden, Invalid, NotFound, Problem
from yiwang.core.security import Actor, ActorKind, require_authenticated

EDITOR_ROLE = "data_officer"
REVIEWER_ROLE = "platform_admin"
DEPARTMENT_KINDS = ("department", "unit")


# ================================================================= refusals


def refuse(
    actor: Actor, action: str, detail: str, *, object_type: str = "catalog_entry", object_id: Any = ""
) -> Forbidden:
    """`core.errors.refuse` with the catalog's usual object (an entry)."""
    return errors.refuse(actor, action, detail, object_type=object_type, object_id=object_id)


# ================================================================= who may do what


def require_reader(actor: Actor, action: str = "catalog.read") -> None:
    """Staff and registered systems read the catalog; citizens and enterprises do not."""
    require_authenticated(actor)
    if actor.kind not in (ActorKind.STAFF, ActorKind.SYSTEM):
        raise refuse(actor, action, "政务信息资源目录仅向政务工作人员和接入系统开放")


def own_units(session: Session, actor: Actor) -> frozenset[int] | None:
    """The org units whose unpublished entries `actor` may read; None means all (platform admin)."""
    if actor.is_platform_admin:
        return None
    units: set[int] = set()
    if actor.kind is ActorKind.STAFF and actor.department_id is not None:
        units.update(identity.subtree_ids(session, actor.department_id))
    for root in actor.admin_units:
        units.update(identity.subtree_ids(session, root))
    return frozenset(units)


def editable_units(session: Session, actor: Actor) -> frozenset[int] | None:
    """The org units whose entries `actor` may edit; None means all (platform admin)."""
    if actor.is_platform_admin:
        return None
    # The role must be valid where the officer's department is (held there or above), not anywhere.
    if actor.kind is not ActorKind.STAFF or not actor.holds_for_department(EDITOR_ROLE):
        return frozenset()
    assert actor.department_id is not None
    return frozenset(identity.subtree_ids(session, actor.department_id))


def can_edit(session: Session, actor: Actor, department_id: int) -> bool:
    units = editable_units(session, actor)
    return units is None or department_id in units


def require_editor(session: Session, actor: Actor, entry: CatalogEntry, action: str) -> None:
    require_authenticated(actor)
    if not can_edit(session, actor, entry.department_id):
        if EDITOR_ROLE in actor.roles:
            detail = f"您只能维护本部门的目录，“{entry.name}”由{entry.provider_name}提供"
        else:
            detail = "只有提供部门的数据管理员或平台管理员可以维护目录"
        raise refuse(actor, action, detail, object_id=entry.code)


def require_reviewer(actor: Actor, action: str, object_id: Any = "") -> None:
    require_authenticated(actor)
    if not actor.is_platform_admin:
        raise refuse(actor, action, "只有平台管理员（大数据局）可以审核目录", object_id=object_id)


def can_read(session: Session, actor: Actor, entry: CatalogEntry) -> bool:
    if entry.status == "published":
        return True
    units = own_units(session, actor)
    return units is None or entry.department_id in units


def resolve_department(session: Session, department_id: int, field: str) -> Any:
    """The org unit `department_id` as a provider or requester: it must exist and be a department or unit."""
    try:
        unit = identity.get_org_unit(session, department_id)
    except NotFound:
        raise Invalid.on(field, f"部门 {department_id} 不存在") from None
    if unit.kind not in DEPARTMENT_KINDS or not unit.is_active:
        raise Invalid.on(field, f"“{unit.name}”不是在用的部门或单位")
    return unit


# ================================================================= loading


def parse_code(code: str, field: str = "code") -> str:
    value = normalise_code(code)
    problem = code_problem(value)
    if problem:
        raise Invalid.on(field, problem)
    return value


def load_entry(session: Session, code: str, *, items: bool = False, for_update: bool = False) -> CatalogEntry:
    value = parse_code(code)
    stmt = select(CatalogEntry).where(CatalogEntry.code == value)
    if items:
        stmt = stmt.options(selectinload(CatalogEntry.items))
    if for_update:
        stmt = stmt.with_for_update()
    entry = session.scalars(stmt).first()
    if entry is None:
        raise NotFound(detail=f"目录 {value} 不存在")
    return entry


def active_mount(session: Session, entry_id: int) -> CatalogMount | None:
    return session.scalars(
        select(CatalogMount).where(CatalogMount.entry_id == entry_id, CatalogMount.active.is_(True))
    ).first()


_ENTRY_COLUMNS = tuple(c.key for c in CatalogEntry.__mapper__.column_attrs if c.key != "search_vector")


def entry_values(entry: CatalogEntry) -> dict[str, Any]:
    """The entry's columns as a dict (without the search vector)."""
    return {k: getattr(entry, k) for k in _ENTRY_COLUMNS}


def to_read(entry: CatalogEntry, mount: CatalogMount | None) -> EntryRead:
    data = entry_values(entry)
    data["items"] = list(entry.items)
    data["linked_codes"] = list(entry.linked_codes or [])
    data["mount"] = MountRead.model_validate(mount) if mount is not None else None
    return EntryRead.model_validate(data)


def read_model(session: Session, entry: CatalogEntry) -> EntryRead:
    """The entry as `EntryRead`: its items (loaded if need be) and its live mount."""
    if "items" not in entry.__dict__:
        session.refresh(entry, ["items"])
    return to_read(entry, active_mount(session, entry.id))


# ================================================================= timeline and audit


def add_event(
    session: Session,
    actor: Actor,
    entry: CatalogEntry,
    action: str,
    *,
    from_status: str = "",
    opinion: str = "",
    detail: dict[str, Any] | None = None,
) -> CatalogEntryEvent:
    return timeline.add_event(
        session,
        CatalogEntryEvent,
        actor,
        action,
        from_status=from_status,
        to_status=entry.status,
        opinion=opinion,
        detail=detail,
        entry_id=entry.id,
        version=entry.version,
    )


def audit_entry(
    session: Session, actor: Actor, action: str, entry: CatalogEntry, detail: dict[str, Any] | None = None
) -> None:
    audit.append(
        session,
        actor,
        action,
        object_type="catalog_entry",
        object_id=entry.code,
        detail={"name": entry.name, "status": entry.status, "version": entry.version, **(detail or {})},
    )


def invalid(errors: list[tuple[str, str]]) -> Problem:
    """One 422 listing every failing field."""
    from yiwang.core.errors import FieldError

    fields = [FieldError(f, m) for f, m in errors]
    return Invalid(detail="；".join(m for _, m in errors), errors=fields)
