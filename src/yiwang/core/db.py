"""Persistence kernel: one SQLAlchemy code path for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes, stored as UTC on both back ends (DESIGN §3 rule 7).

    SQLite has no time zone type, so values are normalised to UTC on the way in and tagged UTC on the
    way out; a naive datetime is a programming error and is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use yiwang.core.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# Worker threads that may run request code at once (AnyIO's default is 40). The app sets AnyIO's limiter
# to it at start-up and each engine's pool is sized from it, so a thread that runs a request always gets
# a connection at once: a pool smaller than the thread pool made 50 concurrent writers wait 30 s for a
# connection and then fail with 500 (`QueuePool limit … reached`).
WORKER_THREADS = 40
# How long a SQLite writer waits for the write lock. Writers queue on it one at a time; 200 concurrent
# writers of ~5–20 ms each drain in a few seconds (bench/bench_burst.py), far inside this.
SQLITE_BUSY_MS = 60_000
# `session.info` key: the session's next transaction is a write, so on SQLite it takes the write lock
# up front (`BEGIN IMMEDIATE`), see `_take_write_lock`.
WRITE_INTENT = "yiwang.write_intent"


def make_engine(url: str, *, sqlite_savepoints: bool = False, **kwargs: Any) -> Engine:
    """Create an engine with the platform's connection settings.

    `sqlite_savepoints` makes pysqlite emit BEGIN itself so SAVEPOINTs nest properly; the tests need it
    to roll each test back. The server keeps pysqlite's default (BEGIN at the first write), because a
    write transaction that starts at its first write always sees the newest snapshot in WAL mode and so
    waits for the lock instead of failing with SQLITE_BUSY_SNAPSHOT.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if is_sqlite(url):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000})
        if ":memory:" not in url:
            kwargs.setdefault("pool_size", WORKER_THREADS)
            kwargs.setdefault("max_overflow", WORKER_THREADS)
            kwargs.setdefault("pool_timeout", 60)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets page readers run while one writer commits; NORMAL sync is safe under WAL.
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cur.close()
            if sqlite_savepoints:
                dbapi_conn.isolation_level = None

        if sqlite_savepoints:

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN")

        return engine
    # One connection per worker thread, and as many again for the moments between a request's work and
    # its commit (FastAPI runs a dependency's exit outside the thread limiter) and for side transactions
    # (audited refusals, the audit chain's head creation). Connections open only when used.
    kwargs.setdefault("pool_size", WORKER_THREADS)
    kwargs.setdefault("max_overflow", WORKER_THREADS)
    kwargs.setdefault("pool_timeout", 60)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _take_write_lock(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    """SQLite: a transaction marked as a write (`WRITE_INTENT`) starts with `BEGIN IMMEDIATE`, so it
    holds the database's write lock before its first read and waits for it (busy timeout) up front.

    Without it, a write request read under one snapshot and upgraded to the write lock at its first
    write: a read-then-write (the next version number, "is it still undecided?") could act on stale
    data, and a writer that held the lock while others waited on it was the source of `database is
    locked`. PostgreSQL needs nothing here: its writers lock rows, and version numbers are allocated
    under a lock or unique constraint by the services."""
    if not session.info.pop(WRITE_INTENT, False) or connection.dialect.name != "sqlite":
        return
    dbapi = connection.connection.dbapi_connection
    # Inside a test's outer transaction (or an explicit one) there is nothing to begin.
    if dbapi is not None and not dbapi.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def serialise_on(session: Session, name: str) -> None:
    """Hold a lock named `name` until the session's transaction ends, so that read-then-write steps
    under it (the next version number of a rule set) run one transaction at a time.

    PostgreSQL: a transaction-scoped advisory lock keyed on the name's hash. SQLite: nothing to do —
    a write request already holds the database's one write lock from its first statement
    (`WRITE_INTENT`); callers keep a unique constraint and retry as the last line of defence."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


class Database:
    """An engine and its session factory; the app, the CLI and the tests each own one."""

    def __init__(self, url: str, engine: Engine | None = None, bind: Connection | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        if bind is not None:
            # Tests: every session joins the test's outer transaction through a savepoint.
            self.sessionmaker = sessionmaker(
                bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
        else:
            self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessionmaker, "after_begin", _take_write_lock)

    def bound_to(self, connection: Connection) -> Database:
        return Database(self.url, engine=self.engine, bind=connection)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction per command (DESIGN §3 rule 5): commit on success, roll back on any error.

        `write=True` declares the first transaction a write: on SQLite it takes the write lock up front
        (see `_take_write_lock`), so a read-then-write inside it is serialised with every other writer."""
        with self.sessionmaker() as session:
            if write:
                session.info[WRITE_INTENT] = True
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def load_all_models() -> None:
    """Import every module's `models` so `Base.metadata` is complete (Alembic, tests, CLI)."""
    import importlib
    import importlib.util
    import pkgutil

    import yiwang

    for info in pkgutil.iter_modules(yiwang.__path__):
        if not info.ispkg:
            continue
        for sub in ("models", "audit"):
            name = f"yiwang.{info.name}.{sub}"
            try:
                importlib.util.find_spec(name)
            except ModuleNotFoundError:
                continue
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
