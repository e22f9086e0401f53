"""The 50-writer burst (issue 7 item 4): a real uvicorn server in its own process, on a committed
database of the configured kind, takes 50 write requests at once — catalog demands, sharing requests,
org-unit edits and rule-set versions — and must answer every one of them with success: no 5xx, no
time-out, every answered write committed, every rule-set version distinct.

On the old main this stalled for ~30 s and then failed with 500s: the request session held its pooled
connection while the request waited for a worker thread, and the pool was smaller than the thread pool.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from threading import Barrier
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import fresh_database_url
from tests.exchange.conftest import publish_mounted
from yiwang.core import clock
from yiwang.core.db import Base, Database, load_all_models, make_engine

WRITERS = 50
# Generous: a healthy server answers the whole burst in a few seconds; the old one needed 30 s to fail.
REQUEST_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    database: Database
    city: Any


@contextlib.contextmanager
def uvicorn_process(db_url: str) -> Iterator[str]:
    """`uvicorn yiwang.app:create_app` in a child process on a free port, until /healthz answers."""
    port = _free_port()
    env = {
        **os.environ,
        "YIWANG_DATABASE_URL": db_url,
        "YIWANG_JOBS_ENABLED": "false",
        "YIWANG_BASE_URL": f"http://127.0.0.1:{port}",
    }
    cmd = [sys.executable, "-m", "uvicorn", "yiwang.app:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        # Importing the whole app takes seconds, and minutes on a machine as loaded as a shared CI box.
        deadline = time.monotonic() + 240
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {proc.returncode} before serving")
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not answer /healthz within 240 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A committed test city with a published population entry, served by its own uvicorn."""
    from yiwang.demo import build_test_city

    with fresh_database_url(tmp_path, "burst") as db_url:
        load_all_models()
        engine = make_engine(db_url)
        Base.metadata.create_all(engine)
        engine.dispose()
        database = Database(db_url)
        city = build_test_city(database)
        with database.session() as s:
            publish_mounted(s, city, "population", sharing="conditional", category="101001")
        try:
            with uvicorn_process(db_url) as url:
                yield Served(url, database, city)
        finally:
            database.dispose()


def _login(url: str, account: Any) -> dict[str, str]:
    r = httpx.post(
        f"{url}/api/v1/identity/login",
        json={"username": account.username, "password": account.password},
        timeout=REQUEST_TIMEOUT,
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _writes(served: Served) -> list[tuple[str, str, str, dict[str, str], dict[str, Any]]]:
    """(kind, method, path, headers, body) for the 50 writers, the kinds interleaved."""
    officer = _login(served.url, served.city.accounts["data_officer"])
    admin = _login(served.url, served.city.accounts["admin"])
    units = list(served.city.departments.values())[:5]
    today = clock.today_local().date()
    out = []
    for i in range(WRITERS):
        kind = ("demand", "request", "org", "rules")[i % 4]
        if kind == "demand":
            body = {"title": f"并发需求 {i}", "purpose": "压力测试：并发登记需求", "wanted_items": ["姓名"]}
            out.append((kind, "POST", "/api/v1/catalog/demands", officer, body))
        elif kind == "request":
            body = {
                "resource_key": "population",
                "purpose": f"并发共享申请 {i}：核验婚姻登记当事人身份信息",
                "legal_basis": "《婚姻登记条例》第五条",
                "fields": ["citizen_id", "name"],
                "rate_per_minute": 60,
                "period_from": today.isoformat(),
                "period_to": (today + timedelta(days=30)).isoformat(),
            }
            out.append((kind, "POST", "/api/v1/exchange/requests", officer, body))
        elif kind == "org":
            # Several writers edit the same few units: row contention, not only table contention.
            unit = units[i % len(units)]
            out.append((kind, "PATCH", f"/api/v1/admin/org-units/{unit}", admin, {"sort": i}))
        else:
            body = {"rules": [{"type": "required", "field": "name"}], "note": f"并发版本 {i}"}
            out.append((kind, "PUT", "/api/v1/governance/rules/population", officer, body))
    return out


def burst(url: str, writes: list[tuple[str, str, str, dict[str, str], dict[str, Any]]]) -> list[Any]:
    """Send every write at the same moment (one thread and connection each); (kind, status or error)."""
    start = Barrier(len(writes))

    def one(write: tuple[str, str, str, dict[str, str], dict[str, Any]]) -> tuple[str, Any, str]:
        kind, method, path, headers, body = write
        with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as c:
            start.wait()
            try:
                r = c.request(method, path, headers=headers, json=body)
            except httpx.HTTPError as exc:
                return kind, type(exc).__name__, ""
            return kind, r.status_code, r.text[:300]

    with ThreadPoolExecutor(len(writes)) as pool:
        return list(pool.map(one, writes))


def test_fifty_concurrent_writers_all_succeed(served: Served):
    from yiwang.catalog.models import CatalogDemand
    from yiwang.exchange.models import SharingRequest
    from yiwang.governance.models import RuleSet

    writes = _writes(served)
    results = burst(served.url, writes)
    failures = [r for r in results if not (isinstance(r[1], int) and r[1] < 300)]
    assert not failures, f"{len(failures)} of {len(results)} writes failed: {failures[:5]}"
    assert not [r for r in results if isinstance(r[1], int) and r[1] >= 500]

    done = Counter(kind for kind, *_ in results)
    with served.database.session() as s:
        assert s.scalar(select(func.count()).select_from(CatalogDemand)) == done["demand"]
        assert s.scalar(select(func.count()).select_from(SharingRequest)) == done["request"]
        versions = list(s.scalars(select(RuleSet.version).where(RuleSet.resource_key == "population")))
    assert sorted(versions) == list(range(1, done["rules"] + 1))
