"""Consent (授权同意): before a relying party receives anything about a person, the person sees what it
asks for, in Chinese, and agrees or refuses. A consent may be remembered per client; a remembered
consent covers the same or fewer scopes only, and the person can withdraw it on 个人中心 (which also
revokes that client's tokens for them). An operator may mark a first-party client pre-consented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.db import Database
from yiwang.core.errors import Forbidden, NotFound
from yiwang.core.security import Actor, require_authenticated
from yiwang.identity.models import AccessToken, Account, OidcClient, OidcConsent, OrgUnit
from yiwang.identity.service.accounts import build_actor
from yiwang.identity.service.auth import resolve_web_session
from yiwang.identity.service.oidc.authorize import AuthorizationRequest
from yiwang.identity.service.oidc.clients import _find_client, _revoke_where
from yiwang.identity.service.oidc.errors import AuthorizeError

# What each scope releases, as the person reads it. The full citizen ID comes first and is marked.
SCOPE_TEXT: dict[str, tuple[str, str]] = {
    "idcard": ("完整的公民身份号码", "18 位身份证号码，不做任何遮挡"),
    "profile": ("基本资料", "姓名、用户名、账号类型，以及遮挡了中间数字的身份证号码"),
    "phone": ("手机号码", "您在平台登记的手机号码"),
    "email": ("电子邮箱", "您在平台登记的电子邮箱"),
    "enterprise": ("代办的企业", "您当前代表的企业的名称和统一社会信用代码"),
    "staff": ("工作单位和角色", "您所在的部门、担任的角色和职务"),
    "openid": ("登录标识", "一个只用于该系统的编号，用来认出您是同一个人，不含个人信息"),
}
SENSITIVE_SCOPES = frozenset({"idcard"})


@dataclass(frozen=True)
class ScopeItem:
    scope: str
    label: str
    description: str
    sensitive: bool


@dataclass(frozen=True)
class ConsentView:
    client_name: str
    owner_name: str
    items: list[ScopeItem]
    person_name: str = ""


@dataclass(frozen=True)
class ConsentRead:
    client_id: str
    client_name: str
    items: list[ScopeItem]
    updated_at: datetime


def scope_items(scope: str) -> list[ScopeItem]:
    """The scopes of `scope` in reading order (the full citizen ID first), in Chinese."""
    names = set(scope.split())
    items = [
        ScopeItem(s, label, text, s in SENSITIVE_SCOPES)
        for s, (label, text) in SCOPE_TEXT.items()
        if s in names
    ]
    if names - set(SCOPE_TEXT):
        items.append(ScopeItem("", "该系统的业务接口", "以您的身份调用平台为该系统开放的接口", False))
    return items


def _covered(requested: str, granted: str) -> bool:
    return set(requested.split()) <= set(granted.split())


def consent_needed(database: Database, req: AuthorizationRequest, session_token: str) -> bool:
    """Whether the person must be asked: not for a pre-consented client, nor when a remembered
    consent covers every scope asked for (and prompt=consent was not given)."""
    with database.session() as s:
        client = _find_client(s, req.client_id)
        if client is not None and client.pre_consented:
            return False
        if "consent" in req.prompt:
            return True
        ws = resolve_web_session(s, session_token)
        if ws is None:
            return True
        row = _consent_row(s, ws.account_id, req.client_id)
        return row is None or not _covered(req.scope, row.scope)


def _consent_row(s: Session, account_id: int, client_id: str) -> OidcConsent | None:
    return s.scalars(
        select(OidcConsent).where(OidcConsent.account_id == account_id, OidcConsent.client_id == client_id)
    ).first()


def consent_view(database: Database, req: AuthorizationRequest, session_token: str = "") -> ConsentView:
    with database.session() as s:
        client = _find_client(s, req.client_id)
        owner = s.get(OrgUnit, client.owner_unit_id) if client is not None else None
        ws = resolve_web_session(s, session_token) if session_token else None
        account = s.get(Account, ws.account_id) if ws is not None else None
        return ConsentView(
            client_name=req.client_name,
            owner_name=owner.name if owner else "",
            items=scope_items(req.scope),
            person_name=account.display_name if account else "",
        )


def asking_client(session: Session, client_id: str) -> tuple[str, bool] | None:
    """(name, pre-consented) of an active client, for the login page that names who asks."""
    client = _find_client(session, client_id)
    if client is None or not client.is_active:
        return None
    return client.name, client.pre_consented


def consent_required_error(req: AuthorizationRequest) -> AuthorizeError:
    """prompt=none but the person has not consented: OIDC Core §3.1.2.6 consent_required."""
    return AuthorizeError(
        "consent_required", "用户尚未同意向该系统提供所请求的信息", req.redirect_uri, req.state
    )


def decide_consent(
    database: Database,
    req: AuthorizationRequest,
    session_token: str,
    *,
    allow: bool,
    remember: bool,
    ip: str | None = None,
) -> AuthorizeError | None:
    """Record the person's answer. Refusal returns the `access_denied` error to send back to the client
    (OIDC Core §3.1.2.6); agreement returns None, remembering the scopes for this client if asked."""
    with database.session() as s:
        ws = resolve_web_session(s, session_token)
        account = s.get(Account, ws.account_id) if ws is not None else None
        if ws is None or account is None:
            raise Forbidden(detail="登录已失效，请重新登录")
        actor = build_actor(s, account, on_behalf_of=ws.on_behalf_of, session_id=ws.id, ip=ip)
        if not allow:
            audit.append(
                s,
                actor,
                "identity.oidc.consent.deny",
                object_type="oidc_client",
                object_id=req.client_id,
                subject=account.citizen_id or account.username,
                detail={"scope": req.scope},
            )
            return AuthorizeError(
                "access_denied", "用户拒绝向该系统提供所请求的信息", req.redirect_uri, req.state
            )
        if remember:
            now = clock.now()
            row = _consent_row(s, account.id, req.client_id)
            if row is None:
                s.add(
                    OidcConsent(
                        account_id=account.id,
                        client_id=req.client_id,
                        scope=req.scope,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                row.scope = " ".join(sorted(set(row.scope.split()) | set(req.scope.split())))
                row.updated_at = now
        audit.append(
            s,
            actor,
            "identity.oidc.consent",
            object_type="oidc_client",
            object_id=req.client_id,
            subject=account.citizen_id or account.username,
            detail={"scope": req.scope, "remember": remember},
        )
        return None


def list_consents(session: Session, actor: Actor) -> list[ConsentRead]:
    """The systems the actor has authorised (remembered consents), newest first."""
    require_authenticated(actor)
    rows = session.execute(
        select(OidcConsent, OidcClient.name)
        .join(OidcClient, OidcClient.client_id == OidcConsent.client_id)
        .where(OidcConsent.account_id == actor.account_id)
        .order_by(OidcConsent.updated_at.desc(), OidcConsent.id.desc())
    ).all()
    return [
        ConsentRead(
            client_id=c.client_id, client_name=name, items=scope_items(c.scope), updated_at=c.updated_at
        )
        for c, name in rows
    ]


def revoke_consent(session: Session, actor: Actor, client_id: str) -> int:
    """Withdraw the actor's consent for a client and revoke every token that client holds for them
    (refresh tokens included), so it can no longer read anything. Returns the tokens revoked."""
    require_authenticated(actor)
    row = _consent_row(session, actor.account_id or 0, client_id[:64])
    if row is None:
        raise NotFound(detail="没有找到对该系统的授权")
    session.delete(row)
    revoked = _revoke_where(
        session, AccessToken.client_id == row.client_id, AccessToken.account_id == actor.account_id
    )
    audit.append(
        session,
        actor,
        "identity.oidc.consent.revoke",
        object_type="oidc_client",
        object_id=row.client_id,
        detail={"scope": row.scope, "tokens_revoked": revoked},
    )
    return revoked


def set_client_pre_consent(session: Session, actor: Actor, client_id: str, pre_consented: bool) -> OidcClient:
    """Mark a first-party client as pre-consented (or not). Only the platform administrator (the
    operator) vouches for a system this way; the change is audited."""
    require_authenticated(actor)
    client = _find_client(session, client_id)
    if not actor.is_platform_admin:
        raise Forbidden(detail="只有平台管理员可以设置免授权确认的系统")
    if client is None:
        raise NotFound(detail=f"接入系统 {client_id[:64]} 不存在")
    if client.pre_consented != pre_consented:
        client.pre_consented = pre_consented
        session.flush()
        audit.append(
            session,
            actor,
            "identity.client.pre_consent",
            object_type="oidc_client",
            object_id=client.client_id,
            detail={"pre_consented": pre_consented},
        )
    return client
