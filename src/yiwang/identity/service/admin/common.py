"""What every console command checks first, and how refusals are audited.

`require_console` (platform and department admins only), the scope of a department admin (the
materialised paths of the units they administer, `_within`), who may see or change an account.

Refusals are audited by the platform's one mechanism. A 403 rolls back the command's transaction, and
any audit record written inside it with it, so the refusal is recorded *after* that transaction has
ended, in a transaction of its own:

    * API and pages: the app's problem handler (`yiwang.app`) records every `Forbidden` raised under
      any route — by these services, the OIDC client service, or a failed CSRF check — with the action
      named on the endpoint by `@audit_action("identity.account.deactivate")` and the target from the
      path. No admin door can forget it, and the services stay free of web code;
    * the CLI and jobs: `with refusals_audited(database, actor, action): …` around their call
      (`record_admin_refusal` writes the record).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.db import Database
from yiwang.core.errors import Forbidden
from yiwang.core.security import Actor, require_own_channel
from yiwang.identity.models import Account, OrgUnit, StaffRole
from yiwang.identity.service.accounts import get_account, require_admin_of

CONSOLE_ROLES = ("platform_admin", "dept_admin")


def require_console(actor: Actor) -> None:
    """Only platform admins and department admins (holding the role somewhere) use the console, and
    only through the platform's own session or first-party token."""
    require_own_channel(actor)
    if actor.is_platform_admin:
        return
    if actor.has_role("dept_admin") and actor.admin_units:
        return
    raise Forbidden(detail="只有平台管理员和部门管理员可以使用管理后台")


def _require_platform_admin(actor: Actor, what: str) -> None:
    require_own_channel(actor)
    if not actor.is_platform_admin:
        raise Forbidden(detail=f"只有平台管理员可以{what}")


def _admin_paths(session: Session, actor: Actor) -> list[str]:
    """Materialised paths of the subtree roots the actor administers (none for a platform admin)."""
    if not actor.admin_units:
        return []
    return list(session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(actor.admin_units))))


def _within(column_path: Any, paths: list[str]) -> ColumnElement[bool]:
    return or_(*[column_path.startswith(p) for p in paths]) if paths else or_(False)


def _holds_platform_admin(session: Session, account_id: int) -> bool:
    return (
        session.scalars(
            select(StaffRole.id).where(
                StaffRole.account_id == account_id, StaffRole.role_code == "platform_admin"
            )
        ).first()
        is not None
    )


def _require_account_admin(session: Session, actor: Actor, account: Account, *, change: bool) -> None:
    """May `actor` see (and, with `change`, modify) `account`?"""
    require_console(actor)
    if actor.is_platform_admin:
        return
    if account.kind != "staff" or account.department_id is None:
        raise Forbidden(detail="只有平台管理员可以查看和管理个人账号")
    require_admin_of(session, actor, account.department_id)
    if change and _holds_platform_admin(session, account.id):
        raise Forbidden(detail="平台管理员账号只能由平台管理员管理")


def _administered_account(session: Session, actor: Actor, account_id: int, *, change: bool) -> Account:
    """The account, once the actor is known to use the console and may see it (or, with `change`,
    modify it): 403 before 404 for someone outside the console, 404 before the scope check."""
    require_console(actor)
    account = get_account(session, account_id)
    _require_account_admin(session, actor, account, change=change)
    return account


def _unit_names(session: Session, unit_ids: set[int]) -> dict[int, str]:
    """Names of the given organisation units, in one query (none for no ids)."""
    if not unit_ids:
        return {}
    rows = session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(unit_ids)))
    return {i: n for i, n in rows}


def record_admin_refusal(
    database: Database,
    actor: Actor,
    action: str,
    exc: Forbidden,
    *,
    object_type: str = "",
    object_id: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append `result="refused"` for `action` to the audit chain, in a transaction of its own."""
    reason = exc.detail or exc.title
    audit.record_refusal(
        database,
        actor,
        action,
        object_type=object_type,
        object_id=object_id,
        purpose=reason,
        detail={**(detail or {}), "reason": reason},
    )


@contextmanager
def refusals_audited(
    database: Database,
    actor: Actor,
    action: str,
    *,
    object_type: str = "",
    object_id: str = "",
    detail: dict[str, Any] | None = None,
) -> Iterator[None]:
    """Record any `Forbidden` raised inside the block in the audit chain, then re-raise it (for the
    CLI and jobs; the admin API and pages get the same from their route class)."""
    try:
        yield
    except Forbidden as exc:
        record_admin_refusal(
            database, actor, action, exc, object_type=object_type, object_id=object_id, detail=detail
        )
        raise
