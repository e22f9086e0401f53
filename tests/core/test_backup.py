"""The restore drill (requirement S4, issue 7 item 11): back up a live database, restore it into a
fresh one, and prove the copy — every table's row count equal, the audit chain whole up to the same
root head — on the configured back end (SQLite, or PostgreSQL through pg_dump/pg_restore)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.conftest import fresh_database_url
from yiwang.core import audit
from yiwang.core.backup import BackupError, backup, check_restored, manifest_path, restore, table_counts
from yiwang.core.db import Database, make_engine
from yiwang.core.security import PLATFORM


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return table_counts(conn)
    finally:
        engine.dispose()


def test_restore_drill_proves_rows_and_audit_chain(db_url, city, tmp_path: Path):
    # 1. The test city, backed up while the test database is open, restored into a fresh database.
    first = tmp_path / "city.bak"
    manifest = backup(db_url, first)
    assert manifest_path(first).exists() and manifest.bytes > 0
    assert manifest.tables["identity_account"] > 0 and manifest.tables["registry_person"] > 0
    with fresh_database_url(tmp_path, "restored") as restored:
        report = restore(first, restored)
        assert report.ok, (report.mismatched, report.problems)
        assert report.counts == manifest.tables

        # 2. The restored platform keeps working: new audited acts, anchored; then the drill again.
        database = Database(restored)
        with database.session() as s:
            for i in range(40):
                audit.append(s, PLATFORM, "core.backup.drill", object_id=str(i), subject="110105199001011234")
        with database.session() as s:
            audit.anchor(s)
        database.dispose()
        second = tmp_path / "restored.bak"
        manifest2 = backup(restored, second)
        assert manifest2.tables["audit_record"] == manifest.tables["audit_record"] + 40
        assert manifest2.audit_root_seq > manifest.audit_root_seq

        with fresh_database_url(tmp_path, "again") as again:
            report2 = restore(second, again)
            assert report2.ok and report2.counts == manifest2.tables == counts(again)
            assert report2.audit_records == manifest2.tables["audit_record"]

            # 3. The check can fail: a rewritten record breaks the chain, a lost row the counts.
            engine = make_engine(again)
            with engine.begin() as conn:
                conn.execute(text("UPDATE audit_record SET object_id = 'forged' WHERE object_id = '7'"))
                conn.execute(
                    text("DELETE FROM registry_person WHERE id = (SELECT min(id) FROM registry_person)")
                )
            engine.dispose()
            broken = check_restored(again, manifest2)
            assert not broken.ok and not broken.audit_ok
            assert broken.mismatched["registry_person"] == (
                manifest2.tables["registry_person"],
                manifest2.tables["registry_person"] - 1,
            )

            # 4. A database with data is not overwritten without --force.
            with pytest.raises(BackupError, match="已有数据"):
                restore(second, again)
            assert restore(second, again, force=True).ok


def test_backup_and_restore_commands(db_url, city, tmp_path: Path, monkeypatch):
    from yiwang.cli import app
    from yiwang.settings import get_settings

    runner = CliRunner()
    target = tmp_path / "cli.bak"
    monkeypatch.setenv("YIWANG_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        done = runner.invoke(app, ["backup", "--to", str(target)])
        assert done.exit_code == 0, done.output
        assert "已备份到" in done.output
        again = runner.invoke(app, ["backup", "--to", str(target)])
        assert again.exit_code == 1 and "已存在" in again.output
        with fresh_database_url(tmp_path, "cli") as restored:
            monkeypatch.setenv("YIWANG_DATABASE_URL", restored)
            get_settings.cache_clear()
            done = runner.invoke(app, ["restore", str(target)])
            assert done.exit_code == 0, done.output
            assert "审计链完整" in done.output
            missing = runner.invoke(app, ["restore", str(tmp_path / "nothing.bak")])
            assert missing.exit_code == 1 and "不存在" in missing.output
    finally:
        get_settings.cache_clear()
