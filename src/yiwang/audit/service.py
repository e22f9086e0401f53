"""The auditor's reads of the audit chain and the verification run on demand (DESIGN §3 rule 3).

Who may: the security auditor (`auditor` role) reads records and starts a verification; a platform
administrator may look (read-only), since the platform is theirs to run, but does not start one — the
check on the operators stays with the auditor. Everyone else is refused, and the refusal is audited.

A verification runs in a background thread of the worker that was asked (`RUNNER`); its progress and
result are rows of `audit_verification_run`, so any worker shows them. Only one runs at a time: asking
again while one runs returns that one. A run whose worker went away stops being refreshed and is shown
as interrupted after `STALE_AFTER`, when a new one may start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.audit.models import VerificationRun
from yiwang.core import audit, clock
from yiwang.core.db import Database
from yiwang.core.errors import Forbidden, Invalid, NotFound
from yiwang.core.labels import action_label, action_labels
from yiwang.core.security import Actor, ActorKind, require_authenticated

log = logging.getLogger(__name__)

AUDITOR_ROLE: Final = "auditor"
STALE_AFTER: Final = timedelta(minutes=5)
PROGRESS_EVERY: Final = timedelta(seconds=1)
PAGE_SIZE: Final = 50
MAX_PAGE: Final = 200
STATUS_LABELS: Final = {
    "running": "核验中",
    "intact": "完整",
    "broken": "发现断点",
    "failed": "未能完成",
    "interrupted": "已中断",
}
RESULT_LABELS: Final = {"ok": "成功", "refused": "被拒绝", "failed": "失败"}
ACTOR_KIND_LABELS: Final = {
    "anonymous": "未登录访客",
    "citizen": "个人",
    "enterprise": "企业",
    "staff": "工作人员",
    "system": "系统",
}


# ================================================================= who may


def can_read(actor: Actor) -> bool:
    return actor.kind in (ActorKind.STAFF, ActorKind.SYSTEM) and actor.has_role(
        AUDITOR_ROLE, "platform_admin"
    )


def can_verify(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF and actor.has_role(AUDITOR_ROLE)


def _refuse(actor: Actor, action: str, detail: str) -> Forbidden:
    exc = Forbidden(detail=detail)
    exc.audited(actor, action, object_type="audit_chain")
    return exc


def require_reader(actor: Actor, action: str = "audit.records.read") -> None:
    require_authenticated(actor)
    if not can_read(actor):
        raise _refuse(actor, action, "审计记录只向安全审计员和平台管理员开放")


# ================================================================= reads


@dataclass(frozen=True)
class RunRead:
    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    started_by_name: str
    done: int
    total: int
    records: int
    chains: int
    anchors: int
    root_seq: int
    root_hash: str
    broken_chain: int | None
    broken_seq: int | None
    broken_reason: str
    error: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, "未知")

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def percent(self) -> int:
        if self.status != "running":
            return 100
        return min(99, int(self.done * 100 / self.total)) if self.total else 0


def _read_run(row: VerificationRun, now: datetime) -> RunRead:
    status = row.status
    if status == "running" and row.updated_at < now - STALE_AFTER:
        status = "interrupted"
    return RunRead(
        id=row.id,
        status=status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        started_by_name=row.started_by_name,
        done=row.done,
        total=row.total,
        records=row.records,
        chains=row.chains,
        anchors=row.anchors,
        root_seq=row.root_seq,
        root_hash=row.root_hash,
        broken_chain=row.broken_chain,
        broken_seq=row.broken_seq,
        broken_reason=row.broken_reason,
        error=row.error,
    )


@dataclass(frozen=True)
class Overview:
    status: audit.ChainStatus
    last_run: RunRead | None
    can_verify: bool


def overview(session: Session, actor: Actor) -> Overview:
    """The chain's state now (heads, anchoring, index) and the latest verification run."""
    require_reader(actor, "audit.status.read")
    return Overview(audit.chain_status(session), latest_run(session, actor), can_verify(actor))


def latest_run(session: Session, actor: Actor) -> RunRead | None:
    require_reader(actor, "audit.status.read")
    row = session.scalars(select(VerificationRun).order_by(VerificationRun.id.desc()).limit(1)).first()
    return _read_run(row, clock.now()) if row is not None else None


def get_run(session: Session, actor: Actor, run_id: int) -> RunRead:
    require_reader(actor, "audit.status.read")
    row = session.get(VerificationRun, run_id)
    if row is None:
        raise NotFound(detail="没有这次核验")
    return _read_run(row, clock.now())


@dataclass(frozen=True)
class RecordFilters:
    actor: str = ""  # an account number, a system's client ID, or the actor's name as recorded
    subject: str = ""  # a citizen ID or credit code
    action: str = ""
    since: date | None = None
    until: date | None = None  # inclusive, a whole day


@dataclass(frozen=True)
class RecordRow:
    record: audit.AuditRecordRead
    action_label: str
    result_label: str
    actor_kind_label: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)


@dataclass(frozen=True)
class RecordPage:
    items: list[RecordRow]
    page: int
    has_more: bool


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.SHANGHAI)


def search_records(
    session: Session, actor: Actor, filters: RecordFilters, *, page: int = 1, page_size: int = PAGE_SIZE
) -> RecordPage:
    """Audit records, newest first, filtered by actor, data subject, action and days (Asia/Shanghai).

    A search by data subject reads who used a person's data, so it is itself written to the chain."""
    require_reader(actor)
    if page < 1 or page > MAX_PAGE:
        raise Invalid.on("page", f"页码应在 1 到 {MAX_PAGE} 之间")
    if filters.since and filters.until and filters.until < filters.since:
        raise Invalid.on("until", "结束日期不能早于开始日期")
    if filters.action and filters.action not in action_labels():
        raise Invalid.on("action", "请从列表中选择操作类型")
    who = filters.actor.strip()
    kwargs: dict[str, Any] = {
        "action": filters.action or None,
        "subject": filters.subject.strip() or None,
        "since": _day_start(filters.since) if filters.since else None,
        "until": _day_start(filters.until + timedelta(days=1)) if filters.until else None,
    }
    rows: list[audit.AuditRecordRead] = []
    offset = (page - 1) * page_size
    if who:
        # The actor as an ID (account number, client ID) or as the recorded name: one query each, merged.
        by_id = audit.recent(session, offset + page_size + 1, actor_id=who, **kwargs)
        by_name = audit.recent(session, offset + page_size + 1, actor_name=who, **kwargs)
        merged = {r.id: r for r in [*by_id, *by_name]}
        rows = sorted(merged.values(), key=lambda r: r.id, reverse=True)[offset : offset + page_size + 1]
    else:
        rows = audit.recent(session, page_size + 1, offset=offset, **kwargs)
    if kwargs["subject"]:
        audit.append(
            session,
            actor,
            "audit.records.read",
            object_type="audit_chain",
            subject=kwargs["subject"],
            purpose="安全审计查询",
        )
    items = [
        RecordRow(
            r,
            action_label(r.action),
            RESULT_LABELS.get(r.result, r.result),
            ACTOR_KIND_LABELS.get(r.actor_kind, "其他"),
        )
        for r in rows[:page_size]
    ]
    return RecordPage(items=items, page=page, has_more=len(rows) > page_size)


# ================================================================= verification on demand


def _run_in_thread(database: Database, run_id: int) -> None:
    threading.Thread(
        target=run_verification, args=(database, run_id), name=f"audit-verify-{run_id}", daemon=True
    ).start()


# How a started run is carried out: a thread of this worker. Tests swap in a direct call.
RUNNER: Callable[[Database, int], None] = _run_in_thread


def start_verification(database: Database, actor: Actor) -> RunRead:
    """Start verifying the whole chain in the background; the run already going, if one is."""
    require_authenticated(actor)
    if not can_verify(actor):
        raise _refuse(actor, "audit.verify", "只有安全审计员可以发起审计链核验")
    now = clock.now()
    with database.session() as session:
        running = session.scalars(
            select(VerificationRun)
            .where(VerificationRun.status == "running", VerificationRun.updated_at >= now - STALE_AFTER)
            .order_by(VerificationRun.id.desc())
            .limit(1)
        ).first()
        if running is not None:
            return _read_run(running, now)
        row = VerificationRun(
            status="running",
            started_at=now,
            updated_at=now,
            started_by_id=actor.account_id,
            started_by_name=actor.name,
        )
        session.add(row)
        session.flush()
        audit.append(
            session, actor, "audit.verify", object_type="audit_verification_run", object_id=str(row.id)
        )
        run = _read_run(row, now)
    RUNNER(database, run.id)
    return run


def run_verification(database: Database, run_id: int) -> None:
    """Anchor the chain heads, verify every chain and record the outcome on the run's row."""
    last = [clock.now()]

    def progress(done: int, total: int) -> None:
        now = clock.now()
        if now - last[0] < PROGRESS_EVERY and done < total:
            return
        last[0] = now
        with database.session() as s:
            row = s.get(VerificationRun, run_id)
            if row is not None:
                row.done, row.total, row.updated_at = done, total, now

    try:
        with database.session() as s:
            audit.anchor(s)
        report = audit.verify(database, on_progress=progress)
    except Exception as exc:  # the run must end in a state people can read, whatever happened
        log.exception("audit verification %s failed", run_id)
        with database.session() as s:
            row = s.get(VerificationRun, run_id)
            if row is not None:
                row.status, row.error = "failed", f"核验未能完成：{type(exc).__name__}"
                row.finished_at = row.updated_at = clock.now()
        return
    with database.session() as s:
        row = s.get(VerificationRun, run_id)
        if row is None:
            return
        row.status = "intact" if report.ok else "broken"
        row.done = row.total = report.records
        row.records, row.chains, row.anchors = report.records, report.chains, report.anchors
        row.root_seq, row.root_hash = report.root_seq, report.root_hash
        if report.first_broken is not None:
            first = report.first_broken
            row.broken_chain, row.broken_seq = first.chain_id, first.seq
            # The reason is "中文 english"; the page shows the Chinese half.
            row.broken_reason = first.reason.split(" ", 1)[0]
        row.finished_at = row.updated_at = clock.now()
