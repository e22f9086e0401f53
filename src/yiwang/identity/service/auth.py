"""Login (password, optional TOTP second factor, lock-out), browser sessions and bearer tokens.

Login steps manage their own transactions through the `Database`: a failed attempt must be counted and
audited even though the request that made it ends in a refusal (whose transaction would roll back).
"""

from __future__ import annotations

import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
from fastapi import Request
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from yiwang.core import audit, clock
from yiwang.core.crypto import open_secret, seal_secret
from yiwang.core.db import Database
from yiwang.core.errors import (
    FieldError,
    Forbidden,
    Invalid,
    Locked,
    NotFound,
    Problem,
    TooManyRequests,
    Unauthenticated,
)
from yiwang.core.ids import validate_credit_code
from yiwang.core.security import ANONYMOUS, Actor, ActorKind, Origin, require_authenticated
from yiwang.identity.models import AccessToken, Account, OidcClient, PendingLogin, WebSession
from yiwang.identity.service import recovery, throttle
from yiwang.identity.service.accounts import build_actor, find_account, get_account
from yiwang.identity.service.enterprise import can_act_for, enterprises_for
from yiwang.identity.service.passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from yiwang.identity.service.tokens import digest, new_secret
from yiwang.settings import get_settings

BAD_CREDENTIALS = "用户名或密码错误"
BAD_OTP = "动态验证码不正确或已过期"
SESSION_TOUCH_EVERY = timedelta(minutes=5)
PENDING_LOGIN_TTL = timedelta(minutes=5)
MAX_OTP_ATTEMPTS = 5


class OtpRequired(Problem):
    default_status = 401
    default_slug = "otp-required"
    default_title = "需要输入动态验证码"


class PasswordChangeRequired(Problem):
    default_status = 403
    default_slug = "password-change-required"
    default_title = "需要先修改密码"


@dataclass(frozen=True)
class LoginResult:
    account_id: int
    actor: Actor
    # Set when a second factor is still owed; the caller asks for the code and calls
    # `complete_second_factor` with this token.
    pending_token: str | None = None
    # What the pending login still owes: "otp" (second factor) or "password" (a new password).
    stage: str | None = None
    session_token: str | None = None
    csrf_token: str | None = None
    access_token: str | None = None
    expires_in: int = 0


def _anon(ip: str | None) -> Actor:
    return ANONYMOUS.with_request(ip)


def _refuse(
    db: Database, ip: str | None, action: str, subject: str, reason: str, problem: Problem
) -> Problem:
    audit.record_refusal(db, _anon(ip), action, subject=subject, purpose=reason, detail={"reason": reason})
    return problem


def check_password(db: Database, username: str, password: str, ip: str | None) -> int:
    """First factor. Returns the account id, or raises after counting the failure.

    An unknown username and a wrong password get the same answer, count the same and cost the same
    Argon2id hash. Failures are counted per source address, per username and per (username, source)
    (`throttle`): the lock-out after `login_max_failures` applies to that source only, so nobody can
    lock a citizen out of their account by typing their ID. A deactivated account is named only to
    someone who knows its password."""
    username = throttle.normalise_username(username)
    if not username or not password:
        raise Invalid(
            detail="请输入用户名和密码",
            errors=_blank_errors(username, password),
        )
    with db.session() as s:
        problem: Problem | None = _throttle_gate(s, username, ip)
        reason = "throttled"
        if problem is None:
            account = find_account(s, username)
            right = verify_password(account.password_hash if account else None, password)
            if account is None or not right:
                problem = _count_failure(s, username, ip, BAD_CREDENTIALS)
                reason = "unknown-user" if account is None else "bad-password"
                if isinstance(problem, Locked):
                    reason = "locked-now"
            elif not account.is_active:
                problem, reason = Unauthenticated(detail="该账号已停用，请联系管理员"), "inactive"
            else:
                # With a second factor owed, failures keep counting until the code is right too:
                # otherwise each correct password would reset the count and the 6-digit code could be
                # guessed without end.
                if not account.totp_enabled:
                    _clear_failures(s, account, ip)
                if needs_rehash(account.password_hash):
                    account.password_hash = hash_password(password)
                account_id = account.id
        if problem is not None and secrets.randbelow(50) == 0:
            throttle.purge_stale(s)  # now and then, so the counters stay a small table
    if problem is not None:
        raise _refuse(db, ip, "identity.login", username, reason, problem)
    return account_id


def _blank_errors(username: str, password: str) -> list[FieldError]:
    errs = []
    if not username:
        errs.append(FieldError("username", "请输入用户名"))
    if not password:
        errs.append(FieldError("password", "请输入密码"))
    return errs


def _known_source(s: Session, username: str, ip: str | None) -> bool:
    """Whether this account signed in from this source address in the last 90 days (its own browser
    at home or at the office): such a source is not slowed down by failures from elsewhere."""
    if not ip:
        return False
    return (
        s.scalar(
            select(WebSession.id)
            .join(Account, Account.id == WebSession.account_id)
            .where(
                Account.username == username,
                WebSession.ip == ip,
                WebSession.created_at > clock.now() - timedelta(days=90),
            )
            .limit(1)
        )
        is not None
    )


def _throttle_gate(s: Session, username: str, ip: str | None) -> Problem | None:
    """The refusal owed before any password is checked, or None."""
    until = throttle.blocked_until(s, "ip", ip=ip)
    if until is not None:
        return TooManyRequests(
            detail=f"来自您所在网络的登录失败次数过多，请于 {throttle.local_time(until)} 后再试",
            extra={"retry_after": throttle.retry_after(until)},
        )
    until = throttle.blocked_until(s, "pair", username=username, ip=ip)
    if until is not None:
        return _locked(until)
    until = throttle.blocked_until(s, "account", username=username)
    if until is not None and not _known_source(s, username, ip):
        return TooManyRequests(
            detail=(
                f"该账号近期登录失败次数过多，为保护账号，请于 {throttle.local_time(until)} 后再试；"
                "在您以前登录过的设备和网络上可以照常登录"
            ),
            extra={"retry_after": throttle.retry_after(until)},
        )
    return None


def _count_failure(s: Session, username: str, ip: str | None, message: str) -> Problem:
    """Count one failed factor for `username` (existing or not) from `ip`."""
    throttle.count(s, "ip", ip=ip)
    throttle.count(s, "account", username=username)
    failures, until = throttle.count(s, "pair", username=username, ip=ip)
    account = find_account(s, username)
    if account is not None:
        # Shown on the admin console; the lock itself lives in the throttle (per source).
        account.failed_logins += 1
        if until is not None:
            account.locked_until = until
    if until is not None:
        return _locked(until)
    left = max(get_settings().login_max_failures - failures, 1)
    return Unauthenticated(detail=f"{message}，再错 {left} 次将临时锁定", extra={"remaining_attempts": left})


def _clear_failures(s: Session, account: Account, ip: str | None) -> None:
    account.failed_logins = 0
    throttle.clear(s, "pair", username=account.username, ip=ip)


def _locked(until: datetime | None) -> Locked:
    when = throttle.local_time(until) if until else "稍后"
    return Locked(
        detail=f"密码错误次数过多，该账号在本设备上已临时锁定，请于 {when} 后再试，或联系管理员解锁",
        extra={"retry_after": throttle.retry_after(until)} if until else {},
    )


def _normalise_credit_code(on_behalf_of: str | None) -> str | None:
    """The credit code to act for, checked for form before any password is tried."""
    if on_behalf_of is None or not on_behalf_of.strip():
        return None
    return validate_credit_code(on_behalf_of, "on_behalf_of").value


def _check_enterprise(db: Database, account_id: int, on_behalf_of: str | None, ip: str | None) -> None:
    if not on_behalf_of:
        return
    with db.session() as s:
        account = get_account(s, account_id)
        allowed = can_act_for(s, account, on_behalf_of)
        who = build_actor(s, account, ip=ip)
    if not allowed:
        # The person proved who they are, so the refusal names them (not an anonymous caller).
        audit.record_refusal(
            db,
            who,
            "identity.act_for",
            object_type="enterprise",
            object_id=on_behalf_of,
            subject=on_behalf_of,
            purpose="not-authorised",
            detail={"reason": "not-authorised"},
        )
        raise Forbidden(
            detail="您不是该企业的法定代表人，也未获得该企业的有效授权",
            errors=[FieldError("on_behalf_of", "您不是该企业的法定代表人，也未获得该企业的有效授权")],
        )


def begin_login(
    db: Database,
    *,
    username: str,
    password: str,
    on_behalf_of: str | None = None,
    next_url: str = "/",
    ip: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    """Page login, first step: a session, or a pending login when a second factor or a new password
    (after an administrator's reset) is still owed (`LoginResult.stage`)."""
    on_behalf_of = _normalise_credit_code(on_behalf_of)
    account_id = check_password(db, username, password, ip)
    _check_enterprise(db, account_id, on_behalf_of, ip)
    with db.session() as s:
        account = get_account(s, account_id)
        if account.totp_enabled:
            return _pending(s, account, "otp", "pwd", on_behalf_of, next_url, ip)
        if account.must_change_password:
            return _pending(s, account, "password", "pwd", on_behalf_of, next_url, ip)
        return _open_session(s, account, on_behalf_of or None, "pwd", ip, user_agent)


def _pending(
    s: Session,
    account: Account,
    stage: str,
    methods: str,
    on_behalf_of: str | None,
    next_url: str,
    ip: str | None,
) -> LoginResult:
    token = new_secret()
    s.add(
        PendingLogin(
            id=digest(token),
            account_id=account.id,
            on_behalf_of=on_behalf_of or None,
            next_url=next_url,
            expires_at=clock.now() + PENDING_LOGIN_TTL,
            stage=stage,
            methods=methods,
            ip=ip,
        )
    )
    return LoginResult(account_id=account.id, actor=build_actor(s, account), pending_token=token, stage=stage)


def pending_login_next(db: Database, pending_token: str) -> str:
    with db.session() as s:
        pending = s.get(PendingLogin, digest(pending_token))
        return pending.next_url if pending else "/"


def pending_login_stage(db: Database, pending_token: str) -> str | None:
    """The step a pending login still owes ("otp" or "password"), or None if it is gone or expired."""
    with db.session() as s:
        pending = s.get(PendingLogin, digest(pending_token or ""))
        if pending is None or pending.expires_at <= clock.now():
            return None
        return pending.stage


def complete_second_factor(
    db: Database, *, pending_token: str, code: str, ip: str | None = None, user_agent: str | None = None
) -> LoginResult:
    """Second step: a TOTP code or a recovery code. Opens the session, or moves on to the new-password
    step when an administrator's reset left one owed."""
    with db.session() as s:
        pending = s.get(PendingLogin, digest(pending_token or ""))
        if pending is None or pending.expires_at <= clock.now() or pending.stage != "otp":
            raise Unauthenticated(detail="登录已超时，请重新输入用户名和密码")
        account = get_account(s, pending.account_id)
        gate = _throttle_gate(s, account.username, ip)
        if gate is not None:
            s.delete(pending)
            problem: Problem = gate
        elif not account.is_active:
            s.delete(pending)
            problem = Unauthenticated(detail="该账号已停用，请联系管理员")
        elif _second_factor(s, account, code):
            _clear_failures(s, account, ip)
            if account.must_change_password:
                pending.stage, pending.methods = "password", "pwd+otp"
                pending.expires_at = clock.now() + PENDING_LOGIN_TTL
                return LoginResult(
                    account_id=account.id,
                    actor=build_actor(s, account),
                    pending_token=pending_token,
                    stage="password",
                )
            s.delete(pending)
            return _open_session(s, account, pending.on_behalf_of, "pwd+otp", ip, user_agent)
        else:
            pending.attempts += 1
            problem = _count_failure(s, account.username, ip, BAD_OTP)
            if pending.attempts >= MAX_OTP_ATTEMPTS or isinstance(problem, Locked):
                s.delete(pending)
        username = account.username
    raise _refuse(db, ip, "identity.login.otp", username, "bad-otp", problem)


def complete_password_change(
    db: Database,
    *,
    pending_token: str,
    new_password: str,
    ip: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    """Last step after an administrator's reset: the person sets their own password; then the session."""
    with db.session() as s:
        pending = s.get(PendingLogin, digest(pending_token or ""))
        if pending is None or pending.expires_at <= clock.now() or pending.stage != "password":
            raise Unauthenticated(detail="登录已超时，请重新输入用户名和密码")
        account = get_account(s, pending.account_id)
        if not account.is_active:
            s.delete(pending)
            raise Unauthenticated(detail="该账号已停用，请联系管理员")
        _set_own_password(s, account, new_password, "new_password")
        s.delete(pending)
        result = _open_session(s, account, pending.on_behalf_of, pending.methods, ip, user_agent)
        audit.append(
            s,
            result.actor,
            "identity.password.change",
            object_type="account",
            object_id=str(account.id),
            detail={"after": "admin-reset"},
        )
        return result


def _set_own_password(s: Session, account: Account, new_password: str, field: str) -> None:
    """Replace an administrator's temporary password with one the person chose."""
    check_password_policy(new_password, field)
    if verify_password(account.password_hash, new_password):
        raise Invalid.on(field, "新密码不能与管理员设置的临时密码相同")
    account.password_hash = hash_password(new_password)
    account.must_change_password = False


def _open_session(
    s: Session, account: Account, on_behalf_of: str | None, methods: str, ip: str | None, ua: str | None
) -> LoginResult:
    settings = get_settings()
    token = new_secret()
    now = clock.now()
    ws = WebSession(
        id=digest(token),
        account_id=account.id,
        on_behalf_of=on_behalf_of,
        csrf_token=new_secret(24),
        auth_methods=methods,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
        ip=ip,
        user_agent=(ua or "")[:300],
    )
    s.add(ws)
    account.last_login_at = now
    account.failed_logins = 0
    s.flush()
    actor = build_actor(s, account, on_behalf_of=on_behalf_of, session_id=ws.id, ip=ip)
    audit.append(
        s,
        actor,
        "identity.login",
        object_type="session",
        object_id=ws.id[:16],
        subject=account.citizen_id or account.username,
        detail={"methods": methods},
    )
    return LoginResult(
        account_id=account.id,
        actor=actor,
        session_token=token,
        csrf_token=ws.csrf_token,
        expires_in=settings.session_hours * 3600,
    )


def api_login(
    db: Database,
    *,
    username: str,
    password: str,
    otp: str | None = None,
    on_behalf_of: str | None = None,
    new_password: str | None = None,
    ip: str | None = None,
) -> LoginResult:
    """API login for first-party apps (mobile): a bearer token in one call, the code (or a recovery
    code) in `otp`. After an administrator's reset no token is issued until `new_password` is given."""
    on_behalf_of = _normalise_credit_code(on_behalf_of)
    account_id = check_password(db, username, password, ip)
    _check_enterprise(db, account_id, on_behalf_of, ip)
    settings = get_settings()
    with db.session() as s:
        account = get_account(s, account_id)
        if account.must_change_password and not new_password:
            raise PasswordChangeRequired(
                detail="您的密码是管理员设置的临时密码，请在 new_password 中提交本人的新密码后再登录",
                errors=[FieldError("new_password", "请设置新密码")],
            )
        methods = "pwd"
        if account.totp_enabled:
            if not otp:
                raise OtpRequired(detail="该账号已开启双因素认证，请同时提交 otp 动态验证码")
            if not _second_factor(s, account, otp):
                name = account.username
                problem = _count_failure(s, account.username, ip, BAD_OTP)
                ok = False
            else:
                ok = True
                methods = "pwd+otp"
        else:
            ok = True
        if ok:
            if account.must_change_password:
                _set_own_password(s, account, new_password or "", "new_password")
            token = issue_token(
                s,
                account_id=account.id,
                client_id=None,
                scope="api",
                on_behalf_of=on_behalf_of or None,
                minutes=settings.access_token_minutes,
                kind="api",
            )
            account.last_login_at = clock.now()
            _clear_failures(s, account, ip)
            actor = build_actor(s, account, on_behalf_of=on_behalf_of or None, ip=ip)
            audit.append(
                s,
                actor,
                "identity.login",
                object_type="token",
                subject=account.citizen_id or account.username,
                detail={"methods": methods, "channel": "api"},
            )
            return LoginResult(
                account_id=account.id,
                actor=actor,
                access_token=token,
                expires_in=settings.access_token_minutes * 60,
            )
    raise _refuse(db, ip, "identity.login.otp", name, "bad-otp", problem)


def logout(session: Session, actor: Actor, *, token: str | None = None) -> None:
    """End the actor's browser session, and the bearer `token` they presented (API logout).

    A token belonging to someone else is left alone: logging out cannot revoke another person's token."""
    if token:
        row = session.get(AccessToken, digest(token))
        if (
            row is not None
            and row.revoked_at is None
            and row.account_id is not None
            and row.account_id == actor.account_id
        ):
            row.revoked_at = clock.now()
            audit.append(
                session, actor, "identity.logout", object_type="token", object_id=row.token_hash[:16]
            )
    if actor.session_id:
        ws = session.get(WebSession, actor.session_id)
        if ws is not None and ws.revoked_at is None:
            _end_session(session, ws)
            audit.append(session, actor, "identity.logout", object_type="session", object_id=ws.id[:16])


def _end_session(session: Session, ws: WebSession) -> None:
    """Revoke a browser session and every token issued from it (SSO logins of other systems), so
    signing out of the platform signs the person out of the tokens it handed to relying parties."""
    now = clock.now()
    ws.revoked_at = now
    session.execute(
        update(AccessToken)
        .where(AccessToken.session_id == ws.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# ---- sessions and tokens -------------------------------------------------------------------------


def resolve_web_session(session: Session, token: str) -> WebSession | None:
    if not token:
        return None
    ws = session.get(WebSession, digest(token))
    now = clock.now()
    if ws is None or ws.revoked_at is not None or ws.expires_at <= now:
        return None
    if now - ws.last_seen_at > SESSION_TOUCH_EVERY:
        ws.last_seen_at = now
    return ws


def end_web_session(session: Session, token: str, ip: str | None = None) -> None:
    """End the browser session behind a cookie value (a new login in the same browser replaces it)."""
    ws = resolve_web_session(session, token)
    account = session.get(Account, ws.account_id) if ws is not None else None
    if ws is not None and account is not None:
        logout(session, build_actor(session, account, on_behalf_of=ws.on_behalf_of, session_id=ws.id, ip=ip))


def list_sessions(session: Session, actor: Actor) -> list[WebSession]:
    require_authenticated(actor)
    now = clock.now()
    return list(
        session.scalars(
            select(WebSession)
            .where(
                WebSession.account_id == actor.account_id,
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > now,
            )
            .order_by(WebSession.last_seen_at.desc())
        )
    )


def revoke_session(session: Session, actor: Actor, session_id_prefix: str) -> None:
    """End one of the actor's own sessions (ids are shown as 16-character prefixes)."""
    require_authenticated(actor)
    if len(session_id_prefix) < 16 or not all(c in "0123456789abcdef" for c in session_id_prefix):
        raise NotFound(detail="会话不存在")
    ws = session.scalars(
        select(WebSession).where(
            WebSession.id.startswith(session_id_prefix, autoescape=True),
            WebSession.account_id == actor.account_id,
        )
    ).first()
    if ws is None:
        raise NotFound(detail="会话不存在")
    if ws.revoked_at is None:
        _end_session(session, ws)
        audit.append(session, actor, "identity.session.revoke", object_type="session", object_id=ws.id[:16])


def issue_token(
    session: Session,
    *,
    account_id: int | None,
    client_id: str | None,
    scope: str,
    on_behalf_of: str | None = None,
    minutes: int = 60,
    kind: str = "access",
    session_id: str | None = None,
    label: str = "",
) -> str:
    token = new_secret()
    now = clock.now()
    session.add(
        AccessToken(
            token_hash=digest(token),
            kind=kind,
            account_id=account_id,
            client_id=client_id,
            scope=scope,
            on_behalf_of=on_behalf_of,
            session_id=session_id,
            label=label,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    session.flush()
    return token


def find_token(
    session: Session, token: str, kinds: tuple[str, ...] = ("access", "api")
) -> AccessToken | None:
    row = session.get(AccessToken, digest(token)) if token else None
    if row is None or row.kind not in kinds or row.revoked_at is not None or row.expires_at <= clock.now():
        return None
    return row


def actor_for_token(session: Session, row: AccessToken, ip: str | None = None) -> Actor:
    scopes = frozenset(row.scope.split())
    if row.account_id is not None:
        account = get_account(session, row.account_id)
        if not account.is_active:
            raise Unauthenticated(detail="该账号已停用")
        if row.on_behalf_of and not can_act_for(session, account, row.on_behalf_of):
            # The authorisation ended (revoked, expired, or the person is no longer the legal
            # representative): the token stops working rather than quietly acting for the person.
            raise Unauthenticated(detail="代理企业的授权已失效，请重新登录")
        return build_actor(
            session,
            account,
            on_behalf_of=row.on_behalf_of,
            scopes=scopes,
            client_id=row.client_id,
            session_id=row.session_id,
            ip=ip,
            origin=token_origin(row),
        )
    client = session.scalars(select(OidcClient).where(OidcClient.client_id == row.client_id)).first()
    if client is None or not client.is_active:
        raise Unauthenticated(detail="接入系统已停用")
    return client_actor(client, scopes, ip)


def token_origin(row: AccessToken) -> Origin:
    """A token the OIDC provider issued to a client is a relying party's; the platform's own login
    API issues tokens without a client (first party)."""
    return Origin.RELYING_PARTY if row.client_id is not None else Origin.FIRST_PARTY


def client_actor(client: OidcClient, scopes: frozenset[str], ip: str | None) -> Actor:
    """The Actor for a government system acting as itself (a client-credentials token): a relying
    party, bounded by its scopes."""
    return Actor(
        kind=ActorKind.SYSTEM,
        name=client.name,
        subject_id=client.client_id,
        roles=frozenset({"system"}),
        department_id=client.owner_unit_id,
        scopes=scopes,
        client_id=client.client_id,
        ip=ip,
        origin=Origin.RELYING_PARTY,
        role_units=frozenset(),
        wide_roles=frozenset(),
    )


def resolve_actor(request: Request, session: Session) -> Actor:
    """The app's actor resolver: a bearer token wins over the session cookie.

    A bearer token that is unknown, expired or revoked is refused outright (401) rather than treated as
    anonymous, so a client learns at once that its token is bad."""
    ip = request.client.host if request.client else None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated(detail="Authorization 头格式应为 Bearer <令牌>")
        row = find_token(session, value.strip())
        if row is None:
            raise Unauthenticated(detail="访问令牌无效、已过期或已被吊销")
        return actor_for_token(session, row, ip)
    cookie = request.cookies.get(get_settings().session_cookie, "")
    ws = resolve_web_session(session, cookie)
    if ws is None:
        return _anon(ip)
    account = session.get(Account, ws.account_id)
    if account is None or not account.is_active:
        return _anon(ip)
    enterprise_name = ""
    legal_rep = False
    if ws.on_behalf_of:
        link = next((e for e in enterprises_for(session, account) if e.credit_code == ws.on_behalf_of), None)
        if link is None:
            # The authorisation ended while the session was open: back to acting for oneself.
            ws.on_behalf_of = None
        else:
            enterprise_name = link.name
            legal_rep = link.as_legal_rep
    request.state.web_session = ws
    request.state.csrf_token = ws.csrf_token
    actor = build_actor(
        session, account, on_behalf_of=ws.on_behalf_of, session_id=ws.id, ip=ip, origin=Origin.SESSION
    )
    if legal_rep:
        # For navigation only (which links to offer); the services check the registry themselves.
        actor.extra["legal_rep"] = "1"
    request.state.page_user = PageUser(
        name=actor.name,
        kind_label=_kind_label(actor, enterprise_name),
        kind=actor.kind.value,
        on_behalf_of=actor.on_behalf_of,
        enterprise_name=enterprise_name,
    )
    return actor


@dataclass(frozen=True)
class PageUser:
    """Who is signed in, for the page header (`web.page_context` reads `request.state.page_user`)."""

    name: str
    kind_label: str
    kind: str
    on_behalf_of: str | None = None
    enterprise_name: str = ""
    is_authenticated: bool = True


def _kind_label(actor: Actor, enterprise_name: str = "") -> str:
    if actor.kind is ActorKind.ENTERPRISE:
        return f"代表 {enterprise_name or actor.on_behalf_of}"
    return {ActorKind.STAFF: "工作人员", ActorKind.CITIZEN: "个人"}.get(actor.kind, "")


def switch_enterprise(session: Session, actor: Actor, credit_code: str | None) -> None:
    """Switch the current browser session to act for an enterprise (or back to oneself)."""
    require_authenticated(actor)
    if not actor.session_id:
        raise Forbidden(detail="只有网页会话可以切换身份，API 请重新登录并指定 on_behalf_of")
    ws = session.get(WebSession, actor.session_id)
    account = get_account(session, actor.account_id or 0)
    if credit_code and not can_act_for(session, account, credit_code):
        raise Forbidden(detail="您不是该企业的法定代表人，也未获得该企业的有效授权")
    assert ws is not None
    ws.on_behalf_of = credit_code or None
    audit.append(session, actor, "identity.act_for", object_type="session", subject=credit_code or "")


# ---- second factor -------------------------------------------------------------------------------


def _totp_context(account_id: int) -> str:
    return f"identity.totp:{account_id}"


def _verify_totp(account: Account, code: str, *, consume: bool = True) -> bool:
    """Whether `code` is the account's TOTP for now (one step of drift either way).

    A code is accepted the first time it is used: the step it belongs to is recorded with one
    conditional UPDATE (`totp_last_step < step`), so a replay, even one racing on another worker, is
    refused. Confirming the set-up (`consume=False`) proves the phone holds the secret and records
    nothing: the person can sign in with the same code shown a moment later (refusing it was the
    "fresh code refused as expired" fault)."""
    if not account.totp_secret_sealed:
        return False
    code = (code or "").strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return False
    secret = open_secret(
        get_settings().resolved_master_key(), account.totp_secret_sealed, _totp_context(account.id)
    ).decode()
    totp = pyotp.TOTP(secret)
    step_now = int(clock.now().timestamp()) // totp.interval
    step = next(
        (
            step_now + d
            for d in (0, -1, 1)
            if hmac.compare_digest(totp.at((step_now + d) * totp.interval), code)
        ),
        None,
    )
    if step is None:
        return False
    if not consume:
        return True
    s = object_session(account)
    assert s is not None
    claimed = s.execute(
        update(Account)
        .where(
            Account.id == account.id,
            or_(Account.totp_last_step.is_(None), Account.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False
    set_committed_value(account, "totp_last_step", step)
    return True


def _second_factor(s: Session, account: Account, code: str) -> bool:
    """A TOTP code, or one of the account's unused recovery codes (spent by this use)."""
    if recovery.looks_like_recovery_code(code):
        if not recovery.use_recovery_code(s, account.id, code):
            return False
        actor = build_actor(s, account)
        audit.append(
            s,
            actor,
            "identity.recovery_code.use",
            object_type="account",
            object_id=str(account.id),
            detail={"left": recovery.recovery_codes_left(s, account.id)},
        )
        return True
    return _verify_totp(account, code)


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str
    qr_svg: str


def begin_totp(session: Session, actor: Actor) -> TotpEnrolment:
    require_authenticated(actor)
    account = get_account(session, actor.account_id or 0)
    if account.totp_enabled:
        raise Invalid.on("otp", "已开启双因素认证；如需更换，请先关闭")
    secret = pyotp.random_base32()
    account.totp_secret_sealed = seal_secret(
        get_settings().resolved_master_key(), secret.encode(), _totp_context(account.id)
    )
    account.totp_last_step = None
    return _enrolment(account, secret)


def current_totp_enrolment(session: Session, actor: Actor) -> TotpEnrolment | None:
    """The enrolment begun by `begin_totp` and not yet confirmed (to show its QR code again), or None."""
    require_authenticated(actor)
    account = get_account(session, actor.account_id or 0)
    if account.totp_enabled or not account.totp_secret_sealed:
        return None
    secret = open_secret(
        get_settings().resolved_master_key(), account.totp_secret_sealed, _totp_context(account.id)
    ).decode()
    return _enrolment(account, secret)


def _enrolment(account: Account, secret: str) -> TotpEnrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name="一网")
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="svg", scale=5, xmldecl=False, title="双因素认证二维码")
    return TotpEnrolment(secret=secret, uri=uri, qr_svg=buf.getvalue().decode())


def confirm_totp(session: Session, actor: Actor, code: str) -> list[str]:
    """Turn the second factor on; returns the recovery codes, shown this once (empty if already on)."""
    require_authenticated(actor)
    account = get_account(session, actor.account_id or 0)
    if account.totp_enabled:
        return []
    if not account.totp_secret_sealed:
        raise Invalid.on("otp", "请先生成二维码")
    if not _verify_totp(account, code, consume=False):
        raise Invalid.on("otp", "动态验证码不正确，请核对手机上的 6 位数字")
    account.totp_enabled = True
    codes = recovery.generate_recovery_codes(session, account.id)
    audit.append(session, actor, "identity.totp.enable", object_type="account", object_id=str(account.id))
    return codes


def disable_totp(session: Session, actor: Actor, password: str, code: str) -> None:
    require_authenticated(actor)
    account = get_account(session, actor.account_id or 0)
    if not account.totp_enabled:
        return
    if not verify_password(account.password_hash, password):
        raise Invalid.on("password", "密码不正确")
    if not _verify_totp(account, code):
        raise Invalid.on("otp", "动态验证码不正确")
    account.totp_enabled = False
    account.totp_secret_sealed = None
    account.totp_last_step = None
    recovery.drop_recovery_codes(session, account.id)
    audit.append(session, actor, "identity.totp.disable", object_type="account", object_id=str(account.id))


def change_password(session: Session, actor: Actor, old: str, new: str) -> None:
    require_authenticated(actor)
    account = get_account(session, actor.account_id or 0)
    if not verify_password(account.password_hash, old):
        raise Invalid.on("old_password", "当前密码不正确")
    check_password_policy(new, "new_password")
    if old == new:
        raise Invalid.on("new_password", "新密码不能与当前密码相同")
    account.password_hash = hash_password(new)
    account.must_change_password = False
    now = clock.now()
    # Every other session and token of the account ends: a changed password must lock out whoever
    # might have known the old one.
    session.execute(
        update(WebSession)
        .where(
            WebSession.account_id == account.id,
            WebSession.revoked_at.is_(None),
            WebSession.id != (actor.session_id or ""),
        )
        .values(revoked_at=now)
    )
    session.execute(
        update(AccessToken)
        .where(AccessToken.account_id == account.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit.append(session, actor, "identity.password.change", object_type="account", object_id=str(account.id))
