"""Accounts bound to the registries (A1), staff and their roles, and the Actor built for each login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang import registry
from yiwang.core import audit, clock
from yiwang.core.errors import Conflict, Forbidden, Invalid, NotFound
from yiwang.core.ids import mask_citizen_id, validate_citizen_id
from yiwang.core.security import Actor, ActorKind, Origin, require_authenticated, require_own_channel
from yiwang.identity.models import Account, OrgUnit, StaffRole
from yiwang.identity.service.org import get_org_unit, is_within
from yiwang.identity.service.passwords import check_password_policy, hash_password
from yiwang.identity.service.roles import ADMIN_ROLES, BUILTIN_ROLES, OPERATOR_ROLES, role_name

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
    if not name.strip():
        raise Invalid.on("name", "请输入姓名")
    phone = (phone or "").strip() or None
    if phone is not None and not (
        len(phone) == 11 and phone.isascii() and phone.isdigit() and phone[0] == "1"
    ):
        raise Invalid.on("phone", "手机号码应为以 1 开头的 11 位数字")
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
    require_own_channel(actor)
    unit = get_org_unit(session, unit_id)
    if actor.is_platform_admin:
        return unit
    if actor.has_role("dept_admin") and is_within(unit, actor.admin_units):
        return unit
    raise Forbidden(detail="您只能管理本部门及下属单位")


def grant_role(session: Session, actor: Actor, account_id: int, role_code: str, unit_id: int) -> StaffRole:
    """Grant `role_code`, valid in `unit_id`'s subtree: the one path for every grant (console, API,
    account creation, demo). A grant is bounded by its grantor (DESIGN §3 rule 9): a department
    administrator grants department roles only, in its own subtree, to its own staff (never to an
    account holding 平台管理员); operator roles (platform admin, auditor, leader) only a platform
    administrator grants; and nobody gives themself a power they do not already hold there. Every
    refusal is audited."""
    action = "identity.role.grant"

    def refuse(detail: str) -> Forbidden:
        return Forbidden(detail=detail).audited(
            actor,
            action,
            object_type="account",
            object_id=str(account_id),
            detail={"role": role_code, "org_unit_id": unit_id},
        )

    require_own_channel(actor)
    # 403 before any 404 or 422: someone who may grant nothing learns nothing about the accounts.
    if not actor.is_platform_admin and not (actor.has_role("dept_admin") and actor.admin_units):
        raise refuse("只有平台管理员和部门管理员可以授予角色")
    if role_code not in BUILTIN_ROLES:
        raise Invalid.on("role_code", "角色不存在")
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise Invalid.on("org_unit_id", "机构不存在")
    account = get_account(session, account_id)
    if not actor.is_platform_admin:
        # A department admin grants roles only to the staff they administer, not to another
        # department's people (even for a role valid in their own subtree), and never touches an
        # account that holds 平台管理员.
        if account.kind != "staff" or account.department_id is None:
            raise refuse("您只能给本部门及下属单位的工作人员授予角色")
        if not is_within(get_org_unit(session, account.department_id), actor.admin_units):
            raise refuse("您只能给本部门及下属单位的工作人员授予角色")
        if _holds_role(session, account.id, "platform_admin"):
            raise refuse("平台管理员账号只能由平台管理员管理")
    require_admin_of(session, actor, unit.id)
    if role_code in OPERATOR_ROLES and not actor.is_platform_admin:
        raise refuse("平台管理员、安全审计员和领导角色只能由平台管理员授予")
    if role_code == "platform_admin" and unit.parent_id is not None:
        raise Invalid.on("org_unit_id", "平台管理员角色只能在顶层机构授予")
    if account.kind != "staff":
        raise Invalid.on("account_id", "只能给工作人员账号授予角色")
    if account.id == actor.account_id and not (
        actor.wide(role_code) or is_within(unit, actor.units_of(role_code))
    ):
        raise refuse("不能给自己授予新的角色或扩大自己角色的范围，请由上级管理员授予")
    if not unit.is_active:
        raise Invalid.on("org_unit_id", "机构已停用，不能在其中授予角色")
    if not account.is_active:
        raise Invalid.on("account_id", "账号已停用，请先启用再授予角色")
    existing = session.scalars(
        select(StaffRole).where(
            StaffRole.account_id == account_id,
            StaffRole.role_code == role_code,
            StaffRole.org_unit_id == unit_id,
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
        action,
        object_type="account",
        object_id=str(account_id),
        subject=account.citizen_id or "",
        detail={"role": role_code, "org_unit_id": unit_id, "operator_role": role_code in OPERATOR_ROLES},
    )
    return grant


def _holds_role(session: Session, account_id: int, role_code: str) -> bool:
    held = select(StaffRole.id).where(StaffRole.account_id == account_id, StaffRole.role_code == role_code)
    return session.scalars(held).first() is not None


def revoke_role(session: Session, actor: Actor, grant_id: int) -> None:
    grant = session.get(StaffRole, grant_id)
    if grant is None:
        raise NotFound(detail="角色授权不存在")
    require_admin_of(session, actor, grant.org_unit_id)
    if grant.role_code in OPERATOR_ROLES and not actor.is_platform_admin:
        raise Forbidden(detail="平台管理员、安全审计员和领导角色只能由平台管理员撤销").audited(
            actor,
            "identity.role.revoke",
            object_type="account",
            object_id=str(grant.account_id),
            detail={"role": grant.role_code, "org_unit_id": grant.org_unit_id},
        )
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
    origin: Origin = Origin.INTERNAL,
) -> Actor:
    """The Actor for a logged-in account: roles, the units they are held in and the administered
    subtrees come from its staff roles; `origin` says how it signed in (a relying party's token gets
    no roles at all)."""
    role_units: frozenset[tuple[str, int]] = frozenset()
    wide_roles: frozenset[str] = frozenset()
    department_roles: frozenset[str] = frozenset()
    if account.kind == "staff":
        grants = _placed_roles(session, account)
        role_units = frozenset((g.role, g.unit_id) for g in grants)
        roles = frozenset(g.role for g in grants)
        admin_units = frozenset(g.unit_id for g in grants if g.role in ADMIN_ROLES)
        wide_roles = frozenset(g.role for g in grants if g.top)
        department_roles = frozenset(g.role for g in grants if g.above_department)
        kind = ActorKind.STAFF
    else:
        roles = frozenset({"enterprise" if on_behalf_of else "citizen"})
        admin_units = frozenset()
        kind = ActorKind.ENTERPRISE if on_behalf_of else ActorKind.CITIZEN
    if origin is Origin.RELYING_PARTY:
        # A token issued to another system carries its scopes, never the person's roles: signing an
        # administrator into a relying party must not hand that system the administrator's power.
        roles, admin_units, role_units = frozenset(), frozenset(), frozenset()
        wide_roles = department_roles = frozenset()
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
        origin=origin,
        role_units=role_units,
        wide_roles=wide_roles,
        department_roles=department_roles,
    )


@dataclass(frozen=True)
class _PlacedRole:
    role: str
    unit_id: int
    top: bool  # held at a top-level unit: reaches the whole platform
    above_department: bool  # held at the account's own department or a unit above it


def _placed_roles(session: Session, account: Account) -> list[_PlacedRole]:
    """The account's roles with where they are held, in one query (the actor is built per request)."""
    department_path = (
        select(OrgUnit.path).where(OrgUnit.id == account.department_id).scalar_subquery()
        if account.department_id is not None
        else None
    )
    columns = [StaffRole.role_code, StaffRole.org_unit_id, OrgUnit.parent_id, OrgUnit.path]
    if department_path is not None:
        columns.append(department_path)
    rows = session.execute(
        select(*columns)
        .join(OrgUnit, OrgUnit.id == StaffRole.org_unit_id)
        .where(StaffRole.account_id == account.id)
    )
    out = []
    for row in rows:
        dept_path = row[4] if department_path is not None else None
        out.append(
            _PlacedRole(
                role=row[0],
                unit_id=row[1],
                top=row[2] is None,
                above_department=bool(dept_path) and dept_path.startswith(row[3]),
            )
        )
    return out


# ---- the signed-in person's own view ----------------------------------------------------------------

ACTOR_KIND_LABELS = {
    ActorKind.CITIZEN: "个人",
    ActorKind.ENTERPRISE: "法人（企业）",
    ActorKind.STAFF: "工作人员",
    ActorKind.SYSTEM: "接入系统",
}
# Non-staff accounts hold one implicit role.
PERSON_ROLE_NAMES = {"citizen": "个人用户", "enterprise": "企业办事人"}


@dataclass(frozen=True)
class RoleGrant:
    code: str
    name: str
    org_unit_id: int | None
    org_unit_name: str


@dataclass(frozen=True)
class ActingFor:
    credit_code: str
    name: str
    as_legal_rep: bool


@dataclass(frozen=True)
class Profile:
    """What a person may see about their own account: a plain read model, no ORM object."""

    account_id: int
    username: str
    name: str
    kind: str
    kind_label: str
    citizen_id_masked: str
    phone_masked: str
    roles: list[RoleGrant]
    department_id: int | None
    department_name: str
    title: str
    acting_for: ActingFor | None
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None


def _mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def my_profile(session: Session, actor: Actor) -> Profile:
    """The signed-in person's own profile (citizen ID masked: the page and API show it on screens)."""
    require_authenticated(actor)
    if actor.account_id is None:
        raise Forbidden(detail="接入系统没有个人资料")
    account = get_account(session, actor.account_id)
    roles: list[RoleGrant] = []
    if account.kind == "staff":
        for grant in staff_roles(session, account.id):
            unit = session.get(OrgUnit, grant.org_unit_id)
            roles.append(
                RoleGrant(
                    grant.role_code, role_name(grant.role_code), grant.org_unit_id, unit.name if unit else ""
                )
            )
        roles.sort(
            key=lambda r: (
                list(BUILTIN_ROLES).index(r.code) if r.code in BUILTIN_ROLES else 99,
                r.org_unit_id or 0,
            )
        )
    else:
        code = "enterprise" if actor.on_behalf_of else "citizen"
        roles.append(RoleGrant(code, PERSON_ROLE_NAMES[code], None, ""))
    department = session.get(OrgUnit, account.department_id) if account.department_id else None
    acting_for = None
    if actor.on_behalf_of:
        lp = registry.find_legal_person(session, actor.on_behalf_of)
        acting_for = ActingFor(
            credit_code=actor.on_behalf_of,
            name=lp.name if lp else actor.on_behalf_of,
            as_legal_rep=bool(lp and lp.legal_rep_citizen_id == account.citizen_id),
        )
    return Profile(
        account_id=account.id,
        # A citizen's username is their citizen ID: shown masked like the ID itself.
        username=mask_citizen_id(account.username)
        if account.username == account.citizen_id
        else account.username,
        name=account.display_name,
        kind=actor.kind.value,
        kind_label=ACTOR_KIND_LABELS.get(actor.kind, actor.kind.value),
        citizen_id_masked=mask_citizen_id(account.citizen_id) if account.citizen_id else "",
        phone_masked=_mask_phone(account.phone),
        roles=roles,
        department_id=account.department_id,
        department_name=department.name if department else "",
        title=account.title,
        acting_for=acting_for,
        totp_enabled=account.totp_enabled,
        created_at=account.created_at,
        last_login_at=account.last_login_at,
    )
