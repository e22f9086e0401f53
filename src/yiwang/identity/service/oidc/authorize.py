"""The authorization endpoint: checking an authorization request, deciding whether the person must
sign in (again) first, and issuing the single-use authorization code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from yiwang.core import clock
from yiwang.core.db import Database
from yiwang.core.errors import Forbidden, Problem
from yiwang.identity.models import Account, AuthorizationCode, WebSession
from yiwang.identity.service.auth import resolve_web_session
from yiwang.identity.service.oidc.claims import _audit_release
from yiwang.identity.service.oidc.clients import _dedupe, _find_client
from yiwang.identity.service.oidc.errors import (
    AuthorizeError,
    UnsafeRedirect,
    _anonymous,
    _record,
    _Refusal,
    _refusals_recorded,
)
from yiwang.identity.service.tokens import digest, new_secret

CODE_TTL = timedelta(seconds=60)
# Our own parameter on the authorization URL handed to the login page (see `login_return_params`).
AUTH_AFTER_PARAM = "yw_auth_after"
_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


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


def check_authorization_request(
    database: Database, params: Mapping[str, list[str]], *, ip: str | None = None
) -> AuthorizationRequest:
    """Validate an authorization request (`params`: each name with its values, as parsed). The client
    and redirect URI are checked first: when they fail `UnsafeRedirect` is raised (shown as a page, no
    redirect); other errors raise `AuthorizeError` for the redirect URI. Every refusal is audited."""
    with _refusals_recorded(database), database.session() as s:
        return _check_authorization(s, params, ip)


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
        _audit_release(
            s,
            account,
            "identity.oidc.authorize",
            req.client_id,
            on_behalf_of=ws.on_behalf_of,
            session_id=ws.id,
            ip=ip,
            detail={"scope": req.scope, "pkce": bool(req.code_challenge)},
        )
        return code
