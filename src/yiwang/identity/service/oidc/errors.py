"""Refusals: the protocol errors and how a refused request is written to the audit chain.

`OAuthError` (and `AuthorizeError`, `BearerError`) carry the RFC error code clients switch on;
`UnsafeRedirect` is shown to the person and never sent to a redirect URI. Protocol code raises a
`_Refusal` wrapping the error; `_refusals_recorded(database)` records it in a transaction of its own (the
request's has rolled back), runs the work that must still commit (`after`), and raises the error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.db import Database
from yiwang.core.errors import Problem
from yiwang.core.security import ANONYMOUS, Actor
from yiwang.identity.models import OidcClient
from yiwang.identity.service.auth import client_actor
from yiwang.identity.service.oidc.clients import system_scopes


class OAuthError(Exception):
    """An OAuth/OIDC protocol error: `error` is the RFC code clients switch on, `description` Chinese."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class AuthorizeError(OAuthError):
    """An error sent back to the (verified) redirect URI."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(error, description)
        self.redirect_uri = redirect_uri
        self.state = state


class BearerError(OAuthError):
    """RFC 6750 §3.1: invalid_request 400, invalid_token 401, insufficient_scope 403."""


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


@contextmanager
def _refusals_recorded(database: Database) -> Iterator[None]:
    """Around a protocol step: a `_Refusal` raised inside is recorded (`_record`, after the block's own
    transaction has rolled back) and its protocol error raised in its place."""
    try:
        yield
    except _Refusal as refusal:
        _record(database, refusal)
        raise refusal.error from None


def _anonymous(ip: str | None, client_id: str = "") -> Actor:
    # The client a request claims to be is unproven: refusals name it in object_id, not as the actor.
    return ANONYMOUS.with_request(ip)


def _client_actor(client: OidcClient, ip: str | None) -> Actor:
    """The client as the actor, with the system scopes it is allowed."""
    return client_actor(client, frozenset(system_scopes(client)), ip)


def _client_refusal(
    client: OidcClient, ip: str | None, action: str, error: Exception, reason: str, **kw: Any
) -> _Refusal:
    """A refusal of a request by an authenticated client, recorded against it."""
    return _Refusal(error, _client_actor(client, ip), action, reason, object_id=client.client_id, **kw)
