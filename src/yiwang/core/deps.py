"""Typed FastAPI dependencies shared by every module's router (`SessionDep`, `ActorDep`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from yiwang.core.db import Database
from yiwang.core.security import ANONYMOUS, Actor


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
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    resolver: ActorResolver | None = getattr(request.app.state, "actor_resolver", None)
    actor = resolver(request, session) if resolver else ANONYMOUS
    request.state.actor = actor
    # Checks that need the resolved actor and belong to layers above core (the web kit's CSRF check
    # of cookie sessions) are installed on the app by the app factory.
    for check in getattr(request.app.state, "actor_checks", ()):
        check(request, actor)
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


AUDIT_ACTION_ATTR = "__audit_action__"
F = TypeVar("F", bound=Callable[..., Any])


def audit_action(action: str) -> Callable[[F], F]:
    """Name the action a route performs (`identity.org.create`); a 403 raised under it is recorded in
    the audit chain under this name (see `yiwang.app`). Routes without it are named after the module
    and function."""

    def mark(fn: F) -> F:
        setattr(fn, AUDIT_ACTION_ATTR, action)
        return fn

    return mark
