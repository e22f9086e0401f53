"""Who may do what in data governance (DESIGN §3 rule 2: decided here, for API, pages and CLI alike).

* load a file as the **authoritative** source, edit a resource's rules, correct, dismiss and reload its
  rejected rows, resolve its conflicts, grade its data items: the data officer (`data_officer` role) of
  the department that owns the resource (`ResourceSpec.department`; the officer's department or a
  unit above it, as in the catalog), or a platform admin;
* load a file as a **non-authoritative** source (多元校核: cross-checking another department's
  registry): any department's data officer, for their own department; a platform admin for any;
* read loads, reports and rejected rows: the owning department's and the source department's data
  officers, platform admins; read conflicts: both departments' data officers, platform admins;
* read rule sets and grading suggestions: any data officer or platform admin.

A refusal is a `Forbidden` marked with `Problem.audited(actor, action, …)`: the web layer appends it
to the audit chain after the request's transaction has rolled back (a caller outside the web layer —
a script — records `problem.refusal` with `core.audit.record_refusal`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from yiwang import identity, registry
from yiwang.core.errors import Invalid, refuse
from yiwang.core.security import Actor, ActorKind, require_authenticated

OFFICER_ROLE = "data_officer"


def is_officer(actor: Actor) -> bool:
    """A data officer of the actor's own department: the role held there or above, not anywhere."""
    return actor.kind is ActorKind.STAFF and actor.holds_for_department(OFFICER_ROLE)


def actor_department(session: Session, actor: Actor) -> str | None:
    """The short code of the actor's own department (org unit code), for a data officer."""
    if actor.department_id is None:
        return None
    try:
        return identity.get_org_unit(session, actor.department_id).code
    except Exception:
        return None


def department_name(session: Session, code: str) -> str:
    unit = identity.find_org_unit_by_code(session, code) if code else None
    return unit.short_name or unit.name if unit is not None else code


def department_unit_id(session: Session, code: str) -> int | None:
    unit = identity.find_org_unit_by_code(session, code)
    return unit.id if unit is not None else None


def _covers(session: Session, actor: Actor, department_code: str) -> bool:
    """True when the officer's department is `department_code` or a unit above it."""
    if not is_officer(actor):
        return False
    unit_id = department_unit_id(session, department_code)
    if unit_id is None or actor.department_id is None:
        return False
    return unit_id in identity.subtree_ids(session, actor.department_id)


def can_manage(session: Session, actor: Actor, spec: registry.ResourceSpec) -> bool:
    return actor.is_platform_admin or _covers(session, actor, spec.department)


def require_manage(
    session: Session, actor: Actor, spec: registry.ResourceSpec, action: str, what: str = "进行此操作"
) -> None:
    require_authenticated(actor)
    if can_manage(session, actor, spec):
        return
    if is_officer(actor):
        detail = f"「{spec.name}」由{spec.department_name}负责，您只能为本部门的资源{what}"
    else:
        detail = f"只有{spec.department_name}的数据管理员或平台管理员可以{what}"
    raise refuse(actor, action, detail, object_type="registry_resource", object_id=spec.key)


def require_officer(actor: Actor, action: str) -> None:
    """Data officers and platform admins only (reading rule sets, suggestions, lists)."""
    require_authenticated(actor)
    if not (actor.is_platform_admin or is_officer(actor)):
        raise refuse(actor, action, "数据治理功能仅向部门数据管理员和平台管理员开放")


def visible_departments(session: Session, actor: Actor) -> set[str] | None:
    """Department codes whose loads and conflicts the actor sees; None means all (platform admin)."""
    if actor.is_platform_admin:
        return None
    if not is_officer(actor) or actor.department_id is None:
        return set()
    units = identity.subtree_ids(session, actor.department_id)
    codes: set[str] = set()
    for unit_id in units:
        try:
            codes.add(identity.get_org_unit(session, unit_id).code)
        except Exception:  # pragma: no cover - a unit deleted under us
            continue
    return codes


def resolve_source(
    session: Session, actor: Actor, spec: registry.ResourceSpec, source_department: str | None
) -> tuple[str, bool]:
    """(source department code, authoritative) for a load by `actor`, or a refusal.

    A data officer of the owner loads authoritatively; an officer of another department loads as a
    non-authoritative source for their own department (cross-checking); a platform admin loads for
    `source_department` (default: the owner)."""
    require_authenticated(actor)
    action = "governance.load"
    wanted = (source_department or "").strip() or None
    if wanted is not None and identity.find_org_unit_by_code(session, wanted) is None:
        raise Invalid.on("source_department", f"部门代码“{wanted}”不存在")
    if actor.is_platform_admin:
        source = wanted or spec.department
        return source, source == spec.department
    if not is_officer(actor):
        raise refuse(
            actor,
            action,
            "只有部门数据管理员或平台管理员可以装载数据",
            object_type="registry_resource",
            object_id=spec.key,
        )
    own = actor_department(session, actor) or ""
    if _covers(session, actor, spec.department) and (wanted is None or wanted == spec.department):
        return spec.department, True
    if wanted is not None and wanted != own:
        raise refuse(
            actor,
            action,
            f"您只能以本部门（{department_name(session, own)}）的名义提供数据",
            object_type="registry_resource",
            object_id=spec.key,
        )
    return own, False
