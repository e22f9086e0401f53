"""Typed FastAPI dependencies shared by every module's router (`SessionDep`, `ActorDep`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from yiwang.core.db import Database
from yiwang.core.security import ANONYMOUS, Actor, InsufficientScope


class ActorResolver(Protocol):
    def __call__(self, request: Request, session: Session) -> Actor: ...


def get_database(request: Request) -> Database:
    return request.app.state.db


def get_session(request: Request) -> Iterator[Session]:
    # scope="function" below makes the commit happen before the response is sent, so a client never
    # sees success for a write that then failed to commit.
    with request.app.state.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_actor(request: Request, session: SessionDep) -> Actor:
    """The request's actor — refused here, for every route at once, when it acts through a relying
    party's token that names none of the scopes the route accepts (`accepts_scopes`)."""
    cached = getattr(request.state, "actor", None)
    if cached is None:
        resolver: ActorResolver | None = getattr(request.app.state, "actor_resolver", None)
        cached = resolver(request, session) if resolver else ANONYMOUS
        request.state.actor = cached
    if cached.is_relying_party:
        check_route_scopes(request, cached)
    return cached


TOKEN_SCOPES_ATTR = "__token_scopes__"


def route_scopes(endpoint: Any) -> frozenset[str]:
    """The scopes with which a relying party's token may call `endpoint` (none: not at all)."""
    return getattr(endpoint, TOKEN_SCOPES_ATTR, frozenset())


def check_route_scopes(request: Request, actor: Actor) -> None:
    """Refuse a relying party's token on a route that accepts none of its scopes. The platform's own
    API and pages accept none: they require the platform's own session or first-party token."""
    accepted = route_scopes(request.scope.get("endpoint"))
    if not accepted & actor.scopes:
        needed = " ".join(sorted(accepted))
        detail = (
            f"访问令牌未包含该接口所需的权限范围 {needed}"
            if accepted
            else "接入系统的访问令牌只能调用其权限范围对应的接口，不能调用平台自身的接口和页面"
        )
        raise InsufficientScope(detail=detail, extra={"scope": needed})


ActorDep = Annotated[Actor, Depends(get_actor)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


AUDIT_ACTION_ATTR = "__audit_action__"
F = TypeVar("F", bound=Callable[..., Any])


def accepts_scopes(*scopes: str) -> Callable[[F], F]:
    """Let a relying party's token holding one of `scopes` call this route (the scope table is
    `core.security.SCOPE_PERMISSIONS`). Without it, only the platform's own session and first-party
    tokens may; the service still decides what the actor may do."""

    def mark(fn: F) -> F:
        setattr(fn, TOKEN_SCOPES_ATTR, frozenset(scopes))
        return fn

    return mark


def audit_action(action: str) -> Callable[[F], F]:
    """Name the action a route performs (`identity.org.create`); a 403 raised under it is recorded in
    the audit chain under this name (see `yiwang.app`). Routes without it are named after the module
    and function."""

    def mark(fn: F) -> F:
        setattr(fn, AUDIT_ACTION_ATTR, action)
        return fn

    return mark
