"""The write path of registry resources loaded in bulk (files, table syncs, the demo): `bulk_write`.

Fast by construction: rows never become ORM objects. On SQLite they go to the driver's `executemany`
(one prepared statement, the loop in C) as tuples converted by a row function generated once per
call; on PostgreSQL they are streamed with `COPY … FROM STDIN` — straight into the table for inserts,
into a temporary table followed by `INSERT … SELECT … ON CONFLICT (key) DO UPDATE` for upserts.
A polars DataFrame is converted column-wise (and sent to PostgreSQL as CSV written by polars).

`bulk_write` trusts the values it is given — validation (check digits, code lists) is governance's
job before loading; it checks the columns, fills `source` (the owning department) and `updated_at`
(now) when they are missing, and turns database refusals into problems. It writes in the caller's
transaction: on a problem, roll that transaction back (`Database.session()` does).
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from itertools import islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, Table, UniqueConstraint
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex

from yiwang.core import clock
from yiwang.core.db import UTCDateTime
from yiwang.core.errors import Conflict, FieldError, Invalid
from yiwang.registry.queries import table_of
from yiwang.registry.resources import ResourceSpec, resource

if TYPE_CHECKING:
    import polars as pl

Mode = Literal["insert", "upsert"]
BATCH: Final = 100_000  # rows per executemany / COPY block / DataFrame slice
# Loads of at least this many rows, into a table holding no more rows than the load, drop the
# table's secondary (non-unique) indexes first and build them again afterwards: one sorted build is
# several times cheaper than a million random index inserts.
REBUILD_MIN_ROWS: Final = 50_000
_NAME: Final = re.compile(r"[a-z_][a-z0-9_]*")
_SQLITE_DT: Final = "%Y-%m-%d %H:%M:%S.%f"


# ------------------------------------------------------------------------------------------ columns
def _kind(table: Table, column: str) -> str:
    t = table.c[column].type
    if isinstance(t, UTCDateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Boolean):
        return "bool"
    return "other"


def _required(table: Table) -> set[str]:
    """Columns a row must give: NOT NULL without a scalar default (source and updated_at are filled)."""
    return {
        c.name
        for c in table.columns
        if not c.nullable
        and not c.primary_key
        and not (c.default is not None and c.default.is_scalar)
        and c.server_default is None
        and c.name not in ("source", "updated_at")
    }


def _check_columns(spec: ResourceSpec, table: Table, columns: Sequence[str], mode: str) -> None:
    if mode not in ("insert", "upsert"):
        raise Invalid.on("mode", "写入方式只能是 insert（追加）或 upsert（按主键更新或追加）")
    if len(set(columns)) != len(columns):
        raise Invalid.on("columns", "列名重复")
    known = {c.name for c in table.columns if not c.primary_key}
    unknown = [c for c in columns if c not in known]
    if unknown:
        message = f"资源「{spec.name}」没有字段：{'、'.join(map(str, unknown))}"
        raise Invalid(detail=message, errors=[FieldError("columns", message)])
    missing = sorted(_required(table) - set(columns))
    if mode == "upsert":
        missing += [k for k in spec.key_fields if k not in columns and k not in missing]
    if missing:
        message = f"资源「{spec.name}」缺少必填字段：{'、'.join(missing)}"
        raise Invalid(detail=message, errors=[FieldError("columns", message)])


# ------------------------------------------------------------------------------------------ values
def _date_text(value: Any) -> Any:
    """A date for SQLite (ISO text, as SQLAlchemy stores it); ISO text passes through checked."""
    if value is None:
        return None
    if type(value) is date:
        return value.isoformat()
    if isinstance(value, datetime):
        raise ValueError("日期字段不能填写时间")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return date.fromisoformat(value).isoformat()
    raise ValueError(f"不是日期：{value!r}")


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValueError(f"不是时间：{value!r}")
    if value.tzinfo is None:
        raise ValueError("时间必须带时区（如 2025-12-31T08:00:00+08:00）")
    return value


def _datetime_text() -> Callable[[Any], Any]:
    """A timezone-aware datetime for SQLite: UTC text as UTCDateTime stores it (memoised: load
    timestamps repeat)."""
    memo: dict[Any, str | None] = {}

    def convert(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            pass
        except TypeError:  # unhashable
            raise ValueError(f"不是时间：{value!r}") from None
        aware = _aware(value)
        text = None if aware is None else aware.astimezone(UTC).strftime(_SQLITE_DT)
        if len(memo) < 4096:
            memo[value] = text
        return text

    return convert


def _date_value(value: Any) -> Any:
    """A date for binary COPY (ISO text accepted)."""
    if type(value) is date or value is None:
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError(f"不是日期：{value!r}")


def _datetime_value(value: Any) -> Any:
    """A timezone-aware datetime for binary COPY (a naive one is refused, not guessed at)."""
    if type(value) is datetime and value.tzinfo is not None:
        return value
    return _aware(value)


def _converters(table: Table, columns: Sequence[str], dialect: str) -> dict[int, Callable[[Any], Any]]:
    out: dict[int, Callable[[Any], Any]] = {}
    for i, name in enumerate(columns):
        kind = _kind(table, name)
        if dialect == "sqlite":
            if kind == "date":
                out[i] = _date_text
            elif kind == "datetime":
                out[i] = _datetime_text()
        elif kind == "date":
            out[i] = _date_value
        elif kind == "datetime":
            out[i] = _datetime_value
    return out


def _row_function(
    columns: Sequence[str], source: str, convert: Mapping[int, Callable[[Any], Any]]
) -> Callable[[Any], tuple[Any, ...]]:
    """A function from one input row (a dict, or a tuple in `columns` order) to the driver's tuple,
    generated once per call so the per-row work is one Python call with the conversions inlined."""
    env: dict[str, Any] = {f"c{i}": f for i, f in convert.items()}
    parts = []
    for i, name in enumerate(columns):
        if not _NAME.fullmatch(name):  # checked against the table's columns already: belt and braces
            raise ValueError(f"bad column name {name!r}")
        get = f"r[{name!r}]" if source == "dict" else f"r[{i}]"
        parts.append(f"c{i}({get})" if i in convert else get)
    code = f"lambda r: ({', '.join(parts)},)"
    return eval(code, env)  # noqa: S307 - code built from validated column names and indices only


# ------------------------------------------------------------------------------------------ input
class _Input:
    """The rows of one call, whatever they came as, plus the constant columns to append."""

    def __init__(
        self,
        rows: Any,
        columns: Sequence[str] | None,
    ) -> None:
        self.frame: pl.DataFrame | None = None
        self.dicts: Sequence[Mapping[str, Any]] | None = None
        self.tuples: Iterable[Sequence[Any]] | None = None
        self.count: int | None = None  # None: a stream, counted while it is written
        if _is_frame(rows):
            self.frame = rows
            self.columns = list(rows.columns)
            self.count = rows.height
        elif isinstance(rows, Sequence) and not isinstance(rows, str | bytes):
            self.count = len(rows)
            first = rows[0] if rows else None
            if columns is not None:
                self.tuples = rows
                self.columns = list(columns)
            elif first is None:
                self.dicts = rows
                self.columns = []
            elif isinstance(first, Mapping):
                self.dicts = rows
                self.columns = list(first.keys())
            else:
                raise Invalid.on("rows", "以元组给出的行须同时给出 columns（列名）")
        elif (
            columns is not None and isinstance(rows, Iterable) and not isinstance(rows, str | bytes | Mapping)
        ):
            self.tuples = rows
            self.columns = list(columns)
        else:
            raise Invalid.on("rows", "rows 应为字典列表、元组列表（配合 columns）或 polars DataFrame")


def _is_frame(rows: Any) -> bool:
    module = type(rows).__module__
    return module.startswith("polars") and type(rows).__name__ == "DataFrame"


def _check_shape(inp: _Input) -> None:
    """Every dict/tuple row has exactly the columns of the first one."""
    n = len(inp.columns)
    if inp.dicts is not None:
        cols = set(inp.columns)
        for i, row in enumerate(inp.dicts, start=1):
            if len(row) != n or (row.keys() != cols):
                if not isinstance(row, Mapping):
                    raise Invalid.on("rows", f"第 {i} 行不是字典")
                diff = sorted(set(row.keys()) ^ cols)
                raise Invalid.on("rows", f"第 {i} 行的字段与第 1 行不一致：{'、'.join(map(str, diff))}")
    elif inp.tuples is not None and inp.count is not None:
        for i, row in enumerate(inp.tuples, start=1):  # type: ignore[arg-type]
            if len(row) != n:
                raise Invalid.on("rows", f"第 {i} 行有 {len(row)} 个值，应为 {n} 个")


# ------------------------------------------------------------------------------------------ entry
def bulk_write(
    target: Session | Connection,
    key: str,
    rows: Sequence[Mapping[str, Any]] | Iterable[Sequence[Any]] | pl.DataFrame,
    *,
    mode: Mode = "insert",
    columns: Sequence[str] | None = None,
    rebuild_indexes: bool | None = None,
) -> int:
    """Write `rows` into resource `key`'s table in the caller's transaction; returns the rows written.

    rows: a list of dicts (column → value), a list of tuples with `columns` naming their order (or any
    iterable of them, e.g. a generator: streamed in flat memory), or a polars DataFrame. Values are
    written as given — text for text columns, int for numbers, bool; dates may be `date` or ISO text,
    times must be timezone-aware `datetime` or ISO text with an offset.
    mode "insert" appends (a duplicate key is a Conflict problem); "upsert" updates the row with the
    same natural key (`resource(key).key_fields`) or appends — within one call the last row for a key
    wins. `source` and `updated_at` are filled with the owning department's name and now when absent.

    rebuild_indexes: drop the secondary indexes before writing and build them again after (None:
    automatically for ≥ 50 000 rows into a table that holds no more rows than that — except upserts
    on PostgreSQL and streams, unless asked). On PostgreSQL this locks the table against readers until
    the caller commits.
    """
    spec = resource(key)
    table = table_of(spec)
    inp = _Input(rows, columns)
    if inp.count == 0:
        return 0
    _check_columns(spec, table, inp.columns, mode)
    _check_shape(inp)
    connection = _connection(target)
    dialect = connection.dialect.name
    extra = _constants(inp.columns, spec, table)
    if mode == "upsert":
        if inp.count is None:
            inp.tuples = list(inp.tuples)  # type: ignore[arg-type]
            inp.count = len(inp.tuples)
        _dedupe(inp, spec.key_fields)
    all_columns = [*inp.columns, *extra]
    dbapi = connection.dialect.loaded_dbapi
    try:
        if rebuild_indexes is None:
            rebuild_indexes = (
                inp.count is not None
                # PostgreSQL upserts: updated rows leave dead tuples that a rebuild would scan again,
                # and keeping the indexes keeps the table readable while the load runs.
                and not (dialect == "postgresql" and mode == "upsert")
                and _worth_rebuilding(connection, table, inp.count)
            )
        dropped = _drop_secondary_indexes(connection, table) if rebuild_indexes else []
        if dialect == "sqlite":
            written = _write_sqlite(connection, table, spec, inp, extra, all_columns, mode)
        elif dialect == "postgresql":
            written = _write_postgresql(connection, table, spec, inp, extra, all_columns, mode, bool(dropped))
        else:  # pragma: no cover - the platform runs on SQLite and PostgreSQL only
            raise NotImplementedError(dialect)
        _create_indexes(connection, dropped)
    except dbapi.IntegrityError as exc:
        if _is_not_null(exc):
            raise Invalid.on("rows", f"写入「{spec.name}」失败：必填字段为空（{_first_line(exc)}）") from exc
        raise Conflict(
            detail=f"写入「{spec.name}」失败：与已有记录的唯一键（{'、'.join(spec.key_fields)}）冲突。"
            f"如需更新已有记录，请使用 upsert。（{_first_line(exc)}）"
        ) from exc
    except (dbapi.DataError, ValueError, TypeError, OverflowError, IndexError, KeyError) as exc:
        raise Invalid.on("rows", f"写入「{spec.name}」失败：数据格式不正确（{_first_line(exc)}）") from exc
    return written


def _worth_rebuilding(connection: Connection, table: Table, rows: int) -> bool:
    if rows < REBUILD_MIN_ROWS:
        return False
    # How many rows the table holds, counted no further than `rows + 1`.
    held = connection.exec_driver_sql(
        f"SELECT count(*) FROM (SELECT 1 FROM {table.name} LIMIT {int(rows) + 1}) AS held"
    ).scalar_one()
    return held <= rows


def _secondary_indexes(table: Table) -> list[Index]:
    return sorted((ix for ix in table.indexes if not ix.unique), key=lambda ix: str(ix.name))


def _drop_secondary_indexes(connection: Connection, table: Table) -> list[Index]:
    indexes = _secondary_indexes(table)
    raw = connection.connection.driver_connection
    if connection.dialect.name == "sqlite" and not raw.in_transaction:  # type: ignore[union-attr]
        # pysqlite opens transactions only before DML: begin now so the DDL rolls back with the load.
        raw.execute("BEGIN")  # type: ignore[union-attr]
    for ix in indexes:
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {ix.name}")
    if indexes and connection.dialect.name == "postgresql":
        # Sorted index builds want memory; SET LOCAL ends with the caller's transaction.
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    return indexes


def _create_indexes(connection: Connection, indexes: list[Index]) -> None:
    for ix in indexes:
        connection.exec_driver_sql(str(CreateIndex(ix).compile(dialect=connection.dialect)))


def _is_not_null(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == "23502" or "NOT NULL constraint failed" in str(exc)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _connection(target: Session | Connection) -> Connection:
    if isinstance(target, Session):
        target.flush()
        return target.connection()
    if not target.in_transaction():
        target.begin()  # what SQLAlchemy's autobegin would do: the caller commits
    return target


def _constants(columns: Sequence[str], spec: ResourceSpec, table: Table) -> dict[str, Any]:
    """Values for the columns the rows leave out: the owning department as `source`, now as
    `updated_at`, and the table's scalar defaults (has_record False, status 正常 …)."""
    given = set(columns)
    extra: dict[str, Any] = {}
    for c in table.columns:
        if c.primary_key or c.name in given:
            continue
        if c.name == "source":
            extra["source"] = spec.department_name
        elif c.name == "updated_at":
            extra["updated_at"] = clock.now()
        elif c.default is not None and c.default.is_scalar:
            extra[c.name] = c.default.arg
    return extra


def _dedupe(inp: _Input, key_fields: Sequence[str]) -> None:
    """Keep the last row for each natural key (PostgreSQL refuses to update one row twice)."""
    if inp.frame is not None:
        deduped = inp.frame.unique(subset=list(key_fields), keep="last", maintain_order=True)
        if deduped.height != inp.frame.height:
            inp.frame, inp.count = deduped, deduped.height
        return
    rows: Sequence[Any] = inp.dicts if inp.dicts is not None else inp.tuples  # type: ignore[assignment]
    if inp.dicts is not None:
        keyfn = itemgetter(*key_fields)
    else:
        keyfn = itemgetter(*(inp.columns.index(k) for k in key_fields))
    last: dict[Any, int] = {}
    for i, row in enumerate(rows):
        last[keyfn(row)] = i
    if len(last) != len(rows):
        kept = sorted(last.values())
        picked = [rows[i] for i in kept]
        if inp.dicts is not None:
            inp.dicts = picked
        else:
            inp.tuples = picked
        inp.count = len(picked)


# ------------------------------------------------------------------------------------------ SQLite
def _sqlite_frame_rows(frame: pl.DataFrame, table: Table, columns: Sequence[str]) -> Iterator[tuple]:
    """The frame's rows as SQLite wants them: dates and times become text column-wise in polars;
    date/time columns that arrive as text are checked row-wise like dict rows."""
    import polars as pl

    exprs = []
    row_convert: dict[int, Callable[[Any], Any]] = {}
    for i, name in enumerate(columns):
        kind = _kind(table, name)
        dtype = frame.schema[name]
        col = pl.col(name)
        if kind == "date" and dtype == pl.Date:
            col = col.dt.strftime("%Y-%m-%d")
        elif kind == "datetime" and isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                raise Invalid.on(name, "时间必须带时区")
            col = col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
        elif kind == "date":
            row_convert[i] = _date_text
        elif kind == "datetime":
            row_convert[i] = _datetime_text()
        exprs.append(col)
    converted = frame.select(exprs)
    fix = _row_function(columns, "tuple", row_convert) if row_convert else None
    for start in range(0, converted.height, BATCH):
        part = converted.slice(start, BATCH).rows()
        yield from (map(fix, part) if fix else part)


def _write_sqlite(
    connection: Connection,
    table: Table,
    spec: ResourceSpec,
    inp: _Input,
    extra: Mapping[str, Any],
    all_columns: Sequence[str],
    mode: str,
) -> int:
    cols = ", ".join(all_columns)
    marks = ", ".join("?" for _ in all_columns)
    sql = f"INSERT INTO {table.name} ({cols}) VALUES ({marks})"
    if mode == "upsert":
        updates = ", ".join(f"{c} = excluded.{c}" for c in all_columns if c not in spec.key_fields)
        sql += f" ON CONFLICT ({', '.join(spec.key_fields)}) DO UPDATE SET {updates}"
    extra_convert = _converters(table, list(extra), "sqlite")
    tail = tuple(extra_convert.get(i, _same)(v) for i, v in enumerate(extra.values()))
    if inp.frame is not None:
        rows: Iterable[tuple] = _sqlite_frame_rows(inp.frame, table, inp.columns)
    else:
        source = "dict" if inp.dicts is not None else "tuple"
        fn = _row_function(inp.columns, source, _converters(table, inp.columns, "sqlite"))
        rows = map(fn, inp.dicts if inp.dicts is not None else inp.tuples)  # type: ignore[arg-type]
    if tail:
        rows = (r + tail for r in rows)
    written = 0
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        iterator = iter(rows)
        while batch := list(islice(iterator, BATCH)):
            cursor.executemany(sql, batch)
            written += len(batch)
    finally:
        cursor.close()
    return written


def _same(value: Any) -> Any:
    return value


# ------------------------------------------------------------------------------------------ PostgreSQL
def _pg_type(table: Table, column: str) -> str:
    """The type name binary COPY encodes a column's values as."""
    t = table.c[column].type
    if isinstance(t, UTCDateTime):
        return "timestamptz"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, BigInteger):
        return "int8"
    if isinstance(t, Integer):
        return "int4"
    return "text"


def _copy_frame(copy: Any, frame: pl.DataFrame, table: Table, columns: Sequence[str], extra: Mapping) -> None:
    """CSV written by polars (all cores), parsed by the server: the cheapest path for a DataFrame.
    NULL is an unquoted empty field; polars quotes empty strings, so the two stay apart."""
    import polars as pl

    frame = frame.select(columns)
    for name in columns:
        dtype = frame.schema[name]
        if _kind(table, name) == "datetime" and isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
            raise Invalid.on(name, "时间必须带时区")
    if extra:
        frame = frame.with_columns(
            pl.lit(v.isoformat() if isinstance(v, datetime) else v, dtype=pl.String).alias(k)
            for k, v in extra.items()
        )
    for start in range(0, frame.height, BATCH):
        buffer = io.BytesIO()
        frame.slice(start, BATCH).write_csv(
            buffer,
            include_header=False,
            datetime_format="%Y-%m-%d %H:%M:%S%.6f%:z",
            date_format="%Y-%m-%d",
        )
        copy.write(buffer.getbuffer())


def _copy_rows(copy: Any, inp: _Input, table: Table, extra: Mapping[str, Any]) -> int:
    """Binary COPY: psycopg encodes each row in C and the server parses nothing."""
    copy.set_types([_pg_type(table, c) for c in (*inp.columns, *extra)])
    source = "dict" if inp.dicts is not None else "tuple"
    fn = _row_function(inp.columns, source, _converters(table, inp.columns, "postgresql"))
    tail = tuple(extra.values())
    write_row = copy.write_row
    rows = inp.dicts if inp.dicts is not None else inp.tuples
    n = 0
    if tail:
        for n, row in enumerate(rows, start=1):  # type: ignore[arg-type]  # noqa: B007
            write_row(fn(row) + tail)
    else:
        for n, row in enumerate(rows, start=1):  # type: ignore[arg-type]  # noqa: B007
            write_row(fn(row))
    return n


def _unique_constraints(table: Table) -> list[UniqueConstraint]:
    return sorted(
        (c for c in table.constraints if isinstance(c, UniqueConstraint)), key=lambda c: str(c.name)
    )


def _write_postgresql(
    connection: Connection,
    table: Table,
    spec: ResourceSpec,
    inp: _Input,
    extra: Mapping[str, Any],
    all_columns: Sequence[str],
    mode: str,
    rebuild: bool,
) -> int:
    cols = ", ".join(all_columns)
    raw = connection.connection.driver_connection
    target = table.name
    cursor = raw.cursor()  # type: ignore[union-attr]
    # An insert that rebuilds indexes checks uniqueness once, when the constraint is added back.
    uniques = _unique_constraints(table) if rebuild and mode == "insert" else []
    try:
        for uq in uniques:
            cursor.execute(f"ALTER TABLE {table.name} DROP CONSTRAINT IF EXISTS {uq.name}")
        if mode == "upsert":
            target = f"_bulk_{table.name}_{uuid.uuid4().hex[:8]}"
            cursor.execute(
                f"CREATE TEMP TABLE {target} ON COMMIT DROP AS SELECT {cols} FROM {table.name} WITH NO DATA"
            )
        if inp.frame is not None:
            with cursor.copy(f"COPY {target} ({cols}) FROM STDIN (FORMAT csv)") as copy:
                _copy_frame(copy, inp.frame, table, inp.columns, extra)
            written = inp.frame.height
        else:
            with cursor.copy(f"COPY {target} ({cols}) FROM STDIN (FORMAT binary)") as copy:
                written = _copy_rows(copy, inp, table, extra)
        if mode == "upsert":
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in all_columns if c not in spec.key_fields)
            cursor.execute(
                f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {target} "
                f"ON CONFLICT ({', '.join(spec.key_fields)}) DO UPDATE SET {updates}"
            )
            cursor.execute(f"DROP TABLE {target}")
        for uq in uniques:
            cursor.execute(str(AddConstraint(uq).compile(dialect=connection.dialect)))
    finally:
        cursor.close()
    return written
