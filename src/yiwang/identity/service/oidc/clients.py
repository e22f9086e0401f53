"""The government systems registered as OIDC clients (A5): registration, settings, secrets, status.

Plain `(session, actor, …)` commands for platform admins, or for a department admin for clients owned
inside their subtree. Also the client look-ups and the token revocation the protocol modules share
(`_find_client`, `system_scopes`, `_revoke_where`, `_revoke_grant`), and the grant types and scopes a client
may hold.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.errors import FieldError, Forbidden, Invalid, NotFound
from yiwang.core.security import Actor, require_authenticated
from yiwang.identity.models import AccessToken, OidcClient, OrgUnit
from yiwang.identity.service.accounts import require_admin_of
from yiwang.identity.service.tokens import digest, new_secret

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
GRANT_LABELS = {
    "authorization_code": "授权码（单点登录）",
    "refresh_token": "刷新令牌",
    "client_credentials": "客户端凭证（系统间调用）",
}
# Scopes about a person; everything else a client is allowed is a system scope (API permission).
USER_SCOPES: dict[str, str] = {
    "openid": "登录标识（sub）",
    "profile": "姓名、用户名、账号类型、脱敏身份证号",
    "phone": "手机号码",
    "email": "电子邮箱",
    "idcard": "完整公民身份号码",
    "enterprise": "当前代办的企业（统一社会信用代码和名称）",
    "staff": "工作人员所在部门和角色",
}
_SCOPE_TOKEN = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _dedupe(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def check_redirect_uri(value: str, field_name: str) -> str:
    """An absolute https URL (http only for 127.0.0.1/localhost), no fragment, no credentials."""
    v = (value or "").strip()
    if not v:
        raise Invalid.on(field_name, "回调地址不能为空")
    if len(v) > 500:
        raise Invalid.on(field_name, "回调地址不能超过 500 个字符")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in v):
        raise Invalid.on(field_name, "回调地址不能包含空格或控制字符")
    if "#" in v:
        raise Invalid.on(field_name, "回调地址不能包含 # 片段")
    try:
        parts = urlsplit(v)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise Invalid.on(field_name, "回调地址格式不正确") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        raise Invalid.on(
            field_name, "回调地址必须是完整的 https 网址，例如 https://oa.example.gov.cn/callback"
        )
    if scheme == "http" and host not in _LOOPBACK:
        raise Invalid.on(
            field_name, "回调地址必须使用 https（只有本机调试地址 127.0.0.1 或 localhost 可以用 http）"
        )
    if parts.username is not None or parts.password is not None:
        raise Invalid.on(field_name, "回调地址不能包含用户名或密码")
    return v


@dataclass(frozen=True)
class _ClientShape:
    name: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    allowed_scopes: str


def _validate_shape(
    *,
    name: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    grant_types: list[str],
    allowed_scopes: str,
    is_confidential: bool,
) -> _ClientShape:
    """Check a client's settings as a whole; every problem found is reported at once."""
    errors: list[FieldError] = []

    def bad(field_name: str, message: str) -> None:
        errors.append(FieldError(field_name, message))

    name = (name or "").strip()
    if not name:
        bad("name", "系统名称不能为空")
    elif len(name) > 100:
        bad("name", "系统名称不能超过 100 个字符")

    def checked_uris(values: list[str], field_name: str) -> list[str]:
        uris: list[str] = []
        for i, uri in enumerate(values or []):
            try:
                uris.append(check_redirect_uri(uri, f"{field_name}.{i}"))
            except Invalid as exc:
                errors.extend(exc.errors)
        return uris

    uris = checked_uris(redirect_uris, "redirect_uris")
    logout_uris = checked_uris(post_logout_redirect_uris, "post_logout_redirect_uris")

    grants = _dedupe([(g or "").strip() for g in grant_types or []])
    unknown = [g for g in grants if g not in GRANT_TYPES]
    if not grants:
        bad("grant_types", "至少选择一种授权类型")
    for g in unknown:
        bad(
            "grant_types",
            f"不支持的授权类型 {g}（可选：authorization_code、refresh_token、client_credentials）",
        )
    if "refresh_token" in grants and "authorization_code" not in grants:
        bad("grant_types", "刷新令牌只能与授权码方式一起使用")
    if (
        "authorization_code" in grants
        and not uris
        and not any(e.field.startswith("redirect_uris") for e in errors)
    ):
        bad("redirect_uris", "单点登录（授权码方式）至少需要一个回调地址")
    if "client_credentials" in grants and not is_confidential:
        bad("grant_types", "公开客户端（无密钥）不能使用客户端凭证方式")

    scopes = _dedupe((allowed_scopes or "").split())
    for s in scopes:
        if not _SCOPE_TOKEN.match(s):
            bad("allowed_scopes", f"权限范围 {s} 格式不正确（小写字母开头，可含数字和 . _ : -）")
    if "authorization_code" in grants and "openid" not in scopes:
        scopes.insert(0, "openid")
    if len(" ".join(scopes)) > 500:
        bad("allowed_scopes", "权限范围总长不能超过 500 个字符")
    if errors:
        raise Invalid(detail="；".join(f"{e.field}：{e.message}" for e in errors), errors=errors)
    return _ClientShape(name, _dedupe(uris), _dedupe(logout_uris), grants, " ".join(scopes))


def _new_client_id(session: Session) -> str:
    while True:
        candidate = f"yw-{secrets.token_hex(4)}"
        if session.scalars(select(OidcClient.id).where(OidcClient.client_id == candidate)).first() is None:
            return candidate


def _client_detail(client: OidcClient) -> dict[str, Any]:
    return {
        "name": client.name,
        "owner_unit_id": client.owner_unit_id,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "allowed_scopes": client.allowed_scopes,
        "is_confidential": client.is_confidential,
    }


def register_client(
    session: Session,
    actor: Actor,
    *,
    name: str,
    owner_unit_id: int,
    redirect_uris: list[str],
    grant_types: list[str],
    allowed_scopes: str,
    is_confidential: bool = True,
    post_logout_redirect_uris: list[str] | None = None,
) -> tuple[OidcClient, str | None]:
    """Register a government system. Returns the client and its secret — shown this once, only its
    SM3 hash is kept (None for a public client, which proves itself with PKCE instead)."""
    require_admin_of(session, actor, owner_unit_id)
    shape = _validate_shape(
        name=name,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris or [],
        grant_types=grant_types,
        allowed_scopes=allowed_scopes,
        is_confidential=is_confidential,
    )
    secret = new_secret(32) if is_confidential else None
    client = OidcClient(
        client_id=_new_client_id(session),
        secret_hash=digest(secret) if secret else None,
        name=shape.name,
        owner_unit_id=owner_unit_id,
        redirect_uris=shape.redirect_uris,
        post_logout_redirect_uris=shape.post_logout_redirect_uris,
        grant_types=shape.grant_types,
        allowed_scopes=shape.allowed_scopes,
        is_confidential=is_confidential,
        is_active=True,
        created_at=clock.now(),
        created_by=actor.account_id,
        extra={},
    )
    session.add(client)
    session.flush()
    audit.append(
        session,
        actor,
        "identity.client.register",
        object_type="oidc_client",
        object_id=client.client_id,
        detail=_client_detail(client),
    )
    return client, secret


def _find_client(session: Session, client_id: str) -> OidcClient | None:
    if not client_id or len(client_id) > 64:
        return None
    return session.scalars(select(OidcClient).where(OidcClient.client_id == client_id)).first()


def get_client(session: Session, actor: Actor, client_id: str) -> OidcClient:
    client = _find_client(session, client_id)
    if client is None:
        require_authenticated(actor)
        raise NotFound(detail=f"接入系统 {client_id} 不存在")
    require_admin_of(session, actor, client.owner_unit_id)
    return client


def list_clients(session: Session, actor: Actor) -> list[OidcClient]:
    """Every client for a platform admin; a department admin sees those owned inside their subtrees."""
    require_authenticated(actor)
    query = select(OidcClient).order_by(OidcClient.created_at, OidcClient.id)
    if not actor.is_platform_admin:
        if not actor.has_role("dept_admin") or not actor.admin_units:
            raise Forbidden(detail="只有平台管理员和部门管理员可以查看接入系统")
        query = query.join(OrgUnit, OrgUnit.id == OidcClient.owner_unit_id).where(
            or_(*[OrgUnit.path.contains(f"/{unit}/") for unit in sorted(actor.admin_units)])
        )
    return list(session.scalars(query))


def update_client(
    session: Session,
    actor: Actor,
    client_id: str,
    *,
    name: str | None = None,
    redirect_uris: list[str] | None = None,
    post_logout_redirect_uris: list[str] | None = None,
    grant_types: list[str] | None = None,
    allowed_scopes: str | None = None,
) -> OidcClient:
    """Change the given settings (None leaves one as it is). Tokens already issued keep their scope
    until they expire; narrowing a client's rights for good means rotating or deactivating it too."""
    client = get_client(session, actor, client_id)
    shape = _validate_shape(
        name=client.name if name is None else name,
        redirect_uris=client.redirect_uris if redirect_uris is None else redirect_uris,
        post_logout_redirect_uris=(
            client.post_logout_redirect_uris
            if post_logout_redirect_uris is None
            else post_logout_redirect_uris
        ),
        grant_types=client.grant_types if grant_types is None else grant_types,
        allowed_scopes=client.allowed_scopes if allowed_scopes is None else allowed_scopes,
        is_confidential=client.is_confidential,
    )
    before = _client_detail(client)
    client.name = shape.name
    client.redirect_uris = shape.redirect_uris
    client.post_logout_redirect_uris = shape.post_logout_redirect_uris
    client.grant_types = shape.grant_types
    client.allowed_scopes = shape.allowed_scopes
    session.flush()
    after = _client_detail(client)
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    audit.append(
        session,
        actor,
        "identity.client.update",
        object_type="oidc_client",
        object_id=client_id,
        detail=changed,
    )
    return client


def rotate_client_secret(session: Session, actor: Actor, client_id: str) -> str:
    """A new secret, returned this once; the old one stops working at once."""
    client = get_client(session, actor, client_id)
    if not client.is_confidential:
        raise Invalid.on("client_id", "公开客户端没有客户端密钥")
    secret = new_secret(32)
    client.secret_hash = digest(secret)
    session.flush()
    audit.append(
        session, actor, "identity.client.rotate_secret", object_type="oidc_client", object_id=client_id
    )
    return secret


def _revoke_where(session: Session, *conditions: Any) -> int:
    result = session.execute(
        update(AccessToken)
        .where(AccessToken.revoked_at.is_(None), *conditions)
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _revoke_grant(session: Session, client_id: str, account_id: int | None, label: str) -> int:
    """Revoke every token of one grant: a code's tokens and their refresh rotations share `label`."""
    return _revoke_where(
        session,
        AccessToken.client_id == client_id,
        AccessToken.account_id == account_id,
        AccessToken.label == label,
    )


def deactivate_client(session: Session, actor: Actor, client_id: str) -> OidcClient:
    """Stop a client: its sign-ins and token requests are refused, and every token it holds is revoked."""
    client = get_client(session, actor, client_id)
    revoked = 0
    if client.is_active:
        client.is_active = False
        revoked = _revoke_where(session, AccessToken.client_id == client_id)
        audit.append(
            session,
            actor,
            "identity.client.deactivate",
            object_type="oidc_client",
            object_id=client_id,
            detail={"tokens_revoked": revoked},
        )
    session.flush()
    return client


def reactivate_client(session: Session, actor: Actor, client_id: str) -> OidcClient:
    client = get_client(session, actor, client_id)
    if not client.is_active:
        client.is_active = True
        audit.append(
            session, actor, "identity.client.reactivate", object_type="oidc_client", object_id=client_id
        )
    session.flush()
    return client


def client_display_name(session: Session, client_id: str) -> str | None:
    """The name of an active client, for a login page that shows which system one is signing into."""
    client = _find_client(session, client_id)
    return client.name if client is not None and client.is_active else None


def system_scopes(client: OidcClient) -> list[str]:
    return [s for s in client.allowed_scopes.split() if s not in USER_SCOPES]
