"""Loading files into registry resources (B3, B4): the pipeline, its report, rejected rows, reloads.

`load_file` runs in three steps, each its own transaction:

1. **begin** — check the resource, the mode and the actor's right (a refusal is recorded on the audit
   chain and nothing else happens), and record the load as ``running`` so others see it;
2. **load** — read the file (format, encoding, header), validate every row against the rule set in
   force, then in ONE transaction: write the good rows through `registry.bulk_write` (authoritative
   source) or cross-check them (another department's source), store the rejected rows with their
   reasons, finish the load record with its quality report, and append ``governance.load`` to the audit
   chain. Any failure rolls all of that back: nothing is half-loaded;
3. **fail** (only on a failure) — mark the load ``failed`` with the reason and audit the refusal or
   failure, in a transaction of its own.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import polars as pl
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from yiwang import registry
from yiwang.core import audit, clock
from yiwang.core.db import Database
from yiwang.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound, Problem
from yiwang.core.export import csv_bytes
from yiwang.core.pagination import Page
from yiwang.core.security import PLATFORM, Actor
from yiwang.governance.models import Load, RejectedRow
from yiwang.governance.schemas import LoadReport, LoadRow, RejectedRowRead, RuleHit
from yiwang.governance.service.access import (
    can_manage,
    department_name,
    is_officer,
    refuse,
    require_officer,
    resolve_source,
    visible_departments,
)
from yiwang.governance.service.conflicts import cross_check
from yiwang.governance.service.reading import ROW, FileRefused, read_file
from yiwang.governance.service.rules import LOADER_FIELDS, Rule, rule_label
from yiwang.governance.service.rulesets import rules_in_force
from yiwang.governance.service.validate import Outcome, quality_score, validate

log = logging.getLogger(__name__)

ACTION = "governance.load"
MODES = ("insert", "upsert")
# Rows whose record the authoritative registry lacks (cross-checks): weight in the quality score.
MISSING_SUBJECT_WEIGHT = 0.5


class LoadFailed(Problem):
    default_status = 500
    default_slug = "governance-load-failed"
    default_title = "装载失败，已全部撤销"


@dataclass
class _Plan:
    spec: registry.ResourceSpec
    load_id: int
    version: int
    rules: list[Rule]
    mode: str
    source: str
    authoritative: bool


# ================================================================= header


def _file_name(name: str) -> str:
    base = PureWindowsPath(PurePosixPath(name or "").name).name.strip()
    return (base or "upload")[:255]


def map_columns(
    spec: registry.ResourceSpec, frame: pl.DataFrame, rules: list[Rule]
) -> tuple[pl.DataFrame, list[str]]:
    """Rename the file's columns to field names (a column may be headed by the field name, in any case,
    or by its Chinese label, or by both as "姓名（name）"); refuse the whole file when a required column
    is missing or a column is unknown or doubled. Returns the renamed frame and the ignored columns
    (`source`/`updated_at`, which the loader fills)."""
    by_name = {f.name.lower(): f.name for f in spec.fields}
    by_label = {f.label: f.name for f in spec.fields}
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    doubled: list[str] = []
    ignored: list[str] = []
    for column in frame.columns:
        if column == ROW:
            continue
        shown = column.split("\u0000")[0]
        target = by_name.get(shown.lower()) or by_label.get(shown)
        if target is None and shown.endswith(("）", ")")):
            inner = shown.rstrip("）)").replace("（", "(").rsplit("(", 1)[-1]
            target = by_name.get(inner.strip().lower())
        if target is None:
            unknown.append(shown)
        elif target in LOADER_FIELDS:
            ignored.append(shown)
        elif target in mapping.values() or "\u0000" in column:
            doubled.append(shown)
        else:
            mapping[column] = target
    required = {r.field for r in rules if r.type == "required"} | set(spec.key_fields)
    missing = [f for f in spec.fields if f.name in required and f.name not in mapping.values()]
    if unknown or missing or doubled:
        parts = []
        errors = []
        if missing:
            listed = "、".join(f"{f.label}（{f.name}）" for f in missing)
            parts.append(f"缺少必填列 {listed}")
            errors += [FieldError("file", f"缺少必填列：{f.label}（{f.name}）") for f in missing]
        if unknown:
            parts.append(f"无法识别的列 {'、'.join(unknown)}")
            errors += [FieldError("file", f"无法识别的列：{c}") for c in unknown]
        if doubled:
            parts.append(f"重复的列 {'、'.join(doubled)}")
            errors += [FieldError("file", f"重复的列：{c}") for c in doubled]
        usable = "、".join(f"{f.label}（{f.name}）" for f in spec.fields if f.name not in LOADER_FIELDS)
        raise FileRefused(
            title="文件的列不符合要求",
            detail=f"文件的列与「{spec.name}」不符，整个文件未装载：{'；'.join(parts)}。可用的列：{usable}。",
            errors=errors,
            extra={
                "missing_columns": [f.name for f in missing],
                "unknown_columns": unknown,
                "duplicate_columns": doubled,
            },
        )
    renamed = frame.select([pl.col(c).alias(t) for c, t in mapping.items()] + [pl.col(ROW)])
    return renamed, ignored


# ================================================================= the pipeline


def _begin(
    db: Database,
    actor: Actor,
    resource_key: str,
    filename: str,
    mode: str,
    source_department: str | None,
    parent_load_id: int | None = None,
) -> _Plan:
    """Step 1: check, then record the load as running. A refusal is audited and raised."""
    try:
        with db.session() as session:
            spec = registry.resource(resource_key)
            if mode not in MODES:
                raise Invalid.on("mode", "导入方式只能是 insert（仅新增）或 upsert（新增或更新）")
            source, authoritative = resolve_source(session, actor, spec, source_department)
            version, rules = rules_in_force(session, spec)
            load = Load(
                resource_key=spec.key,
                department=spec.department,
                source_department=source,
                authoritative=authoritative,
                account_id=actor.account_id,
                actor_name=actor.label()[:64],
                filename=filename,
                mode=mode,
                status="running",
                rule_set_version=version,
                rule_hits={},
                columns=[],
                parent_load_id=parent_load_id,
                started_at=clock.now(),
                error="",
            )
            session.add(load)
            session.flush()
            return _Plan(spec, load.id, version, rules, mode, source, authoritative)
    except Problem as problem:
        # Refused before anything was written: the web layer records it on the audit chain.
        if problem.refusal is None:
            problem.audited(
                actor,
                ACTION,
                object_type="registry_resource",
                object_id=resource_key,
                detail={"filename": filename, "mode": mode},
            )
        else:
            problem.refusal["detail"] = {
                **problem.refusal.get("detail", {}),
                "filename": filename,
                "mode": mode,
            }
        raise


def _fail(
    db: Database,
    actor: Actor,
    plan: _Plan,
    problem: Problem,
    started: float,
    meta: dict[str, Any] | None = None,
) -> None:
    """Step 3: the load failed or the file was refused: say so on the load record and the audit chain."""
    result = "refused" if problem.status < 500 else "failed"
    message = problem.detail or problem.title
    with db.session() as session:
        session.execute(
            update(Load)
            .where(Load.id == plan.load_id)
            .values(
                status="failed",
                error=message[:4000],
                finished_at=clock.now(),
                duration_ms=int((time.perf_counter() - started) * 1000),
                rows_loaded=0,
                rows_rejected=0,
                **(meta or {}),
            )
        )
        audit.append(
            session,
            actor,
            ACTION,
            object_type="governance_load",
            object_id=plan.load_id,
            result=result,
            detail={"resource": plan.spec.key, "reason": message[:500], "status": problem.status},
        )
    problem.extra.setdefault("load_id", plan.load_id)


def load_file(
    db: Database,
    actor: Actor,
    *,
    resource_key: str,
    path_or_bytes: bytes | str | os.PathLike[str],
    filename: str,
    format: str = "auto",
    encoding: str = "auto",
    mode: str = "insert",
    source_department: str | None = None,
) -> LoadReport:
    """Load one file (CSV, XLSX, JSON or Parquet) into registry resource `resource_key`.

    Returns the load's quality report. Raises a problem when the actor may not load there (403,
    audited), when the file cannot be read as a whole (422: encoding, format, columns — the load is
    recorded as failed with the reason) or when writing fails (the load is rolled back completely)."""
    started = time.perf_counter()
    name = _file_name(filename)
    plan = _begin(db, actor, resource_key, name, mode, source_department)
    meta: dict[str, Any] = {}
    with _running(db, plan.load_id):
        try:
            read = read_file(path_or_bytes, name, format=format, encoding=encoding)
            meta = {"format": read.format, "encoding": read.encoding, "columns": read.columns}
            frame, ignored = map_columns(plan.spec, read.frame, plan.rules)
        except BaseException as exc:
            problem = _as_problem(exc)
            _fail(db, actor, plan, problem, started, meta)
            if problem is exc:
                raise
            raise problem from exc
        # The rows are handed over in a list that holds the only reference, so they can be freed as
        # soon as they are validated (a million rows are a few hundred megabytes).
        frames = [frame]
        del read, frame
        return _execute(db, actor, plan, frames, started, meta, ignored=ignored)


def _as_problem(exc: BaseException) -> Problem:
    """What a failed load says, whatever failed: a problem as raised, or a Chinese reason that names no
    library message or server path (those go to the log)."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, MemoryError):
        detail = "文件过大，服务器内存不足，本次装载未写入任何数据。请分批装载，或改用 CSV 文件。"
    elif isinstance(exc, Exception):
        detail = (
            "读取或写入数据时出错，本次装载已全部撤销，没有写入任何数据。请检查文件后重试，或联系平台运维。"
        )
    else:  # the server is stopping (KeyboardInterrupt, cancellation)
        detail = "服务停止，装载被中断，没有写入任何数据。请重新装载。"
    log.error("load failed", exc_info=exc)
    return LoadFailed(detail=detail)


# ================================================================= crashed loads


def _lock_key(load_id: int) -> int:
    return (0x5949_0000 << 32) | load_id  # "YI": the loads' own advisory-lock key space


@contextmanager
def _running(db: Database, load_id: int) -> Iterator[None]:
    """While a load runs, its process holds a PostgreSQL advisory lock named after it on a connection
    of its own, so `interrupt_stale_loads` (another worker starting) never takes a live load for a
    dead one. SQLite serves one process, so every load still `running` at start-up is dead."""
    if db.dialect != "postgresql":
        yield
        return
    conn = db.engine.connect()
    try:
        conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (_lock_key(load_id),))
        conn.commit()
        yield
    finally:
        try:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (_lock_key(load_id),))
            conn.commit()
        except Exception:  # a broken connection must not go back to the pool still holding the lock
            conn.invalidate()
        conn.close()


INTERRUPTED_REASON = "服务在装载过程中停止（重启或故障），本次装载已中断，没有写入任何数据。请重新装载。"


def interrupt_stale_loads(db: Database) -> int:
    """At start-up: mark the loads a crashed process left `running` as `interrupted`, with the reason,
    on the audit chain. Nothing of theirs was written (a load writes in one transaction). Returns how
    many were marked."""
    with db.session() as session:
        running = list(session.scalars(select(Load.id).where(Load.status == "running").order_by(Load.id)))
        if not running:
            return 0
        postgres = session.get_bind().dialect.name == "postgresql"
        stale = []
        for load_id in running:
            # A live load's worker holds its lock; taking it (until this transaction ends) proves it dead.
            if postgres and not session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_key(load_id)}
            ):
                continue
            stale.append(load_id)
        if not stale:
            return 0
        now = clock.now()
        session.execute(
            update(Load)
            .where(Load.id.in_(stale), Load.status == "running")
            .values(status="interrupted", error=INTERRUPTED_REASON, finished_at=now, rows_loaded=0)
        )
        audit.append_many(
            session,
            PLATFORM,
            [
                audit.AuditEntry(
                    ACTION,
                    object_type="governance_load",
                    object_id=str(load_id),
                    result="failed",
                    detail={"status": "interrupted", "reason": INTERRUPTED_REASON},
                )
                for load_id in stale
            ],
        )
        return len(stale)


def _lookup(session: Session) -> Callable[[str, list[str]], set[str]]:
    def lookup(key: str, values: list[str]) -> set[str]:
        return registry.subject_keys(session, key, values)

    return lookup


def _execute(
    db: Database,
    actor: Actor,
    plan: _Plan,
    frames: list[pl.DataFrame],
    started: float,
    meta: dict[str, Any],
    *,
    ignored: list[str] | None = None,
    reloaded_rows: list[int] | None = None,
) -> LoadReport:
    """Step 2: validate, then write everything in one transaction."""
    spec = plan.spec
    try:
        with db.session() as session:
            # "Already in the registry" only matters when inserting; a cross-check expects it.
            skip_existing = plan.mode == "upsert" or not plan.authoritative
            empty = skip_existing or registry.count_rows(session, spec.key) == 0
            # `frames` holds the only reference to the file's rows, so they are freed once validated.
            outcome = validate(
                spec, plan.rules, frames.pop(), mode=plan.mode, lookup=_lookup(session), registry_empty=empty
            )
            rejected = outcome.rejected
            penalty = outcome.penalty
            hits = dict(outcome.hits)
            conflicts = 0
            if plan.authoritative:
                holder = [outcome.good.drop(ROW)]
                outcome.good = outcome.good.clear()  # only `holder` holds the rows now
                written = _write(session, spec, holder, plan.mode)
            else:
                check = cross_check(
                    session, spec.key, outcome.good, source_department=plan.source, load_id=plan.load_id
                )
                conflicts = check.recorded + check.known
                rejected, extra_penalty = _missing_rows(spec, outcome, check.missing_rows, rejected)
                penalty += extra_penalty
                hits[f"{'+'.join(spec.key_fields)}.subject"] = len(check.missing_rows)
                written = check.checked
            _insert_rejected(session, plan.load_id, rejected)
            if reloaded_rows:
                session.execute(
                    update(RejectedRow)
                    .where(RejectedRow.id.in_(reloaded_rows))
                    .values(
                        status="reloaded",
                        reload_load_id=plan.load_id,
                        updated_by_name=actor.label()[:64],
                        updated_at=clock.now(),
                    )
                )
            score = quality_score(outcome.rows_read, penalty)
            status = "succeeded" if rejected.height == 0 else "partial"
            load = session.get(Load, plan.load_id)
            assert load is not None
            load.status = status
            load.rows_read = outcome.rows_read
            load.rows_loaded = written
            load.rows_rejected = rejected.height
            load.conflicts = conflicts
            load.rule_hits = hits
            load.quality_score = score
            load.finished_at = clock.now()
            load.duration_ms = int((time.perf_counter() - started) * 1000)
            load.error = ("忽略了由系统填写的列：" + "、".join(ignored)) if ignored else ""
            for key, value in meta.items():
                setattr(load, key, value)
            session.flush()
            audit.append(
                session,
                actor,
                ACTION,
                object_type="governance_load",
                object_id=plan.load_id,
                detail={
                    "resource": spec.key,
                    "source_department": plan.source,
                    "authoritative": plan.authoritative,
                    "mode": plan.mode,
                    "filename": load.filename,
                    "rows_read": outcome.rows_read,
                    "rows_loaded": written,
                    "rows_rejected": rejected.height,
                    "conflicts": conflicts,
                    "quality_score": score,
                    "rule_set_version": plan.version,
                },
            )
            return _report(session, load)
    except Problem as problem:
        _fail(db, actor, plan, problem, started, meta)
        raise
    except BaseException as exc:
        problem = _as_problem(exc)
        _fail(db, actor, plan, problem, started, meta)
        raise problem from exc


def _write(session: Session, spec: registry.ResourceSpec, good: list[pl.DataFrame], mode: str) -> int:
    """The good rows into the registry in the caller's transaction, in (about) natural-key order:
    inserts into the unique key's B-tree then land next to each other, which saves about a quarter of
    the CPU time of a million-row insert on SQLite. `good` is a one-element list so the unsorted copy
    can be freed before the write."""
    rows = good.pop()
    if rows.height == 0:
        return 0
    ordered = rows.sort(_order_key(spec.key_fields[0]), maintain_order=True, nulls_last=True)
    del rows
    return registry.bulk_write(session, spec.key, ordered, mode=mode)  # type: ignore[arg-type]


def _order_key(field: str) -> pl.Expr:
    """An integer with the order of the value's first 12 characters (0-9 then A-Z, as base 36, which
    is byte order for IDs and codes); sorting 64-bit integers costs a third of sorting the strings,
    and 12 characters of a citizen ID or credit code are locality enough for the index."""
    return (
        pl.col(field)
        .cast(pl.String)
        .str.slice(0, 12)
        .str.pad_end(12, "0")
        .str.to_integer(base=36, strict=False)
    )


def _missing_rows(
    spec: registry.ResourceSpec, outcome: Outcome, rows: list[int], rejected: pl.DataFrame
) -> tuple[pl.DataFrame, float]:
    """Cross-checked rows whose record the authority lacks: kept as rejected rows, with the reason."""
    if not rows:
        return rejected, 0.0
    good = outcome.good.filter(pl.col(ROW).is_in(rows))
    fields = [c for c in good.columns if c != ROW]
    subject_field = spec.key_fields[0]
    message = f"权威来源（{spec.department_name}「{spec.name}」）中没有这条记录，无法核对"
    reason = json.dumps(
        [{"field": subject_field, "rule": f"{'+'.join(spec.key_fields)}.subject", "message": message}],
        ensure_ascii=False,
    )
    text = good.select([pl.col(c).cast(pl.String) for c in fields] + [pl.col(ROW)])
    extra = text.select(
        pl.col(ROW),
        pl.col(subject_field).alias("subject") if subject_field in fields else pl.lit(None, dtype=pl.String),
        pl.struct(fields).struct.json_encode().alias("data"),
        pl.lit(reason).alias("reasons"),
    )
    return pl.concat([rejected, extra]).sort(ROW), MISSING_SUBJECT_WEIGHT * len(rows)


_REJECTED_COLUMNS = ("load_id", "row_number", "subject", "data", "reasons", "status", "updated_by_name")


def _insert_rejected(session: Session, load_id: int, rejected: pl.DataFrame) -> None:
    """Bulk insert: plain tuples through the driver's executemany (no per-row dicts)."""
    if rejected.height == 0:
        return
    rows = rejected.select(
        pl.lit(load_id).alias("load_id"),
        pl.col(ROW).alias("row_number"),
        pl.col("subject").str.slice(0, 64),
        pl.col("data"),
        pl.col("reasons"),
        pl.lit("open").alias("status"),
        pl.lit("").alias("updated_by_name"),
    )
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {RejectedRow.__tablename__} ({', '.join(_REJECTED_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_REJECTED_COLUMNS))})"
    )
    for start in range(0, rows.height, 50_000):
        connection.exec_driver_sql(sql, rows.slice(start, 50_000).rows())


# ================================================================= reading


def _hits(spec: registry.ResourceSpec, hits: dict[str, int]) -> list[RuleHit]:
    labels = {f.name: f.label for f in spec.fields}

    def label(rule: str) -> str:
        fields, _, _ = rule.rpartition(".")
        shown = "+".join(labels.get(f, f) for f in fields.split("+"))
        return shown + "：" + rule_label(rule).split("：", 1)[1]

    return sorted(
        (RuleHit(rule=k, label=label(k), hits=int(v)) for k, v in hits.items()),
        key=lambda h: (-h.hits, h.rule),
    )


def _report(session: Session, load: Load) -> LoadReport:
    try:
        spec = registry.resource(load.resource_key)
        resource_name, hits = spec.name, _hits(spec, load.rule_hits or {})
    except NotFound:
        resource_name, hits = load.resource_key, []
    return LoadReport(
        id=load.id,
        resource_key=load.resource_key,
        resource_name=resource_name,
        department=load.department,
        department_name=department_name(session, load.department),
        source_department=load.source_department,
        source_department_name=department_name(session, load.source_department),
        authoritative=load.authoritative,
        actor_name=load.actor_name,
        filename=load.filename,
        format=load.format or "",
        encoding=load.encoding,
        mode=load.mode,  # type: ignore[arg-type]
        status=load.status,
        rows_read=load.rows_read,
        rows_loaded=load.rows_loaded,
        rows_rejected=load.rows_rejected,
        conflicts=load.conflicts,
        rule_hits=hits,
        quality_score=load.quality_score,
        rule_set_version=load.rule_set_version,
        columns=list(load.columns or []),
        parent_load_id=load.parent_load_id,
        started_at=load.started_at,
        finished_at=load.finished_at,
        duration_ms=load.duration_ms,
        error=load.error or "",
    )


def _visible(session: Session, actor: Actor, load: Load) -> bool:
    codes = visible_departments(session, actor)
    return codes is None or load.department in codes or load.source_department in codes


def _get_load(session: Session, actor: Actor, load_id: int, action: str) -> Load:
    require_officer(actor, action)
    load = session.get(Load, load_id)
    if load is None:
        raise NotFound(detail=f"装载记录 {load_id} 不存在")
    if not _visible(session, actor, load):
        raise refuse(
            actor, action, "这次装载与您的部门无关", object_type="governance_load", object_id=load_id
        )
    return load


def get_load(session: Session, actor: Actor, load_id: int) -> LoadReport:
    return _report(session, _get_load(session, actor, load_id, "governance.load.read"))


def list_loads(
    session: Session,
    actor: Actor,
    *,
    resource_key: str | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[LoadRow]:
    """Loads the actor's department made or owns the resource of, newest first; all for admins."""
    require_officer(actor, "governance.load.read")
    query = select(Load)
    codes = visible_departments(session, actor)
    if codes is not None:
        query = query.where(or_(Load.department.in_(codes), Load.source_department.in_(codes)))
    if resource_key:
        query = query.where(Load.resource_key == resource_key)
    if status:
        query = query.where(Load.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Load.id.desc()).offset(offset).limit(limit)).all()
    names: dict[str, str] = {}
    resource_names = {s.key: s.name for s in registry.resources()}

    def name(code: str) -> str:
        if code not in names:
            names[code] = department_name(session, code)
        return names[code]

    items = [
        LoadRow(
            id=r.id,
            resource_key=r.resource_key,
            resource_name=resource_names.get(r.resource_key, r.resource_key),
            source_department=r.source_department,
            source_department_name=name(r.source_department),
            authoritative=r.authoritative,
            actor_name=r.actor_name,
            filename=r.filename,
            format=r.format or "",
            mode=r.mode,  # type: ignore[arg-type]
            status=r.status,
            rows_read=r.rows_read,
            rows_loaded=r.rows_loaded,
            rows_rejected=r.rows_rejected,
            conflicts=r.conflicts,
            quality_score=r.quality_score,
            started_at=r.started_at,
        )
        for r in rows
    ]
    return Page(total=total, offset=offset, limit=limit, items=items)


# ================================================================= rejected rows


def _row_read(row: RejectedRow) -> RejectedRowRead:
    return RejectedRowRead(
        id=row.id,
        load_id=row.load_id,
        row_number=row.row_number,
        subject=row.subject,
        data=json.loads(row.data or "{}"),
        original=json.loads(row.original) if row.original else None,
        reasons=json.loads(row.reasons or "[]"),
        status=row.status,
        reload_load_id=row.reload_load_id,
        updated_by_name=row.updated_by_name,
        updated_at=row.updated_at,
    )


def list_rejected_rows(
    session: Session,
    actor: Actor,
    load_id: int,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
    audit_access: bool = True,
) -> Page[RejectedRowRead]:
    """A page of a load's rejected rows (personal data: the access is audited)."""
    load = _get_load(session, actor, load_id, "governance.rejected.read")
    query = select(RejectedRow).where(RejectedRow.load_id == load.id)
    if status:
        query = query.where(RejectedRow.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(RejectedRow.row_number, RejectedRow.id).offset(offset).limit(limit)
    ).all()
    if rows and audit_access:
        audit.append(
            session,
            actor,
            "governance.rejected.read",
            object_type="governance_load",
            object_id=load.id,
            purpose="数据治理：核对被拒收的数据行",
            detail={"resource": load.resource_key, "rows": len(rows), "offset": offset},
        )
    return Page(total=total, offset=offset, limit=limit, items=[_row_read(r) for r in rows])


def rejected_rows_csv(session: Session, actor: Actor, load_id: int, status: str | None = None) -> bytes:
    """The load's rejected rows as CSV (UTF-8 with BOM, so Excel opens it): row number, the fields, the
    reasons — to correct offline and load again."""
    load = _get_load(session, actor, load_id, "governance.rejected.read")
    query = select(RejectedRow).where(RejectedRow.load_id == load.id)
    if status:
        query = query.where(RejectedRow.status == status)
    rows = session.scalars(query.order_by(RejectedRow.row_number)).all()
    try:
        fields = [f.name for f in registry.resource(load.resource_key).fields if f.name not in LOADER_FIELDS]
    except NotFound:
        fields = []
    records = []
    for r in rows:
        data = json.loads(r.data or "{}")
        reasons = "；".join(x["message"] for x in json.loads(r.reasons or "[]"))
        records.append(
            {"行号": str(r.row_number), **{f: data.get(f) for f in fields if f in data}, "拒收原因": reasons}
        )
    audit.append(
        session,
        actor,
        "governance.rejected.export",
        object_type="governance_load",
        object_id=load.id,
        purpose="数据治理：导出被拒收的数据行以便更正",
        detail={"resource": load.resource_key, "rows": len(records)},
    )
    columns = ["行号", *[f for f in fields if any(f in rec for rec in records)], "拒收原因"]
    return csv_bytes(columns, ([rec.get(c) for c in columns] for rec in records))


def _editable_row(session: Session, actor: Actor, row_id: int, action: str) -> tuple[RejectedRow, Load]:
    row = session.get(RejectedRow, row_id)
    if row is None:
        raise NotFound(detail=f"被拒收的数据行 {row_id} 不存在")
    load = session.get(Load, row.load_id)
    assert load is not None
    require_load_editor(session, actor, load, action)
    if row.status in ("reloaded", "dismissed"):
        raise Conflict(detail=f"该行已{'重新装载' if row.status == 'reloaded' else '忽略'}，不能再修改")
    return row, load


def require_load_editor(session: Session, actor: Actor, load: Load, action: str) -> None:
    """Who may correct, dismiss and reload a load's rejected rows: whoever may load it again — the
    owner's data officer for an authoritative load, the source department's for a cross-check."""
    spec = registry.resource(load.resource_key)
    if actor.is_platform_admin:
        return
    if load.authoritative and can_manage(session, actor, spec):
        return
    if not load.authoritative and is_officer(actor):
        codes = visible_departments(session, actor) or set()
        if load.source_department in codes:
            return
    raise refuse(
        actor,
        action,
        "只有提供这批数据的部门的数据管理员或平台管理员可以处理被拒收的行",
        object_type="governance_load",
        object_id=load.id,
    )


def can_edit_load(session: Session, actor: Actor, load_id: int) -> bool:
    """Whether the actor may correct, dismiss and reload the load's rejected rows (for the pages)."""
    load = session.get(Load, load_id)
    if load is None:
        return False
    try:
        require_load_editor(session, actor, load, "governance.load.edit")
    except Forbidden:
        return False
    return True


def correct_rejected_row(
    session: Session, actor: Actor, row_id: int, new_values: dict[str, str | None]
) -> RejectedRowRead:
    """Change some values of a rejected row; the row is checked again at once, so its reasons show
    what is still wrong (in-file uniqueness is checked again when the row is reloaded)."""
    row, load = _editable_row(session, actor, row_id, "governance.rejected.correct")
    spec = registry.resource(load.resource_key)
    allowed = {f.name for f in spec.fields if f.name not in LOADER_FIELDS}
    unknown = sorted(set(new_values) - allowed)
    if unknown:
        raise Invalid(
            detail=f"「{spec.name}」没有字段：{'、'.join(unknown)}",
            errors=[FieldError(f"values.{u}", "没有这个字段") for u in unknown],
        )
    if not new_values:
        raise Invalid.on("values", "请至少更正一个字段")
    data = json.loads(row.data or "{}")
    changed = {}
    for name, value in new_values.items():
        text = value.strip() if isinstance(value, str) else None
        text = text or None
        if data.get(name) != text:
            changed[name] = {"before": data.get(name), "after": text}
        data[name] = text
    if row.original is None:
        row.original = row.data
    row.data = json.dumps(data, ensure_ascii=False)
    _, rules = rules_in_force(session, spec)
    frame = _frame_of([(row.row_number, data)])
    try:
        frame, _ = map_columns(spec, frame, [r for r in rules if r.type != "required"])
    except FileRefused as exc:  # pragma: no cover - the fields were checked above
        raise Invalid(detail=exc.detail, errors=exc.errors) from None
    outcome = validate(spec, rules, frame, mode=load.mode, lookup=_lookup(session))
    row.reasons = outcome.rejected.get_column("reasons")[0] if outcome.rejected.height else "[]"
    row.status = "corrected"
    row.updated_by_name = actor.label()[:64]
    row.updated_at = clock.now()
    session.flush()
    audit.append(
        session,
        actor,
        "governance.rejected.correct",
        object_type="governance_rejected_row",
        object_id=row.id,
        subject=row.subject or "",
        detail={"load_id": load.id, "row_number": row.row_number, "fields": sorted(changed)},
    )
    return _row_read(row)


def dismiss_rejected_row(session: Session, actor: Actor, row_id: int, reason: str = "") -> RejectedRowRead:
    """Set a rejected row aside for good (it stays on record, marked dismissed, with who and why)."""
    row, load = _editable_row(session, actor, row_id, "governance.rejected.dismiss")
    row.status = "dismissed"
    row.updated_by_name = actor.label()[:64]
    row.updated_at = clock.now()
    session.flush()
    audit.append(
        session,
        actor,
        "governance.rejected.dismiss",
        object_type="governance_rejected_row",
        object_id=row.id,
        subject=row.subject or "",
        detail={"load_id": load.id, "row_number": row.row_number, "reason": reason.strip()[:200]},
    )
    return _row_read(row)


def _frame_of(rows: list[tuple[int, dict[str, Any]]]) -> pl.DataFrame:
    columns = list(dict.fromkeys(k for _, data in rows for k in data))
    records = [{**{c: data.get(c) for c in columns}, ROW: number} for number, data in rows]
    schema: dict[str, Any] = {c: pl.String for c in columns}
    schema[ROW] = pl.Int64
    return pl.DataFrame(records, schema=schema)


def reload_rejected(db: Database, actor: Actor, load_id: int) -> LoadReport:
    """Load a load's corrected rows again, as a new load (its parent is `load_id`), with the rules in
    force now. Rows that pass are written; rows that still fail become rejected rows of the new load;
    either way the corrected rows are marked reloaded, in the same transaction as the new load."""
    started = time.perf_counter()
    with db.session() as session:
        load = session.get(Load, load_id)
        if load is None:
            raise NotFound(detail=f"装载记录 {load_id} 不存在")
        require_load_editor(session, actor, load, "governance.rejected.reload")
        rows = session.scalars(
            select(RejectedRow)
            .where(RejectedRow.load_id == load.id, RejectedRow.status == "corrected")
            .order_by(RejectedRow.row_number)
        ).all()
        pending = [(r.id, r.row_number, json.loads(r.data or "{}")) for r in rows]
        resource_key, mode, source = load.resource_key, load.mode, load.source_department
        filename = f"更正后重新装载（第 {load.id} 次装载）"
    if not pending:
        raise Invalid.on("load_id", "这次装载没有已更正、待重新装载的行")
    plan = _begin(db, actor, resource_key, filename, mode, source, parent_load_id=load_id)
    with _running(db, plan.load_id):
        try:
            frame = _frame_of([(number, data) for _, number, data in pending])
            frame, _ = map_columns(plan.spec, frame, plan.rules)
        except BaseException as exc:
            problem = _as_problem(exc)
            _fail(db, actor, plan, problem, started)
            if problem is exc:
                raise
            raise problem from exc
        meta = {"format": "rows", "encoding": None, "columns": [c for c in frame.columns if c != ROW]}
        frames = [frame]
        del frame
        return _execute(db, actor, plan, frames, started, meta, reloaded_rows=[i for i, _, _ in pending])
