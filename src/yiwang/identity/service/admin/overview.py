"""The console's front page: counts of what the actor administers, each linking to the list behind it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core import clock
from yiwang.core.security import Actor
from yiwang.identity.admin_schemas import AdminCount, AdminOverview
from yiwang.identity.models import Account, OrgUnit
from yiwang.identity.service import oidc
from yiwang.identity.service.admin.common import _admin_paths, _within, require_console


def overview(session: Session, actor: Actor) -> AdminOverview:
    """Counts for the console's front page, each linking to the list behind it."""
    require_console(actor)
    paths = _admin_paths(session, actor)
    units = select(func.count(OrgUnit.id))
    staff = select(func.count(Account.id)).where(Account.kind == "staff")
    if not actor.is_platform_admin:
        units = units.where(_within(OrgUnit.path, paths))
        staff = staff.join(OrgUnit, OrgUnit.id == Account.department_id).where(_within(OrgUnit.path, paths))
    now = clock.now()
    counts = [
        AdminCount(key="org_units", label="组织机构", value=session.scalar(units) or 0, href="/admin/org"),
        AdminCount(
            key="staff_active",
            label="在用工作人员账号",
            value=session.scalar(staff.where(Account.is_active.is_(True))) or 0,
            href="/admin/accounts?active=true",
        ),
        AdminCount(
            key="staff_inactive",
            label="已停用账号",
            value=session.scalar(staff.where(Account.is_active.is_(False))) or 0,
            href="/admin/accounts?active=false",
        ),
        AdminCount(
            key="staff_locked",
            label="已锁定账号",
            value=session.scalar(staff.where(Account.locked_until > now)) or 0,
            href="/admin/accounts?locked=true",
        ),
    ]
    counts.append(
        AdminCount(
            key="clients",
            label="在用接入系统",
            value=sum(1 for c in oidc.list_clients(session, actor) if c.is_active),
            href="/admin/clients",
        )
    )
    if actor.is_platform_admin:
        counts.append(
            AdminCount(
                key="citizens",
                label="个人账号",
                value=session.scalar(select(func.count(Account.id)).where(Account.kind == "citizen")) or 0,
                href="/admin/accounts?kind=citizen",
            )
        )
        scope_names = ["全平台"]
    else:
        scope_names = list(
            session.scalars(
                select(OrgUnit.name).where(OrgUnit.id.in_(actor.admin_units)).order_by(OrgUnit.id)
            )
        )
    return AdminOverview(is_platform_admin=actor.is_platform_admin, scope_names=scope_names, counts=counts)
