"""Concurrent writers: 200 write requests sent at the same moment, against a bare endpoint in the same run.

    uv run python bench/bench_burst.py [--writers 200] [--rounds 3] [--only sqlite|postgresql]

For each database (a temporary SQLite file; the scratch PostgreSQL database `yiwang_bench_burst` made
from YIWANG_BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/test, dropped afterwards) the
script builds the test city (`build_test_city`) with the catalog's population entry, serves it
with uvicorn — one worker pinned to CPU 0 — and, from a load process pinned to CPU 1, fires bursts of
`--writers` requests at once (one thread and connection each, released together by a barrier):

* baseline: `GET /healthz`, a bare FastAPI endpoint;
* writers: an even mix of catalog demands (POST), sharing requests (POST), org-unit edits (PATCH, a few
  units shared by many writers) and quality-rule versions (PUT, all on one resource) — each a command
  with its audit record, committed before it answers.

Per kind of burst it prints completed requests per second (writers / wall time of the burst, median of
the rounds), the slowest answer, and the error counts: 5xx, other non-2xx, transport errors and
time-outs (60 s). Afterwards it checks that every answered write is in the database and that rule-set
versions are 1…n without a gap or a repeat. Prints figures and ratios, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

MASTER_KEY = "00112233445566778899aabbccddeeff"
os.environ.setdefault("YIWANG_MASTER_KEY", MASTER_KEY)
os.environ.setdefault("YIWANG_JOBS_ENABLED", "false")

import _http  # noqa: E402
from _http import free_port, postgres_available, run_load_process, scratch_postgres, server  # noqa: E402

TIMEOUT = 60.0
POP = "population"


def prepare(url: str) -> dict:
    from yiwang import catalog
    from yiwang.core.db import Base, Database, load_all_models, make_engine
    from yiwang.core.security import PLATFORM
    from yiwang.demo import build_test_city

    load_all_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    database = Database(url)
    city = build_test_city(database)
    with database.session() as s:
        catalog.seed_demo_catalog(s, PLATFORM, city.departments, [POP])
    database.dispose()
    return {
        "officer": [city.accounts["data_officer"].username, city.accounts["data_officer"].password],
        "admin": [city.accounts["admin"].username, city.accounts["admin"].password],
        "units": list(city.departments.values())[:5],
    }


def counts(url: str) -> dict[str, object]:
    from sqlalchemy import func, select

    from yiwang.catalog.models import CatalogDemand
    from yiwang.core.db import Database
    from yiwang.exchange.models import SharingRequest
    from yiwang.governance.models import RuleSet

    database = Database(url)
    with database.session() as s:
        out = {
            "demand": s.scalar(select(func.count()).select_from(CatalogDemand)),
            "request": s.scalar(select(func.count()).select_from(SharingRequest)),
            "versions": sorted(s.scalars(select(RuleSet.version).where(RuleSet.resource_key == POP))),
        }
    database.dispose()
    return out


# ---- the load process ------------------------------------------------------------------------------


def load_process(payload: dict) -> None:
    import httpx

    base = payload["base"]

    def login(user: list[str]) -> dict[str, str]:
        r = httpx.post(
            f"{base}/api/v1/identity/login", json={"username": user[0], "password": user[1]}, timeout=TIMEOUT
        )
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    officer, admin = login(payload["officer"]), login(payload["admin"])
    today = time.strftime("%Y-%m-%d")
    until = time.strftime("%Y-%m-%d", time.localtime(time.time() + timedelta(days=30).total_seconds()))
    serial = [0]

    def writes(n: int) -> list[tuple[str, str, str, dict, dict | None]]:
        out = []
        for _ in range(n):
            i = serial[0] = serial[0] + 1
            kind = ("demand", "request", "org", "rules")[i % 4]
            if kind == "demand":
                body = {"title": f"并发需求 {i}", "purpose": "压力测试：并发登记", "wanted_items": ["姓名"]}
                out.append((kind, "POST", "/api/v1/catalog/demands", officer, body))
            elif kind == "request":
                body = {
                    "resource_key": "population",
                    "purpose": f"并发共享申请 {i}：核验婚姻登记当事人身份信息",
                    "legal_basis": "《婚姻登记条例》第五条",
                    "fields": ["citizen_id", "name"],
                    "rate_per_minute": 60,
                    "period_from": today,
                    "period_to": until,
                }
                out.append((kind, "POST", "/api/v1/exchange/requests", officer, body))
            elif kind == "org":
                unit = payload["units"][i % len(payload["units"])]
                out.append((kind, "PATCH", f"/api/v1/admin/org-units/{unit}", admin, {"sort": i}))
            else:
                body = {"rules": [{"type": "required", "field": "name"}], "note": f"并发版本 {i}"}
                out.append((kind, "PUT", "/api/v1/governance/rules/population", officer, body))
        return out

    def burst(items: list[tuple[str, str, str, dict, dict | None]]) -> dict:
        barrier = threading.Barrier(len(items) + 1)
        results: list[tuple[str, object, float]] = [("", 0, 0.0)] * len(items)

        def one(k: int) -> None:
            kind, method, path, headers, body = items[k]
            with httpx.Client(base_url=base, timeout=TIMEOUT) as c:
                c.get("/healthz")  # connect before the barrier
                barrier.wait()
                t = time.perf_counter()
                try:
                    r = c.request(method, path, headers=headers, json=body)
                    results[k] = (kind, r.status_code, time.perf_counter() - t)
                except httpx.TimeoutException:
                    results[k] = (kind, "timeout", time.perf_counter() - t)
                except httpx.HTTPError:
                    results[k] = (kind, "transport", time.perf_counter() - t)

        threads = [threading.Thread(target=one, args=(k,)) for k in range(len(items))]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        statuses = [r[1] for r in results]
        ok = {}
        for kind, status, _ in results:
            if isinstance(status, int) and status < 300:
                ok[kind] = ok.get(kind, 0) + 1
        return {
            "wall": wall,
            "rps": len(items) / wall,
            "slowest": max(r[2] for r in results),
            "5xx": sum(1 for s in statuses if isinstance(s, int) and s >= 500),
            "other_non2xx": sum(1 for s in statuses if isinstance(s, int) and 300 <= s < 500),
            "transport": statuses.count("transport"),
            "timeout": statuses.count("timeout"),
            "ok": ok,
        }

    n, rounds = payload["writers"], payload["rounds"]
    out: dict[str, list] = {"bare": [], "writers": []}
    for _ in range(rounds):
        out["bare"].append(burst([("bare", "GET", "/healthz", {}, None) for _ in range(n)]))
        out["writers"].append(burst(writes(n)))
    print(json.dumps(out))


# ---- the report ------------------------------------------------------------------------------------


def summarise(name: str, runs: list[dict]) -> dict:
    errors = {k: sum(r[k] for r in runs) for k in ("5xx", "other_non2xx", "transport", "timeout")}
    return {
        "name": name,
        "rps": statistics.median(r["rps"] for r in runs),
        "slowest": max(r["slowest"] for r in runs),
        "requests": sum(sum(r["ok"].values()) for r in runs) + sum(errors.values()),
        **errors,
    }


def run(label: str, url: str, writers: int, rounds: int) -> None:
    t = time.perf_counter()
    accounts = prepare(url)
    print(f"-- {label}: city built in {time.perf_counter() - t:.1f} s", flush=True)
    port = free_port()
    with server(url, port, MASTER_KEY):
        payload = {"base": f"http://{_http.HOST}:{port}", "writers": writers, "rounds": rounds, **accounts}
        got = run_load_process(__file__, payload, seconds=rounds * 2 * TIMEOUT)
    bare, wr = summarise("bare GET /healthz", got["bare"]), summarise("writers", got["writers"])
    print(f"{'':24} {'req/s':>8} {'ratio':>6} {'slowest s':>9} {'5xx':>4} {'4xx':>4} {'conn':>4} {'t/o':>4}")
    for row in (bare, wr):
        print(
            f"{row['name']:24} {row['rps']:8.0f} {row['rps'] / bare['rps']:6.2f} {row['slowest']:9.2f} "
            f"{row['5xx']:4d} {row['other_non2xx']:4d} {row['transport']:4d} {row['timeout']:4d}"
        )
    answered = {}
    for r in got["writers"]:
        for kind, k in r["ok"].items():
            answered[kind] = answered.get(kind, 0) + k
    stored = counts(url)
    gapless = stored["versions"] == list(range(1, len(stored["versions"]) + 1))
    print(
        f"   committed = answered: demands {stored['demand']}/{answered.get('demand', 0)}, "
        f"requests {stored['request']}/{answered.get('request', 0)}; "
        f"rule versions 1…{len(stored['versions'])} "
        f"{'gapless and unique' if gapless else 'NOT gapless'} ({answered.get('rules', 0)} answered)",
        flush=True,
    )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--load-process":
        load_process(json.loads(sys.argv[2]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--writers", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    print(f"{args.writers} concurrent writers per burst, {args.rounds} bursts; one uvicorn worker")
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            run("SQLite", f"sqlite:///{Path(tmp) / 'burst.db'}", args.writers, args.rounds)
    if args.only != "sqlite":
        base = os.environ.get("YIWANG_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
        if not postgres_available(base):
            print("-- PostgreSQL: not reachable, skipped")
            return
        with scratch_postgres(base, "yiwang_bench_burst") as url:
            run("PostgreSQL", url, args.writers, args.rounds)


if __name__ == "__main__":
    main()
