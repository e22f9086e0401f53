"""The `yiwang` command: demo, serve, db, audit, sms."""

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


if __name__ == "__main__":  # pragma: no cover
    app()
