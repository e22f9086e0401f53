"""Backup and restore of the demo city: the figures behind docs/operations.md's recovery objectives.

    uv run python bench/bench_backup.py [--people 100000] [--enterprises 10000] [--only sqlite|postgresql]

For each database (a temporary SQLite file; the scratch PostgreSQL databases `yiwang_bench_backup` and
`yiwang_bench_restore` made from YIWANG_BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/test,
dropped afterwards) it builds the full demo city (`build_city`, registries and catalog), then times
`yiwang backup` (anchor + snapshot + copy + manifest) and `yiwang restore` into a fresh database
(copy + row counts + full audit verification), and prints sizes. Baseline in the same run: a plain
file copy of the SQLite database (`shutil.copyfile`), and for PostgreSQL `pg_dump` alone. Prints
figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YIWANG_MASTER_KEY", "00112233445566778899aabbccddeeff")
os.environ.setdefault("YIWANG_JOBS_ENABLED", "false")

from _http import postgres_available, scratch_postgres  # noqa: E402
from yiwang.core.backup import _libpq_url, backup, restore  # noqa: E402
from yiwang.core.db import Base, Database, load_all_models, make_engine  # noqa: E402


def build(url: str, people: int, enterprises: int) -> float:
    from yiwang.demo import build_city

    load_all_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    database = Database(url)
    t = time.perf_counter()
    build_city(database, people=people, enterprises=enterprises)
    database.dispose()
    return time.perf_counter() - t


def drill(label: str, url: str, restore_url: str, work: Path, people: int, enterprises: int) -> None:
    built = build(url, people, enterprises)
    target = work / ("city.db" if url.startswith("sqlite") else "city.dump")
    t = time.perf_counter()
    manifest = backup(url, target)
    backup_s = time.perf_counter() - t
    if url.startswith("sqlite"):
        t = time.perf_counter()
        shutil.copyfile(url.removeprefix("sqlite:///"), work / "plain-copy.db")
        baseline = ("plain file copy", time.perf_counter() - t)
    else:
        t = time.perf_counter()
        subprocess.run(
            ["pg_dump", "--format=custom", f"--file={work / 'plain.dump'}", f"--dbname={_libpq_url(url)}"],
            check=True,
        )
        baseline = ("pg_dump alone", time.perf_counter() - t)
    t = time.perf_counter()
    report = restore(target, restore_url)
    restore_s = time.perf_counter() - t
    rows = sum(manifest.tables.values())
    print(f"-- {label}: demo city {people:,} people / {enterprises:,} enterprises built in {built:.1f} s")
    print(
        f"   backup   {backup_s:6.1f} s   {manifest.bytes / 1e6:7.1f} MB, "
        f"{len(manifest.tables)} tables, {rows:,} rows"
    )
    print(
        f"   baseline {baseline[1]:6.1f} s   ({baseline[0]}; "
        f"backup / baseline = {backup_s / baseline[1]:.1f}×)"
    )
    print(
        f"   restore  {restore_s:6.1f} s   = copy {report.seconds:.1f} s + counts and audit verify "
        f"{report.verify_seconds:.1f} s ({report.audit_records:,} audit records); "
        f"{'proved: rows equal, chain whole' if report.ok else 'NOT PROVED'}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--enterprises", type=int, default=10_000)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            drill(
                "SQLite",
                f"sqlite:///{work / 'live.db'}",
                f"sqlite:///{work / 'restored.db'}",
                work,
                args.people,
                args.enterprises,
            )
    if args.only != "sqlite":
        base = os.environ.get("YIWANG_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
        if not postgres_available(base):
            print("-- PostgreSQL: not reachable, skipped")
            return
        with (
            tempfile.TemporaryDirectory() as tmp,
            scratch_postgres(base, "yiwang_bench_backup") as url,
            scratch_postgres(base, "yiwang_bench_restore") as restore_url,
        ):
            drill("PostgreSQL", url, restore_url, Path(tmp), args.people, args.enterprises)


if __name__ == "__main__":
    main()
