"""Browser sessions at the provider: RP-initiated logout (OIDC RP-Initiated Logout 1.0), ending the
session with every token issued under it, and the session and CSRF checks the endpoints need.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yiwang.core import audit
from yiwang.core.db import Database
from yiwang.identity.models import AccessToken, Account, WebSession
from yiwang.identity.service.accounts import build_actor
from yiwang.identity.service.auth import logout, resolve_web_session
from yiwang.identity.service.oidc.claims import subject_for
from yiwang.identity.service.oidc.clients import _find_client, _revoke_where
from yiwang.identity.service.oidc.errors import UnsafeRedirect, _anonymous, _Refusal, _refusals_recorded
from yiwang.identity.service.oidc.keys import _verify_own_jwt


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
    with _refusals_recorded(database), database.session() as s:
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
            hint_client = aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud else None)
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
