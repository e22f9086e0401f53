"""The `yiwang` command: demo, serve, db, audit, sms, backup, restore."""

from __future__ import annotations

import typer

from yiwang.settings import get_settings

app = typer.Typer(help="一网 Yiwang：城市数字政府平台", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="数据库：迁移与状态", no_args_is_help=True)
app.add_typer(db_app, name="db")

try:
    from yiwang.core.audit_cli import audit_app

    app.add_typer(audit_app, name="audit")
except ImportError:  # pragma: no cover - only while the audit CLI is absent
    pass


def _alembic_config():  # noqa: ANN202 - alembic's Config type is imported lazily
    from pathlib import Path

    from alembic.config import Config

    root = Path(__file__).resolve().parent
    cfg = Config()
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.set_main_option("sqlalchemy.url", get_settings().database_url)
    return cfg


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default head)."""
    from alembic import command

    command.upgrade(_alembic_config(), revision)
    typer.echo(f"数据库已迁移到 {revision}")


@db_app.command("revision")
def db_revision(message: str = typer.Option(..., "-m", "--message", help="迁移说明")) -> None:
    """Autogenerate a migration from the models (developers)."""
    from alembic import command

    command.revision(_alembic_config(), message=message, autogenerate=True)


@db_app.command("current")
def db_current() -> None:
    from alembic import command

    command.current(_alembic_config(), verbose=False)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    port: int = typer.Option(8000, help="端口"),
    workers: int = typer.Option(1, help="进程数（PostgreSQL 下可多于 1）"),
) -> None:
    """Serve the platform (migrates the database first)."""
    import uvicorn

    db_upgrade("head")
    uvicorn.run("yiwang.app:create_app", factory=True, host=host, port=port, workers=workers)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    port: int = typer.Option(8000, help="端口"),
    people: int = typer.Option(100_000, help="人口数"),
    enterprises: int = typer.Option(10_000, help="企业数"),
    seed: int = typer.Option(2026, help="随机种子：同一种子生成同一座城市"),
    build_only: bool = typer.Option(False, "--build-only", help="只生成城市，不启动服务"),
) -> None:
    """Build the demo city if the database is empty, print the demo accounts, and serve it."""
    import os

    import uvicorn

    # The OIDC issuer must be the address the demo is actually served on, unless set explicitly.
    if "YIWANG_BASE_URL" not in os.environ:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        os.environ["YIWANG_BASE_URL"] = f"http://{shown}:{port}"
        get_settings.cache_clear()

    from yiwang.core.db import Database
    from yiwang.demo import ensure_demo_city, print_demo_accounts

    db_upgrade("head")
    database = Database(get_settings().database_url)
    info = ensure_demo_city(database, people=people, enterprises=enterprises, seed=seed)
    print_demo_accounts(info, base_url=f"http://{host}:{port}")
    database.dispose()
    if not build_only:
        uvicorn.run("yiwang.app:create_app", factory=True, host=host, port=port)


@app.command()
def sms(
    phone: str = typer.Option("", help="只看发往该手机号码的短信"),
    limit: int = typer.Option(10, min=1, max=200, help="最多显示几条"),
) -> None:
    """Print the newest texts in the SMS outbox (the local SMS adapter: the demo's one-time codes)."""
    from yiwang.core.clock import to_local
    from yiwang.core.db import Database
    from yiwang.identity import sms_outbox

    database = Database(get_settings().database_url)
    with database.session() as s:
        rows = sms_outbox(s, phone=phone.strip() or None, limit=limit)
        if not rows:
            typer.echo("发件箱里没有短信。")
        for row in rows:
            masked = row.phone[:3] + "****" + row.phone[-4:] if len(row.phone) == 11 else row.phone
            typer.echo(f"{to_local(row.created_at):%Y年%-m月%-d日 %H:%M}  {masked}  {row.body}")
    database.dispose()


@app.command()
def backup(
    to: str = typer.Option(
        "", "--to", help="备份文件路径；默认 var/backups/yiwang-<时间>.db（SQLite）或 .dump（PostgreSQL）"
    ),
) -> None:
    """Back up the database while the platform keeps running (SQLite online backup; pg_dump)."""
    from pathlib import Path

    from yiwang.core.backup import BackupError, default_target, manifest_path
    from yiwang.core.backup import backup as run_backup

    url = get_settings().database_url
    target = Path(to) if to else default_target(url, Path("var/backups"))
    try:
        manifest = run_backup(url, target)
    except BackupError as exc:
        typer.echo(f"备份失败：{exc}", err=True)
        raise typer.Exit(1) from None
    rows = sum(manifest.tables.values())
    typer.echo(
        f"已备份到 {target}（{manifest.bytes / 1e6:.1f} MB，{len(manifest.tables)} 张表 {rows:,} 行，"
        f"审计根链头第 {manifest.audit_root_seq} 号，用时 {manifest.seconds:.1f} 秒）"
    )
    typer.echo(f"清单：{manifest_path(target)}")


@app.command()
def restore(
    source: str = typer.Argument(..., help="备份文件（旁边须有同名 .json 清单）"),
    force: bool = typer.Option(False, "--force", help="目标数据库已有数据时仍覆盖（先停止服务）"),
) -> None:
    """Restore a backup into the configured database, then prove it: row counts, audit chain."""
    from pathlib import Path

    from yiwang.core.backup import BackupError
    from yiwang.core.backup import restore as run_restore

    try:
        report = run_restore(Path(source), get_settings().database_url, force=force)
    except BackupError as exc:
        typer.echo(f"恢复失败：{exc}", err=True)
        raise typer.Exit(1) from None
    rows = sum(report.counts.values())
    typer.echo(
        f"已恢复 {len(report.counts)} 张表 {rows:,} 行，用时 {report.seconds:.1f} 秒；"
        f"校验用时 {report.verify_seconds:.1f} 秒"
    )
    for table, (expected, got) in report.mismatched.items():
        typer.echo(f"行数不一致：{table} 备份时 {expected} 行，恢复后 {got} 行", err=True)
    for problem in report.problems:
        typer.echo(problem, err=True)
    if not report.ok:
        raise typer.Exit(1)
    typer.echo(
        f"审计链完整：{report.audit_records:,} 条记录，根链头第 {report.audit_root_seq} 号，与备份一致"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
