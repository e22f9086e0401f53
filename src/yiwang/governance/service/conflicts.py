"""一数一源: cross-checking another department's data against the authoritative registry (多元校核).

Every attribute has one authoritative source: the department that owns the registry resource. When a
non-authoritative department loads a file, its rows are not written; each value is compared with the
registry's current value for the same record (matched on the resource's natural key). A difference
becomes a `SourceConflict` whose status is at once ``resolved_by_authority`` — the registry's value
stands and is the winning value — and which both departments see. The authority's data officer then
confirms the value (``confirmed``) or corrects the registry (``corrected``: the new value goes through
the quality rules and `registry.bulk_write`, and the change is audited).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yiwang import registry
from yiwang.core import audit, clock
from yiwang.core.errors import Conflict, FieldError, Invalid, NotFound
from yiwang.core.pagination import Page
from yiwang.core.security import Actor
from yiwang.governance.models import SourceConflict
from yiwang.governance.schemas import ConflictRead, ConflictResolution
from yiwang.governance.service.access import (
    department_name,
    refuse,
    require_manage,
    require_officer,
    visible_departments,
)
from yiwang.governance.service.reading import ROW
from yiwang.governance.service.rules import LOADER_FIELDS
from yiwang.governance.service.validate import validate

KEY_SEPARATOR = "|"


@dataclass(frozen=True)
class ConflictFound:
    subject: str  # the natural key, "|"-joined
    attribute: str
    authority_value: str | None
    source_value: str | None
    row_number: int | None = None


@dataclass
class CrossCheck:
    """What `cross_check` found: rows compared, conflicts (new and already known), rows whose record
    the authoritative registry does not have."""

    checked: int = 0
    conflicts: list[ConflictFound] = field(default_factory=list)
    recorded: int = 0
    known: int = 0
    missing_rows: list[int] = field(default_factory=list)


def as_text(value: Any) -> str | None:
    """One canonical text form for comparing a registry value with a file value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _attributes(spec: registry.ResourceSpec, columns: Sequence[str]) -> list[str]:
    skip = set(spec.key_fields) | LOADER_FIELDS
    return [c for c in columns if c in spec.field_names and c not in skip]


def _subject_field(spec: registry.ResourceSpec, columns: Sequence[str]) -> str | None:
    for name in spec.subject_fields:
        if name in columns:
            return name
    return None


def cross_check(
    session: Session,
    resource_key: str,
    other_source_rows: pl.DataFrame | Sequence[Mapping[str, Any]],
    *,
    source_department: str,
    load_id: int | None = None,
    record: bool = True,
) -> CrossCheck:
    """Compare another source's rows with the authoritative registry `resource_key`.

    `other_source_rows`: typed values (as `registry.bulk_write` takes them), a polars DataFrame or a
    list of dicts, keyed by the resource's field names (a ``__row`` column, when present, names the
    file row). Each row is matched to the registry record with the same natural key; a value the other
    source gives (not empty) that differs from the registry's is a conflict. With `record`, new
    conflicts are stored (an identical unreviewed conflict from the same source is not stored twice)."""
    spec = registry.resource(resource_key)
    frame = (
        other_source_rows if isinstance(other_source_rows, pl.DataFrame) else pl.DataFrame(other_source_rows)
    )
    result = CrossCheck()
    if frame.height == 0:
        return result
    subject_field = _subject_field(spec, frame.columns)
    missing_keys = [k for k in spec.key_fields if k not in frame.columns]
    if subject_field is None or missing_keys:
        raise Invalid.on("rows", f"核对「{spec.name}」需要主体和主键列：{'、'.join(spec.key_fields)}")
    attributes = _attributes(spec, frame.columns)
    wanted = list(dict.fromkeys([*spec.key_fields, *attributes]))
    authority: dict[tuple[str | None, ...], dict[str, Any]] = {}
    for subject in frame.get_column(subject_field).drop_nulls().unique().to_list():
        try:
            rows = registry.fetch_by_subject(session, spec.key, str(subject), wanted)
        except Invalid:
            continue
        for row in rows:
            authority[tuple(as_text(row[k]) for k in spec.key_fields)] = row
    has_row = ROW in frame.columns
    for row in frame.iter_rows(named=True):
        key = tuple(as_text(row[k]) for k in spec.key_fields)
        current = authority.get(key)
        row_number = row[ROW] if has_row else None
        if current is None:
            if row_number is not None:
                result.missing_rows.append(row_number)
            continue
        result.checked += 1
        for attr in attributes:
            other = as_text(row[attr])
            if other is None:
                continue
            mine = as_text(current.get(attr))
            if mine != other:
                result.conflicts.append(
                    ConflictFound(KEY_SEPARATOR.join(k or "" for k in key), attr, mine, other, row_number)
                )
    if record and result.conflicts:
        result.recorded, result.known = _record(session, spec, result.conflicts, source_department, load_id)
    return result


def _record(
    session: Session,
    spec: registry.ResourceSpec,
    found: list[ConflictFound],
    source_department: str,
    load_id: int | None,
) -> tuple[int, int]:
    subjects = sorted({c.subject for c in found})
    known: set[tuple[str, str, str | None]] = set()
    for start in range(0, len(subjects), 500):
        chunk = subjects[start : start + 500]
        rows = session.execute(
            select(SourceConflict.subject, SourceConflict.attribute, SourceConflict.source_value).where(
                SourceConflict.resource_key == spec.key,
                SourceConflict.source_department == source_department,
                SourceConflict.status == "resolved_by_authority",
                SourceConflict.subject.in_(chunk),
            )
        )
        known.update((s, a, v) for s, a, v in rows)
    now = clock.now()
    fresh = [c for c in found if (c.subject, c.attribute, c.source_value) not in known]
    if not fresh:
        return 0, len(found)
    session.execute(
        SourceConflict.__table__.insert(),
        [
            {
                "resource_key": spec.key,
                "subject": c.subject,
                "attribute": c.attribute,
                "authority_department": spec.department,
                "authority_value": c.authority_value,
                "source_department": source_department,
                "source_value": c.source_value,
                "load_id": load_id,
                "detected_at": now,
                "status": "resolved_by_authority",
                "winning_value": c.authority_value,
                "resolved_by_name": "",
                "note": "",
            }
            for c in fresh
        ],
    )
    return len(fresh), len(found) - len(fresh)


# ------------------------------------------------------------------ reading


def _read(session: Session, row: SourceConflict, names: dict[str, str] | None = None) -> ConflictRead:
    names = names if names is not None else {}

    def name(code: str) -> str:
        if code not in names:
            names[code] = department_name(session, code)
        return names[code]

    try:
        spec = registry.resource(row.resource_key)
        resource_name = spec.name
        label = spec.field_spec(row.attribute).label if row.attribute in spec.field_names else row.attribute
    except Exception:
        resource_name, label = row.resource_key, row.attribute
    return ConflictRead(
        id=row.id,
        resource_key=row.resource_key,
        resource_name=resource_name,
        subject=row.subject,
        attribute=row.attribute,
        attribute_label=label,
        authority_department=row.authority_department,
        authority_department_name=name(row.authority_department),
        authority_value=row.authority_value,
        source_department=row.source_department,
        source_department_name=name(row.source_department),
        source_value=row.source_value,
        load_id=row.load_id,
        detected_at=row.detected_at,
        status=row.status,
        winning_value=row.winning_value,
        resolved_by_name=row.resolved_by_name,
        resolved_at=row.resolved_at,
        note=row.note,
    )


def list_conflicts(
    session: Session,
    actor: Actor,
    *,
    resource_key: str | None = None,
    status: str | None = None,
    subject: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[ConflictRead]:
    """Conflicts the actor's department is party to (as authority or as source); all for admins."""
    require_officer(actor, "governance.conflicts.read")
    query = select(SourceConflict)
    codes = visible_departments(session, actor)
    if codes is not None:
        query = query.where(
            or_(SourceConflict.authority_department.in_(codes), SourceConflict.source_department.in_(codes))
        )
    if resource_key:
        query = query.where(SourceConflict.resource_key == resource_key)
    if status:
        query = query.where(SourceConflict.status == status)
    if subject:
        query = query.where(SourceConflict.subject.startswith(subject.strip().upper()))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(SourceConflict.id.desc()).offset(offset).limit(limit)).all()
    if rows:
        # Both sides' values are personal data shown to the two departments: the access is audited.
        audit.append(
            session,
            actor,
            "governance.conflicts.read",
            object_type="governance_conflict",
            object_id=f"{rows[-1].id}-{rows[0].id}",
            purpose="数据治理：一数一源核对",
            detail={"count": len(rows), "resource": resource_key or "", "offset": offset},
        )
    names: dict[str, str] = {}
    return Page(total=total, offset=offset, limit=limit, items=[_read(session, r, names) for r in rows])


def get_conflict(session: Session, actor: Actor, conflict_id: int) -> ConflictRead:
    require_officer(actor, "governance.conflicts.read")
    row = session.get(SourceConflict, conflict_id)
    if row is None:
        raise NotFound(detail=f"冲突记录 {conflict_id} 不存在")
    codes = visible_departments(session, actor)
    if codes is not None and row.authority_department not in codes and row.source_department not in codes:
        raise refuse(
            actor,
            "governance.conflicts.read",
            "该冲突与您的部门无关",
            object_type="governance_conflict",
            object_id=conflict_id,
        )
    return _read(session, row)


# ------------------------------------------------------------------ resolving


def _corrected_row(
    session: Session, spec: registry.ResourceSpec, row: SourceConflict, value: str
) -> dict[str, Any]:
    """The registry record with the attribute set to `value`, checked by the quality rules."""
    from yiwang.governance.service.rulesets import rules_in_force

    keys = row.subject.split(KEY_SEPARATOR)
    subject_field = next((f for f in spec.subject_fields if f in spec.key_fields), spec.subject_fields[0])
    subject = keys[spec.key_fields.index(subject_field)] if subject_field in spec.key_fields else keys[0]
    fields = [f for f in spec.field_names if f not in LOADER_FIELDS]
    current = None
    for record in registry.fetch_by_subject(session, spec.key, subject, fields):
        if [as_text(record[k]) or "" for k in spec.key_fields] == keys:
            current = record
            break
    if current is None:
        raise Conflict(detail=f"权威库中已没有主体 {row.subject} 的记录，无法更正")
    text = {k: as_text(v) for k, v in current.items()}
    text[row.attribute] = value
    frame = pl.DataFrame([text], schema={k: pl.String for k in text}).with_columns(
        pl.lit(1, dtype=pl.Int64).alias(ROW)
    )
    _, rules = rules_in_force(session, spec)
    outcome = validate(
        spec,
        rules,
        frame,
        mode="upsert",
        lookup=lambda key, values: registry.subject_keys(session, key, values),
    )
    if outcome.rejected.height:
        import json

        reasons = json.loads(outcome.rejected.get_column("reasons")[0])
        errors = [FieldError("value", r["message"]) for r in reasons]
        raise Invalid(
            detail="更正后的值未通过质量规则：" + "；".join(e.message for e in errors), errors=errors
        )
    return outcome.good.drop(ROW).to_dicts()[0]


def resolve_conflict(
    session: Session, actor: Actor, conflict_id: int, resolution: ConflictResolution
) -> ConflictRead:
    """The authoritative department confirms its value or corrects the registry."""
    row = session.get(SourceConflict, conflict_id)
    if row is None:
        raise NotFound(detail=f"冲突记录 {conflict_id} 不存在")
    spec = registry.resource(row.resource_key)
    require_manage(session, actor, spec, "governance.conflict.resolve", "处理本资源的数据冲突")
    if row.status != "resolved_by_authority":
        raise Conflict(detail="该冲突已由权威部门处理过")
    now = clock.now()
    before = row.authority_value
    if resolution.action == "confirm":
        row.status = "confirmed"
        row.winning_value = row.authority_value
    else:
        value = (resolution.value if resolution.value is not None else row.source_value) or ""
        value = value.strip()
        if not value:
            raise Invalid.on("value", "请填写更正后的值")
        record = _corrected_row(session, spec, row, value)
        registry.bulk_write(session, spec.key, [record], mode="upsert")
        row.status = "corrected"
        row.winning_value = as_text(record.get(row.attribute))
    row.resolved_by_name = actor.label()[:64]
    row.resolved_at = now
    row.note = resolution.note.strip()
    session.flush()
    subject = row.subject.split(KEY_SEPARATOR)[0]
    audit.append(
        session,
        actor,
        "governance.conflict.resolve",
        object_type="governance_conflict",
        object_id=row.id,
        subject=subject if len(subject) == 18 else "",
        detail={
            "resource": spec.key,
            "attribute": row.attribute,
            "action": resolution.action,
            "before": before,
            "after": row.winning_value,
            "source_department": row.source_department,
            "note": row.note,
        },
    )
    return _read(session, row)
