"""`registry.bulk_write` alone: N population rows into an empty `registry_person` (all its indexes in
place), on SQLite and — when a PostgreSQL URL is given — on PostgreSQL.

    uv run python bench/bench_registry_write.py                       # 1 000 000 rows, SQLite only
    uv run python bench/bench_registry_write.py --pg postgresql://postgres@127.0.0.1:5432/test
    uv run python bench/bench_registry_write.py --rows 200000 --forms tuples,frame

Each database is brand new (a temporary SQLite file; a new PostgreSQL database made from the URL and
dropped afterwards). The rows are built before the clock starts; the figure is bulk_write's wall time
up to and including the commit. Inputs: `tuples` (a list of tuples with `columns=`), `frame` (a polars
DataFrame) and `dicts` (a list of dicts). "upsert" writes the same rows again over the full table, so
every row is an update. Targets (governance's bulk-load benchmark): ≥ 150 000 rows/s into SQLite and
≥ 250 000 rows/s into PostgreSQL.

A shared machine's wall time says as much about its neighbours as about the code, so each line also
gives the CPU seconds spent — this process, plus the PostgreSQL backend's (read from /proc when the
server is local; parallel index-build workers are switched off so the backend does all the server's
work) — and rows per CPU-second: what one otherwise idle core does. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from yiwang import registry
from yiwang.core.db import Base, make_engine
from yiwang.core.ids import generate_citizen_id

COLUMNS = (
    "citizen_id", "name", "gender", "birth_date", "ethnicity", "area_code", "community_code", "address",
    "household_no", "relation", "phone", "status", "source", "updated_at",
)  # fmt: skip
DISTRICTS = ("219502", "219503", "219504", "219505", "219511")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"
RELATIONS = ("户主", "配偶", "子女", "父母")
TARGETS = {"sqlite": 150_000, "postgresql": 250_000}


def make_rows(n: int, seed: int = 1) -> list[tuple]:
    """n distinct, valid population rows (unique citizen IDs by construction)."""
    rng = random.Random(seed)
    rand = rng.random
    stamp = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    first = date(1925, 1, 1)
    rows = []
    for i in range(n):
        area = DISTRICTS[i % 5]
        k = i // 5
        day, k = k % 36_500, k // 36_500
        male = rand() < 0.5
        birth = first + timedelta(days=day)
        cid = generate_citizen_id(rng, area, birth, male, k * 2 + int(male))
        street, community = 1 + int(rand() * 12), 1 + int(rand() * 8)
        rows.append(
            (
                cid,
                SURNAMES[int(rand() * 20)] + GIVEN[int(rand() * 26)] + GIVEN[int(rand() * 26)],
                "男" if male else "女",
                birth,
                "汉族",
                area,
                f"{area}{street:03d}{community:03d}",
                f"辽宁省云川市某区某街道{int(rand() * 200) + 1}号楼{int(rand() * 6) + 1}单元"
                f"{int(rand() * 30) + 1}01室",
                f"{area}{i // 3:09d}",
                RELATIONS[i % 3],
                f"139{int(rand() * 100_000_000):08d}" if rand() < 0.9 else None,
                "正常",
                "市公安局",
                stamp,
            )
        )
    return rows


def create_registry_tables(engine) -> None:
    """The registry's tables only (the bench needs nothing else)."""
    Base.metadata.create_all(
        engine, tables=[t for n, t in Base.metadata.tables.items() if n.startswith("registry_")]
    )


def as_input(rows: list[tuple], form: str):  # noqa: ANN201 - list or DataFrame
    if form == "tuples":
        return rows
    if form == "dicts":
        return [dict(zip(COLUMNS, r, strict=True)) for r in rows]
    import polars as pl

    return pl.DataFrame(rows, schema=list(COLUMNS), orient="row", infer_schema_length=1000)


def fresh_url(kind: str, pg_base: str | None, tmp: Path) -> tuple[str, object]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}", None
    parsed = make_url(pg_base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"yiwang_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return parsed.set(database=name).render_as_string(hide_password=False), (admin, name)


def drop(handle: object) -> None:
    if handle is None:
        return
    admin, name = handle
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(conn) -> float | None:
    """CPU seconds the PostgreSQL backend serving `conn` has used (when the server is local)."""
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Figure:
    kind: str
    label: str
    rows: int
    wall: float
    client_cpu: float
    server_cpu: float | None
    load: float

    @property
    def rate(self) -> float:
        return self.rows / self.wall

    @property
    def cpu_rate(self) -> float:
        """Rows per CPU-second of client and server together: what one idle core would do."""
        return self.rows / (self.client_cpu + (self.server_cpu or 0.0))

    def line(self) -> str:
        server = f" + server {self.server_cpu:5.2f}" if self.server_cpu is not None else ""
        return (
            f"  {self.kind:10} {self.label:13} {self.rows:>9,} rows  wall {self.wall:6.2f} s "
            f"{self.rate:>9,.0f} rows/s | cpu: client {self.client_cpu:5.2f}{server} s "
            f"{self.cpu_rate:>9,.0f} rows/s | load {self.load:.1f}"
        )


PARALLEL_INDEX_BUILDS = False  # --parallel-index: keep the server's parallel index builds


def measure(kind: str, engine, label: str, data, mode: str, form: str, n: int) -> Figure:  # noqa: ANN001
    with engine.connect() as conn:
        if kind == "postgresql" and not PARALLEL_INDEX_BUILDS:
            # Index builds stay in the backend, so its CPU time is all the server's work.
            conn.exec_driver_sql("SET max_parallel_maintenance_workers = 0")
            conn.commit()
        load = os.getloadavg()[0]
        server0 = backend_cpu(conn) if kind == "postgresql" else None
        client0 = time.process_time()
        started = time.perf_counter()
        written = registry.bulk_write(
            conn, "population", data, mode=mode, columns=COLUMNS if form == "tuples" else None
        )
        conn.commit()
        wall = time.perf_counter() - started
        client = time.process_time() - client0
        server = None
        if server0 is not None:
            after = backend_cpu(conn)
            server = after - server0 if after is not None else None
    assert written == n, written
    figure = Figure(kind, label, n, wall, client, server, load)
    print(figure.line(), flush=True)
    return figure


def run(kind: str, url: str, rows: list[tuple], forms: list[str], upsert: bool) -> list[Figure]:
    engine = make_engine(url)
    create_registry_tables(engine)
    results: list[Figure] = []
    n = len(rows)
    for form in forms:
        data = as_input(rows, form)
        with engine.connect() as conn:
            conn.exec_driver_sql(
                "TRUNCATE registry_person" if kind == "postgresql" else "DELETE FROM registry_person"
            )
            conn.commit()
        results.append(measure(kind, engine, f"insert {form}", data, "insert", form, n))
        if upsert:
            results.append(measure(kind, engine, f"upsert {form}", data, "upsert", form, n))
        del data
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM registry_person")).scalar_one()
    assert count == n, count
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("YIWANG_BENCH_DATABASE_URL"))
    parser.add_argument("--forms", default="tuples,frame,dicts")
    parser.add_argument("--no-upsert", action="store_true")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument(
        "--parallel-index",
        action="store_true",
        help="keep PostgreSQL's parallel index builds (wall time on an idle machine; the CPU figure "
        "then misses the workers' share)",
    )
    args = parser.parse_args()
    global PARALLEL_INDEX_BUILDS
    PARALLEL_INDEX_BUILDS = args.parallel_index
    os.environ.setdefault("YIWANG_MASTER_KEY", "00112233445566778899aabbccddeeff")
    forms = [f for f in args.forms.split(",") if f]
    started = time.perf_counter()
    rows = make_rows(args.rows)
    built = time.perf_counter() - started
    print(f"registry.bulk_write — {args.rows:,} population rows (built in {built:.1f} s)")
    kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
    if args.only:
        kinds = [args.only]
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            url, handle = fresh_url(kind, args.pg, Path(tmp))
            try:
                summary += run(kind, url, rows, forms, not args.no_upsert)
            finally:
                drop(handle)
    print(
        f"\nsummary, rows/s ({os.cpu_count()} cores; target: SQLite ≥ 150 000, PostgreSQL ≥ 250 000)\n"
        f"  {'':10} {'':13} {'wall':>10} {'÷ target':>9} {'per cpu-s':>10} {'÷ target':>9}  load"
    )
    for f in summary:
        target = TARGETS[f.kind]
        print(
            f"  {f.kind:10} {f.label:13} {f.rate:>10,.0f} {f.rate / target:>8.2f}× "
            f"{f.cpu_rate:>10,.0f} {f.cpu_rate / target:>8.2f}×  {f.load:.1f}"
        )
    if not args.pg:
        print("  (PostgreSQL skipped: pass --pg URL or set YIWANG_BENCH_DATABASE_URL)", file=sys.stderr)


if __name__ == "__main__":
    main()
