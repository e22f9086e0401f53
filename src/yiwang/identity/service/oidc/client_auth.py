"""Client authentication at the token, revocation and introspection endpoints: form parameters,
client_secret_basic / client_secret_post / none (public client with PKCE), checked against the client.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from sqlalchemy.orm import Session

from yiwang.core.db import Database
from yiwang.identity.models import OidcClient
from yiwang.identity.service.oidc.clients import _find_client
from yiwang.identity.service.oidc.errors import OAuthError, _anonymous, _record, _Refusal
from yiwang.identity.service.tokens import digest


def single_params(form: Mapping[str, list[str]]) -> dict[str, str]:
    """Form parameters, refusing any given twice (RFC 6749 §3.2)."""
    out: dict[str, str] = {}
    for key, values in form.items():
        if len(values) > 1:
            raise OAuthError("invalid_request", f"参数 {key[:40]} 重复出现")
        out[key] = values[0] if values else ""
    return out


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    secret: str | None
    method: str  # client_secret_basic / client_secret_post / none


def parse_client_credentials(
    params: Mapping[str, str], authorization: str | None
) -> ClientCredentials | None:
    header = (authorization or "").strip()
    body_id, body_secret = params.get("client_id") or "", params.get("client_secret")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise OAuthError("invalid_client", "Authorization 头应为 Basic 方式的客户端认证", 401)
        try:
            raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", "Authorization 头格式不正确", 401) from None
        user, sep, password = raw.partition(":")
        if not sep:
            raise OAuthError("invalid_client", "Authorization 头格式不正确", 401)
        if body_secret:
            raise OAuthError("invalid_request", "客户端认证只能使用一种方式（Basic 头或表单参数）")
        client_id = unquote_plus(user)
        if body_id and body_id != client_id:
            raise OAuthError("invalid_request", "表单中的 client_id 与 Authorization 头不一致")
        return ClientCredentials(client_id, unquote_plus(password), "client_secret_basic")
    if not body_id:
        return None
    if body_secret is not None:
        return ClientCredentials(body_id, body_secret, "client_secret_post")
    return ClientCredentials(body_id, None, "none")


def _authenticate(
    s: Session, creds: ClientCredentials | None, action: str, ip: str | None, *, allow_public: bool = True
) -> OidcClient:
    if creds is None:
        raise _Refusal(
            OAuthError("invalid_client", "缺少客户端认证（client_id 和 client_secret）", 401),
            _anonymous(ip),
            action,
            "no-client-auth",
        )
    actor = _anonymous(ip, creds.client_id)
    client = _find_client(s, creds.client_id)

    def refuse(reason: str, description: str) -> _Refusal:
        return _Refusal(
            OAuthError("invalid_client", description, 401),
            actor,
            action,
            reason,
            object_id=creds.client_id[:64],
            detail={"method": creds.method},
        )

    if client is None:
        raise refuse("unknown-client", "客户端认证失败")
    if not client.is_active:
        raise refuse("inactive-client", "该接入系统已停用")
    if client.is_confidential:
        if creds.secret is None or client.secret_hash is None:
            raise refuse("no-client-secret", "该接入系统须提供客户端密钥")
        if not hmac.compare_digest(digest(creds.secret), client.secret_hash):
            raise refuse("bad-client-secret", "客户端认证失败")
    else:
        if creds.secret:
            raise refuse("public-client-secret", "公开客户端不应提供客户端密钥")
        if not allow_public:
            raise refuse("public-client", "公开客户端不能调用此接口")
    return client


def _client_credentials(
    database: Database, params: Mapping[str, str], authorization: str | None, action: str, ip: str | None
) -> ClientCredentials | None:
    """`parse_client_credentials`, with a malformed client authentication recorded as a refusal."""
    try:
        return parse_client_credentials(params, authorization)
    except OAuthError as error:
        _record(database, _Refusal(error, _anonymous(ip), action, "bad-client-auth-format"))
        raise
