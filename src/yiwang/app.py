"""FastAPI app factory: mounts every module's API router and pages on one app."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from yiwang import __version__
from yiwang.core.db import Database
from yiwang.core.errors import PROBLEM_MEDIA_TYPE, NotFound, Problem, from_validation_errors
from yiwang.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Modules whose `api.router` (REST) and `pages.router` (HTML) are mounted. The exchange comes first:
# routes are matched in order and its shared-data API is the platform's hottest path (+20 % req/s on
# SQLite measured with bench/bench_exchange.py); no other module's paths overlap it.
MODULES = ("exchange", "identity", "registry", "audit", "catalog", "governance", "web")
SUBMODULES = ("api", "oidc", "pages", "admin_pages", "admin_api")

API_PREFIXES = ("/api/", "/oidc/", "/.well-known/")


def _wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(API_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem_response(request: Request, problem: Problem) -> Response:
    headers = {}
    if problem.status == 401 and request.url.path.startswith("/api/"):
        headers["WWW-Authenticate"] = 'Bearer realm="yiwang"'
    if _wants_json(request):
        return JSONResponse(
            problem.as_dict(instance=request.url.path),
            status_code=problem.status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers=headers,
        )
    from yiwang.web import page_context, templates

    if problem.status == 401:
        from urllib.parse import quote

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Response(status_code=303, headers={"Location": f"/login?next={quote(target)}"})
    return templates().TemplateResponse(
        request,
        "error.html",
        page_context(request, problem=problem, title=problem.title),
        status_code=problem.status,
    )


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


def scheduled_jobs(settings: Settings) -> list:  # list[jobs.Job]
    """Every module's periodic job; each is idempotent (DESIGN §6)."""
    from yiwang import exchange
    from yiwang.core import jobs

    def roll_up_exchange_stats(database: Database) -> None:
        with database.session() as session:
            exchange.roll_up_stats(session)

    return [
        jobs.Job("audit.anchor", jobs.anchor_audit_chains, settings.audit_anchor_seconds),
        jobs.Job("exchange.stats", roll_up_exchange_stats, settings.exchange_rollup_seconds),
    ]


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if settings.jobs_enabled:
            from yiwang.core import jobs

            scheduler = jobs.start(app.state.db, scheduled_jobs(settings))
        yield
        if scheduler is not None:
            scheduler.shutdown(wait=False)

    app = FastAPI(
        lifespan=lifespan,
        title="一网 Yiwang API",
        version=__version__,
        description="一网：城市数字政府平台的开放接口。错误一律以 RFC 9457 problem+json 返回。",
    )
    app.state.settings = settings
    app.state.db = database or Database(settings.database_url)

    from yiwang.identity import resolve_actor

    app.state.actor_resolver = resolve_actor

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
        problem = Problem(status=exc.status_code, slug=f"http-{exc.status_code}", title="请求无法处理")
        problem.detail = str(exc.detail)
        return problem_response(request, problem)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    for module in MODULES:
        for sub in SUBMODULES:
            name = f"yiwang.{module}.{sub}"
            if importlib.util.find_spec(f"yiwang.{module}") is None:
                continue
            try:
                spec = importlib.util.find_spec(name)
            except ModuleNotFoundError:
                spec = None
            if spec is None:
                continue
            router = getattr(importlib.import_module(name), "router", None)
            if router is not None:
                app.include_router(router)

    from yiwang.web import mount_static

    mount_static(app)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> HTMLResponse:
        return HTMLResponse(status_code=204)

    return app
