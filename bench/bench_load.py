"""Governance bulk load, end to end: 1 000 000 population rows from CSV with every quality rule.

    uv run python bench/bench_load.py                    # SQLite (a temporary file) and PostgreSQL
    uv run python bench/bench_load.py --no-pg            # SQLite only
    uv run python bench/bench_load.py --rows 200000      # a smaller file
    uv run python bench/bench_load.py --stages           # also time read / validate / write apart

What is measured, each in a fresh child process (so one figure's caches and memory do not leak into
the next):

* **duckdb-read** — the baseline: DuckDB merely reading the whole CSV into memory
  (``CREATE TABLE t AS SELECT * FROM read_csv(…)``, its own type sniffing, all threads);
* **sqlite** — `governance.load_file` into a brand-new SQLite file database (WAL, the schema made by
  ``Base.metadata.create_all``): encoding sniffing, DuckDB read, header check, every rule of the
  population rule set vectorised in polars (required ×10, GB 11643 check digits, date sanity, in-file
  uniqueness, gender/status enums, ID ⇄ birth date and ⇄ sex consistency, three patterns), the good
  rows through `registry.bulk_write`, the rejected rows with their reasons, the load record and its
  audit record — one transaction, committed;
* **postgresql** — the same into a scratch database ``yiwang_bench_load`` (created and dropped) from
  ``YIWANG_BENCH_PG_URL`` (default postgresql://postgres@127.0.0.1:5432/test); bulk_write uses COPY.
* **sqlite-upsert** — the same file again into the now-full SQLite table in upsert mode (every good
  row is an update).

The file: N rows of a synthetic city (generated vectorised in polars) with about 1 % deliberate errors
— bad check digits, missing names, unknown genders, birth dates that disagree with the ID, duplicated
IDs, malformed phone numbers — so the rejected-row path is exercised too.

rows/s = rows read ÷ wall time of `load_file` (start to commit). The ratio compares it with the
DuckDB-read baseline measured in the same run (baseline time ÷ load time, so 0.25 means the load takes
4× as long as merely reading the file). Peak memory: each child's peak resident set size (getrusage
``ru_maxrss``): the whole process — interpreter, polars, DuckDB, the frames in flight, SQLite's page
cache — not counting the PostgreSQL server. Prints figures; asserts nothing.
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
PG_SCRATCH = "yiwang_bench_load"

SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志文博浩宇涵萱欣怡")
DISTRICTS = ["219502", "219503", "219504", "219505", "219511"]
RELATIONS = ["户主", "配偶", "子女", "父母"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


# ------------------------------------------------------------------ the file


def generate(path: Path, rows: int) -> dict[str, int]:
    """Write `rows` population rows to `path` (CSV, UTF-8), about 1 % of them wrong on purpose."""
    import polars as pl

    i = pl.int_range(0, rows, eager=True)

    def pick(seed: int, n: int) -> pl.Series:
        return (i.hash(seed) % n).cast(pl.Int64)

    df = pl.DataFrame({"i": i}).with_columns(
        area=pl.Series(DISTRICTS).gather(pick(1, len(DISTRICTS))),
        birth=pl.date(1930, 1, 1) + pl.duration(days=pick(2, 34_000)),
        seq=pick(3, 1000),
    )
    df = df.with_columns(
        first17=pl.col("area")
        + pl.col("birth").dt.strftime("%Y%m%d")
        + pl.col("seq").cast(pl.String).str.zfill(3)
    )
    check = (pl.col("first17").str.to_integer(base=13) % 11 * 2) % 11
    df = df.with_columns(
        citizen_id=pl.col("first17")
        + check.replace_strict(dict(enumerate("10X98765432")), return_dtype=pl.String),
        name=pl.Series(SURNAMES).gather(pick(4, len(SURNAMES)))
        + pl.Series(GIVEN).gather(pick(5, len(GIVEN)))
        + pl.Series(GIVEN).gather(pick(6, len(GIVEN))),
        gender=pl.when(pl.col("seq") % 2 == 1).then(pl.lit("男")).otherwise(pl.lit("女")),
        birth_date=pl.col("birth").dt.strftime("%Y-%m-%d"),
        ethnicity=pl.when(pick(7, 20) == 0).then(pl.lit("满族")).otherwise(pl.lit("汉族")),
        community_code=pl.col("area")
        + (pick(8, 6) + 1).cast(pl.String).str.zfill(3)
        + (pick(9, 12) + 1).cast(pl.String).str.zfill(3),
        address=pl.lit("辽宁省云川市")
        + pick(10, 300).cast(pl.String)
        + pl.lit("号院")
        + pick(11, 30).cast(pl.String)
        + pl.lit("号楼"),
        household_no=pl.lit("2195") + (i // 3).cast(pl.String).str.zfill(10),
        relation=pl.Series(RELATIONS).gather(pick(12, len(RELATIONS))),
        phone=pl.when(pick(13, 10) == 0)
        .then(None)
        .otherwise(pl.lit("13") + pick(14, 1_000_000_000).cast(pl.String).str.zfill(9)),
        status=pl.when(pick(15, 100) == 0).then(pl.lit("迁出")).otherwise(pl.lit("正常")),
    )
    # A synthetic ID can repeat (same area, birthday and sequence): keep the first, so every
    # duplicate in the file is one planted below.
    df = df.unique("citizen_id", keep="first", maintain_order=True).head(rows)
    n = df.height
    j = pl.int_range(0, n, eager=True)
    err = (j.hash(99) % 1000).cast(pl.Int64)  # 10 of every 1000 rows get one error
    bad_check = pl.col("citizen_id").str.slice(0, 17) + pl.when(
        pl.col("citizen_id").str.slice(17, 1) == "1"
    ).then(pl.lit("2")).otherwise(pl.lit("1"))
    df = df.with_columns(err=err).with_columns(
        citizen_id=pl.when(pl.col("err") < 3).then(bad_check).otherwise(pl.col("citizen_id")),
        name=pl.when(pl.col("err").is_between(3, 4)).then(None).otherwise(pl.col("name")),
        gender=pl.when(pl.col("err").is_between(5, 6)).then(pl.lit("未知")).otherwise(pl.col("gender")),
        birth_date=pl.when(pl.col("err") == 7)
        .then((pl.col("birth") + pl.duration(days=1)).dt.strftime("%Y-%m-%d"))
        .otherwise(pl.col("birth_date")),
        phone=pl.when(pl.col("err") == 9).then(pl.lit("1234")).otherwise(pl.col("phone")),
    )
    # err == 8: the row repeats the citizen ID of the row before it.
    df = df.with_columns(
        citizen_id=pl.when(pl.col("err") == 8)
        .then(pl.col("citizen_id").shift(1))
        .otherwise(pl.col("citizen_id"))
        .fill_null(pl.col("citizen_id"))
    )
    columns = [
        "citizen_id", "name", "gender", "birth_date", "ethnicity", "area_code", "community_code",
        "address", "household_no", "relation", "phone", "status",
    ]  # fmt: skip
    df.rename({"area": "area_code"}).select(columns).write_csv(path)
    planted = df.select((pl.col("err") < 10).sum()).item()
    return {"rows": n, "planted_errors": int(planted), "bytes": path.stat().st_size}


# ------------------------------------------------------------------ children


def _pg_url(base: str, database: str | None = None) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=database).render_as_string(hide_password=False) if database else str(url)


def _pg_admin(base: str, sql: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(_pg_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()


def child_generate(csv_path: str, rows: int) -> dict[str, int]:
    return generate(Path(csv_path), rows)


def child_duckdb(csv_path: str) -> dict[str, float]:
    import duckdb

    rss0 = _rss_mb()
    con = duckdb.connect()
    cpu0 = _cpu()
    start = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv_path}')")
    seconds = time.perf_counter() - start
    cpu = _cpu() - cpu0
    rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    start = time.perf_counter()
    con.execute(f"CREATE TABLE v AS SELECT * FROM read_csv('{csv_path}', all_varchar=true)")
    text_seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu": cpu,
        "text_seconds": text_seconds,
        "rows": rows,
        "rss_mb": _rss_mb(),
        "rss0_mb": rss0,
    }


def _database(url: str):  # noqa: ANN202 - yiwang.core.db.Database, imported lazily
    from yiwang.core.db import Base, Database, load_all_models, make_engine

    load_all_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    return Database(url, engine=engine)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_load(url: str, csv_path: str, mode: str) -> dict[str, object]:
    import yiwang.governance as governance
    from yiwang.core.security import PLATFORM

    db = _database(url)
    rss0 = _rss_mb()
    cpu0 = _cpu()
    start = time.perf_counter()
    report = governance.load_file(
        db,
        PLATFORM,
        resource_key="population",
        path_or_bytes=csv_path,
        filename=Path(csv_path).name,
        mode=mode,
    )
    seconds = time.perf_counter() - start
    cpu = _cpu() - cpu0
    db.dispose()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_rejected": report.rows_rejected,
        "quality_score": report.quality_score,
        "hits": {h.rule: h.hits for h in report.rule_hits if h.hits},
        "rss_mb": _rss_mb(),
        "rss0_mb": rss0,
    }


def child_stages(url: str, csv_path: str) -> dict[str, float]:
    """read / validate / bulk_write timed apart (the load path without its bookkeeping)."""
    from yiwang import registry
    from yiwang.core.db import Base  # noqa: F401
    from yiwang.governance.service.loads import map_columns
    from yiwang.governance.service.reading import ROW, read_file
    from yiwang.governance.service.rules import default_rules
    from yiwang.governance.service.validate import validate

    db = _database(url)
    spec = registry.resource("population")
    rules = default_rules(spec)
    t0 = time.perf_counter()
    read = read_file(csv_path, Path(csv_path).name)
    t1 = time.perf_counter()
    frame, _ = map_columns(spec, read.frame, rules)
    outcome = validate(spec, rules, frame, mode="insert", lookup=lambda k, v: set(), registry_empty=True)
    t2 = time.perf_counter()
    with db.session() as session:
        good = outcome.good.drop(ROW).sort("citizen_id")
        registry.bulk_write(session, "population", good, mode="insert")
    t3 = time.perf_counter()
    db.dispose()
    return {"read": t1 - t0, "validate": t2 - t1, "write": t3 - t2, "rss_mb": _rss_mb()}


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--pg", default=os.environ.get(PG_ENV, PG_DEFAULT), help="PostgreSQL base URL")
    parser.add_argument("--stages", action="store_true", help="also time read / validate / write apart")
    parser.add_argument("--repeat", type=int, default=1, help="runs per target (the fastest is shown)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            result: dict = child_generate(rest[0], int(rest[1]))
        elif kind == "duckdb":
            result = child_duckdb(rest[0])
        elif kind == "load":
            result = child_load(rest[0], rest[1], rest[2])
        elif kind == "stages":
            result = child_stages(rest[0], rest[1])
        else:
            raise SystemExit(f"unknown child {kind}")
        print(json.dumps(result, ensure_ascii=False))
        return

    with tempfile.TemporaryDirectory(prefix="yiwang-bench-load-") as tmp:
        tmp_path = Path(tmp)
        csv_path = tmp_path / "population.csv"
        start = time.perf_counter()
        info = run_child("generate", str(csv_path), str(args.rows))
        print(
            f"file: {info['rows']:,} rows, {info['bytes'] / 1e6:.1f} MB CSV (UTF-8), "
            f"{info['planted_errors']:,} rows with a planted error; "
            f"generated in {time.perf_counter() - start:.1f} s"
        )
        bases = [run_child("duckdb", str(csv_path)) for _ in range(args.repeat)]
        base = min(bases, key=lambda r: r["seconds"])
        print(
            f"duckdb read_csv into memory : {base['seconds']:.2f} s wall, {base['cpu']:.2f} s CPU  "
            f"({base['rows'] / base['seconds']:,.0f} rows/s; all-text {base['text_seconds']:.2f} s)  "
            f"peak RSS {base['rss_mb']:.0f} MB (after imports {base['rss0_mb']:.0f} MB)"
        )
        pg_ok = False
        aims = {"sqlite": 150_000, "postgresql": 250_000}
        targets: list[str] = ["sqlite", "sqlite-upsert"]
        if not args.no_pg:
            try:
                _pg_admin(args.pg, "SELECT 1")
                targets.append("postgresql")
                pg_ok = True
            except Exception as exc:  # no server: say so and go on
                print(f"postgresql: skipped ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
        try:
            for label in targets:
                results = []
                for n in range(args.repeat):
                    if label == "postgresql":
                        _pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{PG_SCRATCH}" WITH (FORCE)')
                        _pg_admin(args.pg, f'CREATE DATABASE "{PG_SCRATCH}"')
                        url, mode = _pg_url(args.pg, PG_SCRATCH), "insert"
                    elif label == "sqlite":
                        url, mode = f"sqlite:///{tmp_path / f'bench{n}.db'}", "insert"
                    else:  # the same file again over the full table of the first SQLite run
                        url, mode = f"sqlite:///{tmp_path / 'bench0.db'}", "upsert"
                    results.append(run_child("load", url, str(csv_path), mode))
                r = min(results, key=lambda x: x["seconds"])
                rate = r["rows_read"] / r["seconds"]
                aim = aims.get(label)
                aim_text = f" (aim ≥ {aim:,})" if aim else ""
                print(
                    f"{label:<14}: {r['seconds']:.2f} s wall, {r['cpu']:.2f} s CPU  "
                    f"{rate:,.0f} rows/s{aim_text}  "
                    f"ratio to duckdb read {base['seconds'] / r['seconds']:.2f} "
                    f"(the load takes {r['seconds'] / base['seconds']:.1f}× as long)  "
                    f"loaded {r['rows_loaded']:,} rejected {r['rows_rejected']:,} "
                    f"score {r['quality_score']}  "
                    f"peak RSS {r['rss_mb']:.0f} MB (after imports {r['rss0_mb']:.0f} MB)"
                )
                if len(results) > 1:
                    shown = ", ".join(f"{x['seconds']:.2f} s" for x in results)
                    print(f"{'':<16}runs: {shown}")
                if label == "sqlite":
                    print(f"{'':<16}rule hits: {r['hits']}")
            if args.stages:
                st = run_child("stages", f"sqlite:///{tmp_path / 'stages.db'}", str(csv_path))
                print(
                    f"stages (SQLite): read {st['read']:.2f} s, validate {st['validate']:.2f} s, "
                    f"bulk_write {st['write']:.2f} s"
                )
                if pg_ok:
                    _pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{PG_SCRATCH}" WITH (FORCE)')
                    _pg_admin(args.pg, f'CREATE DATABASE "{PG_SCRATCH}"')
                    st = run_child("stages", _pg_url(args.pg, PG_SCRATCH), str(csv_path))
                    print(
                        f"stages (PostgreSQL): read {st['read']:.2f} s, validate {st['validate']:.2f} s, "
                        f"bulk_write {st['write']:.2f} s"
                    )
        finally:
            if pg_ok:
                _pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{PG_SCRATCH}" WITH (FORCE)')


if __name__ == "__main__":
    main()
