"""Audit chain tables: records in parallel chains, chain heads, the root chain, and the subject index."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, PrimaryKeyConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base

# INTEGER PRIMARY KEY is SQLite's rowid itself; BIGINT identity on PostgreSQL.
_ID = BigInteger().with_variant(Integer, "sqlite")

# The root chain's head lives among the chain heads under this id.
ROOT_CHAIN = -1


class AuditRecord(Base):
    """One audited act. Append-only: nothing in the platform updates or deletes these rows.

    (chain_id, seq) is the record's stable reference; `id` orders records across chains. There is
    deliberately no index on `subject` here: see AuditSubject.
    """

    __tablename__ = "audit_record"
    __table_args__ = (UniqueConstraint("chain_id", "seq", name="uq_audit_record_chain_seq"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Microseconds since the epoch, UTC: an integer hashes the same on every back end.
    at: Mapped[int] = mapped_column(BigInteger)
    actor_kind: Mapped[str] = mapped_column(String(16))
    # Account id, or the client id of a system, or the subject id of the platform, as text.
    actor_id: Mapped[str] = mapped_column(Text, default="")
    actor_name: Mapped[str] = mapped_column(Text, default="")
    on_behalf_of: Mapped[str] = mapped_column(Text, default="")
    client_id: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(Text, default="")
    # Dotted verb: "identity.login", "exchange.query", "licenses.issue".
    action: Mapped[str] = mapped_column(Text)
    object_type: Mapped[str] = mapped_column(Text, default="")
    object_id: Mapped[str] = mapped_column(Text, default="")
    # The data subject: a citizen ID (GB 11643) or a credit code (GB 32100); "" when none.
    subject: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(String(16))  # ok / refused / failed
    detail: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON text


class AuditHead(Base):
    """The newest record of a chain. An appender locks this row first, so a chain never forks.

    The root chain's own head is the row with chain_id = -1 (seq = newest root_seq); locking it also
    serialises the anchoring job.
    """

    __tablename__ = "audit_head"

    chain_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """A record of the root chain: the head (chain_id, chain_seq, chain_hash) of one chain at `at`."""

    __tablename__ = "audit_anchor"
    __table_args__ = (Index("ix_audit_anchor_chain", "chain_id", "chain_seq"),)

    root_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[int] = mapped_column(BigInteger)
    chain_id: Mapped[int] = mapped_column(Integer)
    chain_seq: Mapped[int] = mapped_column(BigInteger)
    chain_hash: Mapped[str] = mapped_column(String(64))


class AuditChainMark(Base):
    """How far the anchoring job got on each chain: anchored up to `anchored_seq`, subjects indexed
    up to `indexed_seq`. Written only by that job, so appenders never wait on it."""

    __tablename__ = "audit_chain_mark"

    chain_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    anchored_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    indexed_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditSubject(Base):
    """The "who used my data" index: (subject, record id), filled in sorted batches by the anchoring job.

    An index on audit_record.subject would take a random B-tree insert per record, and on SQLite each
    1 000-record transaction would then rewrite ~900 index pages: measured 38 000 batched appends/s at
    1 M records instead of 148 000 without it. Filled a chain range at a time in subject order, the
    same entries touch each index page once per run. Records past a chain's `indexed_seq` are found by
    a short range scan of the chain tail, so a query never misses a record (records_for_subject).
    A derived table: it is not hashed, and can be rebuilt from audit_record.
    """

    __tablename__ = "audit_subject"
    __table_args__ = (
        PrimaryKeyConstraint("subject", "record_id", name="pk_audit_subject"),
        {"sqlite_with_rowid": False},
    )

    subject: Mapped[str] = mapped_column(Text)
    record_id: Mapped[int] = mapped_column(BigInteger)
