"""Persistence kernel: one SQLAlchemy code path for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
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
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets page readers run while one writer commits; NORMAL sync is safe under WAL.
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            if sqlite_savepoints:
                dbapi_conn.isolation_level = None

        if sqlite_savepoints:

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


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

    def bound_to(self, connection: Connection) -> Database:
        return Database(self.url, engine=self.engine, bind=connection)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction per command (DESIGN §3 rule 5): commit on success, roll back on any error."""
        with self.sessionmaker() as session:
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
