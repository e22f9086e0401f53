"""Call statistics (服务次数 / 交换总量) by resource, department and day, and the call log behind them.

The daily table `exchange_stat_day` is rolled up from the call log by `roll_up_stats` (a job, every few
minutes; the demo seed runs it once): it aggregates the calls past the mark, up to those at least
`SETTLE` old (a transaction still open then would be extraordinary), and moves the mark. A statistics
read adds the calls past the mark, counted live, so the figures are exact whenever the job last ran.
The hot path writes no statistics at all.

Days are Asia/Shanghai days, numbered from 1970-01-01; `at` is microseconds since the epoch (UTC).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Integer, and_, case, cast, func, or_, select
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from yiwang.core import clock
from yiwang.core.audit.encoding import from_micros
from yiwang.core.errors import Invalid
from yiwang.core.export import csv_bytes
from yiwang.core.security import Actor
from yiwang.exchange.models import Call, StatDay, StatMark
from yiwang.exchange.schemas import CallLogPage, CallLogRow, StatRow, StatsRead
from yiwang.exchange.service.common import labels, operator_scope

_C = Call.__table__
_D = StatDay.__table__
_M = StatMark.__table__
_DAY_US: Final = 86_400_000_000
_LOCAL_OFFSET_US: Final = 8 * 3_600_000_000  # Asia/Shanghai has no daylight saving
SETTLE: Final = timedelta(minutes=2)
EPOCH: Final = date(1970, 1, 1)
BY: Final = ("resource", "department", "day")
SIDES: Final = ("provider", "consumer")
MAX_DAYS: Final = 3660


def day_number(value: date) -> int:
    return (value - EPOCH).days


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number)


def _day_expr() -> Any:
    return cast((_C.c.at + _LOCAL_OFFSET_US) / _DAY_US, Integer)


def _micros(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def _day_start_us(number: int) -> int:
    return number * _DAY_US - _LOCAL_OFFSET_US


def _upsert(session: Session) -> Any:
    return pg.insert(StatDay) if session.get_bind().dialect.name == "postgresql" else sqlite.insert(StatDay)


def roll_up_stats(session: Session) -> int:
    """Fold the settled calls past the mark into the daily table; returns how many calls were folded.
    Concurrent runs queue on the mark row."""
    conn = session.connection()
    locked = conn.execute(_M.update().where(_M.c.id == 1).values(upto_call_id=_M.c.upto_call_id)).rowcount
    if not locked:
        conn.execute(_M.insert().values(id=1, upto_call_id=0, rolled_at=None))
    upto = conn.execute(select(_M.c.upto_call_id).where(_M.c.id == 1)).scalar_one()
    cutoff = _micros(clock.now() - SETTLE)
    top = conn.execute(select(func.max(_C.c.id)).where(_C.c.id > upto, _C.c.at < cutoff)).scalar()
    if top is None:
        return 0
    day = _day_expr().label("day")
    ok = func.sum(case((_C.c.result == "ok", 1), else_=0))
    refused = func.sum(case((_C.c.result != "ok", 1), else_=0))
    rows = conn.execute(
        select(
            day,
            _C.c.resource_key,
            _C.c.catalog_code,
            _C.c.provider_dept_id,
            _C.c.consumer_dept_id,
            _C.c.client_id,
            func.count(),
            ok,
            refused,
            func.sum(_C.c.row_count),
        )
        .where(_C.c.id > upto, _C.c.id <= top)
        .group_by(
            day,
            _C.c.resource_key,
            _C.c.catalog_code,
            _C.c.provider_dept_id,
            _C.c.consumer_dept_id,
            _C.c.client_id,
        )
    ).all()
    values = [
        {
            "day": int(r[0]),
            "resource_key": r[1],
            "catalog_code": r[2] or "",
            "provider_dept_id": r[3] or 0,
            "consumer_dept_id": r[4] or 0,
            "client_id": r[5] or "",
            "calls": int(r[6]),
            "ok": int(r[7] or 0),
            "refused": int(r[8] or 0),
            "row_count": int(r[9] or 0),
        }
        for r in rows
    ]
    folded = sum(v["calls"] for v in values)
    if values:
        stmt = _upsert(session)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[
                "day",
                "resource_key",
                "catalog_code",
                "provider_dept_id",
                "consumer_dept_id",
                "client_id",
            ],
            set_={
                "calls": _D.c.calls + ex.calls,
                "ok": _D.c.ok + ex.ok,
                "refused": _D.c.refused + ex.refused,
                "row_count": _D.c.row_count + ex.row_count,
            },
        )
        conn.execute(stmt, values)
    conn.execute(_M.update().where(_M.c.id == 1).values(upto_call_id=top, rolled_at=clock.now()))
    return folded


def _range(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    today = clock.today_local().date()
    date_to = date_to or today
    date_from = date_from or (date_to - timedelta(days=29))
    if date_from > date_to:
        raise Invalid.on("from", "起始日期不能晚于截止日期")
    if (date_to - date_from).days > MAX_DAYS:
        raise Invalid.on("from", "统计区间最长十年")
    return date_from, date_to


def _scope(units: frozenset[int] | None, provider: Any, consumer: Any) -> list[Any]:
    if units is None:
        return []
    ids = sorted(units)
    return [or_(provider.in_(ids), consumer.in_(ids))]


def call_stats(
    session: Session,
    actor: Actor,
    *,
    by: str = "resource",
    side: str = "provider",
    date_from: date | None = None,
    date_to: date | None = None,
) -> StatsRead:
    """服务次数 (calls) and 交换总量 (records exchanged) by resource, department (provider or consumer)
    or day, over [date_from, date_to] (local days; the last 30 days by default)."""
    units = operator_scope(session, actor, "exchange.stats.read")
    if by not in BY:
        raise Invalid.on("by", "by 应为 resource、department 或 day")
    if side not in SIDES:
        raise Invalid.on("side", "side 应为 provider（提供方）或 consumer（使用方）")
    date_from, date_to = _range(date_from, date_to)
    lo, hi = day_number(date_from), day_number(date_to)
    upto = session.execute(select(_M.c.upto_call_id).where(_M.c.id == 1)).scalar() or 0
    dept_col = "provider_dept_id" if side == "provider" else "consumer_dept_id"
    key_d = {"resource": _D.c.catalog_code, "department": _D.c[dept_col], "day": _D.c.day}[by]
    rolled = session.execute(
        select(
            key_d, func.sum(_D.c.calls), func.sum(_D.c.ok), func.sum(_D.c.refused), func.sum(_D.c.row_count)
        )
        .where(_D.c.day.between(lo, hi), *_scope(units, _D.c.provider_dept_id, _D.c.consumer_dept_id))
        .group_by(key_d)
    ).all()
    key_c = {"resource": _C.c.catalog_code, "department": _C.c[dept_col], "day": _day_expr()}[by]
    tail = session.execute(
        select(
            key_c,
            func.count(),
            func.sum(case((_C.c.result == "ok", 1), else_=0)),
            func.sum(case((_C.c.result != "ok", 1), else_=0)),
            func.sum(_C.c.row_count),
        )
        .where(
            _C.c.id > upto,
            _C.c.at >= _day_start_us(lo),
            _C.c.at < _day_start_us(hi + 1),
            *_scope(units, _C.c.provider_dept_id, _C.c.consumer_dept_id),
        )
        .group_by(key_c)
    ).all()
    totals: dict[Any, list[int]] = {}
    for key, calls, ok, refused, rows in (*rolled, *tail):
        slot = totals.setdefault(key if by != "day" else int(key), [0, 0, 0, 0])
        slot[0] += int(calls or 0)
        slot[1] += int(ok or 0)
        slot[2] += int(refused or 0)
        slot[3] += int(rows or 0)
    if by == "resource":
        names = labels(session, entries=[k for k in totals if k])
        items = [
            StatRow(
                key=k,
                label=names.get(("entry", k), k) if k else "（未编目资源）",
                calls=v[0],
                ok=v[1],
                refused=v[2],
                rows=v[3],
            )
            for k, v in totals.items()
        ]
        items.sort(key=lambda r: (-r.calls, r.key))
    elif by == "department":
        names = labels(session, depts=[k for k in totals if k])
        items = [
            StatRow(
                key=str(k),
                label=names.get(("dept", str(k)), str(k)) if k else "（未知部门）",
                calls=v[0],
                ok=v[1],
                refused=v[2],
                rows=v[3],
            )
            for k, v in totals.items()
        ]
        items.sort(key=lambda r: (-r.calls, r.key))
    else:
        items = [
            StatRow(
                key=day_of(k).isoformat(),
                label=day_of(k).isoformat(),
                calls=v[0],
                ok=v[1],
                refused=v[2],
                rows=v[3],
            )
            for k, v in sorted(totals.items())
        ]
    return StatsRead(
        by=by,
        side=side,
        date_from=date_from,
        date_to=date_to,
        total_calls=sum(r.calls for r in items),
        total_ok=sum(r.ok for r in items),
        total_refused=sum(r.refused for r in items),
        total_rows=sum(r.rows for r in items),
        items=items,
    )


def stats_csv(stats: StatsRead) -> bytes:
    """The statistics as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    head = {"resource": "资源代码", "department": "部门编号", "day": "日期"}[stats.by]
    rows = [[r.key, r.label, r.calls, r.ok, r.refused, r.rows] for r in stats.items]
    rows.append(["合计", "", stats.total_calls, stats.total_ok, stats.total_refused, stats.total_rows])
    return csv_bytes([head, "名称", "服务次数", "成功", "拒绝", "交换总量（条）"], rows)


def _mask_subject(value: str) -> str:
    if not value:
        return ""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def call_log(
    session: Session,
    actor: Actor,
    *,
    resource_key: str = "",
    catalog_code: str = "",
    department_id: int | None = None,
    side: str = "provider",
    day: date | None = None,
    result: str = "",
    client_id: str = "",
    call_id: int | None = None,
    before_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> CallLogPage:
    """The calls behind a statistic, newest first (subjects masked). Paged by offset, or by `before_id`
    (keyset) for deep pages of a large log."""
    units = operator_scope(session, actor, "exchange.calls.read")
    if side not in SIDES:
        raise Invalid.on("side", "方向应为提供方或使用方")
    if result and result not in ("ok", "refused", "failed"):
        raise Invalid.on("result", "结果应为成功、被拒绝或失败")
    conds: list[Any] = _scope(units, _C.c.provider_dept_id, _C.c.consumer_dept_id)
    if resource_key:
        conds.append(_C.c.resource_key == resource_key)
    if catalog_code:
        conds.append(_C.c.catalog_code == catalog_code)
    if department_id is not None:
        conds.append(
            (_C.c.provider_dept_id if side == "provider" else _C.c.consumer_dept_id) == department_id
        )
    if day is not None:
        n = day_number(day)
        conds.append(and_(_C.c.at >= _day_start_us(n), _C.c.at < _day_start_us(n + 1)))
    if result:
        conds.append(_C.c.result == result)
    if client_id:
        conds.append(_C.c.client_id == client_id)
    if call_id is not None:
        conds.append(_C.c.id == call_id)
    if before_id is not None:
        conds.append(_C.c.id < before_id)
    rows = session.execute(
        select(_C).where(*conds).order_by(_C.c.at.desc(), _C.c.id.desc()).offset(offset).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    names = (
        labels(
            session,
            clients={r.client_id for r in rows},
            depts={r.consumer_dept_id for r in rows} | {r.provider_dept_id for r in rows},
            entries={r.catalog_code for r in rows},
        )
        if rows
        else {}
    )
    items = [
        CallLogRow(
            id=r.id,
            at=from_micros(r.at),
            mode=r.mode,
            client_id=r.client_id,
            system=names.get(("client", r.client_id), r.client_id) if r.client_id else "窗口工作人员",
            department=names.get(("dept", str(r.consumer_dept_id)), ""),
            provider=names.get(("dept", str(r.provider_dept_id)), ""),
            resource_key=r.resource_key,
            resource=names.get(("entry", r.catalog_code), r.resource_key)
            if r.catalog_code
            else r.resource_key,
            subject_masked=_mask_subject(r.subject),
            region=r.region,
            purpose=r.purpose,
            fields=[f for f in r.fields.split(",") if f],
            row_count=r.row_count,
            result=r.result,
            status=r.status,
            reason=r.reason,
            latency_us=r.latency_us,
            grant_id=r.grant_id,
            audit_ref=f"{r.audit_chain}:{r.audit_seq}",
        )
        for r in rows
    ]
    return CallLogPage(offset=offset, limit=limit, has_more=more, items=items)


def roll_up_now(session: Session, actor: Actor) -> int:
    """`roll_up_stats` on demand (the operator's “refresh” button; the job does it on a schedule)."""
    from yiwang.core.errors import Forbidden
    from yiwang.core.security import require_authenticated

    require_authenticated(actor)
    if not actor.is_platform_admin:
        raise Forbidden(detail="只有平台管理员可以汇总共享调用统计").audited(actor, "exchange.stats.roll_up")
    return roll_up_stats(session)
