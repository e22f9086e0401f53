"""Writing the audit chain: append (in the caller's transaction), refusals (in their own), anchors.

How an append stays race-free with many writers: the first statement of every append is an UPDATE of
the chain's head row that reserves the sequence numbers (`seq = seq + n`) and returns the head's hash.
That UPDATE takes the head's row lock (PostgreSQL) or the database write lock (SQLite, whose pysqlite
default mode opens the transaction at that first write, on the newest snapshot) *before* anything is
read, and the lock is held until the caller's transaction ends; the new records and the head's new
hash are written under it. So two transactions can never both extend the same head: no fork, no
duplicate seq, and the unique (chain_id, seq) constraint backs that up.

Chains run in parallel: on PostgreSQL a transaction's first append takes the head of any chain nobody
holds (`FOR UPDATE SKIP LOCKED`, starting from a random chain), so concurrent writers spread over the
`settings.audit_chains` chains instead of queueing on one lock; later appends of the same transaction
reuse that chain (remembered in `session.info`). SQLite has one writer at a time anyway, so it picks a
random chain. `anchor` (the scheduled job) links every chain's head into the root chain and fills
the subject index.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from itertools import repeat
from typing import Any, Final, NamedTuple

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from yiwang.core import clock
from yiwang.core.audit.encoding import (
    _SM3_COPY,
    ANCHOR_FORMAT,
    GENESIS_HASH,
    RECORD_TAG,
    SEP,
    canonical_json,
    clean_text,
    scrub_surrogates,
    to_micros,
)
from yiwang.core.audit.models import (
    ROOT_CHAIN,
    AuditAnchor,
    AuditChainMark,
    AuditHead,
    AuditRecord,
    AuditSubject,
)
from yiwang.core.security import Actor
from yiwang.settings import get_settings

RESULTS: Final = frozenset({"ok", "refused", "failed"})
# Dotted verb, module first: "identity.login", "exchange.query", "licenses.issue".
_ACTION: Final = re.compile(r"[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)+")

_R = AuditRecord.__table__
_H = AuditHead.__table__
_A = AuditAnchor.__table__
_M = AuditChainMark.__table__
_S = AuditSubject.__table__
_MEMO: Final = "yiwang.audit.chain"
_BUSY_PAUSES: Final = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
# The most records of one chain the job indexes per run (the rest wait for the next run).
_INDEX_RUN: Final = 1_000_000

# Columns written by an append, in the order of the row tuples built below: the hashed fields, with
# the hash itself after prev_hash.
_INSERT_COLUMNS: Final = (
    "chain_id",
    "seq",
    "prev_hash",
    "hash",
    "at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "on_behalf_of",
    "client_id",
    "ip",
    "action",
    "object_type",
    "object_id",
    "subject",
    "purpose",
    "result",
    "detail",
)

# The statements of every append are plain SQL run through `exec_driver_sql`: an append sits on every
# data access, and Core's statement compilation and parameter processing were a third of its cost.
# "?" is replaced by the driver's placeholder.
# Lock a known chain's head and reserve n sequence numbers; returns the head's previous hash.
_LOCK_CHAIN: Final = f"UPDATE {_H.name} SET seq = seq + ? WHERE chain_id = ? RETURNING chain_id, seq, hash"
# PostgreSQL: the same on the first chain, from a random starting point, that no one else holds.
_LOCK_FREE_CHAIN_PG: Final = (
    f"UPDATE {_H.name} SET seq = seq + %s WHERE chain_id = ("
    f"SELECT chain_id FROM {_H.name} WHERE chain_id >= 0 AND chain_id < %s "
    "ORDER BY mod(chain_id + %s, %s) LIMIT 1 FOR UPDATE SKIP LOCKED"
    ") RETURNING chain_id, seq, hash"
)
_SET_HEAD_HASH: Final = f"UPDATE {_H.name} SET hash = ? WHERE chain_id = ?"
_SET_ROOT_HEAD = update(_H).where(_H.c.chain_id == ROOT_CHAIN).values(seq=bindparam("s"), hash=bindparam("h"))
_COUNT_HEADS = select(func.count()).select_from(_H).where(_H.c.chain_id.between(ROOT_CHAIN, bindparam("top")))


class AuditRef(NamedTuple):
    """Where a record landed: (chain_id, seq) is its stable reference, `hash` its SM3 hash."""

    chain_id: int
    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.chain_id}:{self.seq}"


_new_ref: Final = partial(tuple.__new__, AuditRef)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One record for `append_many`; the fields mean what `append`'s keyword arguments mean."""

    action: str
    object_type: str = ""
    object_id: str = ""
    subject: str = ""
    purpose: str = ""
    result: str = "ok"
    detail: Mapping[str, Any] | None = None


def _actor_fields(actor: Actor) -> tuple[str, str, str, str, str, str]:
    if actor.account_id is not None:
        actor_id = str(actor.account_id)
    else:
        actor_id = actor.client_id or actor.subject_id or ""
    return (
        actor.kind.value,
        clean_text(actor_id),
        clean_text(actor.name),
        clean_text(actor.on_behalf_of),
        clean_text(actor.client_id),
        clean_text(actor.ip),
    )


# An entry ready to hash: its 7 hashed fields, and those joined by NUL.
_Prepared = tuple[tuple[str, str, str, str, str, str, str], str]


def _prepare(
    action: str, object_type: Any, object_id: Any, subject: Any, purpose: Any, result: str, detail: Any
) -> _Prepared:
    if not isinstance(action, str) or _ACTION.fullmatch(action) is None:
        raise ValueError(f"audit action must be a dotted verb like 'identity.login', got {action!r}")
    if result not in RESULTS:
        raise ValueError(f"audit result must be one of {sorted(RESULTS)}, got {result!r}")
    fields = (action, object_type, object_id, subject, purpose, result, canonical_json(detail))
    # Fast path: all text and no NUL inside a field (the 6 separators are the only NULs).
    try:
        joined = SEP.join(fields)
        if joined.count(SEP) == 6:
            return fields, joined  # type: ignore[return-value]
    except TypeError:  # a number as object_id, None, …
        pass
    fields = (action, *map(clean_text, fields[1:5]), result, fields[6])
    return fields, SEP.join(fields)  # type: ignore[return-value]


def _ensure_heads(conn: Connection, chains: int) -> None:
    """Create the heads of the root chain and chains 0..chains-1 that do not exist yet (race-free).

    PostgreSQL: in a transaction of its own, committed at once. Created inside the caller's
    transaction, the heads would stay invisible and their keys locked until it ends, and a second
    writer (a refusal recorded while that command is still open, say) would wait on it forever.
    The caller's next statement sees them (READ COMMITTED). SQLite has one writer at a time: there the
    caller's own transaction creates them.
    """
    rows = [{"chain_id": c, "seq": 0, "hash": GENESIS_HASH} for c in range(ROOT_CHAIN, chains)]
    if conn.dialect.name == "postgresql":
        with conn.engine.connect() as side:
            side.execute(pg.insert(_H).on_conflict_do_nothing(index_elements=["chain_id"]), rows)
            side.commit()
    elif conn.dialect.name == "sqlite":
        conn.execute(sqlite.insert(_H).on_conflict_do_nothing(index_elements=["chain_id"]), rows)
    else:  # pragma: no cover - the platform runs on SQLite and PostgreSQL only
        raise NotImplementedError(conn.dialect.name)


@cache
def _q(sql: str, paramstyle: str) -> str:
    return sql if paramstyle == "qmark" else sql.replace("?", "%s")


def _run(conn: Connection, sql: str, params: tuple[Any, ...]) -> Any:
    return conn.exec_driver_sql(_q(sql, conn.dialect.paramstyle), params)


def _reserve(conn: Connection, chain: int | None, n: int) -> tuple[int, int, str]:
    """Lock a chain head first, then reserve n seqs on it: (chain_id, last reserved seq, prev hash)."""
    chains = get_settings().audit_chains
    if chain is None and conn.dialect.name == "postgresql":
        params = (n, chains, random.randrange(chains), chains)
        row = conn.exec_driver_sql(_LOCK_FREE_CHAIN_PG, params).first()
        if row is None and conn.execute(_COUNT_HEADS, {"top": chains - 1}).scalar_one() < chains + 1:
            _ensure_heads(conn, chains)
            row = conn.exec_driver_sql(_LOCK_FREE_CHAIN_PG, params).first()
        # Every chain is held by a running transaction. Heads are held for milliseconds, so look
        # again a few times before queueing on one: queueing on the chain that this thread's own
        # open transaction holds (a refusal recorded mid-command) would wait forever.
        for pause in _BUSY_PAUSES:
            if row is not None:
                return row[0], row[1], row[2]
            time.sleep(pause)
            row = conn.exec_driver_sql(_LOCK_FREE_CHAIN_PG, params).first()
        if row is not None:
            return row[0], row[1], row[2]
    if chain is None:
        chain = random.randrange(chains)
    row = _run(conn, _LOCK_CHAIN, (n, chain)).first()
    if row is None:
        _ensure_heads(conn, max(chains, chain + 1))
        row = _run(conn, _LOCK_CHAIN, (n, chain)).first()
        if row is None:  # pragma: no cover - a head that cannot be created is a broken database
            raise RuntimeError(f"audit chain {chain} has no head")
    return row[0], row[1], row[2]


@cache
def _insert_sql(paramstyle: str) -> str:
    if paramstyle == "qmark":
        marks = ", ".join("?" * len(_INSERT_COLUMNS))
    elif paramstyle in ("format", "pyformat"):
        marks = ", ".join(["%s"] * len(_INSERT_COLUMNS))
    else:  # pragma: no cover - pysqlite and psycopg are the two drivers the platform uses
        raise NotImplementedError(paramstyle)
    return f"INSERT INTO {_R.name} ({', '.join(_INSERT_COLUMNS)}) VALUES ({marks})"


_INSERT_AND_MOVE_HEAD_PG: Final = (
    f"WITH r AS ({_insert_sql('format')}) UPDATE {_H.name} SET hash = %s WHERE chain_id = %s"
)


_COPY_PG: Final = f"COPY {_R.name} ({', '.join(_INSERT_COLUMNS)}) FROM STDIN"


def _write(session: Session, actor: Actor, entries: list[_Prepared]) -> list[AuditRef]:
    n = len(entries)
    if n == 0:
        return []
    conn = session.connection()
    txn = session.get_transaction()
    memo = session.info.get(_MEMO)
    remembered = memo[1] if memo is not None and memo[0] is txn else None
    chain_id, last_seq, prev = _reserve(conn, remembered, n)
    session.info[_MEMO] = (txn, chain_id)
    # The hashed bytes are: tag NUL chain_id NUL | seq NUL prev_hash | NUL at NUL actor… NUL | entry.
    # The first part is the same for the whole batch, so it is hashed once and the hasher copied.
    shared = (to_micros(clock.now()), *_actor_fields(actor))
    middle = SEP + SEP.join(map(str, shared)) + SEP
    try:
        middle.encode("utf-8")
    except UnicodeEncodeError:
        shared = tuple(scrub_surrogates(v) if isinstance(v, str) else v for v in shared)
        middle = SEP + SEP.join(map(str, shared)) + SEP
    primed = _SM3_COPY()
    primed.update(f"{RECORD_TAG}{SEP}{chain_id}{SEP}".encode())
    fresh = primed.copy
    first = seq = last_seq - n + 1
    rows: list[tuple[Any, ...]] = []
    digests: list[str] = []
    for fields, joined in entries:
        try:
            data = f"{seq}{SEP}{prev}{middle}{joined}".encode()
        except UnicodeEncodeError:
            fields = tuple(scrub_surrogates(v) for v in fields)  # type: ignore[assignment]
            data = f"{seq}{SEP}{prev}{middle}{SEP.join(fields)}".encode()
        h = fresh()
        h.update(data)
        digest = h.hexdigest()
        rows.append((chain_id, seq, prev, digest, *shared, *fields))
        digests.append(digest)
        prev = digest
        seq += 1
    if conn.dialect.name != "postgresql":
        # Core's executemany, minus per-row parameter processing: the rows are plain tuples already.
        conn.exec_driver_sql(_insert_sql(conn.dialect.paramstyle), rows)
        _run(conn, _SET_HEAD_HASH, (prev, chain_id))
    elif n == 1:
        # One round trip for the record and the head's new hash (a data-modifying CTE).
        conn.exec_driver_sql(_INSERT_AND_MOVE_HEAD_PG, (*rows[0], prev, chain_id))
    else:
        # A batch: COPY on the transaction's own connection, ~1 µs of client CPU per record against
        # ~6 µs for psycopg's executemany (measured).
        with conn.connection.driver_connection.cursor() as cur, cur.copy(_COPY_PG) as copy:
            for row in rows:
                copy.write_row(row)
        _run(conn, _SET_HEAD_HASH, (prev, chain_id))
    # tuple.__new__ builds the named tuples in C (AuditRef(...) would run Python code per record).
    return list(map(_new_ref, zip(repeat(chain_id), range(first, first + n), digests, strict=False)))


def append(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str = "",
    object_id: str | int = "",
    subject: str = "",
    purpose: str = "",
    result: str = "ok",
    detail: Mapping[str, Any] | None = None,
) -> AuditRef:
    """Append one record in the caller's transaction: it commits or rolls back with the change it
    describes. `subject` is the data subject (citizen ID or credit code) whose data was touched."""
    entry = _prepare(action, object_type, object_id, subject, purpose, result, detail)
    return _write(session, actor, [entry])[0]


def append_many(session: Session, actor: Actor, entries: Iterable[AuditEntry]) -> list[AuditRef]:
    """Append several records by one actor in the caller's transaction, in one batch."""
    prepared = [
        _prepare(e.action, e.object_type, e.object_id, e.subject, e.purpose, e.result, e.detail)
        for e in entries
    ]
    return _write(session, actor, prepared)


def record_refusal(
    database: Any,
    actor: Actor,
    action: str,
    *,
    object_type: str = "",
    object_id: str | int = "",
    subject: str = "",
    purpose: str = "",
    detail: Mapping[str, Any] | None = None,
    result: str = "refused",
) -> AuditRef:
    """Append a refusal (or failure) in its own transaction and commit it.

    The refused command's transaction is rolled back, but the refusal must still land in the chain.
    `database` is a `yiwang.core.db.Database`. Call it after the refused command's transaction has
    ended, or before that transaction wrote anything: on SQLite a second writer waits for the first.
    """
    entry = _prepare(action, object_type, object_id, subject, purpose, result, detail)
    with database.session() as session:
        return _write(session, actor, [entry])[0]


def _upsert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return pg.insert(_M)
    return sqlite.insert(_M)


def anchor(session: Session) -> int:
    """The scheduled job of the audit chain: anchor the head of every chain that moved into the root
    chain, and bring the subject index up to the heads. Returns the number of anchors written.

    Runs in the caller's transaction; meant for a job every minute or few (and before `verify`). An
    anchor pins a chain's head: the records up to it can no longer be truncated or rewritten without
    the root chain showing it. Concurrent runs queue on the root head's lock; appenders never wait.
    """
    conn = session.connection()
    root = _run(conn, _LOCK_CHAIN, (0, ROOT_CHAIN)).first()
    if root is None:
        _ensure_heads(conn, get_settings().audit_chains)
        root = _run(conn, _LOCK_CHAIN, (0, ROOT_CHAIN)).first()
    assert root is not None
    # Committed heads: every record up to a head's seq is committed (a head moves in the same
    # transaction as its records), so both the anchor and the index may stop there.
    heads = conn.execute(
        select(_H.c.chain_id, _H.c.seq, _H.c.hash).where(_H.c.chain_id >= 0).order_by(_H.c.chain_id)
    ).all()
    marks = {
        c: (a, i)
        for c, a, i in conn.execute(select(_M.c.chain_id, _M.c.anchored_seq, _M.c.indexed_seq)).all()
    }
    at = to_micros(clock.now())
    root_seq, prev = root[1], root[2]
    anchors = []
    ranges = []
    new_marks = []
    for chain_id, seq, chain_hash in heads:
        anchored, indexed = marks.get(chain_id, (0, 0))
        if seq > anchored:
            root_seq += 1
            fields = (root_seq, prev, at, chain_id, seq, chain_hash)
            h = _SM3_COPY()
            h.update((ANCHOR_FORMAT % fields).encode("utf-8"))
            digest = h.hexdigest()
            anchors.append(
                dict(
                    zip(
                        ("root_seq", "prev_hash", "hash", "at", "chain_id", "chain_seq", "chain_hash"),
                        (root_seq, prev, digest, at, chain_id, seq, chain_hash),
                        strict=True,
                    )
                )
            )
            prev = digest
        upto = min(seq, indexed + _INDEX_RUN)
        if upto > indexed:
            ranges.append(and_(_R.c.chain_id == chain_id, _R.c.seq > indexed, _R.c.seq <= upto))
        if seq > anchored or upto > indexed:
            new_marks.append({"chain_id": chain_id, "anchored_seq": seq, "indexed_seq": upto})
    if anchors:
        conn.execute(insert(_A), anchors)
        conn.execute(_SET_ROOT_HEAD, {"s": root_seq, "h": prev})
    if ranges:
        # One sorted run over all chains: each page of the subject index is written once.
        conn.execute(
            insert(_S).from_select(
                ["subject", "record_id"],
                select(_R.c.subject, _R.c.id)
                .where(_R.c.subject != "", or_(*ranges))
                .order_by(_R.c.subject, _R.c.id),
            )
        )
    if new_marks:
        stmt = _upsert(conn)
        stmt = stmt.on_conflict_do_update(
            index_elements=["chain_id"],
            set_={"anchored_seq": stmt.excluded.anchored_seq, "indexed_seq": stmt.excluded.indexed_seq},
        )
        conn.execute(stmt, new_marks)
    return len(anchors)
