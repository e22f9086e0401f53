"""FastAPI app factory: the kernel's database, the kit's problem handling and CSRF check, and every
module found under `yiwang` (its routers and navigation) on one app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

import yiwang
from yiwang import __version__
from yiwang.core import edge
from yiwang.core.db import Database
from yiwang.settings import Settings, get_settings
from yiwang.web import csrf, headers, mount_static, openapi
from yiwang.web.apidocs import install_api_docs
from yiwang.web.modules import check_navigation, discover, mount_modules
from yiwang.web.problems import install_problem_handlers

log = logging.getLogger(__name__)


def recover_after_crash(database: Database) -> None:
    """Start-up: what a killed process left behind. Loads still `running` are marked interrupted, and
    their temporary files removed (both only when their process is gone)."""
    from yiwang import governance

    try:
        governance.interrupt_stale_loads(database)
        governance.remove_stale_scratch()
    except Exception:  # the server must start even when this clean-up cannot run
        log.exception("start-up recovery failed")


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
        import anyio.to_thread

        from yiwang.core.db import WORKER_THREADS

        # The connection pools are sized from this number (core.db): never more threads than connections.
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        await run_in_threadpool(recover_after_crash, app.state.db)
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
        # The kit serves /docs and /redoc from vendored assets (FastAPI's own load them from a CDN).
        docs_url=None,
        redoc_url=None,
        # Reads the CSRF token a state-changing request submitted; checked once the actor is known.
        dependencies=[Depends(edge.reject_control_characters), Depends(csrf.read_submitted_token)],
    )
    app.state.settings = settings
    app.state.db = database or Database(settings.database_url)

    from yiwang.identity import resolve_actor

    app.state.actor_resolver = resolve_actor
    app.state.actor_checks = (csrf.check_session_csrf,)

    install_problem_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    # Every module's routers and navigation, found in the modules themselves (web.modules); a module
    # that fails to load stops the start here.
    mount_modules(app, discover(yiwang))
    install_api_docs(app)

    from yiwang.core.deps import commit_in_worker

    commit_in_worker(app)
    mount_static(app)
    headers.install(app, settings)
    openapi.install(app)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> HTMLResponse:
        return HTMLResponse(status_code=204)

    check_navigation(app)
    return app
