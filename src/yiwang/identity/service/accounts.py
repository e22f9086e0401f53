"""Accounts bound to the registries (A1), staff and their roles, and the Actor built for each login."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang import registry
from yiwang.core import audit, clock
from yiwang.core.errors import Conflict, Forbidden, Invalid, NotFound
from yiwang.core.ids import validate_citizen_id
from yiwang.core.security import Actor, ActorKind, require_authenticated
from yiwang.identity.models import Account, OrgUnit, StaffRole
from yiwang.identity.service.org import get_org_unit, is_within
from yiwang.identity.service.passwords import check_password_policy, hash_password
from yiwang.identity.service.roles import ADMIN_ROLES, BUILTIN_ROLES

KIND_LABELS = {"citizen": "个人", "staff": "工作人员"}


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(detail=f"账号 {account_id} 不存在")
    return account


def find_account(session: Session, username: str) -> Account | None:
    return session.scalars(select(Account).where(Account.username == username.strip())).first()


def register_citizen(
    session: Session,
    actor: Actor,
    *,
    citizen_id: str,
    name: str,
    password: str,
    phone: str | None = None,
) -> Account:
    """Self-registration of a natural person: real name and citizen ID must match the population
    registry (A1 实名). The username is the citizen ID."""
    cid = validate_citizen_id(citizen_id, "citizen_id").value
    check_password_policy(password)
    person = registry.find_person(session, cid)
    # One message for "not in the registry" and "name differs" so the form cannot be used to probe
    # which citizen IDs exist.
    if person is None or person.name != name.strip():
        raise Invalid.on("name", "姓名与身份证号码不匹配，请核对后重试")
    if person.status != "正常":
        raise Invalid.on("citizen_id", "该身份证号码当前不能注册，请到窗口办理")
    if find_account(session, cid) is not None:
        raise Conflict(detail="该身份证号码已注册，请直接登录或找回密码")
    account = Account(
        username=cid,
        kind="citizen",
        display_name=person.name,
        citizen_id=cid,
        phone=phone or person.phone,
        password_hash=hash_password(password),
        created_at=clock.now(),
    )
    session.add(account)
    session.flush()
    audit.append(
        session, actor, "identity.register", object_type="account", object_id=str(account.id), subject=cid
    )
    return account


def require_admin_of(session: Session, actor: Actor, unit_id: int) -> OrgUnit:
    """A staff member may administer only their own subtree; a platform admin administers all."""
    require_authenticated(actor)
    unit = get_org_unit(session, unit_id)
    if actor.is_platform_admin:
        return unit
    if actor.has_role("dept_admin") and is_within(unit, actor.admin_units):
        return unit
    raise Forbidden(detail="您只能管理本部门及下属单位")


def create_staff_account(
    session: Session,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    citizen_id: str,
    department_id: int,
    password: str,
    title: str = "",
    phone: str | None = None,
    roles: list[tuple[str, int]] | None = None,
) -> Account:
    require_admin_of(session, actor, department_id)
    username = username.strip()
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        raise Invalid.on("username", "用户名只能包含字母、数字、点和下划线")
    cid = validate_citizen_id(citizen_id, "citizen_id").value
    if not display_name.strip():
        raise Invalid.on("display_name", "姓名不能为空")
    check_password_policy(password)
    if find_account(session, username) is not None:
        raise Conflict(detail=f"用户名 {username} 已存在")
    account = Account(
        username=username,
        kind="staff",
        display_name=display_name.strip(),
        citizen_id=cid,
        phone=phone,
        password_hash=hash_password(password),
        department_id=department_id,
        title=title,
        created_at=clock.now(),
    )
    session.add(account)
    session.flush()
    audit.append(
        session,
        actor,
        "identity.staff.create",
        object_type="account",
        object_id=str(account.id),
        subject=cid,
        detail={"username": username, "department_id": department_id},
    )
    for role_code, unit_id in roles or []:
        grant_role(session, actor, account.id, role_code, unit_id)
    return account


def grant_role(session: Session, actor: Actor, account_id: int, role_code: str, unit_id: int) -> StaffRole:
    if role_code not in BUILTIN_ROLES:
        raise Invalid.on("role_code", "角色不存在")
    require_admin_of(session, actor, unit_id)
    if role_code == "platform_admin" and not actor.is_platform_admin:
        raise Forbidden(detail="只有平台管理员可以授予平台管理员角色")
    account = get_account(session, account_id)
    if account.kind != "staff":
        raise Invalid.on("account_id", "只能给工作人员账号授予角色")
    existing = session.scalars(
        select(StaffRole).where(
            StaffRole.account_id == account_id, StaffRole.role_code == role_code, StaffRole.org_unit_id == unit_id
        )
    ).first()
    if existing is not None:
        return existing
    grant = StaffRole(
        account_id=account_id,
        role_code=role_code,
        org_unit_id=unit_id,
        granted_at=clock.now(),
        granted_by=actor.account_id,
    )
    session.add(grant)
    session.flush()
    audit.append(
        session,
        actor,
        "identity.role.grant",
        object_type="account",
        object_id=str(account_id),
        subject=account.citizen_id or "",
        detail={"role": role_code, "org_unit_id": unit_id},
    )
    return grant


def revoke_role(session: Session, actor: Actor, grant_id: int) -> None:
    grant = session.get(StaffRole, grant_id)
    if grant is None:
        raise NotFound(detail="角色授权不存在")
    require_admin_of(session, actor, grant.org_unit_id)
    if grant.account_id == actor.account_id and grant.role_code in ADMIN_ROLES:
        raise Forbidden(detail="不能撤销自己的管理员角色，请由其他管理员操作")
    session.delete(grant)
    session.flush()
    audit.append(
        session,
        actor,
        "identity.role.revoke",
        object_type="account",
        object_id=str(grant.account_id),
        detail={"role": grant.role_code, "org_unit_id": grant.org_unit_id},
    )


def staff_roles(session: Session, account_id: int) -> list[StaffRole]:
    return list(session.scalars(select(StaffRole).where(StaffRole.account_id == account_id)))


def build_actor(
    session: Session,
    account: Account,
    *,
    on_behalf_of: str | None = None,
    scopes: frozenset[str] = frozenset(),
    client_id: str | None = None,
    session_id: str | None = None,
    ip: str | None = None,
) -> Actor:
    """The Actor for a logged-in account: roles and administered subtrees come from its staff roles."""
    if account.kind == "staff":
        grants = staff_roles(session, account.id)
        roles = frozenset(g.role_code for g in grants)
        admin_units = frozenset(g.org_unit_id for g in grants if g.role_code in ADMIN_ROLES)
        kind = ActorKind.STAFF
    else:
        roles = frozenset({"enterprise" if on_behalf_of else "citizen"})
        admin_units = frozenset()
        kind = ActorKind.ENTERPRISE if on_behalf_of else ActorKind.CITIZEN
    return Actor(
        kind=kind,
        account_id=account.id,
        name=account.display_name,
        subject_id=account.citizen_id,
        on_behalf_of=on_behalf_of,
        roles=roles,
        department_id=account.department_id,
        admin_units=admin_units,
        scopes=scopes,
        client_id=client_id,
        session_id=session_id,
        ip=ip,
    )
