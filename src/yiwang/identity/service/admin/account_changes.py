"""Changing accounts in the console: creating staff, deactivating and reactivating, unlocking, and
resetting a password. Deactivation and a reset end every session and token of the account at once.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.errors import Conflict, FieldError, Forbidden, Invalid
from yiwang.core.ids import validate_citizen_id
from yiwang.core.security import Actor
from yiwang.identity.admin_schemas import (
    AccountDetail,
    AccountStatusChange,
    StaffAccountCreate,
    StaffAccountCreated,
    TemporaryPassword,
)
from yiwang.identity.models import AccessToken, Account, OrgUnit, PendingLogin, WebSession
from yiwang.identity.service import throttle
from yiwang.identity.service.accounts import find_account, get_account, grant_role, require_admin_of
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


def create_staff_account(session: Session, actor: Actor, data: StaffAccountCreate) -> StaffAccountCreated:
    """A staff account in an active department the actor administers, with its first roles (each
    through `grant_role`, so bounded by the grantor): the one path for the console, the API, the
    demo (as `PLATFORM`) and scripts. Without a password, a temporary one is generated and returned
    (once), to be changed at the first login."""
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
    username = data.username.strip()
    plain = username.replace("_", "").replace(".", "")
    # isalnum() alone accepts Chinese and other letters; usernames are ASCII.
    if not username or len(username) > 64 or not (plain.isascii() and plain.isalnum()):
        raise Invalid.on("username", "用户名只能包含字母、数字、点和下划线")
    cid = validate_citizen_id(data.citizen_id, "citizen_id").value
    display_name = data.display_name.strip()
    if not display_name:
        raise Invalid.on("display_name", "姓名不能为空")
    temporary = None
    password = data.password or ""
    if not password:
        temporary = password = _temporary_password()
    check_password_policy(password)
    if find_account(session, username) is not None:
        message = f"用户名 {username} 已存在"
        raise Conflict(detail=message, errors=[FieldError("username", message)])
    account = Account(
        username=username,
        kind="staff",
        display_name=display_name,
        citizen_id=cid,
        phone=data.phone or None,
        password_hash=hash_password(password),
        department_id=unit.id,
        title=data.title,
        # A password someone else read out is changed at the first login (as after a reset).
        must_change_password=temporary is not None,
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
        detail={"username": username, "department_id": unit.id},
    )
    for grant in data.roles:
        grant_role(session, actor, account.id, grant.role_code, grant.org_unit_id)
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
