"""The shared-data pipeline (B5, B6, B8): every call to `/api/v1/exchange/data/...` passes

    authenticate the client → find the grant (or the resource is 无条件共享) → refuse 不予共享 →
    fetch → keep only the granted fields → mask by grade and purpose → count against the rate limit →
    audit record + call-log row → commit → respond

and a refused call is logged too: its transaction is rolled back (nothing half-loaded), then the
call-log row (result "refused", the reason) and its audit record are written in a transaction of
their own, and the problem goes out. `serve` owns the transaction for that reason: it commits or rolls
back itself, and the API only turns its `Outcome` into a response.

Speed: the pipeline is benchmarked, so a call's own statements are the grant lookup and the fetch; the
actor of a bearer token and the catalog entry come from short-lived in-process caches (`cache.py`; the
grant is always read from the database), and the writes — rate-limit counter, audit record, call-log
row, commit — are group-committed with the other calls finishing at the same time (`writer.py`).
At most `READERS` calls of a worker run their reading phase at once (`serve_http`).
This module is the reading phase; `writer.py` the writing phase.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from sqlalchemy.orm import Session

import yiwang.identity as identity
from yiwang import catalog, registry
from yiwang.core import clock
from yiwang.core.db import Database
from yiwang.core.errors import FieldError, Invalid, Problem
from yiwang.core.security import EXCHANGE_CALL, Actor, ActorKind, require_authenticated
from yiwang.exchange.models import Grant
from yiwang.exchange.service import writer
from yiwang.exchange.service.cache import ResourceView, cached_actor, resource_view, settings
from yiwang.exchange.service.calls import (
    CallRequest,
    CallState,
    GrantTerms,
    Outcome,
    micros,
    refusal,
)

MAX_SLICE: Final = 1000

# The grant lookup is plain SQL through the driver: it runs on every call, and Core's statement
# compilation and result processing would cost more than the query. Newest grant first.
_GRANT_SELECT: Final = (
    "SELECT id, fields, purpose, allow_sensitive, allow_bulk, region_prefix, rate_per_minute, valid_from, "
    f"valid_until, revoked_at FROM {Grant.__tablename__} WHERE "
)
_GRANTS_OF_CLIENT: Final = _GRANT_SELECT + "client_id = {p} AND resource_key = {p} ORDER BY id DESC LIMIT 50"


class _GrantRow(NamedTuple):
    id: int
    fields: str
    purpose: str
    allow_sensitive: Any
    allow_bulk: Any
    region_prefix: str | None
    rate_per_minute: int
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None


def _aware(value: Any) -> Any:
    """A timestamp as the driver returns it (SQLite: naive UTC text) → an aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _grant_rows(session: Session, actor: Actor, key: str, depts: list[int]) -> list[_GrantRow]:
    conn = session.connection()
    p = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    if actor.kind is ActorKind.SYSTEM:
        sql, params = _GRANTS_OF_CLIENT.format(p=p), (actor.client_id, key)
    else:
        marks = ", ".join([p] * len(depts))
        where = f"consumer_dept_id IN ({marks}) AND resource_key = {p} ORDER BY id DESC LIMIT 50"
        sql = _GRANT_SELECT + where
        params = (*depts, key)
    return [
        _GrantRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _aware(r[7]), _aware(r[8]), _aware(r[9]))
        for r in conn.exec_driver_sql(sql, params)
    ]


# ================================================================= reading phase


def _authenticate(call: CallState) -> None:
    actor = call.actor
    require_authenticated(actor)
    if actor.is_relying_party and EXCHANGE_CALL not in actor.scopes:
        raise refusal("scope-missing", f"访问令牌未包含调用共享数据接口所需的权限范围 {EXCHANGE_CALL}")
    if actor.kind is ActorKind.SYSTEM and actor.client_id:
        call.consumer_dept_id = actor.department_id or 0
        return
    if actor.kind is ActorKind.STAFF and actor.department_id is not None:
        call.consumer_dept_id = actor.department_id
        return
    raise refusal(
        "not-a-consumer",
        "共享数据接口只向已登记的政务系统（客户端凭证）和持有本部门授权的工作人员开放",
    )


def _shareable(view: ResourceView) -> None:
    if view.entry is None:
        raise refusal(
            "not-catalogued",
            f"资源「{view.spec.name}」尚未在政务信息资源目录中发布并挂接，不能共享",
        )
    if view.sharing_type == "none":
        raise refusal(
            "not-shared",
            f"「{view.entry.name}」为不予共享资源（{view.entry.provider_name}），任何授权都不能调用",
        )


def _clean_purpose(purpose: str) -> str:
    value = " ".join((purpose or "").split())
    if len(value) < 2:
        raise Invalid.on("purpose", "请说明调用用途（purpose），与共享授权所载用途一致")
    if len(value) > 200:
        raise Invalid.on("purpose", "用途不能超过 200 个字")
    return value


def _clean_subjects(view: ResourceView, values: Sequence[str], batch: bool) -> tuple[str, ...]:
    """Each subject in canonical form, checked once by the registry's own rule for this resource
    (citizen ID or credit code, with its check digit), and any error reported under the field the
    caller sent: `subject`, or `subjects.<i>` for the i-th of a batch."""
    cleaned = []
    for i, value in enumerate(values):
        try:
            cleaned.append(registry.normalise_subject(view.spec, value or ""))
        except Invalid as problem:
            message = problem.errors[0].message if problem.errors else (problem.detail or "")
            raise Invalid.on(f"subjects.{i}" if batch else "subject", message) from None
    return tuple(cleaned)


def _ancestors(session: Session, unit_id: int) -> list[int]:
    unit = identity.get_org_unit(session, unit_id)
    return [int(p) for p in unit.path.strip("/").split("/") if p]


def _find_grant(session: Session, call: CallState, now: datetime) -> GrantTerms:
    view = call.view
    assert view is not None and view.entry is not None
    actor = call.actor
    if actor.kind is ActorKind.SYSTEM:
        rows = _grant_rows(session, actor, view.key, [])
        who = f"接入系统「{actor.name or actor.client_id}」"
    else:
        rows = _grant_rows(session, actor, view.key, _ancestors(session, call.consumer_dept_id))
        who = "您所在部门"
    purpose = call.purpose
    same = [r for r in rows if r.purpose == purpose]
    live = [r for r in same if r.revoked_at is None and r.valid_from <= now <= r.valid_until]
    if live:
        g = live[0]
        return GrantTerms(
            g.id,
            tuple(f for f in g.fields.split(",") if f),
            bool(g.allow_sensitive),
            bool(g.allow_bulk),
            g.region_prefix,
            int(g.rate_per_minute),
            f"g{g.id}",
        )
    if view.sharing_type == "unconditional":
        rate = settings(session)["unconditional_rate_per_minute"]
        holder = actor.client_id or f"dept{call.consumer_dept_id}"
        return GrantTerms(None, tuple(sorted(view.items)), False, False, None, rate, f"u:{holder}:{view.key}")
    name = view.entry.name
    if same:
        g = same[0]
        if g.revoked_at is not None:
            raise refusal("grant-revoked", f"{who}调用「{name}」的授权（编号 {g.id}）已被撤销")
        if now > g.valid_until:
            end = clock.to_local(g.valid_until)
            until = f"{end.year}年{end.month}月{end.day}日"
            raise refusal(
                "grant-expired",
                f"{who}调用「{name}」的授权（编号 {g.id}）已于 {until} 到期",
            )
        start = clock.to_local(g.valid_from)
        since = f"{start.year}年{start.month}月{start.day}日"
        raise refusal(
            "grant-not-yet-valid",
            f"{who}调用「{name}」的授权（编号 {g.id}）自 {since} 起生效",
        )
    if rows:
        granted = "、".join(sorted({r.purpose for r in rows}))
        raise refusal(
            "purpose-not-granted",
            f"{who}调用「{name}」的授权用途为：{granted}；本次用途“{purpose}”未获授权",
        )
    raise refusal(
        "no-grant",
        f"{who}没有调用「{name}」（{view.entry.provider_name}，有条件共享）的有效授权，请先提出共享申请",
    )


def _choose_fields(call: CallState, wanted: str | Sequence[str] | None) -> tuple[str, ...]:
    grant = call.grant
    view = call.view
    assert grant is not None and view is not None
    granted = grant.fields
    if wanted is None or wanted == "" or wanted == []:
        return granted
    names = wanted.split(",") if isinstance(wanted, str) else list(wanted)
    asked = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not asked:
        return granted
    known = view.spec.field_names
    unknown = [n for n in asked if n not in known]
    if unknown:
        message = f"资源「{view.spec.name}」没有字段：{'、'.join(unknown[:20])}"
        raise Invalid(detail=message, errors=[FieldError("fields", message)])
    outside = [n for n in asked if n not in granted]
    if outside:
        raise refusal(
            "field-not-granted",
            f"以下字段不在授权范围内：{'、'.join(outside[:20])}；已授权字段：{'、'.join(granted)}",
        )
    return asked


def _fetch(
    session: Session, view: ResourceView, subject: str, fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    if view.storage == "external":
        with registry.external_adapter(session, view.key) as adapter:
            return adapter.fetch(subject, list(fields))
    return registry.fetch_by_subject(session, view.key, subject, list(fields))


def _mask(call: CallState, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    view, grant = call.view, call.grant
    assert view is not None and view.entry is not None and grant is not None
    entry, sensitive = view.entry, grant.allow_sensitive
    return [catalog.mask_record(entry, r, purpose_allows_sensitive=sensitive) for r in rows]


def _prepare(session: Session, call: CallState) -> dict[str, Any]:
    """Everything up to the writes; raises a Problem for a refusal. Returns the response body."""
    req = call.req
    _authenticate(call)
    view = call.view = resource_view(session, req.resource_key)
    _shareable(view)
    call.purpose = _clean_purpose(req.purpose)
    if req.mode == "slice":
        return _prepare_slice(session, call)
    if not req.subjects:
        raise Invalid.on("subject", "请填写查询主体：公民身份号码或统一社会信用代码")
    call.subjects = _clean_subjects(view, req.subjects, req.mode == "batch")
    if req.mode == "batch":
        limit = settings(session)["max_batch"]
        if len(call.subjects) > limit:
            raise Invalid.on("subjects", f"一次最多查询 {limit} 个主体")
        if len(set(call.subjects)) != len(call.subjects):
            raise Invalid.on("subjects", "查询主体有重复")
    call.grant = _find_grant(session, call, clock.now())
    fields = _choose_fields(call, req.fields)
    dropped = view.masked_fields(call.grant.allow_sensitive)
    call.returned = tuple(f for f in fields if dropped.get(f) != "drop")
    results = []
    for subject in call.subjects:
        records = _mask(call, _fetch(session, view, subject, fields))
        call.rows.append(len(records))
        results.append((subject, records))
    body: dict[str, Any] = _head(call, dropped)
    if req.mode == "subject":
        body["subject"] = results[0][0]
        body["count"] = len(results[0][1])
        body["records"] = results[0][1]
    else:
        body["results"] = [{"subject": s, "count": len(r), "records": r} for s, r in results]
    return body


def _prepare_slice(session: Session, call: CallState) -> dict[str, Any]:
    req = call.req
    view = call.view
    assert view is not None
    if not isinstance(req.offset, int) or req.offset < 0:
        raise Invalid.on("offset", "偏移量应为不小于 0 的整数")
    if not isinstance(req.limit, int) or not 1 <= req.limit <= MAX_SLICE:
        raise Invalid.on("limit", f"每页条数应在 1 到 {MAX_SLICE} 之间")
    region = (req.region or "").strip()
    if region and (not region.isascii() or not region.isdigit() or len(region) > 12):
        raise Invalid.on("region", "地区代码前缀应为 1–12 位数字（如区县 219502、街道 219502001）")
    call.region = region
    call.grant = grant = _find_grant(session, call, clock.now())
    if not grant.allow_bulk:
        raise refusal(
            "bulk-not-granted",
            f"「{view.name}」的授权不含批量 / 按区域获取（数据回流），只能按主体逐个查询",
        )
    if grant.region_prefix:
        region = region or grant.region_prefix
        call.region = region
        if not region.startswith(grant.region_prefix):
            raise refusal(
                "region-not-granted",
                f"授权只包括地区代码以 {grant.region_prefix} 开头的数据，不能获取 {region}",
            )
    if view.storage == "external":
        raise Invalid.on("region", f"「{view.name}」由部门系统实时提供，只能按主体查询，不能切片")
    fields = _choose_fields(call, req.fields)
    dropped = view.masked_fields(grant.allow_sensitive)
    call.returned = tuple(f for f in fields if dropped.get(f) != "drop")
    call.subjects = ("",)
    records = _mask(
        call,
        registry.fetch_slice(
            session,
            view.key,
            region_prefix=region or None,
            fields=list(fields),
            offset=req.offset,
            limit=req.limit,
        ),
    )
    call.rows.append(len(records))
    body = _head(call, dropped)
    body.update(
        region=region,
        offset=req.offset,
        limit=req.limit,
        count=len(records),
        next_offset=req.offset + len(records) if len(records) == req.limit else None,
        records=records,
    )
    return body


def _head(call: CallState, dropped: dict[str, str]) -> dict[str, Any]:
    view, grant = call.view, call.grant
    assert view is not None and grant is not None
    return {
        "resource_key": view.key,
        "catalog_code": view.code,
        "resource_name": view.name,
        "provider": view.provider_name,
        "sharing_type": view.sharing_type,
        "grant_id": grant.id,
        "purpose": call.purpose,
        "fields": list(call.returned),
        "masked": {f: r for f, r in dropped.items() if f in call.returned},
    }


def serve(session: Session, actor: Actor, req: CallRequest) -> Outcome:
    """Run one shared-data call end to end: its reads in `session`, then its writes, group-committed
    with the calls finishing at the same time (`writer.py`). Never raises a Problem: a refusal is
    logged and comes back as the Outcome's problem."""
    return _finish(session, *_read(session, actor, req))


def _read(
    session: Session, actor: Actor, req: CallRequest
) -> tuple[CallState, dict[str, Any] | None, Problem | None]:
    now = clock.now()
    call = CallState(actor=actor, req=req, started=time.perf_counter_ns(), at=micros(now))
    try:
        return call, _prepare(session, call), None
    except Problem as problem:
        return call, None, problem


def _finish(
    session: Session, call: CallState, body: dict[str, Any] | None, problem: Problem | None
) -> Outcome:
    if problem is not None:
        if problem.status == 401:
            session.rollback()
            return Outcome(401, problem=problem)
        return writer.persist_refusal(session, call, problem)
    assert body is not None
    return writer.persist(session, call, body)


# How many calls of a worker run their reading phase at once. A worker runs on one core: more
# readers than this only contend for the GIL and the connection pool (SQLite's default pool holds
# five), while the writing phase queues for the group commit anyway.
READERS: Final = 2
_readers = threading.BoundedSemaphore(READERS)


def serve_http(database: Database, request: Any, req: CallRequest) -> Outcome:
    """What the data API runs for one HTTP request: resolve the actor (briefly cached per token), then
    `serve` in a session of its own — the reading phase gated by `READERS`, the connection given back
    before the call queues for its writes."""
    with database.sessionmaker() as session:
        with _readers:
            try:
                actor = cached_actor(request, session)
                call, body, problem = _read(session, actor, req)
            finally:
                session.rollback()
        return _finish(session, call, body, problem)
