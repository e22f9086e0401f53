"""Proving the audit chain whole: recompute every hash and link, or name the first broken record.

`verify` checks

* the root chain: root_seq runs 1, 2, 3, … with no gap; each anchor's prev_hash is the previous
  anchor's hash; each anchor's hash recomputes; the root head matches the last anchor;
* every chain: seq runs 1, 2, 3, … with no gap or duplicate; each record's prev_hash is the previous
  record's hash (64 zeros for seq 1); each record's hash recomputes from its fields; every anchor of
  the chain points at a record whose recomputed hash is the anchored hash (a missing record means the
  chain was truncated); the chain's head row matches its last record.

How it stays fast and flat: records stream through raw DBAPI cursors (server-side on PostgreSQL) in
chunks. For each record the database returns only its stored hash and the hashed bytes *after*
prev_hash (SQLite builds them with one printf, PostgreSQL with bytea concatenation); Python prefixes
the tag, chain id, the seq it expects next and the hash it computed for the previous record, and
compares SM3 of that with the stored hash. One comparison so proves the content, the seq (no gap, no
duplicate) and the link to the predecessor. Only when it fails is the chain read again in full, from
that record, to say exactly what is wrong. Chains are independent, so they are verified in parallel
threads with a connection each (SQLite and psycopg release the GIL while the database works, which
overlaps with hashing in the other thread); each chain is read up to the head seen in the main
snapshot, so records appended meanwhile do not disturb the result.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from yiwang.core.audit.encoding import (
    ANCHOR_FORMAT,
    GENESIS_HASH,
    RECORD_FIELDS,
    RECORD_FORMAT,
    RECORD_TAG,
    SEP,
)
from yiwang.core.audit.models import ROOT_CHAIN
from yiwang.core.crypto import new_sm3

CHUNK: Final = 10_000
ProgressFn = Callable[[int, int], None]
_NO_BOUND: Final = 2**62


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """Where the chain breaks. chain_id -1 is the root chain (seq is then the root_seq)."""

    chain_id: int
    seq: int
    record_id: int | None  # audit_record.id; None when the record is missing or is an anchor
    code: str  # stable: missing, duplicate, altered, prev_mismatch, anchor_mismatch, truncated, …
    reason: str  # for people, Chinese and English

    def __str__(self) -> str:
        where = "根链 root chain" if self.chain_id == ROOT_CHAIN else f"链 chain {self.chain_id}"
        rid = f", id {self.record_id}" if self.record_id is not None else ""
        return f"{where}, seq {self.seq}{rid}: {self.reason}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    records: int
    chains: int
    anchors: int
    first_broken: BrokenLink | None
    seconds: float
    # The first break of each broken chain (root chain first); first_broken is problems[0].
    problems: tuple[BrokenLink, ...] = ()
    # The root head: publishing it elsewhere (a notary, the gazette) pins everything anchored so far.
    root_seq: int = 0
    root_hash: str = GENESIS_HASH
    chain_heads: dict[int, tuple[int, str]] = field(default_factory=dict)


# -- reading ------------------------------------------------------------------------------------------


class _Reader:
    """Raw DBAPI access to one snapshot: a read transaction of our own, or the caller's open one."""

    def __init__(self, dialect: str, dbapi: Any, raw: Any = None) -> None:
        self.dialect = dialect
        self.dbapi = dbapi
        self._raw = raw  # a pooled connection we checked out and must give back
        self._restore: Any = None
        self.ph = "?" if dialect == "sqlite" else "%s"
        if raw is not None:
            if dialect == "sqlite":
                # One read transaction = one WAL snapshot for every query below.
                self._restore = dbapi.isolation_level
                dbapi.isolation_level = None
                dbapi.execute("BEGIN")
            else:
                dbapi.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    @classmethod
    def own(cls, engine: Engine) -> _Reader:
        raw = engine.raw_connection()
        return cls(engine.dialect.name, raw.driver_connection, raw)

    def close(self) -> None:
        if self._raw is None:
            return
        try:
            if self.dialect == "sqlite":
                self.dbapi.execute("ROLLBACK")
                self.dbapi.isolation_level = self._restore
            else:
                self.dbapi.rollback()
        finally:
            self._raw.close()

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self.dbapi.cursor()
        try:
            cur.execute(sql.replace("?", self.ph), params)
            return [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()

    def chunks(self, sql: str, params: tuple[Any, ...] = (), size: int = CHUNK) -> Iterator[list[Any]]:
        if self.dialect == "postgresql":
            # Server-side cursor: the server keeps the result, we fetch `size` rows at a time.
            cur = self.dbapi.cursor(name=f"yiwang_audit_{uuid.uuid4().hex[:12]}")
            cur.itersize = size
        else:
            cur = self.dbapi.cursor()
        try:
            cur.execute(sql.replace("?", self.ph), params)
            while rows := cur.fetchmany(size):
                yield rows
        finally:
            cur.close()


def _resolve(target: Any) -> tuple[Engine | None, Connection | None]:
    """(engine to open our own connections on, or the caller's connection to read through)."""
    if isinstance(target, Session):
        return None, target.connection()
    if isinstance(target, Connection):
        return None, target
    if isinstance(target, Engine):
        return target, None
    bind = target.sessionmaker.kw.get("bind")  # a Database, possibly bound to a test's connection
    if isinstance(bind, Connection):
        return None, bind
    return target.engine, None


_TAIL_FIELDS: Final = RECORD_FIELDS[3:]  # the hashed fields after prev_hash: at … detail


def _tail_sql(dialect: str) -> str:
    """SQL for the hashed bytes after prev_hash: NUL at NUL actor_kind … NUL detail."""
    if dialect == "sqlite":
        # printf renders an integer in decimal and embeds char(0) through %c; one pass, unlike `||`.
        fmt = "%c%s" * len(_TAIL_FIELDS)
        args = ", ".join(f"char(0), {f}" for f in _TAIL_FIELDS)
        return f"CAST(printf('{fmt}', {args}) AS BLOB)"
    return " || ".join(f"'\\x00'::bytea || convert_to({f}::text, 'UTF8')" for f in _TAIL_FIELDS)


def _full_sql(dialect: str) -> str:
    """Every column the diagnosis needs, the hashed fields last."""
    return f"SELECT seq, id, prev_hash, hash, {', '.join(RECORD_FIELDS)} FROM audit_record"


_CHAIN_IDS = """
WITH RECURSIVE c(x) AS (
    SELECT (SELECT MIN(chain_id) FROM audit_record)
    UNION ALL
    SELECT (SELECT MIN(chain_id) FROM audit_record WHERE chain_id > c.x) FROM c WHERE c.x IS NOT NULL
)
SELECT x FROM c WHERE x IS NOT NULL
"""


# -- checking a chain -----------------------------------------------------------------------------------


def _link(chain_id: int, seq: int, record_id: int | None, code: str, reason: str) -> BrokenLink:
    return BrokenLink(chain_id, seq, record_id, code, reason)


def _diagnose(reader: _Reader, chain_id: int, offset: int, expected: int, prev: str) -> BrokenLink:
    """Read a chain in full from its `offset`-th record (the first that failed) and say what broke."""
    sql = _full_sql(reader.dialect) + " WHERE chain_id = ? ORDER BY seq, id"
    sql += " LIMIT -1 OFFSET ?" if reader.dialect == "sqlite" else " OFFSET ?"
    for rows in reader.chunks(sql, (chain_id, offset), size=1000):
        for row in rows:
            seq, rid, prev_hash, stored, fields = row[0], row[1], row[2], row[3], tuple(row[4:])
            if seq != expected:
                if isinstance(seq, int) and seq > expected:
                    span = f"{expected}…{seq - 1}" if seq - 1 > expected else f"{expected}"
                    return _link(
                        chain_id,
                        expected,
                        None,
                        "missing",
                        f"记录缺失 record missing: seq {span} absent (next present: seq {seq}, id {rid})",
                    )
                return _link(
                    chain_id, seq, rid, "duplicate", f"序号重复或乱序 seq out of order, expected {expected}"
                )
            if any(v is None for v in fields):
                return _link(chain_id, seq, rid, "altered", "字段被置空 a hashed field is NULL")
            h = new_sm3()
            h.update((RECORD_FORMAT % fields).encode("utf-8", "surrogatepass"))
            computed = h.hexdigest()
            if computed != stored:
                return _link(
                    chain_id, seq, rid, "altered", "记录被改动 record altered: stored hash ≠ recomputed hash"
                )
            if prev_hash != prev:
                return _link(
                    chain_id,
                    seq,
                    rid,
                    "prev_mismatch",
                    f"前序哈希不符 prev_hash is not the hash of seq {seq - 1}",
                )
            expected += 1
            prev = computed
    return _link(chain_id, expected, None, "altered", "无法校验 record changed while being verified")


class _Anchors:
    """One chain's anchors in chain_seq order, streamed beside its records (a merge join)."""

    def __init__(self, reader: _Reader, chain_id: int, trusted_root: int) -> None:
        self._chunks = reader.chunks(
            "SELECT chain_seq, chain_hash, root_seq FROM audit_anchor "
            "WHERE chain_id = ? AND root_seq <= ? ORDER BY chain_seq, root_seq",
            (chain_id, trusted_root),
        )
        self._it = (row for rows in self._chunks for row in rows)
        self.head: tuple[int, str, int] | None = next(self._it, None)

    @property
    def next_seq(self) -> int:
        return self.head[0] if self.head is not None else _NO_BOUND

    def advance(self) -> None:
        self.head = next(self._it, None)

    def close(self) -> None:
        self._it.close()
        self._chunks.close()  # closes the cursor now, not whenever the generator is collected


@dataclass(slots=True)
class _ChainJob:
    chain_id: int
    head: tuple[int, str] | None  # the head row in the main snapshot
    beyond: tuple[int, int] | None  # (seq, id) of the first record past that head, if any
    records: int = 0
    problem: BrokenLink | None = None


def _check_chain(reader: _Reader, job: _ChainJob, trusted_root: int, progress: Callable[[int], None]) -> None:
    anchors = _Anchors(reader, job.chain_id, trusted_root)
    try:
        _check_records(reader, job, anchors, progress)
    finally:
        anchors.close()


def _check_records(
    reader: _Reader, job: _ChainJob, anchors: _Anchors, progress: Callable[[int], None]
) -> None:
    chain_id = job.chain_id
    bound = job.head[0] if job.head is not None else _NO_BOUND
    anchor_at = anchors.next_seq
    primed = new_sm3()
    primed.update(f"{RECORD_TAG}{SEP}{chain_id}{SEP}".encode())
    fresh = primed.copy
    seq, prev = 0, GENESIS_HASH.encode()
    sql = (
        f"SELECT hash, {_tail_sql(reader.dialect)} FROM audit_record "
        "WHERE chain_id = ? AND seq <= ? ORDER BY seq"
    )
    with closing(reader.chunks(sql, (chain_id, bound))) as chunks:
        for rows in chunks:
            for stored, tail in rows:
                seq += 1
                h = fresh()
                h.update(b"%d\x00%s%s" % (seq, prev, tail))
                digest = h.hexdigest()
                if digest != stored:
                    job.records = seq - 1
                    job.problem = _diagnose(reader, chain_id, seq - 1, seq, prev.decode())
                    return
                while seq == anchor_at:
                    _, chain_hash, root_seq = anchors.head  # type: ignore[misc]
                    if chain_hash != digest:
                        job.records = seq
                        rid = reader.all(
                            "SELECT id FROM audit_record WHERE chain_id = ? AND seq = ?", (chain_id, seq)
                        )
                        job.problem = _link(
                            chain_id,
                            seq,
                            rid[0][0] if rid else None,
                            "anchor_mismatch",
                            f"与锚定不符 record differs from what root anchor {root_seq} pinned",
                        )
                        return
                    anchors.advance()
                    anchor_at = anchors.next_seq
                prev = digest.encode()
            progress(len(rows))
    job.records = seq
    if anchors.head is not None:
        job.problem = _link(
            chain_id,
            seq + 1,
            None,
            "truncated",
            f"链尾被截断 chain truncated after seq {seq}: "
            f"root anchor {anchors.head[2]} pinned seq {anchor_at}",
        )
        return
    if job.head is None:
        if seq:
            job.problem = _link(chain_id, seq, None, "head_missing", "链头缺失 chain head row missing")
        return
    head_seq, head_hash = job.head
    if head_seq > seq:
        job.problem = _link(
            chain_id,
            seq + 1,
            None,
            "truncated",
            f"链尾被截断 chain truncated: head at seq {head_seq}, records end at seq {seq}",
        )
    elif head_hash != prev.decode():
        job.problem = _link(
            chain_id, seq, None, "head_mismatch", "链头哈希不符 head hash ≠ hash of last record"
        )
    elif job.beyond is not None:
        job.problem = _link(
            chain_id,
            job.beyond[0],
            job.beyond[1],
            "beyond_head",
            f"链头之后有记录 records beyond the chain head (head at seq {head_seq})",
        )


# -- the root chain ---------------------------------------------------------------------------------


def _check_root(reader: _Reader, head: tuple[int, str] | None) -> tuple[int, int, BrokenLink | None]:
    """Verify the root chain; (anchors read, last trusted root_seq, first break or None)."""
    expected, prev, count = 1, GENESIS_HASH, 0
    sql = (
        "SELECT root_seq, prev_hash, hash, at, chain_id, chain_seq, chain_hash "
        "FROM audit_anchor ORDER BY root_seq"
    )
    for rows in reader.chunks(sql):
        for root_seq, prev_hash, stored, at, chain_id, chain_seq, chain_hash in rows:
            if root_seq != expected:
                reason = (
                    f"锚定缺失 anchor missing: root_seq {expected} absent"
                    if root_seq > expected
                    else f"锚定序号重复 root_seq out of order, expected {expected}"
                )
                return count, expected - 1, _link(ROOT_CHAIN, expected, None, "missing", reason)
            h = new_sm3()
            h.update((ANCHOR_FORMAT % (root_seq, prev_hash, at, chain_id, chain_seq, chain_hash)).encode())
            computed = h.hexdigest()
            if computed != stored:
                return (
                    count,
                    expected - 1,
                    _link(
                        ROOT_CHAIN,
                        root_seq,
                        None,
                        "altered",
                        "锚定被改动 anchor altered: hash ≠ recomputed hash",
                    ),
                )
            if prev_hash != prev:
                return (
                    count,
                    expected - 1,
                    _link(
                        ROOT_CHAIN,
                        root_seq,
                        None,
                        "prev_mismatch",
                        f"前序哈希不符 anchor prev_hash is not the hash of root_seq {root_seq - 1}",
                    ),
                )
            count += 1
            expected += 1
            prev = computed
    last = expected - 1
    head_seq, head_hash = head if head is not None else (0, GENESIS_HASH)
    if head_seq > last:
        return (
            count,
            last,
            _link(ROOT_CHAIN, last + 1, None, "truncated", f"根链被截断 root chain truncated after {last}"),
        )
    if head_seq < last:
        return (
            count,
            last,
            _link(
                ROOT_CHAIN, head_seq + 1, None, "beyond_head", "根链头之后有锚定 anchors beyond the root head"
            ),
        )
    if head_hash != prev:
        return (
            count,
            last,
            _link(ROOT_CHAIN, last, None, "head_mismatch", "根链头哈希不符 root head mismatch"),
        )
    return count, last, None


# -- verify -----------------------------------------------------------------------------------------------


def verify(target: Any, *, on_progress: ProgressFn | None = None, workers: int | None = None) -> VerifyReport:
    """Verify the root chain and every chain.

    `target` is a Database, an Engine, or a Connection / Session whose open transaction is read (so a
    test sees its own uncommitted records). `on_progress(records_done, records_expected)` is called
    after every chunk. `workers` threads verify chains in parallel (default: one per CPU) when reading
    through connections of our own; through a caller's connection there is one.
    """
    started = time.perf_counter()
    engine, borrowed = _resolve(target)
    if borrowed is not None:
        main = _Reader(borrowed.dialect.name, borrowed.connection.driver_connection)
    else:
        assert engine is not None
        main = _Reader.own(engine)
        if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
            workers = 1  # every connection to :memory: is a different database
    try:
        heads = {
            int(c): (int(s), str(h)) for c, s, h in main.all("SELECT chain_id, seq, hash FROM audit_head")
        }
        root_head = heads.pop(ROOT_CHAIN, None)
        anchors_read, trusted_root, root_problem = _check_root(main, root_head)
        chain_ids = set(heads)
        chain_ids.update(int(r[0]) for r in main.all(_CHAIN_IDS))
        chain_ids.update(int(r[0]) for r in main.all("SELECT DISTINCT chain_id FROM audit_anchor"))
        jobs = []
        for chain_id in sorted(chain_ids):
            head = heads.get(chain_id)
            beyond = None
            if head is not None:
                found = main.all(
                    "SELECT seq, id FROM audit_record WHERE chain_id = ? AND seq > ? ORDER BY seq LIMIT 1",
                    (chain_id, head[0]),
                )
                beyond = (int(found[0][0]), int(found[0][1])) if found else None
            jobs.append(_ChainJob(chain_id, head, beyond))
        expected_total = sum(s for s, _ in heads.values())
        done = 0
        lock = threading.Lock()

        def progress(n: int) -> None:
            nonlocal done
            with lock:
                done += n
                if on_progress is not None:
                    on_progress(done, max(expected_total, done))

        parallel = min(workers or os.cpu_count() or 1, len(jobs)) if borrowed is None else 1
        if parallel <= 1:
            for job in jobs:
                _check_chain(main, job, trusted_root, progress)
        else:
            assert engine is not None

            def run(job: _ChainJob) -> None:
                reader = _Reader.own(engine)
                try:
                    _check_chain(reader, job, trusted_root, progress)
                finally:
                    reader.close()

            with ThreadPoolExecutor(parallel, thread_name_prefix="audit-verify") as pool:
                list(pool.map(run, jobs))
    finally:
        main.close()
    problems = [root_problem] if root_problem else []
    problems += [job.problem for job in jobs if job.problem is not None]
    root_seq, root_hash = root_head if root_head is not None else (0, GENESIS_HASH)
    return VerifyReport(
        ok=not problems,
        records=sum(job.records for job in jobs),
        chains=len(jobs),
        anchors=anchors_read,
        first_broken=problems[0] if problems else None,
        seconds=time.perf_counter() - started,
        problems=tuple(problems),
        root_seq=root_seq,
        root_hash=root_hash,
        chain_heads=heads,
    )
