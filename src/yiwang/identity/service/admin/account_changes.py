"""Changing accounts in the console: creating staff, deactivating and reactivating, unlocking, and
resetting a password. Deactivation and a reset end every session and token of the account at once.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.errors import Conflict, FieldError, Forbidden, Invalid
from yiwang.core.security import Actor
from yiwang.identity.admin_schemas import (
    AccountDetail,
    AccountStatusChange,
    StaffAccountCreate,
    StaffAccountCreated,
    TemporaryPassword,
)
from yiwang.identity.models import AccessToken, OrgUnit, PendingLogin, WebSession
from yiwang.identity.service import throttle
from yiwang.identity.service.accounts import create_staff_account, find_account, get_account, require_admin_of
from yiwang.identity.service.admin.accounts import _detail, _is_locked
from yiwang.identity.service.admin.common import _administered_account, require_console
from yiwang.identity.service.passwords import check_password_policy, hash_password
from yiwang.identity.service.roles import BUILTIN_ROLES


def _temporary_password() -> str:
    """12 characters from four classes, without look-alikes (0/O, 1/l/I): readable over the phone."""
    upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    lower = "abcdefghijkmnpqrstuvwxyz"
    digits = "23456789"
    symbols = "@#%+=?"
    chars = [secrets.choice(upper), secrets.choice(lower), secrets.choice(digits), secrets.choice(symbols)]
    pool = upper + lower + digits
    chars += [secrets.choice(pool) for _ in range(8)]
    secrets.SystemRandom().shuffle(chars)
    password = "".join(chars)
    check_password_policy(password)
    return password


def create_staff(session: Session, actor: Actor, data: StaffAccountCreate) -> StaffAccountCreated:
    """A staff account in a department the actor administers, with its first roles. Without a
    password, a temporary one is generated and returned (once)."""
    require_console(actor)
    unit = session.get(OrgUnit, data.department_id)
    if unit is None:
        raise Invalid.on("department_id", "所属部门不存在")
    require_admin_of(session, actor, unit.id)
    if not unit.is_active:
        raise Invalid.on("department_id", "所属部门已停用")
    errors = []
    for i, grant in enumerate(data.roles):
        if grant.role_code not in BUILTIN_ROLES:
            errors.append((f"roles.{i}.role_code", "角色不存在"))
    if errors:
        raise Invalid(detail="角色不存在", errors=[FieldError(f, m) for f, m in errors])
    if data.username and find_account(session, data.username) is not None:
        message = f"用户名 {data.username} 已存在"
        raise Conflict(detail=message, errors=[FieldError("username", message)])
    temporary = None
    password = data.password or ""
    if not password:
        temporary = password = _temporary_password()
    account = create_staff_account(
        session,
        actor,
        username=data.username,
        display_name=data.display_name,
        citizen_id=data.citizen_id,
        department_id=unit.id,
        password=password,
        title=data.title,
        phone=data.phone or None,
        roles=[(g.role_code, g.org_unit_id) for g in data.roles],
    )
    # A password someone else read out is changed at the first login (as after a reset).
    account.must_change_password = temporary is not None
    return StaffAccountCreated(account=_detail(session, account), temporary_password=temporary)


def _revoke_credentials(session: Session, account_id: int) -> tuple[int, int]:
    """End every browser session, bearer token and half-finished login of an account."""
    now = clock.now()
    sessions = session.execute(
        update(WebSession)
        .where(WebSession.account_id == account_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    tokens = session.execute(
        update(AccessToken)
        .where(AccessToken.account_id == account_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    session.execute(delete(PendingLogin).where(PendingLogin.account_id == account_id))
    return sessions or 0, tokens or 0


def set_account_active(
    session: Session, actor: Actor, account_id: int, active: bool, *, reason: str = ""
) -> AccountStatusChange:
    """Deactivate (停用) or reactivate an account. Deactivation ends its sessions and tokens at once."""
    account = _administered_account(session, actor, account_id, change=True)
    if not active and account.id == actor.account_id:
        raise Forbidden(detail="不能停用自己的账号")
    reason = (reason or "").strip()[:200]
    sessions = tokens = 0
    if account.is_active != active:
        account.is_active = active
        session.flush()
        if not active:
            sessions, tokens = _revoke_credentials(session, account.id)
        audit.append(
            session,
            actor,
            "identity.account.activate" if active else "identity.account.deactivate",
            object_type="account",
            object_id=str(account.id),
            subject=account.citizen_id or "",
            purpose=reason,
            detail={"username": account.username, "sessions_revoked": sessions, "tokens_revoked": tokens},
        )
    account = get_account(session, account_id)
    return AccountStatusChange(
        account=_detail(session, account), sessions_revoked=sessions, tokens_revoked=tokens
    )


def unlock_account(session: Session, actor: Actor, account_id: int) -> AccountDetail:
    """Lift a lock-out after too many wrong passwords (clears the lock and the failure count)."""
    account = _administered_account(session, actor, account_id, change=True)
    was_locked = _is_locked(account, clock.now())
    account.locked_until = None
    account.failed_logins = 0
    throttle.clear_username(session, account.username)
    session.flush()
    audit.append(
        session,
        actor,
        "identity.account.unlock",
        object_type="account",
        object_id=str(account.id),
        subject=account.citizen_id or "",
        detail={"username": account.username, "was_locked": was_locked},
    )
    return _detail(session, account)


def reset_password(session: Session, actor: Actor, account_id: int) -> TemporaryPassword:
    """Set a generated temporary password, returned this once (only its Argon2id hash is kept), to
    be changed at the next login. The account is unlocked and every session and token it had is ended."""
    account = _administered_account(session, actor, account_id, change=True)
    if account.id == actor.account_id:
        raise Forbidden(detail="不能在管理后台重置自己的密码，请在个人中心修改")
    temporary = _temporary_password()
    account.password_hash = hash_password(temporary)
    # The administrator has seen this password: the person must replace it before any session or
    # token is issued (page and API login alike, `auth.begin_login` / `auth.api_login`).
    account.must_change_password = True
    account.locked_until = None
    account.failed_logins = 0
    throttle.clear_username(session, account.username)
    session.flush()
    account_db_id, username, subject = account.id, account.username, account.citizen_id or ""
    sessions, tokens = _revoke_credentials(session, account_db_id)
    audit.append(
        session,
        actor,
        "identity.account.reset_password",
        object_type="account",
        object_id=str(account_db_id),
        subject=subject,
        detail={"username": username, "sessions_revoked": sessions, "tokens_revoked": tokens},
    )
    return TemporaryPassword(
        account_id=account_db_id, temporary_password=temporary, sessions_revoked=sessions
    )
