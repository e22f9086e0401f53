"""The writing phase of the shared-data pipeline: rate-limit counters, audit records, call-log rows,
commit — by group commit.

Every call ends in a small write: count it against its grant's per-minute limit, append its audit
record, insert its call-log row, commit. Done one call at a time, the commit and the chain-head update
cost more than the rest of the call, and on SQLite the threads of a worker would queue in SQLite's
busy-wait back-off. So calls that finish their reads while another batch is being written queue here;
when that batch is committed, the first of them writes the whole queue in one transaction (the
"leader", in its own session), and wakes the others:

* counters: one upsert per rate-limit key for all the batch's calls under it; the calls past the limit
  (in arrival order) are refused instead (429), and the counter is given their count back;
* audit: one `audit.append_many` per actor (one chain-head reservation for a system's whole batch);
* call log: one multi-row INSERT … RETURNING (rows matched back by their audit reference);
* one commit.

No response leaves before the transaction holding its call-log row and audit record has committed,
and a refused call writes its rows the same way, after its own reads were rolled back (nothing
half-loaded). Under light load a batch is one call and nothing waits. A failed batch fails every
call in it (each answers 500 and returns no data). The queue is per worker process; across workers the
database's own locks keep the counters and the chains right.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.errors import Problem
from yiwang.core.security import Actor
from yiwang.exchange.models import Call
from yiwang.exchange.problems import PROBLEMS
from yiwang.exchange.service.cache import settings
from yiwang.exchange.service.calls import ACTION, MAX_SUBJECT_LEN, CallState, Outcome, dumps, micros

MINUTE_US: Final = 60_000_000
# The most call-log rows one batch writes (SQLite allows 32 766 bound parameters per statement).
MAX_BATCH_ROWS: Final = 400

_COLUMNS: Final = (
    "at",
    "mode",
    "client_id",
    "actor_kind",
    "actor_id",
    "consumer_dept_id",
    "provider_dept_id",
    "resource_key",
    "catalog_code",
    "subject",
    "region",
    "purpose",
    "fields",
    "row_count",
    "result",
    "status",
    "reason",
    "latency_us",
    "grant_id",
    "audit_chain",
    "audit_seq",
)
_INSERT: Final = f"INSERT INTO {Call.__tablename__} ({', '.join(_COLUMNS)}) VALUES "
_ROW_MARKS: Final = {
    "qmark": "(" + ", ".join("?" * len(_COLUMNS)) + ")",
    "format": "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")",
}
_BUMP: Final = (
    "INSERT INTO exchange_rate_window (key, minute, count) VALUES ({p}, {p}, {p}) "
    "ON CONFLICT (key) DO UPDATE SET count = CASE WHEN exchange_rate_window.minute = excluded.minute "
    "THEN exchange_rate_window.count + excluded.count ELSE excluded.count END, minute = excluded.minute "
    "RETURNING count"
)
_GIVE_BACK: Final = "UPDATE exchange_rate_window SET count = count - {p} WHERE key = {p} AND minute = {p}"


def _p(conn: Any) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


@dataclass(eq=False)
class _Job:
    call: CallState
    result: str  # ok / refused / failed
    status: int
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    problem: Problem | None = None
    headers: dict[str, str] = field(default_factory=dict)
    done: bool = False
    error: BaseException | None = None
    refs: list[audit.AuditRef] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    @property
    def n(self) -> int:
        return max(1, len(self.call.subjects))


class _GroupCommit:
    """Leader/follower queue of one worker's writes to one database."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.queue: list[_Job] = []
        self.busy = False

    def run(self, session: Session, job: _Job) -> None:
        with self.cond:
            self.queue.append(job)
            while not job.done:
                if not self.busy:
                    self.busy = True
                    batch, rows = [], 0
                    while self.queue and (not batch or rows + self.queue[0].n <= MAX_BATCH_ROWS):
                        taken = self.queue.pop(0)
                        batch.append(taken)
                        rows += taken.n
                    break
                self.cond.wait()
            else:
                return
        try:
            _write(session, batch)
        except BaseException as exc:  # every call of a failed batch fails
            session.rollback()
            for j in batch:
                j.error = exc
        finally:
            with self.cond:
                for j in batch:
                    j.done = True
                self.busy = False
                self.cond.notify_all()


_queues: dict[int, _GroupCommit] = {}
_queues_lock = threading.Lock()


def _queue_for(session: Session) -> _GroupCommit:
    key = id(session.get_bind().engine)
    queue = _queues.get(key)
    if queue is None:
        with _queues_lock:
            queue = _queues.setdefault(key, _GroupCommit())
    return queue


# ================================================================= one batch


def _entries(job: _Job) -> list[audit.AuditEntry]:
    call = job.call
    view = call.view
    key = view.key if view is not None else call.req.resource_key[:64]
    purpose = call.purpose or " ".join((call.req.purpose or "").split())[:200]
    several = len(call.subjects) > 1

    def detail(i: int) -> dict[str, Any]:
        return {**job.detail, "rows": call.rows[i] if i < len(call.rows) else 0} if several else job.detail

    return [
        audit.AuditEntry(
            action=ACTION,
            object_type="exchange_resource",
            object_id=key,
            subject=subject,
            purpose=purpose,
            result=job.result,
            detail=detail(i),
        )
        for i, subject in enumerate(call.subjects or ("",))
    ]


def _rows(job: _Job) -> list[tuple[Any, ...]]:
    call = job.call
    view, grant, actor = call.view, call.grant, call.actor
    latency = (time.perf_counter_ns() - call.started) // 1000
    key = view.key if view is not None else call.req.resource_key[:64]
    code = view.code if view is not None else ""
    provider = view.provider_dept_id if view is not None else 0
    fields = ",".join(call.returned) if job.result == "ok" else ""
    region = (call.region or call.req.region or "")[:12] if call.req.mode == "slice" else ""
    purpose = call.purpose or " ".join((call.req.purpose or "").split())[:200]
    actor_id = str(actor.account_id) if actor.account_id is not None else ""
    grant_id = grant.id if grant is not None else None
    out = []
    for i, ref in enumerate(job.refs):
        subject = call.subjects[i] if i < len(call.subjects) else ""
        count = call.rows[i] if job.result == "ok" and i < len(call.rows) else 0
        out.append(
            (call.at, call.req.mode, actor.client_id or "", actor.kind.value, actor_id, call.consumer_dept_id,
             provider, key, code, subject, region, purpose, fields, count, job.result, job.status, job.reason,
             latency, grant_id, ref.chain_id, ref.seq)
        )  # fmt: skip
    return out


def _count(session: Session, jobs: list[_Job]) -> None:
    """Bump each rate-limit key once for its calls; refuse the calls past the limit (429)."""
    by_key: dict[str, list[_Job]] = {}
    for job in jobs:
        if job.result == "ok":
            assert job.call.grant is not None
            by_key.setdefault(job.call.grant.rate_key, []).append(job)
    if not by_key:
        return
    conn = session.connection()
    p = _p(conn)
    now_us = micros(clock.now())
    minute = now_us // MINUTE_US
    for key, group in by_key.items():
        total = sum(j.n for j in group)
        count = conn.exec_driver_sql(_BUMP.format(p=p), (key, minute, total)).scalar_one()
        used, given_back = count - total, 0
        for job in group:
            limit = job.call.grant.rate_per_minute  # type: ignore[union-attr]
            if used + job.n <= limit:
                used += job.n
                continue
            given_back += job.n
            retry = 60 - (now_us // 1_000_000) % 60
            _turn_into_refusal(
                job,
                PROBLEMS["rate-limited"](
                    f"已超过每分钟 {limit} 次的调用上限，请 {retry} 秒后重试",
                    extra={"retry_after": retry, "rate_per_minute": limit},
                ),
                {"Retry-After": str(retry)},
            )
        if given_back:
            conn.exec_driver_sql(_GIVE_BACK.format(p=p), (given_back, key, minute))


def _write(session: Session, jobs: list[_Job]) -> None:
    _count(session, jobs)
    by_actor: dict[Actor, list[_Job]] = {}
    for job in jobs:
        by_actor.setdefault(job.call.actor, []).append(job)
    for actor, group in by_actor.items():
        entries = [_entries(j) for j in group]
        refs = audit.append_many(session, actor, [e for es in entries for e in es])
        at = 0
        for job, es in zip(group, entries, strict=True):
            job.refs = refs[at : at + len(es)]
            at += len(es)
    rows = [r for job in jobs for r in _rows(job)]
    conn = session.connection()
    marks = _ROW_MARKS["qmark" if conn.dialect.paramstyle == "qmark" else "format"]
    sql = _INSERT + ", ".join([marks] * len(rows)) + " RETURNING id, audit_chain, audit_seq"
    flat = tuple(v for row in rows for v in row)
    ids = {(chain, seq): i for i, chain, seq in conn.exec_driver_sql(sql, flat)}
    for job in jobs:
        job.ids = [ids[(ref.chain_id, ref.seq)] for ref in job.refs]
    session.commit()


def _turn_into_refusal(job: _Job, problem: Problem, headers: dict[str, str] | None = None) -> None:
    call = job.call
    job.result = "failed" if problem.status >= 500 else "refused"
    job.status = problem.status
    job.reason = f"{problem.slug}: {problem.detail or problem.title}"[:1000]
    job.problem = problem
    job.headers = headers or {}
    job.detail = {
        "code": call.view.code if call.view is not None else "",
        "grant": call.grant.id if call.grant is not None else None,
        "mode": call.req.mode,
        "status": problem.status,
        "type": problem.type,
        "reason": problem.detail or problem.title,
    }


# ================================================================= entry points


def persist(session: Session, call: CallState, body: dict[str, Any]) -> Outcome:
    """Write an answered call (or, over the rate limit, its refusal) and build the response. The call's
    reads are over: their transaction ends here; if this call leads the batch, `session` writes it."""
    grant = call.grant
    assert grant is not None
    detail: dict[str, Any] = {
        "code": call.view.code if call.view is not None else "",
        "grant": grant.id,
        "mode": call.req.mode,
        "fields": list(call.returned),
        "rows": sum(call.rows),
    }
    if call.req.mode == "slice":
        detail.update(region=body.get("region", ""), offset=call.req.offset, limit=call.req.limit)
    job = _Job(call, "ok", 200, detail=detail)
    session.rollback()
    _queue_for(session).run(session, job)
    if job.error is not None:
        raise job.error
    if job.problem is not None:
        return Outcome(job.status, problem=job.problem, headers=job.headers)
    if call.req.mode == "batch":
        body["call_id"], body["audit_ref"] = None, None
        for item, call_id in zip(body["results"], job.ids, strict=True):
            item["call_id"] = call_id
    else:
        body["call_id"], body["audit_ref"] = job.ids[0], str(job.refs[0])
    return Outcome(200, dumps(body), call_ids=job.ids)


def persist_refusal(
    session: Session, call: CallState, problem: Problem, headers: dict[str, str] | None = None
) -> Outcome:
    """Roll back the call's reads, then write its refused (or failed) call-log rows and audit records."""
    session.rollback()
    call.returned = ()
    call.rows = []
    if not call.subjects:
        raw = [("".join((s or "").split()).upper())[:MAX_SUBJECT_LEN] for s in call.req.subjects]
        call.subjects = tuple(raw[: settings(session)["max_batch"]]) or ("",)
    job = _Job(call, "refused", problem.status)
    _turn_into_refusal(job, problem, headers)
    session.rollback()
    _queue_for(session).run(session, job)
    if job.error is not None:
        raise job.error
    return Outcome(problem.status, problem=problem, headers=job.headers)
