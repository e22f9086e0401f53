"""The token endpoint (RFC 6749 §3.2): the authorization_code (with PKCE), refresh_token (rotated,
reuse revokes the grant) and client_credentials grants, and the token response with its ID token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.db import Database
from yiwang.identity.models import AccessToken, Account, AuthorizationCode, OidcClient, WebSession
from yiwang.identity.service.auth import issue_token
from yiwang.identity.service.oidc.claims import ACR_VALUES, _audit_release, _session_sid, subject_for
from yiwang.identity.service.oidc.client_auth import _authenticate, _client_credentials
from yiwang.identity.service.oidc.clients import (
    GRANT_TYPES,
    _dedupe,
    _revoke_grant,
    _revoke_where,
    system_scopes,
)
from yiwang.identity.service.oidc.errors import (
    OAuthError,
    _client_actor,
    _client_refusal,
    _Refusal,
    _refusals_recorded,
)
from yiwang.identity.service.oidc.keys import sign_jwt
from yiwang.identity.service.tokens import digest
from yiwang.settings import get_settings

_ACTION = "identity.oidc.token"
ID_TOKEN_TTL = timedelta(minutes=10)
_PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def _pkce_s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _half_hash(value: str) -> str:
    """at_hash: left half of SHA-256 of the token, base64url (OIDC Core §3.1.3.6, for RS256)."""
    d = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(d[: len(d) // 2]).rstrip(b"=").decode()


def _grant_label(code_hash: str) -> str:
    # Every token of one authorization (its refresh rotations too) carries this label, so a reused
    # code or refresh token revokes the whole family.
    return f"oidc-grant:{code_hash[:40]}"


def _refuser(client: OidcClient, ip: str | None) -> Callable[..., _Refusal]:
    """`refuse(reason, description, error="invalid_grant", **kw)`: a refusal of a token request by an
    authenticated client, recorded against it."""

    def refuse(reason: str, description: str, error: str = "invalid_grant", **kw: Any) -> _Refusal:
        return _client_refusal(client, ip, _ACTION, OAuthError(error, description), reason, **kw)

    return refuse


def _family_revoker(
    client_id: str, account_id: int | None, label: str
) -> Callable[[Session], dict[str, Any]]:
    """Revokes every token of one grant (`_Refusal.after`). Plain values: it runs after the refused
    request's transaction has rolled back."""

    def revoke_family(s2: Session) -> dict[str, Any]:
        return {"tokens_revoked": _revoke_grant(s2, client_id, account_id, label)}

    return revoke_family


def _code_burner(code_hash: str) -> Callable[[Session], dict[str, Any]]:
    """Marks an authorization code used (`_Refusal.after`: runs after the refused request rolled back)."""

    def burn(s2: Session) -> dict[str, Any]:
        spent = s2.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == code_hash, AuthorizationCode.used_at.is_(None))
            .values(used_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        return {"code_consumed": bool(spent.rowcount)}  # type: ignore[attr-defined]

    return burn


def token_request(
    database: Database,
    params: Mapping[str, str],
    authorization: str | None,
    *,
    issuer: str,
    ip: str | None = None,
) -> dict[str, Any]:
    """The token endpoint (RFC 6749 §3.2): authorization_code (with PKCE), refresh_token (rotated),
    client_credentials. Raises `OAuthError`; every refusal and every issuance is audited."""
    creds = _client_credentials(database, params, authorization, _ACTION, ip)
    with _refusals_recorded(database), database.session() as s:
        client = _authenticate(s, creds, _ACTION, ip)
        grant = params.get("grant_type", "")
        refuse = _refuser(client, ip)
        if not grant:
            raise refuse("no-grant-type", "缺少 grant_type 参数", "invalid_request")
        if grant not in GRANT_TYPES:
            raise refuse("unsupported-grant", f"不支持的授权类型 {grant[:40]}", "unsupported_grant_type")
        if grant not in client.grant_types:
            raise refuse("grant-not-allowed", f"该接入系统未登记 {grant} 授权类型", "unauthorized_client")
        if grant == "authorization_code":
            return _grant_code(s, client, params, issuer, ip)
        if grant == "refresh_token":
            return _grant_refresh(s, client, params, issuer, ip)
        return _grant_client_credentials(s, client, params, ip)


def _token_response(
    s: Session,
    *,
    client: OidcClient,
    account: Account,
    scope: str,
    on_behalf_of: str | None,
    session_id: str | None,
    label: str,
    issuer: str,
    auth_time: datetime,
    auth_methods: str,
    nonce: str | None,
    refresh_expires_at: datetime | None,
) -> dict[str, Any]:
    settings = get_settings()
    access = issue_token(
        s,
        account_id=account.id,
        client_id=client.client_id,
        scope=scope,
        on_behalf_of=on_behalf_of,
        minutes=settings.access_token_minutes,
        kind="access",
        session_id=session_id,
        label=label,
    )
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": settings.access_token_minutes * 60,
        "scope": scope,
    }
    if "refresh_token" in client.grant_types:
        refresh = issue_token(
            s,
            account_id=account.id,
            client_id=client.client_id,
            scope=scope,
            on_behalf_of=on_behalf_of,
            minutes=settings.session_hours * 60,
            kind="refresh",
            session_id=session_id,
            label=label,
        )
        if refresh_expires_at is not None:
            row = s.get(AccessToken, digest(refresh))
            assert row is not None
            row.expires_at = refresh_expires_at  # rotation keeps the grant's absolute lifetime
        body["refresh_token"] = refresh
    if "openid" in scope.split():
        now = clock.now()
        iat = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": issuer,
            "sub": subject_for(issuer, account.id),
            "aud": client.client_id,
            "azp": client.client_id,
            "exp": iat + int(ID_TOKEN_TTL.total_seconds()),
            "iat": iat,
            "auth_time": int(auth_time.timestamp()),
            "amr": [m for m in auth_methods.split("+") if m] or ["pwd"],
            "acr": ACR_VALUES.get(auth_methods, ACR_VALUES["pwd"]),
            "at_hash": _half_hash(access),
        }
        if nonce:
            claims["nonce"] = nonce
        if sid := _session_sid(session_id):
            claims["sid"] = sid
        body["id_token"] = sign_jwt(s, claims)
    return body


def _grant_code(
    s: Session, client: OidcClient, params: Mapping[str, str], issuer: str, ip: str | None
) -> dict[str, Any]:
    refuse = _refuser(client, ip)
    code = params.get("code", "")
    if not code:
        raise refuse("no-code", "缺少 code 参数", "invalid_request")
    code_hash = digest(code)
    row = s.get(AuthorizationCode, code_hash)
    if row is None or row.client_id != client.client_id:
        raise refuse("unknown-code", "授权码无效")
    label = _grant_label(code_hash)
    who = {"account_id": row.account_id}
    revoke_family = _family_revoker(client.client_id, row.account_id, label)
    if row.used_at is not None:
        raise refuse(
            "code-reused", "授权码已使用过；由它签发的令牌已全部吊销", detail=who, after=revoke_family
        )
    if row.expires_at <= clock.now():
        raise refuse("code-expired", "授权码已过期（有效期 60 秒），请重新登录", detail=who)
    if params.get("redirect_uri", "") != row.redirect_uri:
        raise refuse("redirect-uri-mismatch", "redirect_uri 与授权请求中的不一致", detail=who)
    verifier = params.get("code_verifier")
    if row.code_challenge:
        # A failed PKCE check spends the code (RFC 9700 §4.8.2): whoever tried a verifier must not get
        # another guess, and the real client starts a new authorization.
        burn = _code_burner(code_hash)
        if not verifier:
            raise refuse("pkce-missing", "缺少 code_verifier（PKCE）", detail=who, after=burn)
        if not _PKCE_VERIFIER.match(verifier) or not hmac.compare_digest(
            _pkce_s256(verifier), row.code_challenge
        ):
            raise refuse(
                "pkce-mismatch",
                "code_verifier 与 code_challenge 不匹配（PKCE 校验失败）",
                detail=who,
                after=burn,
            )
    elif verifier:
        raise refuse("pkce-unexpected", "授权请求未使用 PKCE，不应提供 code_verifier", detail=who)
    account = s.get(Account, row.account_id)
    if account is None or not account.is_active:
        raise refuse("account-inactive", "该账号已停用", detail=who)
    # Claim the code atomically: of two concurrent exchanges exactly one wins.
    claimed = s.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.code_hash == code_hash, AuthorizationCode.used_at.is_(None))
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise refuse(
            "code-reused", "授权码已使用过；由它签发的令牌已全部吊销", detail=who, after=revoke_family
        )
    body = _token_response(
        s,
        client=client,
        account=account,
        scope=row.scope,
        on_behalf_of=row.on_behalf_of,
        session_id=row.session_id,
        label=label,
        issuer=issuer,
        auth_time=row.auth_time,
        auth_methods=row.auth_methods,
        nonce=row.nonce,
        refresh_expires_at=None,
    )
    _audit_release(
        s,
        account,
        _ACTION,
        client.client_id,
        on_behalf_of=row.on_behalf_of,
        session_id=row.session_id,
        ip=ip,
        detail={"grant_type": "authorization_code", "scope": row.scope, "refresh": "refresh_token" in body},
    )
    return body


def _grant_refresh(
    s: Session, client: OidcClient, params: Mapping[str, str], issuer: str, ip: str | None
) -> dict[str, Any]:
    refuse = _refuser(client, ip)
    token = params.get("refresh_token", "")
    if not token:
        raise refuse("no-refresh-token", "缺少 refresh_token 参数", "invalid_request")
    token_hash = digest(token)
    row = s.get(AccessToken, token_hash)
    if row is None or row.kind != "refresh" or row.client_id != client.client_id or row.account_id is None:
        raise refuse("unknown-refresh-token", "刷新令牌无效")
    who = {"account_id": row.account_id}
    label = row.label
    revoke_family = _family_revoker(client.client_id, row.account_id, label)
    if row.revoked_at is not None:
        # A rotated (or revoked) refresh token presented again: someone holds a copy. Revoke the family.
        raise refuse(
            "refresh-reused",
            "刷新令牌已失效；该授权下的令牌已全部吊销",
            detail=who,
            after=revoke_family if label.startswith("oidc-grant:") else None,
        )
    if row.expires_at <= clock.now():
        raise refuse("refresh-expired", "刷新令牌已过期，请重新登录", detail=who)
    granted = row.scope.split()
    scope = row.scope
    if params.get("scope"):
        wanted = _dedupe(params["scope"].split())
        if any(w not in granted for w in wanted):
            raise refuse("scope-widened", "刷新时请求的权限范围超出了原授权", "invalid_scope", detail=who)
        scope = " ".join(wanted)
    account = s.get(Account, row.account_id)
    if account is None or not account.is_active:
        raise refuse("account-inactive", "该账号已停用", detail=who)
    # Rotate atomically: of two concurrent refreshes exactly one wins.
    if not _revoke_where(s, AccessToken.token_hash == token_hash):
        raise refuse(
            "refresh-reused", "刷新令牌已失效；该授权下的令牌已全部吊销", detail=who, after=revoke_family
        )
    ws = s.get(WebSession, row.session_id) if row.session_id else None
    body = _token_response(
        s,
        client=client,
        account=account,
        scope=scope,
        on_behalf_of=row.on_behalf_of,
        session_id=row.session_id,
        label=label,
        issuer=issuer,
        auth_time=ws.created_at if ws else row.created_at,
        auth_methods=ws.auth_methods if ws else "pwd",
        nonce=None,
        refresh_expires_at=row.expires_at,
    )
    _audit_release(
        s,
        account,
        _ACTION,
        client.client_id,
        on_behalf_of=row.on_behalf_of,
        session_id=row.session_id,
        ip=ip,
        detail={"grant_type": "refresh_token", "scope": scope},
    )
    return body


def _grant_client_credentials(
    s: Session, client: OidcClient, params: Mapping[str, str], ip: str | None
) -> dict[str, Any]:
    actor = _client_actor(client, ip)
    allowed = system_scopes(client)
    if params.get("scope"):
        wanted = _dedupe(params["scope"].split())
        extra = [w for w in wanted if w not in allowed]
        if extra:
            raise _refuser(client, ip)(
                "scope-not-allowed",
                f"该接入系统未被授予权限范围：{' '.join(extra)[:200]}",
                "invalid_scope",
                detail={"scope": " ".join(extra)[:200]},
            )
        scope = " ".join(wanted)
    else:
        scope = " ".join(allowed)
    minutes = get_settings().access_token_minutes
    token = issue_token(
        s,
        account_id=None,
        client_id=client.client_id,
        scope=scope,
        minutes=minutes,
        kind="access",
        label="oidc-client-credentials",
    )
    audit.append(
        s,
        actor,
        _ACTION,
        object_type="oidc_client",
        object_id=client.client_id,
        purpose="system",
        detail={"grant_type": "client_credentials", "scope": scope},
    )
    return {"access_token": token, "token_type": "Bearer", "expires_in": minutes * 60, "scope": scope}
