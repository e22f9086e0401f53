"""The organisation tree in the console: the nested tree, one unit, the units for choosers, and
adding, renaming, re-sorting, deactivating and reactivating units.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.errors import Conflict, FieldError, Forbidden, Invalid
from yiwang.core.ids import validate_credit_code
from yiwang.core.security import Actor
from yiwang.identity.admin_schemas import OrgNode, OrgTree, OrgUnitCreate, OrgUnitRead, OrgUnitUpdate
from yiwang.identity.models import Account, OrgUnit
from yiwang.identity.service.accounts import require_admin_of
from yiwang.identity.service.admin.common import (
    _admin_paths,
    _require_platform_admin,
    _within,
    require_console,
)
from yiwang.identity.service.org import (
    ALLOWED_PARENTS,
    KIND_LABELS,
    ORG_KINDS,
    find_org_unit_by_code,
    get_org_unit,
)


def _unit_read(unit: OrgUnit, staff_count: int = 0) -> dict[str, Any]:
    return {
        "id": unit.id,
        "code": unit.code,
        "name": unit.name,
        "short_name": unit.short_name,
        "kind": unit.kind,
        "kind_label": KIND_LABELS.get(unit.kind, unit.kind),
        "parent_id": unit.parent_id,
        "level": unit.level,
        "region_code": unit.region_code,
        "credit_code": unit.credit_code,
        "sort": unit.sort,
        "is_active": unit.is_active,
        "staff_count": staff_count,
    }


def _sibling_order(unit: OrgUnit) -> tuple[int, int, str]:
    """Under a region, its departments (本级部门) come before the regions below it; then by sort, code."""
    return (0 if unit.kind in ("department", "unit") else 1, unit.sort, unit.code)


def _active_staff(session: Session, unit_id: int) -> int:
    """How many active staff accounts belong to the unit itself (not its subtree)."""
    count = session.scalar(
        select(func.count(Account.id)).where(Account.department_id == unit_id, Account.is_active.is_(True))
    )
    return count or 0


def org_tree(session: Session, actor: Actor, *, include_inactive: bool = True) -> OrgTree:
    """The tree the actor administers, nested: the whole tree for a platform admin, the subtrees of
    their units for a department admin. Two queries whatever its size."""
    require_console(actor)
    query = select(OrgUnit)
    if not actor.is_platform_admin:
        query = query.where(_within(OrgUnit.path, _admin_paths(session, actor)))
    if not include_inactive:
        query = query.where(OrgUnit.is_active.is_(True))
    units = sorted(session.scalars(query), key=lambda u: (u.level, *_sibling_order(u)))
    ids = [u.id for u in units]
    staff: dict[int, int] = {}
    if ids:
        rows = session.execute(
            select(Account.department_id, func.count(Account.id))
            .where(Account.kind == "staff", Account.is_active.is_(True))
            .group_by(Account.department_id)
        )
        staff = {dept: n for dept, n in rows if dept is not None}
    nodes = {u.id: OrgNode(**_unit_read(u, staff.get(u.id, 0))) for u in units}
    roots: list[OrgNode] = []
    for u in units:  # parents come first: ordered by level
        parent = nodes.get(u.parent_id) if u.parent_id is not None else None
        (parent.children if parent is not None else roots).append(nodes[u.id])
    return OrgTree(roots=roots, total=len(units))


def get_org_unit_read(session: Session, actor: Actor, unit_id: int) -> OrgUnitRead:
    require_console(actor)
    unit = require_admin_of(session, actor, unit_id)
    return OrgUnitRead(**_unit_read(unit, _active_staff(session, unit.id)))


def administrable_units(session: Session, actor: Actor) -> list[OrgUnitRead]:
    """Flat list of active units the actor administers, in tree order, for choosers in forms."""
    require_console(actor)
    query = select(OrgUnit).where(OrgUnit.is_active.is_(True)).order_by(OrgUnit.path)
    if not actor.is_platform_admin:
        query = query.where(_within(OrgUnit.path, _admin_paths(session, actor)))
    units = list(session.scalars(query))
    # Order by tree position, siblings by sort then code (paths hold ids, not the display order).
    by_parent: dict[int | None, list[OrgUnit]] = defaultdict(list)
    known = {u.id for u in units}
    for u in units:
        by_parent[u.parent_id if u.parent_id in known else None].append(u)
    out: list[OrgUnitRead] = []

    def walk(parent: int | None) -> None:
        for u in sorted(by_parent.get(parent, []), key=_sibling_order):
            out.append(OrgUnitRead(**_unit_read(u)))
            walk(u.id)

    walk(None)
    return out


def create_org_unit(session: Session, actor: Actor, data: OrgUnitCreate) -> OrgUnitRead:
    """Add a node under an active parent the actor administers (a top-level node needs a platform
    admin), in its place in the tree: the one path for the console, the API and the demo (as
    `PLATFORM`)."""
    require_console(actor)
    parent = None
    if data.parent_id is None:
        _require_platform_admin(actor, "创建顶层机构")
    else:
        parent = session.get(OrgUnit, data.parent_id)
        if parent is None:
            raise Invalid.on("parent_id", "上级机构不存在")
        require_admin_of(session, actor, parent.id)
        if not parent.is_active:
            raise Invalid.on("parent_id", "上级机构已停用，不能在其下新建机构")
    code = data.code.strip()
    name = data.name.strip()
    if data.kind not in ORG_KINDS:
        raise Invalid.on("kind", "组织类型不正确")
    if not name:
        raise Invalid.on("name", "名称不能为空")
    if not code:
        raise Invalid.on("code", "编码不能为空")
    if not all(c.isalnum() or c in "-_." for c in code) or not code.isascii():
        raise Invalid.on("code", "编码只能包含字母、数字、连字符、点和下划线")
    if (parent.kind if parent else None) not in ALLOWED_PARENTS[data.kind]:
        where = KIND_LABELS.get(parent.kind, parent.kind) if parent else "顶层"
        raise Invalid.on("parent_id", f"{KIND_LABELS[data.kind]}不能建在{where}之下")
    if find_org_unit_by_code(session, code) is not None:
        message = f"组织编码 {code} 已存在"
        raise Conflict(detail=message, errors=[FieldError("code", message)])
    credit_code = data.credit_code or None
    if credit_code:
        validate_credit_code(credit_code, "credit_code")
        if session.scalars(select(OrgUnit.id).where(OrgUnit.credit_code == credit_code)).first():
            raise Conflict(detail=f"统一社会信用代码 {credit_code} 已被其他机构使用")
    unit = OrgUnit(
        code=code,
        name=name,
        short_name=data.short_name or name,
        kind=data.kind,
        parent_id=parent.id if parent else None,
        level=(parent.level + 1) if parent else 0,
        region_code=data.region_code or (parent.region_code if parent else ""),
        credit_code=credit_code,
        sort=data.sort,
        path="/",
    )
    session.add(unit)
    session.flush()
    # The materialised path holds the node's own id, known only once it is inserted.
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    audit.append(
        session,
        actor,
        "identity.org.create",
        object_type="org_unit",
        object_id=str(unit.id),
        detail={"code": unit.code, "name": unit.name, "kind": unit.kind, "parent_id": unit.parent_id},
    )
    return OrgUnitRead(**_unit_read(unit))


def update_org_unit(session: Session, actor: Actor, unit_id: int, data: OrgUnitUpdate) -> OrgUnitRead:
    """Rename, re-sort, deactivate or reactivate a unit. A unit with active staff or active children
    cannot be deactivated; one under an inactive parent cannot be reactivated."""
    require_console(actor)
    unit = require_admin_of(session, actor, unit_id)
    changes: dict[str, list[Any]] = {}
    if data.name is not None:
        if not data.name:
            raise Invalid.on("name", "名称不能为空")
        if data.name != unit.name:
            changes["name"] = [unit.name, data.name]
            unit.name = data.name
    if data.short_name is not None and data.short_name != unit.short_name:
        changes["short_name"] = [unit.short_name, data.short_name or unit.name]
        unit.short_name = data.short_name or unit.name
    if data.sort is not None and data.sort != unit.sort:
        changes["sort"] = [unit.sort, data.sort]
        unit.sort = data.sort
    if data.is_active is not None and data.is_active != unit.is_active:
        if not data.is_active:
            if unit.id in actor.admin_units and not actor.is_platform_admin:
                raise Forbidden(detail="不能停用您所管理的本级机构，请联系上级管理员")
            staff = _active_staff(session, unit.id)
            if staff:
                raise Conflict(
                    detail=f"该机构还有 {staff} 个在用工作人员账号，请先调出或停用这些账号再停用机构"
                )
            children = session.scalar(
                select(func.count(OrgUnit.id)).where(
                    OrgUnit.parent_id == unit.id, OrgUnit.is_active.is_(True)
                )
            )
            if children:
                raise Conflict(detail=f"该机构还有 {children} 个在用的下级机构，请先停用下级机构")
        elif unit.parent_id is not None:
            parent = get_org_unit(session, unit.parent_id)
            if not parent.is_active:
                raise Invalid.on("is_active", "上级机构已停用，请先启用上级机构")
        changes["is_active"] = [unit.is_active, data.is_active]
        unit.is_active = data.is_active
    if changes:
        session.flush()
        audit.append(
            session,
            actor,
            "identity.org.update",
            object_type="org_unit",
            object_id=str(unit.id),
            detail={"code": unit.code, "changes": changes},
        )
    return OrgUnitRead(**_unit_read(unit, _active_staff(session, unit.id)))
