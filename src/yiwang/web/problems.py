"""One problem renderer for the API and the pages (DESIGN §3 rule 5).

Every `Problem` a service raises, every request-validation error and every HTTP error reaches the
client here: as `application/problem+json` on API paths (and to clients that ask for JSON), as the
error page otherwise — a 401 on a page becomes the login page with a way back. Every 403 is appended
to the audit chain, as is any problem a service marked with `Problem.audited()`.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import StatementError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from yiwang.core import edge
from yiwang.core.db import Database
from yiwang.core.errors import PROBLEM_MEDIA_TYPE, NotFound, Problem, from_validation_errors

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/oidc/", "/.well-known/")


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(API_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem_response(request: Request, problem: Problem, headers: dict[str, str] | None = None) -> Response:
    """The problem as problem+json (API) or as a page (browser); `headers` go on the response."""
    headers = dict(headers or {})
    if problem.status == 401 and request.url.path.startswith("/api/"):
        headers["WWW-Authenticate"] = 'Bearer realm="yiwang"'
    elif problem.slug == "insufficient-scope":
        # RFC 6750 §3.1: a valid token that does not name what this resource needs.
        headers["WWW-Authenticate"] = 'Bearer realm="yiwang", error="insufficient_scope"'
    if problem.status in (423, 429) and "retry_after" in problem.extra:
        headers.setdefault("Retry-After", str(problem.extra["retry_after"]))
    if wants_json(request):
        return JSONResponse(
            problem.as_dict(instance=request.url.path),
            status_code=problem.status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers=headers,
        )
    if problem.status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Response(status_code=303, headers={**headers, "Location": f"/login?next={quote(target)}"})
    from yiwang.web.render import render

    response = render(request, "error.html", problem.title, status_code=problem.status, problem=problem)
    response.headers.update(headers)
    return response


def implicit_refusal(request: Request, problem: Problem) -> None:
    """Describe a 403 for the audit chain from the route it happened on."""
    from yiwang.core.deps import AUDIT_ACTION_ATTR
    from yiwang.core.security import ANONYMOUS

    ip = request.client.host if request.client else None
    actor = getattr(request.state, "actor", None) or ANONYMOUS.with_request(ip)
    endpoint = request.scope.get("endpoint")
    action = getattr(endpoint, AUDIT_ACTION_ATTR, None)
    if action is None:
        module = getattr(endpoint, "__module__", "yiwang.http").split(".")
        action = f"{module[1] if len(module) > 1 else module[0]}.{getattr(endpoint, '__name__', 'request')}"
    object_type = object_id = ""
    for name, value in request.path_params.items():
        object_type, object_id = name.removesuffix("_id"), str(value)
        break
    problem.audited(
        actor,
        action,
        object_type=object_type,
        object_id=object_id,
        detail={"method": request.method, "path": request.url.path, "query": request.url.query[:500]},
    )


def record_problem_refusal(db: Database, problem: Problem) -> None:
    """Append an audited refusal. Runs after the request's transaction rolled back, in its own."""
    from yiwang.core import audit

    refusal = dict(problem.refusal or {})
    actor = refusal.pop("actor")
    action = refusal.pop("action")
    try:
        audit.record_refusal(db, actor, action, **refusal)
    except Exception:  # the refusal itself must still reach the client
        log.exception("could not audit refusal %s", action)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        # Every 403 lands in the audit chain, as do problems a service marked with `.audited()`. This
        # handler runs after the request's transaction rolled back (SessionDep has function scope), so
        # the record gets a transaction of its own and no write lock is held.
        if exc.refusal is None and exc.status == 403:
            implicit_refusal(request, exc)
        if exc.refusal is not None:
            await run_in_threadpool(record_problem_refusal, request.app.state.db, exc)
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(request, from_validation_errors(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return problem_response(request, NotFound(detail="页面或接口不存在"))
        response = problem_response(request, edge.http_problem(exc.status_code))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405 and "allow" not in response.headers:
            response.headers["Allow"] = "GET, HEAD"  # static files raise 405 without naming them
        return response

    @app.exception_handler(StatementError)
    @app.exception_handler(OverflowError)
    async def _refused_by_database(request: Request, exc: Exception) -> Response:
        from yiwang.web import headers

        problem = edge.database_refusal(exc)
        if problem is None:
            return await headers.last_resort(request, exc)
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(request, problem)
