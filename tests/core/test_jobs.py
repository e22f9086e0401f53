"""The scheduled audit-anchoring job runs on its own and leaves the chain verifiable."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from yiwang.core import audit, jobs
from yiwang.core.db import Database
from yiwang.core.security import PLATFORM


def test_anchor_job_runs_on_schedule_and_anchors(scratch_db_url):
    database = Database(scratch_db_url)
    try:
        with database.session() as s:
            audit.append(s, PLATFORM, "test.jobs", subject="11010519491231002X")
        scheduler = jobs.start(database, [jobs.Job("audit.anchor", jobs.anchor_audit_chains, 1)])
        try:
            deadline = time.monotonic() + 20
            anchors = 0
            while time.monotonic() < deadline and anchors == 0:
                time.sleep(0.2)
                with database.session() as s:
                    anchors = s.scalar(select(func.count()).select_from(audit.AuditAnchor))
        finally:
            scheduler.shutdown(wait=True)
        assert anchors >= 1
        assert audit.verify(database).ok
    finally:
        database.dispose()


def test_a_failing_job_is_logged_not_raised(caplog):
    def boom(_db: Database) -> None:
        raise RuntimeError("boom")

    jobs.run_job(None, jobs.Job("boom", boom, 60))  # type: ignore[arg-type]
    assert "job boom failed" in caplog.text
