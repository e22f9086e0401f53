"""Quality rule sets: versioned, per registry resource; version 0 is the built-in default."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yiwang import registry
from yiwang.core import audit, clock
from yiwang.core.db import serialise_on
from yiwang.core.errors import Conflict, NotFound
from yiwang.core.security import Actor
from yiwang.governance.models import RuleSet
from yiwang.governance.schemas import RuleSetRead
from yiwang.governance.service.access import require_manage, require_officer
from yiwang.governance.service.rules import Rule, compile_rules, default_rules_json, rules_as_json


def _latest(session: Session, key: str) -> RuleSet | None:
    return session.scalars(
        select(RuleSet).where(RuleSet.resource_key == key).order_by(RuleSet.version.desc()).limit(1)
    ).first()


def _read(spec: registry.ResourceSpec, row: RuleSet | None) -> RuleSetRead:
    if row is None:
        return RuleSetRead(
            resource_key=spec.key,
            resource_name=spec.name,
            version=0,
            rules=rules_as_json(compile_rules(spec, default_rules_json(spec))),
            note="系统默认规则（由字段类型和基础库约定生成）",
            created_by_name="系统",
            created_at=None,
            is_default=True,
        )
    return RuleSetRead(
        resource_key=spec.key,
        resource_name=spec.name,
        version=row.version,
        rules=list(row.rules),
        note=row.note,
        created_by_name=row.created_by_name,
        created_at=row.created_at,
        is_default=False,
    )


def rules_in_force(session: Session, spec: registry.ResourceSpec) -> tuple[int, list[Rule]]:
    """(version, compiled rules) that judge a load of `spec` now."""
    row = _latest(session, spec.key)
    if row is None:
        return 0, compile_rules(spec, default_rules_json(spec))
    return row.version, compile_rules(spec, row.rules)


def get_rule_set(
    session: Session, actor: Actor, resource_key: str, version: int | None = None
) -> RuleSetRead:
    require_officer(actor, "governance.rules.read")
    spec = registry.resource(resource_key)
    if version is None:
        return _read(spec, _latest(session, spec.key))
    if version == 0:
        return _read(spec, None)
    row = session.scalars(
        select(RuleSet).where(RuleSet.resource_key == spec.key, RuleSet.version == version)
    ).first()
    if row is None:
        raise NotFound(detail=f"「{spec.name}」没有第 {version} 版规则")
    return _read(spec, row)


def rule_set_history(session: Session, actor: Actor, resource_key: str) -> list[RuleSetRead]:
    require_officer(actor, "governance.rules.read")
    spec = registry.resource(resource_key)
    rows = session.scalars(
        select(RuleSet).where(RuleSet.resource_key == spec.key).order_by(RuleSet.version.desc())
    ).all()
    return [_read(spec, r) for r in rows] + [_read(spec, None)]


_VERSION_ATTEMPTS = 5


def update_rule_set(
    session: Session, actor: Actor, resource_key: str, rules: Any, note: str = ""
) -> RuleSetRead:
    """Check the rules against the resource and store them as the next version (the old one stays)."""
    spec = registry.resource(resource_key)
    require_manage(session, actor, spec, "governance.rules.update", "修改质量规则")
    compiled = compile_rules(spec, rules)
    stored = rules_as_json(compiled)
    # The next version under a per-resource lock; the unique (resource_key, version) constraint and a
    # retry catch a writer that bypassed it (a SQLite script outside a write transaction).
    serialise_on(session, f"governance.rule_set:{spec.key}")
    for attempt in range(_VERSION_ATTEMPTS):
        version = (
            session.scalar(select(func.max(RuleSet.version)).where(RuleSet.resource_key == spec.key)) or 0
        ) + 1
        row = RuleSet(
            resource_key=spec.key,
            version=version,
            rules=stored,
            note=note.strip(),
            created_by_id=actor.account_id,
            created_by_name=actor.label()[:64],
            created_at=clock.now(),
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            break
        except IntegrityError:
            if attempt == _VERSION_ATTEMPTS - 1:
                raise Conflict(detail="规则版本号分配冲突，请重试") from None
    audit.append(
        session,
        actor,
        "governance.rules.update",
        object_type="governance_rule_set",
        object_id=f"{spec.key}@{version}",
        detail={"resource": spec.key, "version": version, "rules": len(stored), "note": row.note},
    )
    return _read(spec, row)
