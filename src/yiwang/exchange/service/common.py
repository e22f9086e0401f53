"""What every exchange service shares: who may do what, settings, timeline rows, display labels.

Authorisation (DESIGN §3 rule 2), decided here for the API, the pages and the demo alike:

* filing a request: the consuming system itself (client credentials), the data officer of the
  department that owns the system (or, with no system, of the department whose staff will use it),
  or a platform admin;
* deciding a request, revoking a grant, answering an objection: the data officer of the providing
  department (the subtree of the unit the role is held in), or an operator holding that department's
  active, audited delegation (`delegations.py`); nobody decides a request of their own department;
* withdrawing a request: whoever filed it, or the consuming department's data officer;
* statistics and the call log: platform admins, auditors and leaders see what lies within the unit
  their role is held in (everything when held at the top of the tree); a data officer sees the calls
  that involve their department (as provider or consumer);
* "who used my data": the citizen (their citizen ID) or the enterprise (the credit code acted for).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

import yiwang.identity as identity
from yiwang import catalog
from yiwang.core import clock
from yiwang.core.errors import Forbidden, NotFound, Problem
from yiwang.core.security import PLATFORM, Actor, ActorKind, require_authenticated
from yiwang.exchange.models import ExchangeEvent, Label, Setting

OFFICER_ROLE: Final = "data_officer"
OPERATOR_ROLES: Final = frozenset({"platform_admin", "auditor", "leader"})

DEFAULTS: Final = {
    "decision_working_days": 5,
    "unconditional_rate_per_minute": 6000,
    "max_batch": 50,
    "token_cache_seconds": 2,
}


# ================================================================= who may do what


def actor_ref(actor: Actor) -> str:
    if actor.account_id is not None:
        return str(actor.account_id)
    return actor.client_id or actor.subject_id or actor.kind.value


def _units_memo(session: Session) -> dict[int, frozenset[int]]:
    return session.info.setdefault("exchange.subtrees", {})


def subtree(session: Session, unit_id: int) -> frozenset[int]:
    """The org units under (and including) `unit_id`, memoised for the session."""
    memo = _units_memo(session)
    if unit_id not in memo:
        memo[unit_id] = frozenset(identity.subtree_ids(session, unit_id))
    return memo[unit_id]


def _subtrees(session: Session, roots: Iterable[int]) -> frozenset[int]:
    out: set[int] = set()
    for root in roots:
        out |= subtree(session, root)
    return frozenset(out)


def officer_units(session: Session, actor: Actor) -> frozenset[int] | None:
    """The departments whose sharing `actor` administers as data officer — the subtrees of the units
    the role is held in: None = all (the platform's own code); empty = none. A platform admin is not
    a data officer: it acts for a provider only through a delegation (`delegations.py`)."""
    if actor.role_units is None:
        # An actor made by code (the platform itself, the demo, the CLI), not held in the org tree.
        if actor.is_platform_admin:
            return None
        if actor.kind is ActorKind.STAFF and OFFICER_ROLE in actor.roles and actor.department_id is not None:
            return subtree(session, actor.department_id)
        return frozenset()
    if actor.kind is not ActorKind.STAFF:
        return frozenset()
    return _subtrees(session, actor.units_of(OFFICER_ROLE))


def operator_units(session: Session, actor: Actor) -> frozenset[int] | None:
    """Where an operator role (platform admin, auditor, leader) lets `actor` look: None = everywhere
    (held at a top-level unit), else the subtrees of the units it is held in (empty = none)."""
    reach = actor.reach(*OPERATOR_ROLES)
    if reach is None:
        return None
    return _subtrees(session, reach)


def seen_units(session: Session, actor: Actor) -> frozenset[int] | None:
    """Departments whose sharing `actor` may read: as an operator, within its reach; as a data
    officer, its own. None = all."""
    ops = operator_units(session, actor)
    officers = officer_units(session, actor)
    if ops is None or officers is None:
        return None
    return ops | officers


def is_officer_of(session: Session, actor: Actor, department_id: int) -> bool:
    units = officer_units(session, actor)
    return units is None or department_id in units


def require_officer_of(
    session: Session, actor: Actor, department_id: int, action: str, *, object_type: str, object_id: Any
) -> int | None:
    """The providing department's data officer — or an operator holding an active delegation from it
    (returns the delegation's id, to be named in the audit record); refuses anyone else."""
    require_authenticated(actor)
    if is_officer_of(session, actor, department_id):
        return None
    from yiwang.exchange.service.delegations import active_delegation

    delegation = active_delegation(session, actor, department_id)
    if delegation is not None:
        return delegation
    if OFFICER_ROLE in actor.roles:
        detail = "您只能处理本部门作为提供方的共享事项"
    else:
        detail = "只有提供部门的数据管理员（或经其书面委托的平台运营人员）可以进行此操作"
    raise Forbidden(detail=detail).audited(actor, action, object_type=object_type, object_id=str(object_id))


def operator_scope(session: Session, actor: Actor, action: str) -> frozenset[int] | None:
    """Whose calls `actor` may see in the statistics and the call log: None = all; else the
    departments (as provider or consumer) within an operator's reach or of a data officer."""
    require_authenticated(actor)
    units = seen_units(session, actor)
    if units is None or units:
        return units
    raise Forbidden(detail="只有平台运营人员、审计员和部门数据管理员可以查看共享调用统计").audited(
        actor, action
    )


def client_info(session: Session, client_id: str) -> Any:
    """A registered client (name, owner unit) or NotFound. Read with the platform's rights: the
    exchange decides itself who may refer to which client."""
    return identity.get_client(session, PLATFORM, client_id)


def unit_name(session: Session, unit_id: int) -> str:
    try:
        return identity.get_org_unit(session, unit_id).name
    except NotFound:
        return f"机构 {unit_id}"


# ================================================================= settings


def get_settings_map(session: Session) -> dict[str, int]:
    values = dict(DEFAULTS)
    for key, value in session.execute(select(Setting.key, Setting.value)):
        if key in values:
            try:
                values[key] = int(value)
            except ValueError:
                continue
    return values


def setting(session: Session, key: str) -> int:
    value = session.execute(select(Setting.value).where(Setting.key == key)).scalar_one_or_none()
    try:
        return int(value) if value is not None else DEFAULTS[key]
    except ValueError:
        return DEFAULTS[key]


# ================================================================= timeline


def add_event(
    session: Session,
    actor: Actor,
    object_type: str,
    object_id: int,
    action: str,
    *,
    from_status: str = "",
    to_status: str = "",
    opinion: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        ExchangeEvent(
            object_type=object_type,
            object_id=object_id,
            at=clock.now(),
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor_id=actor_ref(actor),
            actor_name=actor.label()[:100],
            opinion=opinion,
            detail=detail or {},
        )
    )


def timeline(session: Session, object_type: str, object_id: int) -> list[ExchangeEvent]:
    return list(
        session.scalars(
            select(ExchangeEvent)
            .where(ExchangeEvent.object_type == object_type, ExchangeEvent.object_id == object_id)
            .order_by(ExchangeEvent.at, ExchangeEvent.id)
        )
    )


# ================================================================= labels


def _upsert(session: Session) -> Any:
    return pg.insert(Label) if session.get_bind().dialect.name == "postgresql" else sqlite.insert(Label)


def remember_labels(session: Session, rows: Iterable[tuple[str, str, str]]) -> None:
    """Store display names (kind, key, name), replacing older ones."""
    # One row per (kind, key): a request for a department's own data names the department twice, and
    # PostgreSQL refuses an upsert that touches one row twice (CardinalityViolation, a 500).
    unique: dict[tuple[str, str], dict[str, str]] = {}
    for k, key, n in rows:
        if key:
            unique.setdefault((k, str(key)[:64]), {"kind": k, "key": str(key)[:64], "name": (n or "")[:200]})
    values = list(unique.values())
    if not values:
        return
    stmt = _upsert(session).values(values)
    stmt = stmt.on_conflict_do_update(index_elements=["kind", "key"], set_={"name": stmt.excluded.name})
    session.execute(stmt)


def labels(
    session: Session,
    *,
    clients: Iterable[str] = (),
    depts: Iterable[int] = (),
    entries: Iterable[str] = (),
) -> dict[tuple[str, str], str]:
    """Display names of clients, departments and catalog entries: one query when all are known;
    unknown ones are looked up through identity and the catalog, and remembered."""
    wanted = {("client", c) for c in clients if c}
    wanted |= {("dept", str(d)) for d in depts if d}
    wanted |= {("entry", e) for e in entries if e}
    if not wanted:
        return {}
    by_kind: dict[str, list[str]] = {}
    for kind, key in wanted:
        by_kind.setdefault(kind, []).append(key)
    cond = or_(*(and_(Label.kind == k, Label.key.in_(sorted(keys))) for k, keys in by_kind.items()))
    found = {
        (k, key): n for k, key, n in session.execute(select(Label.kind, Label.key, Label.name).where(cond))
    }
    missing = wanted - found.keys()
    if missing:
        fresh = []
        for kind, key in sorted(missing):
            fresh.append((kind, key, _lookup(session, kind, key)))
        remember_labels(session, fresh)
        found.update({(k, key): n for k, key, n in fresh})
    return found


def _lookup(session: Session, kind: str, key: str) -> str:
    try:
        if kind == "client":
            return client_info(session, key).name
        if kind == "dept":
            return unit_name(session, int(key))
        if kind == "entry":
            return catalog.get_entry(session, key).name
    except (Problem, ValueError):  # gone or malformed: show the key itself
        pass
    return key
