"""`yiwang audit …`: verify the audit chain, anchor its heads, show its state."""

from __future__ import annotations

import sys

import typer

from yiwang.core.audit import anchor, chain_status, verify
from yiwang.core.clock import to_local
from yiwang.core.db import Database
from yiwang.settings import get_settings

audit_app = typer.Typer(help="审计链 audit chain: verify / anchor / status", no_args_is_help=True)


def _database() -> Database:
    return Database(get_settings().database_url)


@audit_app.command("verify")
def verify_command(
    anchor_first: bool = typer.Option(
        True,
        "--anchor/--no-anchor",
        help="先锚定各链链头 anchor the chain heads first (not on a read replica)",
    ),
    progress: bool = typer.Option(False, "--progress", help="显示进度 show progress"),
) -> None:
    """Prove every chain whole (exit 0) or name the first broken record (exit 1)."""
    database = _database()
    try:
        if anchor_first:
            try:
                with database.session() as session:
                    anchored = anchor(session)
                typer.echo(f"已锚定 anchored: {anchored} 个链头 chain heads")
            except Exception as exc:  # a read-only replica cannot anchor; verifying is still useful
                typer.echo(f"未能锚定 could not anchor ({type(exc).__name__}); verifying as is", err=True)

        def show(done: int, total: int) -> None:
            sys.stderr.write(f"\r校验中 verifying {done:,}/{total:,}")
            sys.stderr.flush()

        report = verify(database, on_progress=show if progress else None)
        if progress:
            sys.stderr.write("\n")
    finally:
        database.dispose()
    summary = (
        f"{report.records:,} 条记录 records, {report.chains} 条链 chains, "
        f"{report.anchors:,} 个锚定 anchors, {report.seconds:.2f} s"
    )
    if report.ok:
        typer.echo(f"审计链完整 Audit chain intact: {summary}")
        typer.echo(f"根链头 Root head: seq {report.root_seq} {report.root_hash}")
        return
    first = report.first_broken
    assert first is not None
    typer.echo(f"审计链断裂 Audit chain BROKEN ({summary})", err=True)
    typer.echo(f"第一处断点 First broken record: {first}", err=True)
    for other in report.problems[1:]:
        typer.echo(f"  另有 also: {other}", err=True)
    raise typer.Exit(1)


@audit_app.command("anchor")
def anchor_command() -> None:
    """Anchor every chain head that moved and update the subject index (run it every minute or few)."""
    database = _database()
    try:
        with database.session() as session:
            count = anchor(session)
    finally:
        database.dispose()
    typer.echo(f"已锚定 Anchored: {count} 个链头 chain heads")


@audit_app.command("status")
def status_command() -> None:
    """Chains, their heads, the root head and the last anchor."""
    database = _database()
    try:
        with database.session() as session:
            status = chain_status(session)
    finally:
        database.dispose()
    last = to_local(status.last_anchor_at).isoformat() if status.last_anchor_at else "从未 never"
    typer.echo(
        f"记录 Records: {status.records:,}  未锚定 Unanchored: {status.unanchored:,}  "
        f"未索引 Unindexed: {status.unindexed:,}  最近锚定 Last anchor: {last}"
    )
    typer.echo(f"根链头 Root head: seq {status.root_seq} {status.root_hash}")
    for head in status.chains:
        typer.echo(
            f"  链 chain {head.chain_id:>3}: seq {head.seq:>10,}  "
            f"已锚定 anchored {head.anchored_seq:>10,}  已索引 indexed {head.indexed_seq:>10,}  {head.hash}"
        )
