"""需求目录: a department asks for data it needs (供需对接), a provider or the operator answers."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.catalog.models import CatalogDemand, CatalogEntry
from yiwang.catalog.schemas import DemandAnswer, DemandCreate, DemandList, DemandRead
from yiwang.catalog.service.common import (
    EDITOR_ROLE,
    editable_units,
    refuse,
    require_reader,
    resolve_department,
)
from yiwang.core import audit, clock
from yiwang.core.errors import Conflict, Invalid, NotFound
from yiwang.core.security import Actor, ActorKind, require_authenticated
from yiwang.core.timeline import actor_ref

ANSWERABLE = ("open", "planned")


def _demand(session: Session, demand_id: int, *, for_update: bool = False) -> CatalogDemand:
    stmt = select(CatalogDemand).where(CatalogDemand.id == demand_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        raise NotFound(detail=f"需求 {demand_id} 不存在")
    return row


def file_demand(session: Session, actor: Actor, data: DemandCreate) -> DemandRead:
    """A department's data officer (or a platform admin) records a data demand."""
    action = "catalog.demand.file"
    require_authenticated(actor)
    if actor.kind is not ActorKind.STAFF or not (
        actor.holds_for_department(EDITOR_ROLE) or actor.is_platform_admin
    ):
        raise refuse(
            actor, action, "只有部门数据管理员或平台管理员可以登记数据需求", object_type="catalog_demand"
        )
    requester_id = data.requester_department_id or actor.department_id
    if requester_id is None:
        raise Invalid.on("requester_department_id", "请选择需求部门")
    requester = resolve_department(session, requester_id, "requester_department_id")
    units = editable_units(session, actor)
    if units is not None and requester.id not in units:
        raise refuse(
            actor,
            action,
            f"您只能以本部门名义登记需求，不能代“{requester.name}”登记",
            object_type="catalog_demand",
        )
    provider = None
    if data.provider_department_id is not None:
        provider = resolve_department(session, data.provider_department_id, "provider_department_id")
        if provider.id == requester.id:
            raise Invalid.on("provider_department_id", "提供部门不能是需求部门自己")
    row = CatalogDemand(
        requester_department_id=requester.id,
        requester_name=requester.short_name or requester.name,
        provider_department_id=provider.id if provider else None,
        provider_name=(provider.short_name or provider.name) if provider else "",
        title=data.title,
        description=data.description,
        purpose=data.purpose,
        wanted_items=list(data.wanted_items),
        status="open",
        created_at=clock.now(),
        created_by=actor_ref(actor),
        created_by_name=actor.label()[:100],
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor,
        action,
        object_type="catalog_demand",
        object_id=row.id,
        detail={"title": row.title, "requester": row.requester_name, "provider": row.provider_name},
    )
    return DemandRead.model_validate(row)


def answer_demand(session: Session, actor: Actor, demand_id: int, data: DemandAnswer) -> DemandRead:
    """The provider's data officer (or a platform admin) answers: satisfied by a published entry,
    planned for cataloguing, or rejected with the reason. A demand without a named provider may be
    answered by any department's data officer, who becomes its provider."""
    action = "catalog.demand.answer"
    require_authenticated(actor)
    demand = _demand(session, demand_id, for_update=True)
    units = editable_units(session, actor)
    if units is not None:
        if not units:
            raise refuse(
                actor,
                action,
                "只有提供部门的数据管理员或平台管理员可以答复需求",
                object_type="catalog_demand",
                object_id=demand_id,
            )
        if demand.provider_department_id is not None and demand.provider_department_id not in units:
            raise refuse(
                actor,
                action,
                f"该需求由{demand.provider_name}答复",
                object_type="catalog_demand",
                object_id=demand_id,
            )
        if demand.provider_department_id is None and demand.requester_department_id in units:
            raise refuse(
                actor,
                action,
                "不能答复本部门提出的需求，请由能提供该数据的部门答复",
                object_type="catalog_demand",
                object_id=demand_id,
            )
    if demand.status not in ANSWERABLE:
        raise Conflict(detail="该需求已答复完毕")
    entry_code = data.entry_code
    if data.outcome == "satisfied":
        if not entry_code:
            raise Invalid.on("entry_code", "已满足的需求须给出满足它的目录资源代码")
        status = session.scalar(select(CatalogEntry.status).where(CatalogEntry.code == entry_code))
        if status is None:
            raise Invalid.on("entry_code", f"目录 {entry_code} 不存在")
        if status != "published":
            raise Invalid.on("entry_code", f"目录 {entry_code} 尚未发布")
    if (
        demand.provider_department_id is None
        and actor.department_id is not None
        and not actor.is_platform_admin
    ):
        unit = resolve_department(session, actor.department_id, "provider_department_id")
        demand.provider_department_id = unit.id
        demand.provider_name = unit.short_name or unit.name
    demand.status = data.outcome
    demand.answer = data.answer
    demand.entry_code = entry_code
    demand.answered_at = clock.now()
    demand.answered_by_name = actor.label()[:100]
    session.flush()
    audit.append(
        session,
        actor,
        action,
        object_type="catalog_demand",
        object_id=demand.id,
        detail={"outcome": data.outcome, "entry_code": entry_code},
    )
    return DemandRead.model_validate(demand)


def get_demand(session: Session, actor: Actor, demand_id: int) -> DemandRead:
    require_reader(actor, "catalog.demand.read")
    return DemandRead.model_validate(_demand(session, demand_id))


def demand_list(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    department_id: int | None = None,
    q: str | None = None,
    sort: str = "-created_at",
    offset: int = 0,
    limit: int | None = 50,
) -> DemandList:
    """需求目录: every demand, newest first; filter by status and by department (either side)."""
    require_reader(actor, "catalog.demand.read")
    stmt = select(CatalogDemand)
    if status:
        stmt = stmt.where(CatalogDemand.status == status)
    if department_id:
        stmt = stmt.where(
            (CatalogDemand.requester_department_id == department_id)
            | (CatalogDemand.provider_department_id == department_id)
        )
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(CatalogDemand.title.like(like) | CatalogDemand.description.like(like))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    keys = {
        "created_at": CatalogDemand.created_at,
        "title": CatalogDemand.title,
        "requester": CatalogDemand.requester_name,
        "status": CatalogDemand.status,
    }
    column = keys.get(sort.lstrip("-"), CatalogDemand.created_at)
    order = column.desc() if sort.startswith("-") else column.asc()
    stmt = stmt.order_by(order, CatalogDemand.id.desc()).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [DemandRead.model_validate(r) for r in session.scalars(stmt)]
    return DemandList(total=total, offset=offset, limit=limit or total, items=rows)
