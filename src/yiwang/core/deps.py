"""Typed FastAPI dependencies shared by every module's router (`SessionDep`, `ActorDep`)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from yiwang.core.db import WRITE_INTENT, Database
from yiwang.core.edge import requires_caller
from yiwang.core.errors import Unauthenticated
from yiwang.core.security import ANONYMOUS, Actor, InsufficientScope


class ActorResolver(Protocol):
    def __call__(self, request: Request, session: Session) -> Actor: ...


def get_database(request: Request) -> Database:
    return request.app.state.db


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    # scope="function" below makes the commit happen before the response is sent, so a client never
    # sees success for a write that then failed to commit. The route's own work commits earlier still,
    # in its worker thread (`commit_in_worker`); this exit then only closes the session.
    with request.app.state.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_actor(request: Request, session: SessionDep) -> Actor:
    """The request's actor — refused here, for every route at once, when it acts through a relying
    party's token that names none of the scopes the route accepts (`accepts_scopes`)."""
    cached = getattr(request.state, "actor", None)
    if cached is None:
        resolver: ActorResolver | None = getattr(request.app.state, "actor_resolver", None)
        # Resolve in a short transaction of its own, committed (it may note when a session was last
        # seen) before the route's work begins. Held open instead, the pooled connection — and on
        # SQLite the write lock of that note — would stay with the request while it waits for a worker
        # thread, and 50 concurrent writers then waited 30 s on each other and failed.
        cached = resolver(request, session) if resolver else ANONYMOUS
        session.commit()
        request.state.actor = cached
        # Checks that need the resolved actor and belong to layers above core (the web kit's CSRF
        # check of cookie sessions) are installed on the app by the app factory.
        for check in getattr(request.app.state, "actor_checks", ()):
            check(request, cached)
    if not cached.is_authenticated and requires_caller(request):
        # Before the route loads anything: an anonymous caller must not learn which IDs exist.
        raise Unauthenticated(detail="该操作需要登录")
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


IN_WORKER_ATTR = "__yiwang_in_worker__"


def _in_one_thread(call: Callable[..., Any], write: bool) -> Callable[..., Any]:
    @functools.wraps(call)  # FastAPI reads the signature (and `audit_action`'s mark) through it
    def run(*args: Any, **values: Any) -> Any:
        sessions = [v for v in values.values() if isinstance(v, Session)]
        if not sessions:
            return call(*args, **values)
        for session in sessions:
            # Whatever a dependency left open ends here; the route's own transaction starts fresh and,
            # for a write, takes SQLite's write lock up front (`core.db.WRITE_INTENT`).
            session.commit()
            if write:
                session.info[WRITE_INTENT] = True
        try:
            result = call(*args, **values)
            for session in sessions:
                session.commit()
        except BaseException:
            for session in sessions:
                session.rollback()
            raise
        finally:
            for session in sessions:
                session.info.pop(WRITE_INTENT, None)
        return result

    setattr(run, IN_WORKER_ATTR, True)
    return run


def _api_routes(routes: list[Any]) -> Iterator[Any]:
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)  # an included router (FastAPI ≥ 0.160)
        if inner is not None:
            yield from _api_routes(inner.routes)


def commit_in_worker(app: Any) -> None:
    """Make every synchronous route commit (or roll back) its request session in the worker thread that
    did the work, before FastAPI serialises the answer. Call it once the routers are included.

    FastAPI runs a sync route in one worker thread, serialises its answer in another and closes the
    `SessionDep` after that; a transaction committed only then held its locks (SQLite's one write lock,
    PostgreSQL's row locks) while it waited for a free thread — and under 50 concurrent writers every
    thread was taken by requests waiting for those same locks: a 30 s stall, then 500s. Committed in the
    worker, a transaction holds its locks only while its thread runs. The `SessionDep` exit still
    commits whatever a route's answer touches afterwards (a streamed export, say)."""
    for route in _api_routes(app.router.routes):
        call = route.endpoint
        if getattr(call, IN_WORKER_ATTR, False):
            continue
        if inspect.iscoroutinefunction(call) or inspect.isgeneratorfunction(call):
            continue
        if inspect.isasyncgenfunction(call):
            continue
        wrapped = _in_one_thread(call, write=not (route.methods or set()) <= SAFE_METHODS)
        # Included routers build their routes from `endpoint` when first used; a route on the app itself
        # was built already, so its dependant is pointed at the wrapper too.
        route.endpoint = wrapped
        if route.dependant.call is call:
            route.dependant.call = wrapped


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
