"""In-process scheduled jobs (DESIGN §4: APScheduler 3, in-process by default).

Jobs are plain functions of a `Database`; each must be idempotent, because every worker of a
scaled-out deployment runs the same schedule (or a deployment moves them to one job worker).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler

from yiwang.core.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[Database], object]
    seconds: int


def run_job(database: Database, job: Job) -> None:
    try:
        job.func(database)
    except Exception:  # one failed run must not stop the schedule; the next run retries
        log.exception("job %s failed", job.name)


def start(database: Database, jobs: list[Job]) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in jobs:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.seconds,
            args=(database, job),
            id=job.name,
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    return scheduler


def anchor_audit_chains(database: Database) -> None:
    """Anchor moved chain heads into the root chain and index new subjects (see core.audit)."""
    from yiwang.core import audit

    with database.session() as session:
        audit.anchor(session)
