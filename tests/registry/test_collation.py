"""PostgreSQL: the registry's code columns (`Code(n)`) collate "C" in a database built by the migrations,
as they do in one built from the models. Alembic's comparison does not look at collations, so
`tests/test_migrations.py` would not notice a migration that forgot them."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import postgresql

import yiwang
from tests.conftest import _pg_base_url, fresh_database_url
from yiwang.core.db import Base
from yiwang.registry import models  # noqa: F401 - the registry's tables in Base.metadata


def _code_columns() -> dict[tuple[str, str], int]:
    dialect = postgresql.dialect()
    return {
        (table.name, column.name): column.type.length
        for table in Base.metadata.tables.values()
        if table.name.startswith("registry_")
        for column in table.columns
        if 'COLLATE "C"' in column.type.compile(dialect=dialect)
    }


def test_code_columns_are_declared():
    columns = _code_columns()
    for name in ("registry_person", "registry_legal_person", "registry_household", "registry_marriage"):
        assert any(t == name for t, _ in columns), name
    assert ("registry_person", "citizen_id") in columns and ("registry_person", "name") not in columns


@pytest.mark.skipif(_pg_base_url() is None, reason="PostgreSQL only (set YIWANG_TEST_DATABASE_URL)")
def test_migrated_code_columns_collate_c(tmp_path: Path):
    expected = _code_columns()
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(yiwang.__file__).parent / "migrations"))
    with fresh_database_url(tmp_path, "coll") as url:
        cfg.set_main_option("sqlalchemy.url", url)
        command.upgrade(cfg, "head")
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            found = {
                (t, c): collation
                for t, c, collation in conn.execute(
                    text(
                        "SELECT table_name, column_name, collation_name FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND table_name LIKE 'registry%'"
                    )
                )
            }
        engine.dispose()
    wrong = sorted(key for key in expected if key in found and found[key] != "C")
    fix = "\n".join(
        f'ALTER TABLE {t} ALTER COLUMN {c} TYPE varchar({expected[(t, c)]}) COLLATE "C";' for t, c in wrong
    )
    assert not wrong, (
        f'the migrations leave these code columns without COLLATE "C"; add (PostgreSQL only):\n{fix}'
    )
