"""OpenID Connect provider (A2) and the government systems registered as its clients (A5).

Two halves:

* **Clients** (`register_client`, `update_client`, `rotate_client_secret`, `deactivate_client`,
  `reactivate_client`, `list_clients`, `get_client`): administration by platform admins, or by a
  department admin for clients owned inside their subtree. Plain `(session, actor, …)` commands.
* **Protocol** (`check_authorization_request`, `issue_authorization_code`, `token_request`,
  `userinfo`, `revoke`, `introspect`, `check_logout_request`, `end_browser_session`, `jwks`,
  `discovery_document`): the flows behind `yiwang.identity.oidc`'s endpoints. Like the login steps in
  `auth.py` they take the `Database` and manage their own transactions, because a refusal (a bad client
  secret, a reused code) must be written to the audit chain, and a reused code must revoke tokens, even
  though the request itself ends in an error.

Access and refresh tokens are opaque and stored as SM3 hashes (`auth.issue_token`), so an access
token is also a Bearer token on the platform's own API. ID tokens are JWS RS256 (the one algorithm
every OIDC library must verify), signed with a key whose private half is sealed with SM4 under the
master key. See docs/sso.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from yiwang import registry
from yiwang.core import audit, clock
from yiwang.core.crypto import open_secret, seal_secret, sm3_hex
from yiwang.core.db import Database
from yiwang.core.errors import FieldError, Forbidden, Invalid, NotFound, Problem
from yiwang.core.security import ANONYMOUS, Actor, ActorKind, require_authenticated
from yiwang.identity.models import (
    AccessToken,
    Account,
    AuthorizationCode,
    OidcClient,
    OrgUnit,
    SigningKey,
    WebSession,
)
from yiwang.identity.service.accounts import build_actor, require_admin_of, staff_roles
from yiwang.identity.service.auth import issue_token, logout, resolve_web_session
from yiwang.identity.service.tokens import digest, new_secret
from yiwang.settings import get_settings

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
CODE_TTL = timedelta(seconds=60)
ID_TOKEN_TTL = timedelta(minutes=10)
# After a newer key is made, an old signing key stays in the JWKS this long (longer than any ID token
# lives and than relying parties cache the JWKS), then retires.
KEY_RETIRE_AFTER = timedelta(days=2)
RSA_BITS = 2048
ACR_VALUES = {"pwd": "urn:yiwang:acr:pwd", "pwd+otp": "urn:yiwang:acr:mfa"}
# Our own parameter on the authorization URL handed to the login page (see `login_return_params`).
AUTH_AFTER_PARAM = "yw_auth_after"

_SCOPE_TOKEN = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
_PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_KEY_CONTEXT = "identity.oidc_signing_key:"


# ==================================================================================================
# Clients (A5)
# ==================================================================================================


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

    uris: list[str] = []
    for i, uri in enumerate(redirect_uris or []):
        try:
            uris.append(check_redirect_uri(uri, f"redirect_uris.{i}"))
        except Invalid as exc:
            errors.extend(exc.errors)
    logout_uris: list[str] = []
    for i, uri in enumerate(post_logout_redirect_uris or []):
        try:
            logout_uris.append(check_redirect_uri(uri, f"post_logout_redirect_uris.{i}"))
        except Invalid as exc:
            errors.extend(exc.errors)

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


# ==================================================================================================
# Signing keys and JWKS
# ==================================================================================================


def _key_context(kid: str) -> str:
    return _KEY_CONTEXT + kid


def _create_signing_key(session: Session) -> SigningKey:
    key = RSAKey.generate_key(RSA_BITS, private=True)
    kid = key.thumbprint()  # RFC 7638: stable, derived from the public key
    pem = key.as_pem(private=True)
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": "RS256"}
    row = SigningKey(
        kid=kid,
        alg="RS256",
        private_sealed=seal_secret(get_settings().resolved_master_key(), pem, _key_context(kid)),
        public_jwk=public,
        created_at=clock.now(),
        active=True,
    )
    session.add(row)
    session.flush()
    return row


def _published_keys(session: Session) -> list[SigningKey]:
    """Newest first: the signing key, then older keys until they retire (KEY_RETIRE_AFTER after a newer
    key appeared). Retirement needs no job: a key past it simply stops being published."""
    rows = list(
        session.scalars(
            select(SigningKey)
            .where(SigningKey.active.is_(True), SigningKey.alg == "RS256")
            .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        )
    )
    now = clock.now()
    keep = rows[:1]
    for older, newer in zip(rows[1:], rows, strict=False):
        if newer.created_at + KEY_RETIRE_AFTER > now:
            keep.append(older)
        else:
            break
    return keep


def current_signing_key(session: Session) -> SigningKey:
    """The key new ID tokens are signed with, generated on first use."""
    keys = _published_keys(session)
    return keys[0] if keys else _create_signing_key(session)


def rotate_signing_key(session: Session, actor: Actor) -> SigningKey:
    """Make a new signing key. The old public key stays in the JWKS for KEY_RETIRE_AFTER, so ID tokens
    already issued and JWKS caches at relying parties stay valid; keys past that are marked retired."""
    require_authenticated(actor)
    if not actor.is_platform_admin:
        raise Forbidden(detail="只有平台管理员可以轮换签名密钥")
    published = {k.kid for k in _published_keys(session)}
    retired = []
    for row in session.scalars(select(SigningKey).where(SigningKey.active.is_(True))):
        if row.kid not in published:
            row.active = False
            retired.append(row.kid)
    new = _create_signing_key(session)
    audit.append(
        session,
        actor,
        "identity.oidc.key_rotate",
        object_type="signing_key",
        object_id=new.kid,
        detail={"retired": retired, "still_published": sorted(published)},
    )
    return new


@lru_cache(maxsize=16)
def _private_key(kid: str, sealed: str) -> RSAKey:
    # Immutable key material keyed by its sealed text: a cache that cannot go stale, per process.
    pem = open_secret(get_settings().resolved_master_key(), sealed, _key_context(kid))
    return RSAKey.import_key(pem)


def sign_jwt(session: Session, claims: dict[str, Any]) -> str:
    # The newest active key signs (older ones are only published). Two columns, not the ORM row: this
    # runs for every ID token.
    found = session.execute(
        select(SigningKey.kid, SigningKey.private_sealed)
        .where(SigningKey.active.is_(True), SigningKey.alg == "RS256")
        .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        .limit(1)
    ).first()
    if found is not None:
        kid, sealed = found.kid, found.private_sealed
    else:
        row = _create_signing_key(session)
        kid, sealed = row.kid, row.private_sealed
    key = _private_key(kid, sealed)
    return jwt.encode({"alg": "RS256", "typ": "JWT", "kid": kid}, claims, key, algorithms=["RS256"])


def jwks(session: Session) -> dict[str, Any]:
    """The JSON Web Key Set: public keys only."""
    keys = _published_keys(session) or [current_signing_key(session)]
    return {"keys": [dict(k.public_jwk) for k in keys]}


def _verify_own_jwt(session: Session, token: str, issuer: str) -> dict[str, Any] | None:
    """Claims of a JWT this provider signed with a key it still publishes (expiry not checked)."""
    try:
        keyset = KeySet([RSAKey.import_key(k.public_jwk) for k in _published_keys(session)])
        decoded = jwt.decode(token, keyset, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError):
        return None
    claims = dict(decoded.claims)
    return claims if claims.get("iss") == issuer else None


# ==================================================================================================
# Discovery and claims
# ==================================================================================================


def issuer_url(base_url: str) -> str:
    return base_url.rstrip("/")


def discovery_document(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oidc/authorize",
        "token_endpoint": f"{issuer}/oidc/token",
        "userinfo_endpoint": f"{issuer}/oidc/userinfo",
        "jwks_uri": f"{issuer}/oidc/jwks",
        "end_session_endpoint": f"{issuer}/oidc/logout",
        "revocation_endpoint": f"{issuer}/oidc/revoke",
        "introspection_endpoint": f"{issuer}/oidc/introspect",
        "scopes_supported": list(USER_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "acr_values_supported": list(ACR_VALUES.values()),
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "acr",
            "sid",
            "at_hash",
            "azp",
            "name",
            "preferred_username",
            "account_kind",
            "idcard",
            "idcard_masked",
            "idcard_verified",
            "phone_number",
            "phone_number_verified",
            "email",
            "email_verified",
            "act_for",
            "department",
            "roles",
            "title",
        ],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
        "ui_locales_supported": ["zh-CN"],
        "service_documentation": f"{issuer}/docs",
    }


def subject_for(issuer: str, account_id: int) -> str:
    """The `sub` of an account: SM3(issuer "|" account id), first 32 hex digits. Stable for the life of
    the account (a new username, phone or name does not change it), opaque (it reveals neither the
    citizen ID nor the username), the same for every client ("public" subject type)."""
    return sm3_hex(f"{issuer}|{account_id}".encode())[:32]


def _session_sid(session_id: str | None) -> str | None:
    return sm3_hex(f"sid|{session_id}".encode())[:32] if session_id else None


def _mask(value: str) -> str:
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def _phone_e164(phone: str) -> str:
    digits = phone.strip().replace(" ", "").replace("-", "")
    return f"+86{digits}" if len(digits) == 11 and digits.isdigit() and digits[0] == "1" else digits


def user_claims(
    session: Session, account: Account, scopes: frozenset[str], on_behalf_of: str | None, issuer: str
) -> dict[str, Any]:
    """Claims released for an account under the granted scopes (userinfo)."""
    claims: dict[str, Any] = {"sub": subject_for(issuer, account.id), "account_kind": account.kind}
    cid = account.citizen_id or ""
    if "profile" in scopes:
        claims["name"] = account.display_name
        # A citizen's username is their citizen ID: released whole only under the idcard scope.
        username = account.username
        claims["preferred_username"] = (
            _mask(username) if username == cid and "idcard" not in scopes else username
        )
        if cid:
            claims["idcard_masked"] = _mask(cid)
    if "idcard" in scopes and cid:
        claims["idcard"] = cid
        claims["idcard_verified"] = True  # real-name bound to the population registry (A1)
    if "phone" in scopes and account.phone:
        claims["phone_number"] = _phone_e164(account.phone)
        claims["phone_number_verified"] = False
    if "email" in scopes and account.email:
        claims["email"] = account.email
        claims["email_verified"] = False
    if "enterprise" in scopes:
        if on_behalf_of:
            lp = registry.find_legal_person(session, on_behalf_of)
            claims["act_for"] = {"credit_code": on_behalf_of, "name": lp.name if lp else ""}
        else:
            claims["act_for"] = None
    if "staff" in scopes and account.kind == "staff":
        unit = session.get(OrgUnit, account.department_id) if account.department_id else None
        claims["department"] = {"id": unit.id, "code": unit.code, "name": unit.name} if unit else None
        claims["roles"] = sorted({g.role_code for g in staff_roles(session, account.id)})
        claims["title"] = account.title
    return claims


# ==================================================================================================
# Refusals
# ==================================================================================================


class OAuthError(Exception):
    """An OAuth/OIDC protocol error: `error` is the RFC code clients switch on, `description` Chinese."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class UnsafeRedirect(Problem):
    """The client is unknown or inactive, or the redirect URI is not registered: the error is shown to
    the person here and never sent to the redirect URI (RFC 6749 §4.1.2.1)."""

    default_status = 400
    default_slug = "oidc-invalid-client-or-redirect"
    default_title = "无法登录该接入系统"


@dataclass(eq=False)
class _Refusal(Exception):
    error: Exception
    actor: Actor
    action: str
    reason: str
    subject: str = ""
    object_id: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    # Work that must commit although the request fails (e.g. revoking tokens of a reused code).
    after: Callable[[Session], dict[str, Any]] | None = None


def _record(database: Database, refusal: _Refusal) -> None:
    """Write the refusal to the audit chain in a transaction of its own (the refused request's rolled
    back), together with the work that must still happen (`after`)."""
    detail = {"reason": refusal.reason, **refusal.detail}
    fields: dict[str, Any] = {
        "object_type": "oidc_client",
        "object_id": refusal.object_id,
        "subject": refusal.subject,
        "purpose": refusal.reason,
    }
    if refusal.after is None:
        audit.record_refusal(database, refusal.actor, refusal.action, detail=detail, **fields)
        return
    with database.session() as s:
        detail.update(refusal.after(s))
        audit.append(s, refusal.actor, refusal.action, result="refused", detail=detail, **fields)


def _anonymous(ip: str | None, client_id: str = "") -> Actor:
    # The client a request claims to be is unproven: refusals name it in object_id, not as the actor.
    return ANONYMOUS.with_request(ip)


def _client_actor(client: OidcClient, ip: str | None) -> Actor:
    return Actor(
        kind=ActorKind.SYSTEM,
        name=client.name,
        subject_id=client.client_id,
        roles=frozenset({"system"}),
        department_id=client.owner_unit_id,
        scopes=frozenset(system_scopes(client)),
        client_id=client.client_id,
        ip=ip,
    )


# ==================================================================================================
# Authorization endpoint
# ==================================================================================================


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    client_name: str
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    prompt: frozenset[str]
    max_age: int | None
    # Set on the way back from a login that prompt=login or max_age demanded: the session must be newer.
    auth_after: datetime | None = None


class AuthorizeError(OAuthError):
    """An error sent back to the (verified) redirect URI."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(error, description)
        self.redirect_uri = redirect_uri
        self.state = state


def check_authorization_request(
    database: Database, params: Mapping[str, list[str]], *, ip: str | None = None
) -> AuthorizationRequest:
    """Validate an authorization request (`params`: each name with its values, as parsed). The client
    and redirect URI are checked first: when they fail `UnsafeRedirect` is raised (shown as a page, no
    redirect); other errors raise `AuthorizeError` for the redirect URI. Every refusal is audited."""
    try:
        with database.session() as s:
            return _check_authorization(s, params, ip)
    except _Refusal as refusal:
        _record(database, refusal)
        raise refusal.error from None


def _check_authorization(s: Session, multi: Mapping[str, list[str]], ip: str | None) -> AuthorizationRequest:
    action = "identity.oidc.authorize"
    params = {k: v[0] for k, v in multi.items() if v}
    repeated = sorted(k for k, v in multi.items() if len(v) > 1)
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    actor = _anonymous(ip, client_id)
    if "client_id" in repeated or "redirect_uri" in repeated:
        raise _Refusal(
            UnsafeRedirect(detail="client_id 或 redirect_uri 参数重复出现，登录已中止。"),
            actor,
            action,
            "repeated-parameter",
            object_id=client_id[:64],
        )
    client = _find_client(s, client_id)
    if client is None or not client.is_active:
        why = "未知的接入系统" if client is None else "该接入系统已停用"
        raise _Refusal(
            UnsafeRedirect(detail=f"{why}（client_id={client_id[:64] or '未提供'}），请联系该系统的管理员。"),
            actor,
            action,
            "unknown-client" if client is None else "inactive-client",
            object_id=client_id[:64],
            detail={"redirect_uri": redirect_uri[:500]},
        )
    if not redirect_uri or redirect_uri not in client.redirect_uris:
        raise _Refusal(
            UnsafeRedirect(
                detail=f"回调地址未在“{client.name}”的登记信息中（须与登记的地址完全一致），为保护您的账号，登录已中止。"
            ),
            actor,
            action,
            "unregistered-redirect-uri",
            object_id=client.client_id,
            detail={"redirect_uri": redirect_uri[:500]},
        )
    state = params.get("state") or None

    def fail(error: str, description: str, reason: str) -> _Refusal:
        return _Refusal(
            AuthorizeError(error, description, redirect_uri, state),
            actor,
            action,
            reason,
            object_id=client.client_id,
            detail={"error": error},
        )

    if repeated:
        raise fail("invalid_request", f"参数重复出现：{', '.join(repeated)[:100]}", "repeated-parameter")
    if "authorization_code" not in client.grant_types:
        raise fail("unauthorized_client", "该接入系统未登记授权码方式", "grant-not-allowed")
    if params.get("request"):
        raise fail("request_not_supported", "不支持 request 参数", "request-object")
    if params.get("request_uri"):
        raise fail("request_uri_not_supported", "不支持 request_uri 参数", "request-uri")
    response_type = params.get("response_type", "")
    if response_type != "code":
        raise fail("unsupported_response_type", "只支持 response_type=code（授权码方式）", "response-type")
    if params.get("response_mode") not in (None, "", "query"):
        raise fail("invalid_request", "只支持 response_mode=query", "response-mode")
    requested = _dedupe(params.get("scope", "").split())
    if "openid" not in requested:
        raise fail("invalid_scope", "scope 必须包含 openid", "no-openid-scope")
    allowed = set(client.allowed_scopes.split())
    scope = " ".join(s for s in requested if s in allowed)
    prompt = frozenset(params.get("prompt", "").split())
    if prompt - {"none", "login", "consent", "select_account"}:
        raise fail("invalid_request", "prompt 取值不正确", "bad-prompt")
    if "none" in prompt and len(prompt) > 1:
        raise fail("invalid_request", "prompt=none 不能与其他取值同时使用", "bad-prompt")
    max_age: int | None = None
    if params.get("max_age"):
        try:
            max_age = int(params["max_age"])
            if max_age < 0:
                raise ValueError
        except ValueError:
            raise fail("invalid_request", "max_age 应为非负整数（秒）", "bad-max-age") from None
    auth_after: datetime | None = None
    if params.get(AUTH_AFTER_PARAM):
        try:
            auth_after = datetime.fromtimestamp(int(params[AUTH_AFTER_PARAM]) / 1_000_000, UTC)
            if auth_after > clock.now() + timedelta(minutes=5):  # (a little clock skew between workers)
                raise ValueError
        except (ValueError, OverflowError, OSError):
            raise fail("invalid_request", f"{AUTH_AFTER_PARAM} 参数不正确", "bad-auth-after") from None
    nonce = params.get("nonce") or None
    if nonce is not None and len(nonce) > 255:
        raise fail("invalid_request", "nonce 不能超过 255 个字符", "bad-nonce")
    if state is not None and len(state) > 1000:
        raise fail("invalid_request", "state 不能超过 1000 个字符", "bad-state")
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if challenge is None:
        if method:
            raise fail(
                "invalid_request", "提供了 code_challenge_method 却缺少 code_challenge", "pkce-missing"
            )
        if not client.is_confidential:
            raise fail(
                "invalid_request", "公开客户端必须使用 PKCE（code_challenge，方法 S256）", "pkce-required"
            )
    else:
        if method is None or method == "plain":
            raise fail("invalid_request", "PKCE 只接受 S256 方法，不接受 plain", "pkce-plain")
        if method != "S256":
            raise fail("invalid_request", f"不支持的 PKCE 方法 {method[:20]}，请使用 S256", "pkce-method")
        if not _PKCE_CHALLENGE.match(challenge):
            raise fail(
                "invalid_request", "code_challenge 格式不正确（应为 43 位 base64url）", "pkce-challenge"
            )
    return AuthorizationRequest(
        client_id=client.client_id,
        client_name=client.name,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        nonce=nonce,
        code_challenge=challenge,
        code_challenge_method=method if challenge else None,
        prompt=prompt,
        max_age=max_age,
        auth_after=auth_after,
    )


def login_required_error(req: AuthorizationRequest, database: Database, ip: str | None) -> AuthorizeError:
    """prompt=none but the person must sign in first: audited, sent back to the client."""
    error = AuthorizeError("login_required", "用户尚未登录统一身份认证", req.redirect_uri, req.state)
    _record(
        database,
        _Refusal(
            error,
            _anonymous(ip, req.client_id),
            "identity.oidc.authorize",
            "login-required",
            object_id=req.client_id,
        ),
    )
    return error


def needs_login(req: AuthorizationRequest, ws: WebSession | None) -> bool:
    """Whether the person must (re)authenticate first: no session, prompt=login, the session older than
    max_age, or older than the moment a forced login was asked for."""
    if ws is None or "login" in req.prompt:
        return True
    if req.max_age is not None and ws.created_at + timedelta(seconds=req.max_age) < clock.now():
        return True
    return req.auth_after is not None and ws.created_at <= req.auth_after


def login_return_params(multi: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """The authorization request to come back to after the login page. prompt=login and max_age are
    replaced by AUTH_AFTER_PARAM = now, so the login about to happen satisfies them, and no loop."""
    forced = "login" in (multi.get("prompt") or [""])[0].split() or bool((multi.get("max_age") or [""])[0])
    keep = [(k, v) for k, vs in multi.items() if k not in ("prompt", "max_age", AUTH_AFTER_PARAM) for v in vs]
    prompt = " ".join(p for p in (multi.get("prompt") or [""])[0].split() if p not in ("login", "none"))
    if prompt:
        keep.append(("prompt", prompt))
    if forced:
        # Microseconds: a session opened earlier in the same second must not count as the new login.
        keep.append((AUTH_AFTER_PARAM, str(int(clock.now().timestamp() * 1_000_000))))
    elif (multi.get(AUTH_AFTER_PARAM) or [""])[0]:
        keep.append((AUTH_AFTER_PARAM, multi[AUTH_AFTER_PARAM][0]))
    return keep


def issue_authorization_code(
    database: Database, req: AuthorizationRequest, session_token: str, *, ip: str | None = None
) -> str:
    """A single-use code (60 s) for the person signed in with the browser session `session_token`."""
    with database.session() as s:
        ws = resolve_web_session(s, session_token)
        if ws is None:
            raise Problem(
                status=401, slug="unauthenticated", title="请先登录", detail="登录已失效，请重新登录"
            )
        account = s.get(Account, ws.account_id)
        if account is None or not account.is_active:
            raise Forbidden(detail="该账号已停用")
        code = new_secret(32)
        s.add(
            AuthorizationCode(
                code_hash=digest(code),
                client_id=req.client_id,
                account_id=account.id,
                redirect_uri=req.redirect_uri,
                scope=req.scope,
                nonce=req.nonce,
                code_challenge=req.code_challenge,
                code_challenge_method=req.code_challenge_method,
                on_behalf_of=ws.on_behalf_of,
                session_id=ws.id,
                auth_time=ws.created_at,
                auth_methods=ws.auth_methods,
                expires_at=clock.now() + CODE_TTL,
            )
        )
        actor = build_actor(
            s, account, on_behalf_of=ws.on_behalf_of, client_id=req.client_id, session_id=ws.id, ip=ip
        )
        audit.append(
            s,
            actor,
            "identity.oidc.authorize",
            object_type="oidc_client",
            object_id=req.client_id,
            subject=account.citizen_id or account.username,
            purpose="sso",
            detail={"scope": req.scope, "pkce": bool(req.code_challenge)},
        )
        return code


# ==================================================================================================
# Token endpoint
# ==================================================================================================


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
    try:
        creds = parse_client_credentials(params, authorization)
    except OAuthError as error:
        _record(database, _Refusal(error, _anonymous(ip), "identity.oidc.token", "bad-client-auth-format"))
        raise
    try:
        with database.session() as s:
            client = _authenticate(s, creds, "identity.oidc.token", ip)
            grant = params.get("grant_type", "")
            actor = _client_actor(client, ip)
            if not grant:
                raise _Refusal(
                    OAuthError("invalid_request", "缺少 grant_type 参数"),
                    actor,
                    "identity.oidc.token",
                    "no-grant-type",
                    object_id=client.client_id,
                )
            if grant not in GRANT_TYPES:
                raise _Refusal(
                    OAuthError("unsupported_grant_type", f"不支持的授权类型 {grant[:40]}"),
                    actor,
                    "identity.oidc.token",
                    "unsupported-grant",
                    object_id=client.client_id,
                )
            if grant not in client.grant_types:
                raise _Refusal(
                    OAuthError("unauthorized_client", f"该接入系统未登记 {grant} 授权类型"),
                    actor,
                    "identity.oidc.token",
                    "grant-not-allowed",
                    object_id=client.client_id,
                )
            if grant == "authorization_code":
                return _grant_code(s, client, params, issuer, ip)
            if grant == "refresh_token":
                return _grant_refresh(s, client, params, issuer, ip)
            return _grant_client_credentials(s, client, params, ip)
    except _Refusal as refusal:
        _record(database, refusal)
        raise refusal.error from None


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
    action = "identity.oidc.token"
    actor = _client_actor(client, ip)
    code = params.get("code", "")

    def refuse(reason: str, description: str, error: str = "invalid_grant", **kw: Any) -> _Refusal:
        return _Refusal(
            OAuthError(error, description), actor, action, reason, object_id=client.client_id, **kw
        )

    if not code:
        raise refuse("no-code", "缺少 code 参数", "invalid_request")
    code_hash = digest(code)
    row = s.get(AuthorizationCode, code_hash)
    if row is None or row.client_id != client.client_id:
        raise refuse("unknown-code", "授权码无效")
    label = _grant_label(code_hash)
    who = {"account_id": row.account_id}
    # Plain values: the closure below runs after this transaction has rolled back.
    client_id, account_id = client.client_id, row.account_id

    def revoke_family(s2: Session) -> dict[str, Any]:
        n = _revoke_where(
            s2,
            AccessToken.client_id == client_id,
            AccessToken.account_id == account_id,
            AccessToken.label == label,
        )
        return {"tokens_revoked": n}

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
        if not verifier:
            raise refuse("pkce-missing", "缺少 code_verifier（PKCE）", detail=who)
        if not _PKCE_VERIFIER.match(verifier) or not hmac.compare_digest(
            _pkce_s256(verifier), row.code_challenge
        ):
            raise refuse(
                "pkce-mismatch", "code_verifier 与 code_challenge 不匹配（PKCE 校验失败）", detail=who
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
    user_actor = build_actor(
        s,
        account,
        on_behalf_of=row.on_behalf_of,
        client_id=client.client_id,
        session_id=row.session_id,
        ip=ip,
    )
    audit.append(
        s,
        user_actor,
        "identity.oidc.token",
        object_type="oidc_client",
        object_id=client.client_id,
        subject=account.citizen_id or account.username,
        purpose="sso",
        detail={"grant_type": "authorization_code", "scope": row.scope, "refresh": "refresh_token" in body},
    )
    return body


def _grant_refresh(
    s: Session, client: OidcClient, params: Mapping[str, str], issuer: str, ip: str | None
) -> dict[str, Any]:
    action = "identity.oidc.token"
    actor = _client_actor(client, ip)

    def refuse(reason: str, description: str, error: str = "invalid_grant", **kw: Any) -> _Refusal:
        return _Refusal(
            OAuthError(error, description), actor, action, reason, object_id=client.client_id, **kw
        )

    token = params.get("refresh_token", "")
    if not token:
        raise refuse("no-refresh-token", "缺少 refresh_token 参数", "invalid_request")
    token_hash = digest(token)
    row = s.get(AccessToken, token_hash)
    if row is None or row.kind != "refresh" or row.client_id != client.client_id or row.account_id is None:
        raise refuse("unknown-refresh-token", "刷新令牌无效")
    who = {"account_id": row.account_id}
    label, account_id, client_id = row.label, row.account_id, client.client_id

    def revoke_family(s2: Session) -> dict[str, Any]:
        n = _revoke_where(
            s2,
            AccessToken.client_id == client_id,
            AccessToken.account_id == account_id,
            AccessToken.label == label,
        )
        return {"tokens_revoked": n}

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
    rotated = s.execute(
        update(AccessToken)
        .where(AccessToken.token_hash == token_hash, AccessToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if not rotated.rowcount:  # type: ignore[attr-defined]
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
    user_actor = build_actor(
        s,
        account,
        on_behalf_of=row.on_behalf_of,
        client_id=client.client_id,
        session_id=row.session_id,
        ip=ip,
    )
    audit.append(
        s,
        user_actor,
        "identity.oidc.token",
        object_type="oidc_client",
        object_id=client.client_id,
        subject=account.citizen_id or account.username,
        purpose="sso",
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
            raise _Refusal(
                OAuthError("invalid_scope", f"该接入系统未被授予权限范围：{' '.join(extra)[:200]}"),
                actor,
                "identity.oidc.token",
                "scope-not-allowed",
                object_id=client.client_id,
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
        "identity.oidc.token",
        object_type="oidc_client",
        object_id=client.client_id,
        purpose="system",
        detail={"grant_type": "client_credentials", "scope": scope},
    )
    return {"access_token": token, "token_type": "Bearer", "expires_in": minutes * 60, "scope": scope}


# ==================================================================================================
# UserInfo, revocation, introspection
# ==================================================================================================


class BearerError(OAuthError):
    """RFC 6750 §3.1: invalid_request 400, invalid_token 401, insufficient_scope 403."""


def userinfo(database: Database, token: str | None, *, issuer: str, ip: str | None = None) -> dict[str, Any]:
    """Claims about the person an OIDC access token was issued for. A client-credentials token names no
    person and is refused with 403 insufficient_scope (it is valid, just not for this)."""
    action = "identity.oidc.userinfo"
    try:
        with database.session() as s:
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
                raise _Refusal(
                    BearerError("insufficient_scope", "客户端凭证令牌不代表任何用户，不能读取用户信息", 403),
                    _client_actor(client, ip),
                    action,
                    "no-user",
                    object_id=client.client_id,
                )
            scopes = frozenset(row.scope.split())
            if "openid" not in scopes:
                raise _Refusal(
                    BearerError("insufficient_scope", "访问令牌不含 openid 权限范围", 403),
                    _client_actor(client, ip),
                    action,
                    "no-openid-scope",
                    object_id=client.client_id,
                )
            account = s.get(Account, row.account_id)
            if account is None or not account.is_active:
                raise _Refusal(
                    BearerError("invalid_token", "该账号已停用", 401),
                    _client_actor(client, ip),
                    action,
                    "account-inactive",
                    object_id=client.client_id,
                )
            claims = user_claims(s, account, scopes, row.on_behalf_of, issuer)
            released = sorted(k for k in claims if k not in ("sub", "account_kind"))
            actor = build_actor(
                s,
                account,
                on_behalf_of=row.on_behalf_of,
                scopes=scopes,
                client_id=client.client_id,
                session_id=row.session_id,
                ip=ip,
            )
            audit.append(
                s,
                actor,
                action,
                object_type="oidc_client",
                object_id=client.client_id,
                subject=account.citizen_id or account.username,
                purpose="sso",
                detail={"claims": released},
            )
            return claims
    except _Refusal as refusal:
        _record(database, refusal)
        raise refusal.error from None


def revoke(
    database: Database, params: Mapping[str, str], authorization: str | None, *, ip: str | None = None
) -> None:
    """RFC 7009. A client revokes its own tokens; revoking a refresh token revokes its whole grant.
    Unknown tokens and tokens of other clients are answered the same way (200) and left alone."""
    action = "identity.oidc.revoke"
    try:
        creds = parse_client_credentials(params, authorization)
    except OAuthError as error:
        _record(database, _Refusal(error, _anonymous(ip), action, "bad-client-auth-format"))
        raise
    try:
        with database.session() as s:
            client = _authenticate(s, creds, action, ip)
            token = params.get("token", "")
            if not token:
                raise _Refusal(
                    OAuthError("invalid_request", "缺少 token 参数"),
                    _client_actor(client, ip),
                    action,
                    "no-token",
                    object_id=client.client_id,
                )
            row = s.get(AccessToken, digest(token))
            if row is None or row.client_id != client.client_id:
                return
            revoked = 0
            if row.kind == "refresh" and row.label.startswith("oidc-grant:"):
                revoked = _revoke_where(
                    s,
                    AccessToken.client_id == client.client_id,
                    AccessToken.account_id == row.account_id,
                    AccessToken.label == row.label,
                )
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
    except _Refusal as refusal:
        _record(database, refusal)
        raise refusal.error from None


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
    try:
        creds = parse_client_credentials(params, authorization)
    except OAuthError as error:
        _record(database, _Refusal(error, _anonymous(ip), action, "bad-client-auth-format"))
        raise
    try:
        with database.session() as s:
            client = _authenticate(s, creds, action, ip, allow_public=False)
            token = params.get("token", "")
            if not token:
                raise _Refusal(
                    OAuthError("invalid_request", "缺少 token 参数"),
                    _client_actor(client, ip),
                    action,
                    "no-token",
                    object_id=client.client_id,
                )
            row = s.get(AccessToken, digest(token))
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
    except _Refusal as refusal:
        _record(database, refusal)
        raise refusal.error from None


# ==================================================================================================
# RP-initiated logout
# ==================================================================================================


@dataclass(frozen=True)
class LogoutRequest:
    client_id: str | None
    client_name: str | None
    post_logout_redirect_uri: str | None
    state: str | None
    # The id_token_hint named the person signed in in this browser: end the session without asking.
    hint_matches_session: bool


def check_logout_request(
    database: Database,
    params: Mapping[str, str],
    *,
    issuer: str,
    session_token: str | None,
    ip: str | None = None,
) -> LogoutRequest:
    """Validate an RP-initiated logout request (OIDC RP-Initiated Logout 1.0). A bad id_token_hint or a
    post_logout_redirect_uri not registered for the client raises `UnsafeRedirect` (audited)."""
    action = "identity.oidc.logout"
    try:
        with database.session() as s:
            actor = _anonymous(ip, params.get("client_id", ""))
            hint = params.get("id_token_hint") or None
            claims: dict[str, Any] | None = None
            client_id = params.get("client_id") or None
            if hint:
                claims = _verify_own_jwt(s, hint, issuer)
                if claims is None:
                    raise _Refusal(
                        UnsafeRedirect(detail="id_token_hint 无效：不是本平台签发的 ID 令牌"),
                        actor,
                        action,
                        "bad-id-token-hint",
                    )
                aud = claims.get("aud")
                hint_client = (
                    aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud else None)
                )
                if client_id and hint_client != client_id:
                    raise _Refusal(
                        UnsafeRedirect(detail="client_id 与 id_token_hint 的受众不一致"),
                        actor,
                        action,
                        "hint-client-mismatch",
                        object_id=client_id,
                    )
                client_id = hint_client
            client = _find_client(s, client_id) if client_id else None
            target = params.get("post_logout_redirect_uri") or None
            if target is not None:
                if client is None or not client.is_active:
                    raise _Refusal(
                        UnsafeRedirect(
                            detail="退出后跳转地址须配合 id_token_hint 或 client_id 使用，且接入系统须有效"
                        ),
                        actor,
                        action,
                        "logout-unknown-client",
                        object_id=(client_id or "")[:64],
                        detail={"post_logout_redirect_uri": target[:500]},
                    )
                if target not in client.post_logout_redirect_uris:
                    raise _Refusal(
                        UnsafeRedirect(detail=f"退出后跳转地址未在“{client.name}”的登记信息中，已停止跳转。"),
                        actor,
                        action,
                        "unregistered-post-logout-uri",
                        object_id=client.client_id,
                        detail={"post_logout_redirect_uri": target[:500]},
                    )
            matches = False
            if claims is not None and session_token:
                ws = resolve_web_session(s, session_token)
                matches = ws is not None and claims.get("sub") == subject_for(issuer, ws.account_id)
            return LogoutRequest(
                client_id=client.client_id if client else None,
                client_name=client.name if client else None,
                post_logout_redirect_uri=target,
                state=params.get("state") or None,
                hint_matches_session=matches,
            )
    except _Refusal as refusal:
        _record(database, refusal)
        raise refusal.error from None


def end_browser_session(
    database: Database, session_token: str | None, *, client_id: str | None = None, ip: str | None = None
) -> bool:
    """End the browser session and revoke every token issued under it (refresh tokens included).
    Returns whether there was a live session to end."""
    if not session_token:
        return False
    with database.session() as s:
        ws = resolve_web_session(s, session_token)
        if ws is None:
            return False
        account = s.get(Account, ws.account_id)
        if account is None:
            return False
        actor = build_actor(
            s, account, on_behalf_of=ws.on_behalf_of, session_id=ws.id, client_id=client_id, ip=ip
        )
        revoked = _revoke_where(s, AccessToken.session_id == ws.id)
        logout(s, actor)
        if revoked or client_id:
            audit.append(
                s,
                actor,
                "identity.oidc.logout",
                object_type="session",
                object_id=ws.id[:16],
                subject=account.citizen_id or account.username,
                detail={"client_id": client_id, "tokens_revoked": revoked},
            )
        return True


def check_csrf(database: Database, session_token: str | None, csrf: str) -> bool:
    with database.session() as s:
        ws = resolve_web_session(s, session_token or "")
        return ws is not None and bool(csrf) and hmac.compare_digest(ws.csrf_token, csrf)


def browser_session(database: Database, session_token: str | None) -> WebSession | None:
    """The live browser session for the cookie value, if any (read-only use)."""
    if not session_token:
        return None
    with database.session() as s:
        ws = resolve_web_session(s, session_token)
        if ws is None:
            return None
        account = s.get(Account, ws.account_id)
        return ws if account is not None and account.is_active else None
