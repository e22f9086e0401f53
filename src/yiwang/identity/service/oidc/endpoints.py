"""The resource-side endpoints: UserInfo (OIDC Core §5.3), token revocation (RFC 7009) and token
introspection (RFC 7662).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.db import Database
from yiwang.identity.models import AccessToken, Account, OidcClient
from yiwang.identity.service.oidc.claims import _audit_release, subject_for, user_claims
from yiwang.identity.service.oidc.client_auth import _authenticate, _client_credentials
from yiwang.identity.service.oidc.clients import _find_client, _revoke_grant
from yiwang.identity.service.oidc.errors import (
    BearerError,
    OAuthError,
    _anonymous,
    _client_actor,
    _client_refusal,
    _Refusal,
    _refusals_recorded,
)
from yiwang.identity.service.tokens import digest


def userinfo(database: Database, token: str | None, *, issuer: str, ip: str | None = None) -> dict[str, Any]:
    """Claims about the person an OIDC access token was issued for. A client-credentials token names no
    person and is refused with 403 insufficient_scope (it is valid, just not for this)."""
    action = "identity.oidc.userinfo"
    with _refusals_recorded(database), database.session() as s:
        if not token:
            raise _Refusal(
                BearerError("invalid_request", "缺少访问令牌（Authorization: Bearer <令牌>）", 401),
                _anonymous(ip),
                action,
                "no-token",
            )
        row = s.get(AccessToken, digest(token))
        now = clock.now()
        reason = None
        if row is None or row.kind != "access" or not row.client_id:
            reason = "unknown-token"
        elif row.revoked_at is not None:
            reason = "revoked-token"
        elif row.expires_at <= now:
            reason = "expired-token"
        if reason is not None or row is None:
            raise _Refusal(
                BearerError("invalid_token", "访问令牌无效、已过期或已被吊销", 401),
                _anonymous(ip),
                action,
                reason or "unknown-token",
            )
        client = _find_client(s, row.client_id or "")
        if client is None or not client.is_active:
            raise _Refusal(
                BearerError("invalid_token", "签发该令牌的接入系统已停用", 401),
                _anonymous(ip),
                action,
                "inactive-client",
                object_id=row.client_id or "",
            )
        if row.account_id is None:
            raise _client_refusal(
                client,
                ip,
                action,
                BearerError("insufficient_scope", "客户端凭证令牌不代表任何用户，不能读取用户信息", 403),
                "no-user",
            )
        scopes = frozenset(row.scope.split())
        if "openid" not in scopes:
            raise _client_refusal(
                client,
                ip,
                action,
                BearerError("insufficient_scope", "访问令牌不含 openid 权限范围", 403),
                "no-openid-scope",
            )
        account = s.get(Account, row.account_id)
        if account is None or not account.is_active:
            raise _client_refusal(
                client, ip, action, BearerError("invalid_token", "该账号已停用", 401), "account-inactive"
            )
        claims = user_claims(s, account, scopes, row.on_behalf_of, issuer)
        released = sorted(k for k in claims if k not in ("sub", "account_kind"))
        _audit_release(
            s,
            account,
            action,
            client.client_id,
            on_behalf_of=row.on_behalf_of,
            session_id=row.session_id,
            ip=ip,
            detail={"claims": released},
            scopes=scopes,
        )
        return claims


def _presented_token(
    s: Session, client: OidcClient, params: Mapping[str, str], action: str, ip: str | None
) -> AccessToken | None:
    """The token a client asks about (revocation, introspection): the required `token` parameter."""
    token = params.get("token", "")
    if not token:
        raise _client_refusal(
            client, ip, action, OAuthError("invalid_request", "缺少 token 参数"), "no-token"
        )
    return s.get(AccessToken, digest(token))


def revoke(
    database: Database, params: Mapping[str, str], authorization: str | None, *, ip: str | None = None
) -> None:
    """RFC 7009. A client revokes its own tokens; revoking a refresh token revokes its whole grant.
    Unknown tokens and tokens of other clients are answered the same way (200) and left alone."""
    action = "identity.oidc.revoke"
    creds = _client_credentials(database, params, authorization, action, ip)
    with _refusals_recorded(database), database.session() as s:
        client = _authenticate(s, creds, action, ip)
        row = _presented_token(s, client, params, action, ip)
        if row is None or row.client_id != client.client_id:
            return
        revoked = 0
        if row.kind == "refresh" and row.label.startswith("oidc-grant:"):
            revoked = _revoke_grant(s, client.client_id, row.account_id, row.label)
        elif row.revoked_at is None:
            row.revoked_at = clock.now()
            revoked = 1
        if revoked:
            audit.append(
                s,
                _client_actor(client, ip),
                action,
                object_type="oidc_client",
                object_id=client.client_id,
                detail={"kind": row.kind, "account_id": row.account_id, "tokens_revoked": revoked},
            )


def introspect(
    database: Database,
    params: Mapping[str, str],
    authorization: str | None,
    *,
    issuer: str,
    ip: str | None = None,
) -> dict[str, Any]:
    """RFC 7662, for resource servers: a confidential client asks whether a token is active. Access
    tokens of any client may be introspected; refresh tokens only by the client they were issued to.
    No personal data is returned (sub is opaque)."""
    action = "identity.oidc.introspect"
    creds = _client_credentials(database, params, authorization, action, ip)
    with _refusals_recorded(database), database.session() as s:
        client = _authenticate(s, creds, action, ip, allow_public=False)
        row = _presented_token(s, client, params, action, ip)
        inactive = {"active": False}
        if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
            return inactive
        if row.kind == "refresh" and row.client_id != client.client_id:
            return inactive
        if row.kind not in ("access", "refresh") or not row.client_id:
            return inactive
        owner = _find_client(s, row.client_id)
        if owner is None or not owner.is_active:
            return inactive
        body: dict[str, Any] = {
            "active": True,
            "scope": row.scope,
            "client_id": row.client_id,
            "token_type": "Bearer" if row.kind == "access" else "refresh_token",
            "exp": int(row.expires_at.timestamp()),
            "iat": int(row.created_at.timestamp()),
            "iss": issuer,
            "aud": row.client_id,
        }
        if row.account_id is not None:
            account = s.get(Account, row.account_id)
            if account is None or not account.is_active:
                return inactive
            body["sub"] = subject_for(issuer, row.account_id)
            body["account_kind"] = account.kind
            if row.on_behalf_of:
                body["act_for"] = row.on_behalf_of
        else:
            body["sub"] = row.client_id
            body["account_kind"] = "system"
        return body
