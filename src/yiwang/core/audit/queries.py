"""Reading the audit chain: plain read models for the citizen's data-use page and the audit console."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, union_all
from sqlalchemy.orm import Session

from yiwang.core.audit.encoding import GENESIS_HASH, from_micros, to_micros
from yiwang.core.audit.models import (
    ROOT_CHAIN,
    AuditAnchor,
    AuditChainMark,
    AuditHead,
    AuditRecord,
    AuditSubject,
)

_R = AuditRecord.__table__
_H = AuditHead.__table__
_A = AuditAnchor.__table__
_M = AuditChainMark.__table__
_S = AuditSubject.__table__
_COLUMNS = (
    _R.c.id,
    _R.c.chain_id,
    _R.c.seq,
    _R.c.at,
    _R.c.actor_kind,
    _R.c.actor_id,
    _R.c.actor_name,
    _R.c.on_behalf_of,
    _R.c.client_id,
    _R.c.ip,
    _R.c.action,
    _R.c.object_type,
    _R.c.object_id,
    _R.c.subject,
    _R.c.purpose,
    _R.c.result,
    _R.c.detail,
    _R.c.hash,
)


@dataclass(frozen=True, slots=True)
class AuditRecordRead:
    id: int
    chain_id: int
    seq: int
    at: datetime  # aware, UTC
    actor_kind: str
    actor_id: str
    actor_name: str
    on_behalf_of: str
    client_id: str
    ip: str
    action: str
    object_type: str
    object_id: str
    subject: str
    purpose: str
    result: str
    detail: Any  # the parsed canonical JSON
    hash: str

    @property
    def ref(self) -> str:
        return f"{self.chain_id}:{self.seq}"


@dataclass(frozen=True, slots=True)
class ChainHeadStatus:
    chain_id: int
    seq: int
    hash: str
    anchored_seq: int
    indexed_seq: int


@dataclass(frozen=True, slots=True)
class ChainStatus:
    chains: list[ChainHeadStatus]
    records: int  # the sum of the chains' head seqs: exact while the chains are whole, and O(chains)
    unanchored: int  # records appended since their chain's last anchor
    unindexed: int  # records not in the subject index yet (found by scanning the chain tails)
    root_seq: int
    root_hash: str
    last_anchor_at: datetime | None


def _subject_ids(session: Session, subject: str) -> Any:
    """Ids of the records about `subject`: those in the subject index, and those in the chains' tails
    past what the index holds (one (chain_id, seq) range per chain), so nothing recent is missed.

    The marks are read first, in their own statement: if the job indexes more in between, the two
    parts overlap, which `IN` absorbs; a mark only grows, so they never leave a gap.
    """
    marks = {c: s for c, s in session.execute(select(_M.c.chain_id, _M.c.indexed_seq))}
    chains = session.execute(select(_H.c.chain_id).where(_H.c.chain_id >= 0)).scalars().all()
    indexed = select(_S.c.record_id).where(_S.c.subject == subject)
    if not chains:
        return indexed
    tails = or_(*[and_(_R.c.chain_id == c, _R.c.seq > marks.get(c, 0)) for c in chains])
    return union_all(indexed, select(_R.c.id).where(_R.c.subject == subject, tails))


def _bysubject(session: Session, subject: str) -> Any:
    return and_(_R.c.id.in_(_subject_ids(session, subject)), _R.c.subject == subject)


def _read(row: Any) -> AuditRecordRead:
    values = list(row)
    values[3] = from_micros(values[3])
    values[16] = json.loads(values[16]) if values[16] else None
    return AuditRecordRead(*values)


def records_for_subject(
    session: Session, subject: str, *, limit: int = 50, offset: int = 0
) -> list[AuditRecordRead]:
    """Records about one data subject (citizen ID or credit code), newest first: "who used my data"."""
    if not subject:
        return []
    stmt = (
        select(*_COLUMNS)
        .where(_bysubject(session, subject))
        .order_by(_R.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_read(r) for r in session.execute(stmt)]


def count_for_subject(session: Session, subject: str) -> int:
    if not subject:
        return 0
    stmt = select(func.count()).select_from(_R).where(_bysubject(session, subject))
    return int(session.execute(stmt).scalar_one())


def recent(
    session: Session,
    limit: int = 50,
    *,
    offset: int = 0,
    action: str | None = None,
    action_prefix: str | None = None,
    actor_id: str | None = None,
    actor_name: str | None = None,
    actor_kind: str | None = None,
    subject: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    result: str | None = None,
    chain_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditRecordRead]:
    """The newest records across all chains, optionally filtered (the operator's audit page).

    Filters other than `subject` have no index of their own (every index slows every append): they
    scan from the newest record backwards, which is quick for recent activity.
    """
    stmt: Select[Any] = select(*_COLUMNS)
    if action:
        stmt = stmt.where(_R.c.action == action)
    if action_prefix:
        stmt = stmt.where(_R.c.action.startswith(action_prefix, autoescape=True))
    if actor_id:
        stmt = stmt.where(_R.c.actor_id == actor_id)
    if actor_name:
        stmt = stmt.where(_R.c.actor_name == actor_name)
    if actor_kind:
        stmt = stmt.where(_R.c.actor_kind == actor_kind)
    if subject:
        stmt = stmt.where(_bysubject(session, subject))
    if object_type:
        stmt = stmt.where(_R.c.object_type == object_type)
    if object_id:
        stmt = stmt.where(_R.c.object_id == str(object_id))
    if result:
        stmt = stmt.where(_R.c.result == result)
    if chain_id is not None:
        stmt = stmt.where(_R.c.chain_id == chain_id)
    if since is not None:
        stmt = stmt.where(_R.c.at >= to_micros(since))
    if until is not None:
        stmt = stmt.where(_R.c.at < to_micros(until))
    stmt = stmt.order_by(_R.c.id.desc()).limit(limit).offset(offset)
    return [_read(r) for r in session.execute(stmt)]


def chain_status(session: Session) -> ChainStatus:
    heads = session.execute(select(_H.c.chain_id, _H.c.seq, _H.c.hash).order_by(_H.c.chain_id)).all()
    marks = {
        c: (a, i) for c, a, i in session.execute(select(_M.c.chain_id, _M.c.anchored_seq, _M.c.indexed_seq))
    }
    chains = [
        ChainHeadStatus(int(c), int(s), h, *marks.get(c, (0, 0))) for c, s, h in heads if c != ROOT_CHAIN
    ]
    root = next(((int(s), h) for c, s, h in heads if c == ROOT_CHAIN), (0, GENESIS_HASH))
    last_at = session.execute(select(_A.c.at).order_by(_A.c.root_seq.desc()).limit(1)).scalar()
    return ChainStatus(
        chains=chains,
        records=sum(c.seq for c in chains),
        unanchored=sum(c.seq - c.anchored_seq for c in chains),
        unindexed=sum(c.seq - c.indexed_seq for c in chains),
        root_seq=root[0],
        root_hash=root[1],
        last_anchor_at=from_micros(last_at) if last_at is not None else None,
    )
