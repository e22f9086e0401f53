"""Shared-data exchange: audited queries per second, and "who used my data" over a large call log.

    uv run python bench/bench_exchange.py [--seconds 8] [--connections 16] [--only sqlite|postgresql]
                                          [--calls 10000000] [--lookups 300] [--skip-load] [--skip-log]
                                          [--no-token-cache] [--python-load]

Part 1 — the shared-data API under load. For each database (a temporary SQLite file, and the scratch
PostgreSQL database `yiwang_bench_exchange` made from YIWANG_BENCH_PG_URL, default
postgresql://postgres@127.0.0.1:5432/test, dropped afterwards) the script builds a demo city
(`build_city(people=20000, enterprises=2000)`), its catalog (`seed_demo_catalog`) and the demo
exchange (`seed_demo_exchange`), registers a bench system for 市民政局 and has 市公安局 grant it
`population` for “婚姻登记办理” (six fields, masking on). Then uvicorn — ONE worker pinned to CPU 0 —
serves the app and `wrk` (or a Python thread pool if wrk is absent, which says so) drives it from CPU 1:

* `GET /healthz` — a bare FastAPI endpoint, the baseline, measured in the same run (before and after);
* `GET /api/v1/exchange/data/population?subject=…&purpose=…` — client-credentials token, grant check,
  fetch, granted fields, masking, rate-limit counter, audit record, call-log row, commit; a random
  citizen of the city per request.

Part 2 — "who used my data" among N call-log rows (default 10 000 000): rows go in through the driver
(executemany on SQLite, COPY on PostgreSQL) with the call log's indexes dropped and rebuilt after,
subjects drawn from a skewed distribution over 2 000 000 citizens (density ∝ rank^-1/3: the busiest
are looked up a few hundred times a year, most a handful of times), spread over a year. Then
`exchange.my_data_use` (count + first page of 20 + labels + objections) runs for citizens drawn the
same way; p50/p99 over --lookups queries, plus the heaviest subject.

Only 127.0.0.1 is used; each load is bounded by --seconds. Prints figures and ratios, asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

MASTER_KEY = "00112233445566778899aabbccddeeff"
os.environ.setdefault("YIWANG_MASTER_KEY", MASTER_KEY)

from sqlalchemy import text  # noqa: E402

import _http  # noqa: E402
from _http import (  # noqa: E402
    HOST,
    WRK_DONE,
    free_port,
    postgres_available,
    run_load_process,
    scratch_postgres,
    server,
)
from yiwang.core.db import Base, Database, load_all_models, make_engine  # noqa: E402

PG_NAME = "yiwang_bench_exchange"
PURPOSE = "婚姻登记办理"
FIELDS = "citizen_id,name,gender,birth_date,address,status"


# ---- databases -----------------------------------------------------------------------------------


@contextmanager
def sqlite_url(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'bench-exchange.db'}"


@contextmanager
def postgres_url(base: str) -> Iterator[str]:
    with scratch_postgres(base, PG_NAME) as url:
        yield url


# ---- the city, the grant -------------------------------------------------------------------------


def prepare(url: str, token_cache: bool = True) -> dict[str, object]:
    """Build the city, its catalog and exchange, and the bench system's grant."""
    from yiwang import catalog, exchange, identity, registry
    from yiwang.core.security import PLATFORM
    from yiwang.demo import build_city

    load_all_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    database = Database(url, engine=engine)
    started = time.perf_counter()
    city = build_city(database, people=20_000, enterprises=2_000)
    built = time.perf_counter() - started
    with database.session() as s:  # build_city seeds the catalog; this is a no-op then
        catalog.seed_demo_catalog(s, PLATFORM, city.departments, [r.key for r in registry.resources()])
    with database.session() as s:
        exchange.seed_demo_exchange(
            s,
            PLATFORM,
            departments=city.departments,
            demo_client_id=city.client.client_id,
            citizen_id=city.accounts["citizen"].citizen_id,
            credit_code=city.enterprise_credit_code,
        )
    with database.session() as s:
        system, secret = identity.register_client(
            s,
            PLATFORM,
            name="压测婚姻登记系统",
            owner_unit_id=city.departments["minzheng"],
            redirect_uris=[],
            grant_types=["client_credentials"],
            allowed_scopes="exchange.call",
        )
        system_id = system.client_id
        today = time.strftime("%Y-%m-%d")
        req = exchange.file_request(
            s,
            PLATFORM,
            exchange.RequestCreate(
                resource_key="population",
                client_id=system_id,
                purpose=PURPOSE,
                legal_basis="《婚姻登记条例》第五条",
                fields=FIELDS.split(","),
                rate_per_minute=1_000_000,
                period_from=today,
                period_to=f"{int(today[:4]) + 1}{today[4:]}",
            ),
        )
        exchange.decide_request(s, PLATFORM, req.id, exchange.Decision(decision="approve", opinion="同意"))
        if not token_cache:
            exchange.update_settings(s, PLATFORM, exchange.SettingsUpdate(token_cache_seconds=0))
        subjects = [
            r["citizen_id"] for r in registry.fetch_slice(s, "population", fields=["citizen_id"], limit=5000)
        ]
    database.dispose()
    return {
        "build_seconds": built,
        "basic": "Basic " + base64.b64encode(f"{system_id}:{secret}".encode()).decode(),
        "subjects": subjects,
    }


# ---- the token, the query --------------------------------------------------------------------------


def client_token(port: int, basic: str) -> str:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request(
        "POST",
        "/oidc/token",
        body="grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic},
    )
    resp = conn.getresponse()
    body = json.loads(resp.read())
    if resp.status != 200:
        raise RuntimeError(f"token: {resp.status} {body}")
    return body["access_token"]


def query_path(subject: str) -> str:
    return f"/api/v1/exchange/data/population?subject={subject}&purpose={quote(PURPOSE)}&fields={FIELDS}"


# ---- load: wrk, or a Python fallback -------------------------------------------------------------


def wrk_script(kind: str, token: str, subjects: list[str]) -> str:
    if kind == "bare":
        return 'wrk.method = "GET"\nwrk.path = "/healthz"\n' + WRK_DONE
    ids = ", ".join(f'"{s}"' for s in subjects)
    return (
        f"""
local ids = {{ {ids} }}
local n = #ids
local headers = {{}}
headers["Authorization"] = "Bearer {token}"
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(seed * 7919 + os.time())
end
local tail = "&purpose={quote(PURPOSE)}&fields={FIELDS}"
function request()
  local id = ids[math.random(n)]
  return wrk.format("GET", "/api/v1/exchange/data/population?subject=" .. id .. tail, headers)
end
"""
        + WRK_DONE
    )


def run_wrk(
    kind: str, port: int, token: str, subjects: list[str], seconds: float, connections: int, tmp: Path
) -> dict:
    script = tmp / f"{kind}.lua"
    script.write_text(wrk_script(kind, token, subjects))
    return _http.run_wrk(script, port, seconds, max(1, min(connections, 4)), connections)


def run_python(
    kind: str, port: int, token: str, subjects: list[str], seconds: float, connections: int
) -> dict:
    """Fallback load: `connections` threads, keep-alive, bounded by time and by 200 000 requests."""
    lock = threading.Lock()
    stats = {"requests": 0, "non2xx": 0, "errors": 0}
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        mine: list[float] = []
        headers = {"Authorization": f"Bearer {token}"} if kind != "bare" else {}
        while time.monotonic() < deadline and stats["requests"] < 200_000:
            path = "/healthz" if kind == "bare" else query_path(rng.choice(subjects))
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                with lock:
                    stats["errors"] += 1
                continue
            mine.append(time.perf_counter() - t0)
            with lock:
                stats["requests"] += 1
                stats["non2xx"] += 0 if ok else 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return {**stats, "rps": stats["requests"] / elapsed, "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def python_load_main() -> None:
    args = json.loads(sys.argv[2])
    got = run_python(
        args["kind"], args["port"], args["token"], args["subjects"], args["seconds"], args["connections"]
    )
    print(json.dumps(got))


def run_python_process(
    kind: str, port: int, token: str, subjects: list[str], seconds: float, connections: int
) -> dict:
    payload = {
        "kind": kind,
        "port": port,
        "token": token,
        "subjects": subjects,
        "seconds": seconds,
        "connections": connections,
    }
    return run_load_process(__file__, payload, seconds)


def count_calls(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM exchange_call")).scalar_one()
        ok = conn.execute(text("SELECT count(*) FROM exchange_call WHERE result = 'ok'")).scalar_one()
    engine.dispose()
    return int(total), int(ok)


def bench_load(label: str, url: str, args: argparse.Namespace, tmp: Path) -> dict:
    ctx = prepare(url, token_cache=not args.no_token_cache)
    port = free_port()
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    subjects: list[str] = ctx["subjects"]  # type: ignore[assignment]
    print(f"\n{label}: demo city (20 000 people, 2 000 enterprises) built in {ctx['build_seconds']:.1f} s")
    load = "wrk" if use_wrk else "Python threads (flattering)"
    print(
        f"  uvicorn 1 worker on CPU 0; load from {load} on CPU 1, {args.connections} connections, "
        f"{args.seconds:g} s per run; {len(subjects):,} distinct citizens queried; "
        f"token cache {'off' if args.no_token_cache else 'on (2 s)'}"
    )
    print(f"  {'endpoint':<44}{'req/s':>10}{'ratio':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-200':>9}{'errors':>8}")
    before = count_calls(url)
    results: dict[str, dict] = {}
    with server(url, port, MASTER_KEY):
        token = client_token(port, str(ctx["basic"]))
        # Warm-up: the first calls fill the entry cache and the connection pool.
        for s in subjects[:50]:
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", query_path(s), headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"warm-up call failed: {resp.status}")
        runs = (
            ("bare", "GET /healthz (bare FastAPI)"),
            ("exchange", "GET /exchange/data/population (audited)"),
            ("bare2", "GET /healthz again"),
        )
        base = None
        for kind, name in runs:
            k = "bare" if kind.startswith("bare") else kind
            if use_wrk:
                got = run_wrk(k, port, token, subjects, args.seconds, args.connections, tmp)
            else:
                got = run_python_process(k, port, token, subjects, args.seconds, args.connections)
            if kind == "bare":
                base = got["rps"]
            ratio = got["rps"] / base if base else 0.0
            results[kind] = {**got, "ratio": ratio}
            print(
                f"  {name:<44}{got['rps']:>10,.0f}{ratio:>9.2f}{got['p50_ms']:>9.1f}{got['p99_ms']:>9.1f}"
                f"{got['non2xx']:>9}{got['errors']:>8}"
            )
    after = count_calls(url)
    bare = (results["bare"]["rps"] + results["bare2"]["rps"]) / 2
    print(
        f"  ratio to the mean of both bare runs: {results['exchange']['rps'] / bare:.2f}; "
        f"call-log rows written during the run: {after[0] - before[0]:,} ({after[1] - before[1]:,} ok)"
    )
    return results


# ---- part 2: who used my data among N call-log rows ----------------------------------------------


def _citizen_ids(n: int, seed: int) -> list[str]:
    from yiwang.core.ids import citizen_id_check_char

    rng = random.Random(seed)
    out = []
    areas = ("219502", "219503", "219504", "219505", "219511")
    for _ in range(n):
        body = (
            f"{rng.choice(areas)}{rng.randint(1940, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            f"{rng.randint(0, 999):03d}"
        )
        out.append(body + citizen_id_check_char(body))
    return out


def skewed(rng: random.Random, n: int) -> int:
    """A citizen's index, skewed: the density falls as index^(-1/3), so the busiest citizens are looked
    up a few hundred times a year (a business owner, a frequent patient), most a handful of times."""
    return min(n - 1, int(n * rng.random() ** 1.5))


def fill_call_log(url: str, rows: int, citizens: list[str], me: str) -> float:
    """Insert `rows` call-log rows through the driver, indexes dropped and rebuilt after."""
    from yiwang.exchange.models import Call

    table = Call.__table__
    engine = make_engine(url)
    dialect = engine.dialect.name
    started = time.perf_counter()
    now_us = int(time.time() * 1_000_000)
    year_us = 365 * 86_400_000_000
    rng = random.Random(7)
    n = len(citizens)
    clients = [("demo-rp", 0), ("bench-minzheng", 0), ("bench-renshe", 0), ("bench-jiaoyu", 0)]
    purposes = ("婚姻登记办理", "政务服务身份核验", "就业补贴发放", "入学资格审核")
    columns = (
        "at",
        "mode",
        "client_id",
        "actor_kind",
        "actor_id",
        "consumer_dept_id",
        "provider_dept_id",
        "resource_key",
        "catalog_code",
        "subject",
        "region",
        "purpose",
        "fields",
        "row_count",
        "result",
        "status",
        "reason",
        "latency_us",
        "grant_id",
        "audit_chain",
        "audit_seq",
    )
    with engine.begin() as conn:
        for ix in table.indexes:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {ix.name}")
        raw = conn.connection.driver_connection
        chunk = 200_000
        done = 0
        while done < rows:
            batch = []
            for i in range(done, min(rows, done + chunk)):
                subject = me if i % 100_000 == 0 else citizens[skewed(rng, n)]
                client, _ = clients[i % 4]
                batch.append(
                    (
                        now_us - rng.randrange(year_us),
                        "subject",
                        client,
                        "system",
                        "",
                        8 + i % 4,
                        7,
                        "population",
                        "101001/000001",
                        subject,
                        "",
                        purposes[i % 4],
                        "citizen_id,name,gender",
                        1,
                        "ok",
                        200,
                        "",
                        900,
                        1,
                        i % 8,
                        i // 8 + 1,
                    )
                )
            cur = raw.cursor()
            if dialect == "postgresql":
                with cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(columns))
                cur.executemany(
                    f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})",
                    batch,
                )
            cur.close()
            done += len(batch)
        for ix in table.indexes:
            ix.create(conn)
        if dialect == "postgresql":
            conn.exec_driver_sql(f"ANALYZE {table.name}")
        else:
            conn.exec_driver_sql(f"ANALYZE {table.name}")
    engine.dispose()
    return time.perf_counter() - started


def bench_log(label: str, url: str, args: argparse.Namespace, fresh: bool) -> None:
    from yiwang import exchange
    from yiwang.core.security import Actor, ActorKind

    load_all_models()
    if fresh:
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
    database = Database(url)
    citizens = _citizen_ids(2_000_000, seed=11)
    me = citizens[123_456]
    print(f"\n{label}: 'who used my data' among {args.calls:,} call-log rows")
    seconds = fill_call_log(url, args.calls, citizens, me)
    print(
        f"  inserted {args.calls:,} rows and rebuilt the indexes in {seconds:.1f} s "
        f"({args.calls / seconds:,.0f} rows/s)"
    )
    rng = random.Random(3)
    # The people who open their data-use page, drawn like the subjects (those with data look).
    picks = [citizens[skewed(rng, len(citizens))] for _ in range(args.lookups)]
    heavy = citizens[0]
    timings: list[float] = []
    totals: list[int] = []
    with database.session() as s:
        # Warm the label cache and the connection.
        exchange.my_data_use(s, Actor(kind=ActorKind.CITIZEN, account_id=1, subject_id=me), limit=20)
        for subject in picks:
            actor = Actor(kind=ActorKind.CITIZEN, account_id=1, subject_id=subject)
            t0 = time.perf_counter()
            page = exchange.my_data_use(s, actor, limit=20)
            timings.append((time.perf_counter() - t0) * 1000)
            totals.append(page.total)
        t0 = time.perf_counter()
        page = exchange.my_data_use(
            s, Actor(kind=ActorKind.CITIZEN, account_id=1, subject_id=heavy), limit=20
        )
        heavy_ms = (time.perf_counter() - t0) * 1000
        heavy_total = page.total
    timings.sort()

    def pct(p: float) -> float:
        return timings[min(len(timings) - 1, int(p * len(timings)))]

    print(
        f"  my_data_use (count + newest 20 + names + objections), {len(timings)} random citizens: "
        f"p50 {pct(0.5):.2f} ms, p99 {pct(0.99):.2f} ms, max {timings[-1]:.2f} ms; "
        f"records per citizen: median {sorted(totals)[len(totals) // 2]}, max {max(totals)}"
    )
    print(f"  heaviest citizen ({heavy_total:,} records): {heavy_ms:.2f} ms")
    database.dispose()


# ---- main ----------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--load-process":
        python_load_main()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="load time per run (default 8)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    parser.add_argument("--calls", type=int, default=10_000_000, help="call-log rows for part 2")
    parser.add_argument("--lookups", type=int, default=300, help="data-use queries timed in part 2")
    parser.add_argument("--skip-load", action="store_true", help="skip part 1")
    parser.add_argument(
        "--no-token-cache", action="store_true", help="part 1 with the per-worker token cache off (setting 0)"
    )
    parser.add_argument("--skip-log", action="store_true", help="skip part 2")
    parser.add_argument(
        "--pg", default=os.environ.get("YIWANG_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument(
        "--python-load", action="store_true", help="use the Python load generator even if wrk exists"
    )
    args = parser.parse_args()
    args.seconds = min(max(args.seconds, 1.0), 60.0)
    args.connections = min(max(args.connections, 1), 64)
    args.calls = min(max(args.calls, 1000), 50_000_000)
    print(f"bench_exchange: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="yiwang-bench-exchange-") as tmp_name:
        tmp = Path(tmp_name)
        if args.only in (None, "sqlite"):
            with sqlite_url(tmp) as url:
                if not args.skip_load:
                    bench_load("SQLite (WAL)", url, args, tmp)
                if not args.skip_log:
                    bench_log("SQLite (WAL)", url, args, fresh=args.skip_load)
        if args.only in (None, "postgresql"):
            if postgres_available(args.pg):
                with postgres_url(args.pg) as url:
                    if not args.skip_load:
                        bench_load("PostgreSQL", url, args, tmp)
                    if not args.skip_log:
                        bench_log("PostgreSQL", url, args, fresh=args.skip_load)
            else:
                print(f"\nPostgreSQL: no server at {args.pg}; skipped")


if __name__ == "__main__":
    main()
