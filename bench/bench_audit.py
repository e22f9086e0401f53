"""Audit chain throughput: appends (batched and single, concurrent writers) and verify, with a baseline.

    uv run python bench/bench_audit.py [--db sqlite|postgresql|both] [--records 1000000]

For each database: batched appends/s (`append_many`, --batch records per transaction), then the whole
chain verified (`audit.verify`, --records records), then single appends/s (`append`, one record per
transaction) from 1, 4 and 8 concurrent writers (threads). In the same run, the baseline: a naive
hand-written SQLite chain (plain sqlite3 + hashlib SM3, executemany batches, one chain, no index but
its primary key), its batched appends/s and its verify time, printed as ratios.

Every record carries a data subject drawn from a population of 1 000 000 citizen IDs, like a data
access does; the anchoring job then indexes those subjects, and its time is printed too. PostgreSQL comes from
YIWANG_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/test); the benchmark creates and
drops a scratch database `yiwang_bench_audit` there. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from yiwang.core import audit
from yiwang.core.db import Base, Database
from yiwang.core.security import Actor, ActorKind
from yiwang.settings import get_settings

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = "yiwang_bench_audit"
ACTIONS = ("exchange.query", "registry.person.view", "licenses.use", "services.case.view")
PURPOSES = ("户口迁移 办件核验", "社保待遇资格认证", "不动产登记", "营业执照变更")
# Only the audit tables: the benchmark does not depend on the other modules.
TABLES = [
    m.__table__
    for m in (audit.AuditRecord, audit.AuditHead, audit.AuditAnchor, audit.AuditChainMark, audit.AuditSubject)
]
STAFF = Actor(kind=ActorKind.STAFF, account_id=1024, name="王窗口", department_id=17, ip="10.12.0.31")


def population(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    return [
        f"{rnd.choice(('110101', '310115', '440305', '510104'))}{rnd.randrange(10**12):012d}"
        for _ in range(n)
    ]


def entries(rnd: random.Random, people: list[str], n: int) -> list[audit.AuditEntry]:
    out = []
    for _ in range(n):
        subject = people[rnd.randrange(len(people))]
        out.append(
            audit.AuditEntry(
                action=rnd.choice(ACTIONS),
                object_type="person",
                object_id=subject,
                subject=subject,
                purpose=rnd.choice(PURPOSES),
                detail={"fields": ["name", "address", "household"], "grant": rnd.randrange(1, 500)},
            )
        )
    return out


def fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.2f}"


# -- databases ----------------------------------------------------------------------------------------


@contextmanager
def sqlite_database(tmp: Path) -> Iterator[Database]:
    path = tmp / f"{BENCH_DB}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = Database(f"sqlite:///{path}")
    Base.metadata.create_all(db.engine, tables=TABLES)
    try:
        yield db
    finally:
        db.dispose()


@contextmanager
def pg_database() -> Iterator[Database]:
    base = os.environ.get("YIWANG_BENCH_PG_URL", PG_DEFAULT)
    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    db = Database(url.set(database=BENCH_DB).render_as_string(hide_password=False))
    Base.metadata.create_all(db.engine, tables=TABLES)
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        admin.dispose()


# -- our chain ----------------------------------------------------------------------------------------


def batched(db: Database, people: list[str], records: int, batch: int) -> tuple[float, float]:
    """(records/s, CPU µs/record) of append_many, batch records per transaction; only the appending is
    timed. CPU time is this process's, so on a shared machine it says what one free core would do."""
    rnd = random.Random(1)
    spent = cpu = 0.0
    done = 0
    while done < records:
        work = entries(rnd, people, min(batch, records - done))
        start, cpu_start = time.perf_counter(), time.process_time()
        with db.session() as s:
            audit.append_many(s, STAFF, work)
        spent += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
        done += len(work)
        if done % (batch * 100) == 0:
            print(f"\r    {done:,}/{records:,}", end="", file=sys.stderr, flush=True)
    print("\r", end="", file=sys.stderr)
    return records / spent, cpu / records * 1e6


def single(db: Database, people: list[str], writers: int, per_writer: int) -> float:
    """Records/s of single appends, each in its own transaction, from `writers` threads at once."""
    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        rnd = random.Random(k)
        actor = Actor(kind=ActorKind.STAFF, account_id=2000 + k, name=f"审批人{k}", ip="10.12.0.32")
        todo = entries(rnd, people, per_writer)
        barrier.wait()
        try:
            for e in todo:
                with db.session() as s:
                    audit.append(
                        s,
                        actor,
                        e.action,
                        object_type=e.object_type,
                        object_id=e.object_id,
                        subject=e.subject,
                        purpose=e.purpose,
                        detail=e.detail,
                    )
        except BaseException as exc:  # noqa: BLE001 - reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return writers * per_writer / elapsed


def run_ours(name: str, db: Database, args: argparse.Namespace, people: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    print(
        f"\n== {name} ({db.engine.dialect.server_version_info or ''}) — {get_settings().audit_chains} chains"
    )
    out["batched"], out["batched_cpu"] = batched(db, people, args.records, args.batch)
    print(
        f"  batched appends ({args.batch}/transaction): {fmt(out['batched'])} records/s "
        f"(CPU {out['batched_cpu']:.2f} µs/record = {fmt(1e6 / out['batched_cpu'])}/s per free core)"
    )
    start = time.perf_counter()
    with db.session() as s:
        anchors = audit.anchor(s)
    out["anchor"] = time.perf_counter() - start
    print(
        f"  anchor job ({anchors} anchors + subject index of {args.records:,} records): "
        f"{out['anchor']:.2f} s ({fmt(args.records / out['anchor'])} records/s)"
    )
    report = audit.verify(db)
    out["verify"] = report.seconds
    print(
        f"  verify {report.records:,} records in {report.chains} chains + {report.anchors} anchors: "
        f"{report.seconds:.2f} s ({fmt(report.records / report.seconds)} records/s), ok={report.ok}"
    )
    for writers in args.writers:
        per = max(1, args.single // writers)
        out[f"single{writers}"] = single(db, people, writers, per)
        print(f"  single appends, {writers} concurrent writer(s): {fmt(out[f'single{writers}'])} records/s")
    report = audit.verify(db)
    print(f"  after the concurrent writers: verify ok={report.ok}, {report.records:,} records")
    return out


# -- the naive baseline ---------------------------------------------------------------------------------


def naive_sqlite(tmp: Path, people: list[str], records: int, batch: int) -> tuple[float, float, float]:
    """A hand-written SQLite chain: one table, one chain, hashlib SM3 over '|'-joined fields."""
    path = tmp / "naive_chain.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE chain (seq INTEGER PRIMARY KEY, prev_hash TEXT, hash TEXT, at INTEGER, actor TEXT, "
        "action TEXT, object TEXT, subject TEXT, purpose TEXT, result TEXT, detail TEXT)"
    )
    rnd = random.Random(1)
    prev, seq, spent, cpu = "0" * 64, 0, 0.0, 0.0
    import json

    while seq < records:
        work = entries(rnd, people, min(batch, records - seq))
        start, cpu_start = time.perf_counter(), time.process_time()
        rows = []
        at = time.time_ns() // 1000
        for e in work:
            seq += 1
            detail = json.dumps(e.detail, sort_keys=True)
            fields = (
                str(seq),
                prev,
                str(at),
                "1024",
                e.action,
                e.object_id,
                e.subject,
                e.purpose,
                "ok",
                detail,
            )
            h = hashlib.new("sm3", "|".join(fields).encode()).hexdigest()
            rows.append((seq, prev, h, at, "1024", e.action, e.object_id, e.subject, e.purpose, "ok", detail))
            prev = h
        con.executemany("INSERT INTO chain VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        con.commit()
        spent += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
    appends = records / spent
    start = time.perf_counter()
    prev, expected = "0" * 64, 1
    cur = con.execute("SELECT * FROM chain ORDER BY seq")
    while rows := cur.fetchmany(10_000):
        for seq, prev_hash, h, at, actor, action, obj, subject, purpose, result, detail in rows:
            fields = (str(seq), prev_hash, str(at), actor, action, obj, subject, purpose, result, detail)
            if (
                seq != expected
                or prev_hash != prev
                or hashlib.new("sm3", "|".join(fields).encode()).hexdigest() != h
            ):
                raise SystemExit(f"naive chain broken at {seq}")
            prev, expected = h, expected + 1
    verify_s = time.perf_counter() - start
    con.close()
    return appends, cpu / records * 1e6, verify_s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--single", type=int, default=4000, help="single appends per writer configuration")
    parser.add_argument("--writers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 8])
    args = parser.parse_args()
    print(
        f"audit benchmark — {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; {args.records:,} records, "
        f"subjects from 1,000,000 people"
    )
    people = population(1_000_000)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="yiwang-bench-audit-") as tmp_name:
        tmp = Path(tmp_name)
        if args.db in ("sqlite", "both"):
            with sqlite_database(tmp) as db:
                results["SQLite"] = run_ours("SQLite", db, args, people)
        if args.db in ("postgresql", "both"):
            with pg_database() as db:
                results["PostgreSQL"] = run_ours("PostgreSQL", db, args, people)
        print("\n== baseline: naive hand-written SQLite chain (sqlite3 + hashlib SM3, one chain, no index)")
        naive_appends, naive_cpu, naive_verify = naive_sqlite(tmp, people, args.records, args.batch)
        print(
            f"  batched appends ({args.batch}/transaction): {fmt(naive_appends)} records/s "
            f"(CPU {naive_cpu:.2f} µs/record = {fmt(1e6 / naive_cpu)}/s per free core)"
        )
        print(f"  verify {args.records:,} records: {naive_verify:.2f} s")
    print("\n== ratios (ours / baseline; verify: baseline time / ours, > 1 is faster)")
    for name, r in results.items():
        print(
            f"  {name:<11} batched appends ×{r['batched'] / naive_appends:.2f} "
            f"(by CPU time ×{naive_cpu / r['batched_cpu']:.2f})   verify ×{naive_verify / r['verify']:.2f}"
        )
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
