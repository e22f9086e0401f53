"""Roles in the console: the built-in roles with who holds them, the roles an actor may grant, the
read model of a grant, and revoking a role of an account. Granting is `accounts.grant_role` itself.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core.errors import NotFound
from yiwang.core.security import Actor
from yiwang.identity.admin_schemas import RoleGrantRead, RoleHolder, RoleRead
from yiwang.identity.models import Account, OrgUnit, StaffRole
from yiwang.identity.service.accounts import revoke_role
from yiwang.identity.service.admin.accounts import _grant_read
from yiwang.identity.service.admin.common import _admin_paths, _administered_account, _within, require_console
from yiwang.identity.service.roles import BUILTIN_ROLES, DEPARTMENT_ROLES


def role_grant_read(session: Session, grant: StaffRole) -> RoleGrantRead:
    """The read model of a grant made by `accounts.grant_role` (the one path for granting a role)."""
    unit = session.get(OrgUnit, grant.org_unit_id)
    return _grant_read(grant, unit.name if unit else "")


def revoke_account_role(session: Session, actor: Actor, account_id: int, grant_id: int) -> None:
    """Revoke one role grant of the account (through `accounts.revoke_role`)."""
    require_console(actor)
    grant = session.get(StaffRole, grant_id)
    if grant is None or grant.account_id != account_id:
        raise NotFound(detail="该账号没有这项角色授权")
    _administered_account(session, actor, account_id, change=True)
    revoke_role(session, actor, grant_id)


def list_roles(session: Session, actor: Actor, *, holders_per_role: int = 200) -> list[RoleRead]:
    """The built-in roles with their Chinese names and who holds them (within the actor's scope)."""
    require_console(actor)
    query = (
        select(StaffRole, Account.username, Account.display_name, Account.is_active, OrgUnit.name)
        .join(Account, Account.id == StaffRole.account_id)
        .join(OrgUnit, OrgUnit.id == StaffRole.org_unit_id)
        .order_by(StaffRole.role_code, OrgUnit.path, Account.username)
    )
    if not actor.is_platform_admin:
        query = query.where(_within(OrgUnit.path, _admin_paths(session, actor)))
    holders: dict[str, list[RoleHolder]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for grant, username, display_name, is_active, unit_name in session.execute(query):
        counts[grant.role_code] += 1
        if len(holders[grant.role_code]) < holders_per_role:
            holders[grant.role_code].append(
                RoleHolder(
                    grant_id=grant.id,
                    account_id=grant.account_id,
                    username=username,
                    display_name=display_name,
                    org_unit_id=grant.org_unit_id,
                    org_unit_name=unit_name,
                    is_active=is_active,
                )
            )
    return [
        RoleRead(
            code=code,
            name=name,
            description=description,
            builtin=True,
            holders_count=counts.get(code, 0),
            holders=holders.get(code, []),
        )
        for code, (name, description) in BUILTIN_ROLES.items()
    ]


def grantable_roles(actor: Actor) -> list[tuple[str, str]]:
    """(code, name) of the roles the actor may grant: operator roles (平台管理员, 安全审计员, 领导)
    only by a platform admin."""
    return [
        (code, name)
        for code, (name, _d) in BUILTIN_ROLES.items()
        if code in DEPARTMENT_ROLES or actor.is_platform_admin
    ]
