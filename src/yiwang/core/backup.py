"""Backup and restore of the platform's database (requirement S4), with a manifest that the restore is
checked against: the row count of every table and the audit chain's root head.

SQLite: SQLite's online backup API copies the live database page by page into a new file — a
consistent snapshot taken while the server keeps serving (readers and the writer carry on; pages a
writer changes during the copy are copied again). The counts are taken from the copy itself.

PostgreSQL: `pg_dump --format=custom` (the server's own tool; `make backup` installs
postgresql-client when it is missing). The counts are taken in a REPEATABLE READ transaction whose
snapshot pg_dump is given (`--snapshot`), so manifest and dump describe the same instant.
`pg_restore --single-transaction --exit-on-error` restores it: either all of it or nothing.

A restore goes into an empty database (or, with `force`, over an existing one) and then proves
itself: every table holds the manifest's number of rows, and `core.audit.verify` finds every audit
chain whole up to the same root head. Nothing here knows a domain word: tables come from the schema.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url

from yiwang.core.db import Database, is_sqlite, make_engine

MANIFEST_VERSION = 1


class BackupError(RuntimeError):
    """A backup or restore that could not be done; the message is Chinese and says why."""


@dataclass
class Manifest:
    """What a backup holds, written beside it as `<backup>.json`."""

    dialect: str
    created_at: str
    file: str
    bytes: int = 0
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)
    audit_root_seq: int = 0
    audit_root_hash: str = ""
    alembic_revision: str = ""
    version: int = MANIFEST_VERSION

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True))

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise BackupError(
                f"找不到或无法读取备份清单 {path.name}：每个备份文件旁应有同名的 .json 清单"
            ) from exc
        if data.get("version") != MANIFEST_VERSION:
            raise BackupError(f"备份清单 {path.name} 的版本不受支持")
        return cls(**data)


@dataclass
class RestoreReport:
    manifest: Manifest
    seconds: float
    verify_seconds: float
    counts: dict[str, int]
    mismatched: dict[str, tuple[int, int]]  # table: (in the manifest, restored)
    audit_ok: bool
    audit_records: int
    audit_root_seq: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.mismatched and self.audit_ok and not self.problems


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".json")


def default_target(url: str, directory: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return directory / f"yiwang-{stamp}.{'db' if is_sqlite(url) else 'dump'}"


# ------------------------------------------------------------------ facts about a database


def table_counts(conn: Connection) -> dict[str, int]:
    """Rows per table of the schema (alembic's version table included), in the connection's snapshot."""
    names = sorted(inspect(conn).get_table_names())
    q = conn.dialect.identifier_preparer.quote
    return {name: int(conn.execute(text(f"SELECT count(*) FROM {q(name)}")).scalar_one()) for name in names}


def _root_head(conn: Connection) -> tuple[int, str]:
    from yiwang.core.audit.models import ROOT_CHAIN

    if "audit_head" not in inspect(conn).get_table_names():
        return 0, ""
    row = conn.execute(
        text("SELECT seq, hash FROM audit_head WHERE chain_id = :c"), {"c": ROOT_CHAIN}
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, "")


def _revision(conn: Connection) -> str:
    if "alembic_version" not in inspect(conn).get_table_names():
        return ""
    return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or "")


def _anchor(url: str) -> None:
    """Anchor every chain head into the root chain first, so the root head names the whole chain."""
    from yiwang.core.audit import anchor

    database = Database(url)
    try:
        with database.session() as session:
            if "audit_head" in inspect(session.connection()).get_table_names():
                anchor(session)
    finally:
        database.dispose()


def _libpq_url(url: str) -> str:
    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("内存中的 SQLite 数据库不能备份或恢复")
    return Path(database)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"找不到 PostgreSQL 工具 {name}：请先运行 `make setup-pg-client` 安装 postgresql-client"
        )
    return found


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise BackupError(f"{Path(cmd[0]).name} 失败（退出码 {done.returncode}）：" + " / ".join(tail))


# ------------------------------------------------------------------ backup


def backup(url: str, target: Path, *, anchor_first: bool = True) -> Manifest:
    """Back up the database at `url` into `target` (a new file) and write its manifest beside it."""
    if target.exists():
        raise BackupError(f"备份文件 {target} 已存在，不会覆盖")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if anchor_first:
        _anchor(url)
    if is_sqlite(url):
        manifest = _backup_sqlite(url, target)
    elif url.startswith("postgresql"):
        manifest = _backup_postgres(url, target)
    else:  # pragma: no cover - the platform runs on SQLite and PostgreSQL only
        raise BackupError(f"不支持的数据库：{make_url(url).drivername}")
    manifest.seconds = round(time.perf_counter() - started, 3)
    manifest.bytes = target.stat().st_size
    manifest.write(manifest_path(target))
    return manifest


def _backup_sqlite(url: str, target: Path) -> Manifest:
    source_path = _sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"数据库文件 {source_path} 不存在")
    partial = target.with_name(target.name + ".part")
    source = sqlite3.connect(source_path)
    try:
        copy = sqlite3.connect(partial)
        try:
            # 1 024 pages (4 MB) a step: the writer gets the lock back between steps.
            source.backup(copy, pages=1024)
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(partial, target)
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            seq, head = _root_head(conn)
            return Manifest(
                dialect="sqlite",
                created_at=datetime.now(UTC).isoformat(),
                file=target.name,
                tables=table_counts(conn),
                audit_root_seq=seq,
                audit_root_hash=head,
                alembic_revision=_revision(conn),
            )
    finally:
        engine.dispose()


def _backup_postgres(url: str, target: Path) -> Manifest:
    pg_dump = _tool("pg_dump")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                seq, head = _root_head(conn)
                manifest = Manifest(
                    dialect="postgresql",
                    created_at=datetime.now(UTC).isoformat(),
                    file=target.name,
                    tables=table_counts(conn),
                    audit_root_seq=seq,
                    audit_root_hash=head,
                    alembic_revision=_revision(conn),
                )
                # The dump reads the very snapshot counted above, while this transaction holds it.
                partial = target.with_name(target.name + ".part")
                _run(
                    [
                        pg_dump,
                        "--format=custom",
                        "--no-owner",
                        "--no-privileges",
                        f"--snapshot={snapshot}",
                        f"--file={partial}",
                        f"--dbname={_libpq_url(url)}",
                    ]
                )
                os.replace(partial, target)
        return manifest
    finally:
        engine.dispose()


# ------------------------------------------------------------------ restore


def _has_tables(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return bool(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def restore(source: Path, url: str, *, force: bool = False) -> RestoreReport:
    """Restore the backup `source` into the database at `url` and prove it: row counts as in the
    manifest, audit chain whole. An existing database with tables is refused unless `force`."""
    if not source.is_file():
        raise BackupError(f"备份文件 {source} 不存在")
    manifest = Manifest.read(manifest_path(source))
    dialect = "sqlite" if is_sqlite(url) else "postgresql"
    if manifest.dialect != dialect:
        raise BackupError(f"这是 {manifest.dialect} 的备份，不能恢复到 {dialect} 数据库")
    started = time.perf_counter()
    if dialect == "sqlite":
        _restore_sqlite(source, url, force)
    else:
        _restore_postgres(source, url, force)
    seconds = time.perf_counter() - started
    return check_restored(url, manifest, seconds)


def _restore_sqlite(source: Path, url: str, force: bool) -> None:
    target = _sqlite_path(url)
    if target.exists() and target.stat().st_size > 0 and _has_tables(url) and not force:
        raise BackupError(f"目标数据库 {target} 已有数据；确认要覆盖请加 --force（覆盖前请先停止服务）")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Into a new file first, then moved into place: a failed restore leaves the target as it was.
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=target.name + ".", delete=False) as tmp:
        partial = Path(tmp.name)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=WAL")
            finally:
                dst.close()
        finally:
            src.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _restore_postgres(source: Path, url: str, force: bool) -> None:
    pg_restore = _tool("pg_restore")
    if _has_tables(url) and not force:
        raise BackupError("目标数据库已有数据；确认要覆盖请加 --force（覆盖前请先停止服务）")
    cmd = [pg_restore, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    if force:
        cmd += ["--clean", "--if-exists"]
    _run([*cmd, f"--dbname={_libpq_url(url)}", str(source)])


def check_restored(url: str, manifest: Manifest, seconds: float = 0.0) -> RestoreReport:
    """Compare a restored database with its manifest and verify its audit chain."""
    from yiwang.core.audit import verify

    started = time.perf_counter()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            counts = table_counts(conn)
            root_seq, root_hash = _root_head(conn)
    finally:
        engine.dispose()
    mismatched = {
        name: (manifest.tables.get(name, 0), counts.get(name, 0))
        for name in sorted(set(manifest.tables) | set(counts))
        if manifest.tables.get(name, 0) != counts.get(name, 0)
    }
    problems = []
    if (root_seq, root_hash) != (manifest.audit_root_seq, manifest.audit_root_hash):
        problems.append(f"审计根链头不一致：备份时第 {manifest.audit_root_seq} 号，恢复后第 {root_seq} 号")
    database = Database(url)
    try:
        report = verify(database)
    finally:
        database.dispose()
    if not report.ok:
        problems.append(f"审计链断裂：{report.first_broken}")
    return RestoreReport(
        manifest=manifest,
        seconds=round(seconds, 3),
        verify_seconds=round(time.perf_counter() - started, 3),
        counts=counts,
        mismatched=mismatched,
        audit_ok=report.ok,
        audit_records=report.records,
        audit_root_seq=root_seq,
        problems=problems,
    )


def summary(report: RestoreReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "tables": len(report.counts),
        "rows": sum(report.counts.values()),
        "audit_records": report.audit_records,
        "restore_seconds": report.seconds,
        "verify_seconds": report.verify_seconds,
    }
