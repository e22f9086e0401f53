"""Demo-city build: time and peak memory at 100 000 and 1 000 000 people (10 000 / 100 000 enterprises).

    uv run python bench/bench_demo.py                 # SQLite (a temporary file), both sizes
    uv run python bench/bench_demo.py --pg            # and PostgreSQL (YIWANG_BENCH_PG_URL)
    uv run python bench/bench_demo.py --sizes 100000  # one size
    uv run python bench/bench_demo.py --tracemalloc   # also the Python-heap peak (slower)

Every build runs in a fresh child process, so the figures of one build do not leak into the next.
Time is the wall clock of `build_city` and the build process's own CPU time (user + system; the
PostgreSQL server's CPU is not in it), which stays meaningful on a busy machine. Memory is the
child's peak resident set size (getrusage ru_maxrss): the whole process — interpreter, imported
modules, SQLite's page cache, the rows in flight — with the resident size after the imports (before
the build) shown beside it, so the growth due to the build is the difference. With --tracemalloc the
Python-heap peak during the build is measured as well (tracemalloc slows the build, so its time is not
the one to quote). PostgreSQL runs in a scratch database `yiwang_bench_demo` that is created and
dropped. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_ENV = "YIWANG_BENCH_PG_URL"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
PG_SCRATCH = "yiwang_bench_demo"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pg_admin_url(base: str) -> str:
    return base.replace("postgresql://", "postgresql+psycopg://", 1)


def _pg_create(base: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(_pg_admin_url(base))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_SCRATCH}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_SCRATCH}"'))
    admin.dispose()
    return url.set(database=PG_SCRATCH).render_as_string(hide_password=False)


def _pg_drop(base: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(_pg_admin_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_SCRATCH}" WITH (FORCE)'))
    admin.dispose()


def run_one(backend: str, people: int, enterprises: int, use_tracemalloc: bool) -> dict:
    """One build in this process (the child); returns its figures."""
    os.environ.setdefault("YIWANG_MASTER_KEY", "00112233445566778899aabbccddeeff")
    from sqlalchemy import text

    from yiwang.core.db import Base, Database, load_all_models, make_engine
    from yiwang.demo import build_city

    load_all_models()
    tmp = tempfile.TemporaryDirectory(prefix="yiwang-bench-demo-")
    pg_base = os.environ.get(PG_ENV, PG_DEFAULT)
    if backend == "sqlite":
        path = Path(tmp.name) / "demo.db"
        url = f"sqlite:///{path}"
    else:
        url = _pg_create(pg_base)
    try:
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        database = Database(url, engine=engine)
        rss_before = _rss_mb()
        if use_tracemalloc:
            import tracemalloc

            tracemalloc.start()
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        info = build_city(database, people=people, enterprises=enterprises, seed=2026)
        wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
        heap_peak = None
        if use_tracemalloc:
            import tracemalloc

            heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        rss_peak = _rss_mb()
        if backend == "sqlite":
            size = sum(p.stat().st_size for p in Path(tmp.name).iterdir())
        else:
            with engine.connect() as conn:
                size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        database.dispose()
        return {
            "backend": backend,
            "people": info.people,
            "enterprises": info.enterprises,
            "seconds": wall,
            "cpu_seconds": cpu,
            "rss_before_mb": rss_before,
            "rss_peak_mb": rss_peak,
            "heap_peak_mb": heap_peak,
            "db_mb": size / 2**20,
        }
    finally:
        if backend == "postgresql":
            _pg_drop(pg_base)
        tmp.cleanup()


def _child(backend: str, people: int, enterprises: int, use_tracemalloc: bool) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--one",
        backend,
        "--people",
        str(people),
        "--enterprises",
        str(enterprises),
    ]
    if use_tracemalloc:
        cmd.append("--tracemalloc")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pg", action="store_true", help=f"also PostgreSQL (${PG_ENV}, default {PG_DEFAULT})"
    )
    parser.add_argument("--sizes", default="100000,1000000", help="people per build, comma-separated")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure the Python-heap peak")
    parser.add_argument("--one", choices=("sqlite", "postgresql"), help=argparse.SUPPRESS)
    parser.add_argument("--people", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--enterprises", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        print(json.dumps(run_one(args.one, args.people, args.enterprises, args.tracemalloc)))
        return

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    print(f"Demo-city build (seed 2026), one child process per build; Python {sys.version.split()[0]}")
    print("seconds: wall clock of build_city; CPU s: user+system CPU of the build process (PostgreSQL's own")
    print("  server CPU not included); µs/person: wall seconds per person")
    print("memory: peak RSS of the build process (ru_maxrss); 'before' = RSS after imports, before the build")
    header = f"{'backend':<11}{'people':>10}{'firms':>9}{'seconds':>9}{'CPU s':>7}{'µs/person':>11}"
    header += f"{'RSS before':>12}{'RSS peak':>10}{'growth':>8}{'DB size':>9}"
    if args.tracemalloc:
        header += f"{'py heap':>9}"
    print(header)
    results: list[dict] = []
    for backend in backends:
        for people in sizes:
            enterprises = max(1, people // 10)
            r = _child(backend, people, enterprises, args.tracemalloc)
            results.append(r)
            growth = r["rss_peak_mb"] - r["rss_before_mb"]
            line = (
                f"{r['backend']:<11}{r['people']:>10,}{r['enterprises']:>9,}{r['seconds']:>9.1f}{r['cpu_seconds']:>7.1f}"
                f"{r['seconds'] / r['people'] * 1e6:>11.1f}{r['rss_before_mb']:>10.0f}MB"
                f"{r['rss_peak_mb']:>8.0f}MB{growth:>6.0f}MB{r['db_mb']:>7.0f}MB"
            )
            if args.tracemalloc and r["heap_peak_mb"] is not None:
                line += f"{r['heap_peak_mb']:>7.0f}MB"
            print(line, flush=True)
    for backend in backends:
        rows = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["people"])
        if len(rows) >= 2:
            small, big = rows[0], rows[-1]
            grew = [max(1.0, r["rss_peak_mb"] - r["rss_before_mb"]) for r in (small, big)]
            print(
                f"{backend}: {big['people'] // small['people']}× the people → "
                f"{big['seconds'] / small['seconds']:.1f}× the time, "
                f"{grew[1] / grew[0]:.1f}× the memory growth"
            )


if __name__ == "__main__":
    main()
