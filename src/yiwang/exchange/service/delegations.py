"""Delegations (委托): how a platform operator may decide for a providing department.

Sharing decisions belong to the provider (DESIGN §3 rule 9): its data officer approves, narrows or
refuses, revokes grants and answers objections. An operator (a platform administrator) holds no such
power by role. When a provider cannot act — its officer is away, the post is vacant — its data officer
may delegate the decisions, in writing, to one named operator account for at most
`MAX_DELEGATION_DAYS` days. The delegation is audited when made, named in the audit record of every
decision taken under it, and ends at its date or when the officer (or the delegate) revokes it. Nobody
delegates to themself, and a delegate still may not decide a request of their own department
(`requests._own_request`).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import yiwang.identity as identity
from yiwang.core import audit, clock
from yiwang.core.clock import SHANGHAI
from yiwang.core.errors import Conflict, Forbidden, Invalid, NotFound
from yiwang.core.security import Actor, ActorKind, require_own_channel
from yiwang.exchange.models import Delegation
from yiwang.exchange.schemas import DelegationCreate, DelegationRead
from yiwang.exchange.service.common import (
    add_event,
    officer_units,
    seen_units,
    subtree,
)

MAX_DELEGATION_DAYS = 90


def _read(row: Delegation, now: datetime | None = None) -> DelegationRead:
    out = DelegationRead.model_validate(row)
    out.active = row.revoked_at is None and row.valid_until > (now or clock.now())
    return out


def _refuse(actor: Actor, action: str, detail: str, object_id: str = "") -> Forbidden:
    return Forbidden(detail=detail).audited(
        actor, action, object_type="exchange_delegation", object_id=object_id
    )


def create_delegation(session: Session, actor: Actor, data: DelegationCreate) -> DelegationRead:
    """The provider's data officer delegates its sharing decisions to an operator account."""
    action = "exchange.delegation.create"
    require_own_channel(actor)
    units = officer_units(session, actor)
    if units is not None and data.provider_dept_id not in units:
        raise _refuse(actor, action, "只有提供部门的数据管理员可以委托本部门的共享审批")
    if data.delegate_account_id == actor.account_id:
        raise Invalid.on("delegate_account_id", "不能委托给自己")
    try:
        account = identity.get_account(session, data.delegate_account_id)
    except NotFound:
        raise Invalid.on("delegate_account_id", "受托账号不存在") from None
    delegate = identity.build_actor(session, account)
    if not account.is_active or not delegate.is_platform_admin:
        raise Invalid.on("delegate_account_id", "只能委托给在职的平台运营人员（平台管理员）")
    today = clock.today_local().date()
    if data.valid_until < today:
        raise Invalid.on("valid_until", "委托截止日期已过")
    if data.valid_until > today + timedelta(days=MAX_DELEGATION_DAYS):
        raise Invalid.on("valid_until", f"委托期限最长 {MAX_DELEGATION_DAYS} 天")
    try:
        provider_name = identity.get_org_unit(session, data.provider_dept_id).name
    except NotFound:
        raise Invalid.on("provider_dept_id", "提供部门不存在") from None
    now = clock.now()
    row = Delegation(
        provider_dept_id=data.provider_dept_id,
        provider_dept_name=provider_name[:100],
        delegate_account_id=account.id,
        delegate_name=account.display_name[:100],
        reason=" ".join(data.reason.split()),
        valid_until=datetime.combine(data.valid_until, time.max, SHANGHAI),
        created_at=now,
        created_by=actor.account_id,
        created_by_name=actor.label()[:100],
        revoked_by_name="",
    )
    session.add(row)
    session.flush()
    add_event(session, actor, "delegation", row.id, "delegated", to_status="active", opinion=row.reason)
    audit.append(
        session,
        actor,
        action,
        object_type="exchange_delegation",
        object_id=str(row.id),
        purpose=row.reason,
        detail={
            "provider": row.provider_dept_id,
            "delegate": row.delegate_account_id,
            "valid_until": row.valid_until.isoformat(),
        },
    )
    return _read(row, now)


def revoke_delegation(session: Session, actor: Actor, delegation_id: int) -> DelegationRead:
    """End a delegation early: the provider's data officer, or the delegate giving it back."""
    action = "exchange.delegation.revoke"
    require_own_channel(actor)
    row = session.scalars(select(Delegation).where(Delegation.id == delegation_id).with_for_update()).first()
    if row is None:
        raise NotFound(detail=f"委托 {delegation_id} 不存在")
    units = officer_units(session, actor)
    is_delegate = actor.account_id is not None and actor.account_id == row.delegate_account_id
    if not is_delegate and units is not None and row.provider_dept_id not in units:
        raise _refuse(actor, action, "只有委托部门的数据管理员或受托人可以撤销委托", str(delegation_id))
    if row.revoked_at is not None:
        raise Conflict(detail=f"委托 {delegation_id} 已于此前撤销")
    now = clock.now()
    row.revoked_at = now
    row.revoked_by_name = actor.label()[:100]
    add_event(session, actor, "delegation", row.id, "revoked", from_status="active", to_status="revoked")
    audit.append(
        session,
        actor,
        action,
        object_type="exchange_delegation",
        object_id=str(row.id),
        detail={"provider": row.provider_dept_id, "delegate": row.delegate_account_id},
    )
    session.flush()
    return _read(row, now)


def list_delegations(session: Session, actor: Actor, *, active_only: bool = False) -> list[DelegationRead]:
    """Delegations the actor made or holds, or may see as an operator (within its reach)."""
    require_own_channel(actor)
    D = Delegation
    conds = []
    seen = seen_units(session, actor)
    if seen is not None:
        staff = actor.kind is ActorKind.STAFF and actor.account_id is not None
        mine = [D.delegate_account_id == actor.account_id] if staff else []
        if not seen and not mine:
            raise _refuse(actor, "exchange.delegation.list", "只有部门数据管理员和平台运营人员可以查看委托")
        conds.append(or_(D.provider_dept_id.in_(sorted(seen)), *mine))
    now = clock.now()
    if active_only:
        conds += [D.revoked_at.is_(None), D.valid_until > now]
    rows = session.scalars(select(D).where(*conds).order_by(D.created_at.desc(), D.id.desc()).limit(200))
    return [_read(r, now) for r in rows]


def active_delegation(session: Session, actor: Actor, department_id: int) -> int | None:
    """The id of an active delegation to `actor` covering `department_id`, or None. Only a platform
    operator acting through the platform's own channel can hold one."""
    if actor.account_id is None or actor.is_relying_party or not actor.is_platform_admin:
        return None
    now = clock.now()
    rows = session.execute(
        select(Delegation.id, Delegation.provider_dept_id).where(
            Delegation.delegate_account_id == actor.account_id,
            Delegation.revoked_at.is_(None),
            Delegation.valid_until > now,
        )
    )
    for delegation_id, provider in rows:
        if department_id in subtree(session, provider):
            return delegation_id
    return None
