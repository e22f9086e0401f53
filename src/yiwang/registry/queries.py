"""Reading registry resources as plain dicts: by subject, by regional slice, counts, key checks.

These functions return rows, not decisions: the caller that shows personal data to someone (the
exchange, a service) checks the grant and appends the access to the audit chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any, Final, NamedTuple

from sqlalchemy import ColumnElement, Dialect, Table, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from yiwang.core.db import Base
from yiwang.core.errors import Invalid
from yiwang.core.ids import (
    is_valid_citizen_id,
    is_valid_credit_code,
    validate_citizen_id,
    validate_credit_code,
)
from yiwang.registry import models  # noqa: F401 - registers the registry tables in Base.metadata
from yiwang.registry.models import ExternalSource
from yiwang.registry.resources import ResourceSpec, StorageKind, resource

MAX_LIMIT: Final = 10_000
# Bound parameters per IN (...) list: well under SQLite's limit, small enough for PostgreSQL's planner.
IN_CHUNK: Final = 1_000


def table_of(spec: ResourceSpec) -> Table:
    return Base.metadata.tables[spec.table]


def normalise_subject(spec: ResourceSpec, subject_id: str) -> str:
    """The subject ID in canonical form (trimmed, upper case), or Invalid saying what is wrong."""
    if not isinstance(subject_id, str) or not subject_id.strip():
        raise Invalid.on("subject_id", "请填写公民身份号码或统一社会信用代码")
    value = "".join(subject_id.split()).upper()
    kinds = spec.subject_kinds
    if kinds == ("citizen",):
        return validate_citizen_id(value, field="subject_id").value
    if kinds == ("enterprise",):
        return validate_credit_code(value, field="subject_id", check_org_code=False).value
    if is_valid_citizen_id(value) or is_valid_credit_code(value, check_org_code=False):
        return value
    raise Invalid.on("subject_id", "应为有效的公民身份号码或统一社会信用代码")


def _next_prefix(prefix: str) -> str | None:
    """The smallest digit string of the same length above every code starting with `prefix`."""
    width = len(prefix)
    bumped = int(prefix) + 1
    return None if bumped >= 10**width else f"{bumped:0{width}d}"


def _region_filter(spec: ResourceSpec, table: Table, region_prefix: str) -> ColumnElement[bool]:
    """codes starting with `region_prefix`: a range the column's index serves on both databases (LIKE
    alone cannot use a PostgreSQL index under a non-C collation), plus LIKE as the exact test."""
    if spec.region_field is None:
        raise Invalid.on("region_prefix", f"资源「{spec.name}」没有行政区划字段，不能按地区切片")
    prefix = region_prefix.strip() if isinstance(region_prefix, str) else ""
    if not prefix.isascii() or not prefix.isdigit() or len(prefix) > 12:
        raise Invalid.on("region_prefix", "地区代码前缀应为 1–12 位数字（如区县 219502、街道 219502001）")
    column = table.c[spec.region_field]
    upper = _next_prefix(prefix)
    clauses = [column >= prefix, column.like(prefix + "%")]
    if upper is not None:
        clauses.insert(1, column < upper)
    return and_(*clauses)


def _rows(result: Iterable[Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in result]


def fetch_by_subject(
    session: Session, key: str, subject_id: str, fields: list[str] | tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Every row of resource `key` about `subject_id` (in any of its subject fields), oldest first, as
    plain dicts of the requested fields (all when None). NotFound for an unknown resource, Invalid
    for an unknown field or a malformed subject ID."""
    spec = resource(key)
    names = spec.select_fields(fields)
    subject = normalise_subject(spec, subject_id)
    conn = session.connection()
    plan = _subject_plan(conn.dialect, spec, names)
    params = tuple(repeat(subject, plan.binds)) if plan.positional else {"s": subject}
    procs = plan.processors
    return [
        {n: (v if p is None else p(v)) for n, v, p in zip(names, row, procs, strict=True)}
        for row in conn.exec_driver_sql(plan.sql, params)
    ]


class _SubjectPlan(NamedTuple):
    sql: str
    positional: bool
    binds: int
    processors: tuple[Callable[[Any], Any] | None, ...]


_plans: dict[tuple[Any, str, tuple[str, ...]], _SubjectPlan] = {}


def _subject_plan(dialect: Dialect, spec: ResourceSpec, names: tuple[str, ...]) -> _SubjectPlan:
    """`fetch_by_subject`'s statement compiled once per dialect, resource and field list, with the
    columns' result processors (dates, UTC datetimes, booleans): the query runs on every shared-data
    call, and compiling and processing it through Core each time costs more than running it."""
    cache_key = (dialect, spec.key, names)
    plan = _plans.get(cache_key)
    if plan is None:
        table = table_of(spec)
        subject = bindparam("s")
        clauses = [table.c[name] == subject for name in spec.subject_fields]
        query = (
            select(*(table.c[n] for n in names))
            .where(clauses[0] if len(clauses) == 1 else or_(*clauses))
            .order_by(table.c.id)
        )
        compiled = query.compile(dialect=dialect)
        processors = tuple(
            table.c[n].type.dialect_impl(dialect).result_processor(dialect, None) for n in names
        )
        positional = bool(compiled.positional)
        binds = len(compiled.positiontup or ()) if positional else 1
        plan = _SubjectPlan(str(compiled), positional, binds, processors)
        if len(_plans) < 4096:
            _plans[cache_key] = plan
    return plan


def _check_page(offset: int, limit: int) -> None:
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise Invalid.on("offset", "偏移量应为不小于 0 的整数")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise Invalid.on("limit", f"每页条数应在 1 到 {MAX_LIMIT} 之间")


def fetch_slice(
    session: Session,
    key: str,
    *,
    region_prefix: str | None = None,
    fields: list[str] | tuple[str, ...] | None = None,
    offset: int = 0,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """A page of resource `key` in a stable order (the rows' insertion order), optionally only the
    rows whose region field starts with `region_prefix` — the 数据回流 of a district ("219502") or a
    street ("219502001") gets its own residents, marriages, enterprises …"""
    spec = resource(key)
    names = spec.select_fields(fields)
    _check_page(offset, limit)
    table = table_of(spec)
    query = select(*(table.c[n] for n in names))
    if region_prefix is not None:
        query = query.where(_region_filter(spec, table, region_prefix))
    query = query.order_by(table.c.id).offset(offset).limit(limit)
    return _rows(session.execute(query), names)


def count_rows(session: Session, key: str, *, region_prefix: str | None = None) -> int:
    """How many rows resource `key` holds (in the region, when a prefix is given)."""
    spec = resource(key)
    table = table_of(spec)
    query = select(func.count()).select_from(table)
    if region_prefix is not None:
        query = query.where(_region_filter(spec, table, region_prefix))
    return int(session.execute(query).scalar_one())


def subject_keys(session: Session, key: str, subject_ids: Iterable[str]) -> set[str]:
    """Which of `subject_ids` occur in resource `key` (in any subject field): the reference check of
    governance ("every employer credit code is a legal person"). IDs are compared as given."""
    spec = resource(key)
    table = table_of(spec)
    wanted = sorted({s for s in subject_ids if isinstance(s, str) and s})
    found: set[str] = set()
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        for name in spec.subject_fields:
            column = table.c[name]
            found.update(v for (v,) in session.execute(select(column).where(column.in_(chunk)).distinct()))
    found.intersection_update(wanted)
    return found


def storage_of(session: Session, key: str) -> StorageKind:
    """How the resource is reached now: "external" while an active external source is registered for
    it, otherwise its declared storage ("table" or "file")."""
    spec = resource(key)
    active = session.execute(
        select(ExternalSource.active).where(ExternalSource.key == spec.key)
    ).scalar_one_or_none()
    return "external" if active else spec.storage
