"""Grants (共享授权): what an approved or narrowed request fixes, read by the pipeline on every call;
revocation by the provider; the lists of grants and the visibility rules shared with requests; and
the exchange's settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.errors import Conflict, Forbidden, Invalid, NotFound
from yiwang.core.security import Actor, ActorKind, require_authenticated
from yiwang.exchange.models import Grant, Setting
from yiwang.exchange.schemas import GrantList, GrantRead, SettingsRead, SettingsUpdate, TimelineEvent
from yiwang.exchange.service.cache import clear_caches
from yiwang.exchange.service.common import (
    add_event,
    get_settings_map,
    officer_units,
    operator_units,
    require_officer_of,
    seen_units,
    timeline,
)


def grant_state(row: Grant, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if now > row.valid_until:
        return "expired"
    if now < row.valid_from:
        return "pending"
    return "active"


def grant_read(row: Grant, now: datetime | None = None) -> GrantRead:
    out = GrantRead.model_validate(row)
    out.state = grant_state(row, now or clock.now())
    return out


def may_see(session: Session, actor: Actor, provider: int, consumer: int, client_id: str | None) -> bool:
    if actor.kind is ActorKind.SYSTEM and actor.client_id and actor.client_id == client_id:
        return True
    units = seen_units(session, actor)
    return units is None or provider in units or consumer in units


def revoke_grant(session: Session, actor: Actor, grant_id: int, reason: str) -> GrantRead:
    """End a grant before its time (the provider's data officer): the next call is refused."""
    action = "exchange.grant.revoke"
    row = session.scalars(select(Grant).where(Grant.id == grant_id).with_for_update()).first()
    if row is None:
        raise NotFound(detail=f"共享授权 {grant_id} 不存在")
    delegation = require_officer_of(
        session, actor, row.provider_dept_id, action, object_type="exchange_grant", object_id=grant_id
    )
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid.on("reason", "请写明撤销授权的原因")
    if row.revoked_at is not None:
        raise Conflict(detail=f"授权 {grant_id} 已于此前撤销")
    now = clock.now()
    row.revoked_at = now
    row.revoked_by_name = actor.label()[:100]
    row.revoke_reason = reason
    add_event(
        session, actor, "grant", row.id, "revoked", from_status="active", to_status="revoked", opinion=reason
    )
    audit.append(
        session,
        actor,
        action,
        object_type="exchange_grant",
        object_id=str(row.id),
        purpose=row.purpose,
        detail={
            "reason": reason,
            "client": row.client_id,
            "resource": row.resource_key,
            **({"delegation": delegation} if delegation else {}),
        },
    )
    session.flush()
    return grant_read(row, now)


def box_filter(
    session: Session,
    actor: Actor,
    box: str,
    provider_col: Any,
    consumer_col: Any,
    client_col: Any,
    action: str,
) -> Any:
    """The WHERE clause of a list for `actor`: incoming (as provider), outgoing (as consumer) or all."""
    require_authenticated(actor)
    if box not in ("incoming", "outgoing", "all"):
        raise Invalid.on("box", "范围应为待我方审批、我方提出或全部")
    if actor.kind is ActorKind.SYSTEM and actor.client_id and not actor.is_platform_admin:
        if box == "incoming":
            return false()
        return client_col == actor.client_id
    operators = operator_units(session, actor)
    if box == "all":
        if operators is None:
            return None
        if operators:
            seen = sorted(operators | (officer_units(session, actor) or frozenset()))
            return or_(provider_col.in_(seen), consumer_col.in_(seen))
        box = "incoming"
    units = officer_units(session, actor)
    if units is None:
        return None
    if not units:
        # An operator without a department of its own sees its reach in every box.
        if operators is None:
            return None
        if operators:
            return or_(provider_col.in_(sorted(operators)), consumer_col.in_(sorted(operators)))
        what = "共享授权" if action.split(".")[1:2] == ["grant"] else "共享申请"
        raise Forbidden(detail=f"只有部门数据管理员和平台运营人员可以查看{what}").audited(actor, action)
    return (provider_col if box == "incoming" else consumer_col).in_(sorted(units))


def get_grant(session: Session, actor: Actor, grant_id: int) -> tuple[GrantRead, list[TimelineEvent]]:
    require_authenticated(actor)
    row = session.get(Grant, grant_id)
    if row is None:
        raise NotFound(detail=f"共享授权 {grant_id} 不存在")
    if not may_see(session, actor, row.provider_dept_id, row.consumer_dept_id, row.client_id):
        raise Forbidden(detail="只有授权双方和平台运营人员可以查看该授权").audited(
            actor, "exchange.grant.read", object_type="exchange_grant", object_id=str(grant_id)
        )
    return grant_read(row), [TimelineEvent.model_validate(e) for e in timeline(session, "grant", row.id)]


def list_grants(
    session: Session,
    actor: Actor,
    *,
    box: str = "incoming",
    state: str = "",
    resource_key: str = "",
    offset: int = 0,
    limit: int = 50,
) -> GrantList:
    G = Grant
    where = box_filter(
        session, actor, box, G.provider_dept_id, G.consumer_dept_id, G.client_id, "exchange.grant.list"
    )
    now = clock.now()
    conds = [] if where is None else [where]
    if resource_key:
        conds.append(G.resource_key == resource_key)
    if state == "active":
        conds += [G.revoked_at.is_(None), G.valid_from <= now, G.valid_until >= now]
    elif state == "revoked":
        conds.append(G.revoked_at.is_not(None))
    elif state == "expired":
        conds += [G.revoked_at.is_(None), G.valid_until < now]
    elif state == "pending":
        conds += [G.revoked_at.is_(None), G.valid_from > now]
    elif state:
        raise Invalid.on("state", "状态应为 active、expired、pending 或 revoked")
    total = session.execute(select(func.count()).select_from(G).where(*conds)).scalar_one()
    rows = session.scalars(select(G).where(*conds).order_by(G.id.desc()).offset(offset).limit(limit))
    return GrantList(total=total, offset=offset, limit=limit, items=[grant_read(r, now) for r in rows])


# ================================================================= settings


def read_settings(session: Session, actor: Actor) -> SettingsRead:
    require_authenticated(actor)
    if actor.kind not in (ActorKind.STAFF, ActorKind.SYSTEM):
        raise Forbidden(detail="共享交换设置仅向政务工作人员开放").audited(actor, "exchange.settings.read")
    return SettingsRead(**get_settings_map(session))


def update_settings(session: Session, actor: Actor, data: SettingsUpdate) -> SettingsRead:
    action = "exchange.settings.update"
    require_authenticated(actor)
    if not actor.is_platform_admin:
        raise Forbidden(detail="只有平台管理员可以修改共享交换设置").audited(actor, action)
    changes = data.model_dump(exclude_none=True)
    now = clock.now()
    for key, value in changes.items():
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=str(value), updated_at=now, updated_by=actor.label()[:100]))
        else:
            row.value, row.updated_at, row.updated_by = str(value), now, actor.label()[:100]
    session.flush()
    audit.append(session, actor, action, object_type="exchange_setting", detail=changes)
    clear_caches()
    return SettingsRead(**get_settings_map(session))
