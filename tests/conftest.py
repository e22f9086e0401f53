"""Test database set-up: SQLite by default, PostgreSQL when YIWANG_TEST_DATABASE_URL is set.

Each test worker gets its own fresh database (a temporary SQLite file, or a new PostgreSQL database made
from the base URL and dropped afterwards). The schema and a small deterministic city are built once per
worker; every test then runs inside a transaction that is rolled back, so tests stay independent and fast.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from yiwang.core.db import Base, Database, load_all_models, make_engine

PG_ENV = "YIWANG_TEST_DATABASE_URL"


def _pg_base_url() -> str | None:
    url = os.environ.get(PG_ENV, "").strip()
    return url or None


@contextmanager
def fresh_database_url(tmp_dir: Path, tag: str) -> Iterator[str]:
    """A brand-new empty database of the configured kind, dropped afterwards."""
    base = _pg_base_url()
    if base is None:
        yield f"sqlite:///{tmp_dir / f'yiwang-{tag}-{uuid.uuid4().hex[:6]}.db'}"
        return
    parsed = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"yiwang_t_{uuid.uuid4().hex[:8]}_{tag}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    with fresh_database_url(Path(tmp_path_factory.mktemp("db")), worker_id) as url:
        yield url


@pytest.fixture
def scratch_db_url(tmp_path: Path) -> Iterator[str]:
    """An empty database with the full schema and no seed, for tests that must commit for real
    (concurrent writers, migrations). Nothing in it is shared with other tests."""
    with fresh_database_url(tmp_path, "scratch") as url:
        load_all_models()
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def database(db_url: str) -> Iterator[Database]:
    load_all_models()
    engine = make_engine(db_url, sqlite_savepoints=True)
    Base.metadata.create_all(engine)
    db = Database(db_url, engine=engine)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def city(database: Database):  # noqa: ANN201 - DemoCityInfo, imported lazily
    """The small deterministic city every test starts from, built once per worker and committed:
    a few hundred people, some enterprises, the departments and one demo account per role."""
    from yiwang.demo import build_test_city

    return build_test_city(database)


@pytest.fixture
def connection(database: Database, city: object) -> Iterator[Connection]:
    with database.engine.connect() as conn:
        trans = conn.begin()
        try:
            yield conn
        finally:
            trans.rollback()


@pytest.fixture
def db(database: Database, connection: Connection) -> Database:
    """A Database whose sessions all live inside this test's rolled-back transaction."""
    return database.bound_to(connection)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.session() as s:
        yield s


# A fixed master key so tests never write a key file; production reads YIWANG_MASTER_KEY or its file.
os.environ.setdefault("YIWANG_MASTER_KEY", "00112233445566778899aabbccddeeff")
# Scheduled jobs would write from their own thread and connection; tests run jobs explicitly.
os.environ.setdefault("YIWANG_JOBS_ENABLED", "false")


@pytest.fixture
def app(db: Database):  # noqa: ANN201 - FastAPI
    from yiwang.app import create_app

    return create_app(database=db)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201 - TestClient
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as c:
        yield c
