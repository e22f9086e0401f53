"""The Alembic history builds the same schema as the models (the `alembic check` of DESIGN §3)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from yiwang.core.db import Base, load_all_models


def _config(url: str) -> Config:
    from pathlib import Path

    import yiwang

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(yiwang.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _skip_fts(name, type_, parent_names):  # the same filter as migrations/env.py
    return not (type_ == "table" and name is not None and "_fts" in name)


def test_migrations_match_models(tmp_path):
    from tests.conftest import fresh_database_url

    load_all_models()
    with fresh_database_url(tmp_path, "mig") as url:
        command.upgrade(_config(url), "head")
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": _skip_fts})
            diff = compare_metadata(ctx, Base.metadata)
        engine.dispose()
        assert diff == [], f"models and migrations differ; run `yiwang db revision`: {diff}"
        command.downgrade(_config(url), "base")
