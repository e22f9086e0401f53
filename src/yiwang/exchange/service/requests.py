"""Sharing requests (B5 "one place to file and approve sharing requests").

A consuming system (or its department's data officer) files a request: which resource, which fields,
for what purpose on which legal basis, for which period, at what rate, whether bulk / regional slices
(数据回流) and whether unmasked sensitive data. The providing department's data officer decides within
`decision_working_days` working days (a setting, 5 by default; counted by `core.calendar`): approve as
asked, narrow (fewer fields, a shorter period, a lower rate, no sensitive data, no bulk, a smaller
region) or refuse, always with an opinion when not approving as asked. An approval creates the grant
the pipeline checks. Every state change is a timeline row and an audit record
(`exchange.request.file`, `exchange.grant.approve` / `.narrow` / `.refuse`, `exchange.request.withdraw`,
`exchange.grant.revoke`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from yiwang import catalog, identity, registry
from yiwang.core import audit, calendar, clock
from yiwang.core.clock import SHANGHAI
from yiwang.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from yiwang.core.security import (
    EXCHANGE_CALL,
    PLATFORM,
    Actor,
    ActorKind,
    require_authenticated,
    require_scope,
)
from yiwang.core.timeline import actor_ref
from yiwang.exchange.models import Grant, SharingRequest
from yiwang.exchange.schemas import (
    Decision,
    RequestCreate,
    RequestList,
    RequestRead,
    TimelineEvent,
)
from yiwang.exchange.service.common import (
    OFFICER_ROLE,
    add_event,
    client_info,
    is_officer_of,
    officer_units,
    remember_labels,
    require_officer_of,
    setting,
    timeline,
    unit_name,
)
from yiwang.exchange.service.grants import box_filter, may_see

DECISION_ACTIONS = {
    "approve": "exchange.grant.approve",
    "narrow": "exchange.grant.narrow",
    "refuse": "exchange.grant.refuse",
}
DECISION_STATUS = {"approve": "approved", "narrow": "narrowed", "refuse": "refused"}


# ================================================================= helpers


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, SHANGHAI)


def _today() -> date:
    return clock.today_local().date()


def _entry_for(session: Session, data: RequestCreate) -> tuple[catalog.EntryRead, registry.ResourceSpec]:
    """The published, mounted catalog entry the request names (by resource key or catalog code)."""
    entry = None
    if data.catalog_code:
        try:
            entry = catalog.get_entry(session, data.catalog_code)
        except NotFound:
            raise Invalid.on("catalog_code", f"目录 {data.catalog_code} 不存在") from None
        except Invalid as exc:
            raise Invalid.on("catalog_code", exc.detail or "资源代码格式不正确") from None
        if entry.mount is None or not entry.mount.resource_key:
            raise Invalid.on("catalog_code", f"目录“{entry.name}”没有挂接可共享的基础库资源")
        if data.resource_key and data.resource_key != entry.mount.resource_key:
            raise Invalid.on("resource_key", f"目录“{entry.name}”挂接的是资源 {entry.mount.resource_key}")
    key = data.resource_key or (entry.mount.resource_key if entry is not None and entry.mount else "")
    try:
        spec = registry.resource(key or "")
    except NotFound:
        raise Invalid.on("resource_key", f"没有名为“{key}”的基础库资源") from None
    if entry is None:
        entry = catalog.entry_for_resource(session, spec.key)
        if entry is None:
            raise Invalid.on("resource_key", f"资源“{spec.name}”尚未在政务信息资源目录中挂接，不能申请共享")
    if entry.status != "published":
        raise Invalid.on("resource_key", f"目录“{entry.name}”尚未发布，不能申请共享")
    if entry.sharing_type == "none":
        reason = f"（{entry.unshared_reason}）" if entry.unshared_reason else ""
        raise Invalid.on("resource_key", f"“{entry.name}”为不予共享资源{reason}，不受理共享申请")
    return entry, spec


def filing_systems(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(client ID, name) of the active registered systems `actor` may file a request for: those owned
    by the departments whose sharing the actor administers (all, for a platform admin)."""
    units = officer_units(session, actor)
    if units is not None and not units:
        return []
    return [
        (c.client_id, c.name)
        for c in identity.list_clients(session, PLATFORM)
        if c.is_active and (units is None or c.owner_unit_id in units)
    ]


def _who_files(session: Session, actor: Actor, client_id: str | None) -> tuple[str | None, str, int]:
    """(client id, client name, consumer department) for a request `actor` may file, or a refusal."""
    action = "exchange.request.file"
    require_scope(actor, EXCHANGE_CALL)
    if actor.kind is ActorKind.SYSTEM and actor.client_id and not actor.is_platform_admin:
        if client_id and client_id != actor.client_id:
            raise Forbidden(detail="接入系统只能为自己提出共享申请").audited(
                actor, action, object_id=client_id
            )
        if actor.department_id is None:
            raise Forbidden(detail="接入系统没有所属部门，不能提出共享申请").audited(actor, action)
        return actor.client_id, actor.name, actor.department_id
    if not (actor.is_platform_admin or (actor.kind is ActorKind.STAFF and OFFICER_ROLE in actor.roles)):
        raise Forbidden(detail="只有接入系统或其所属部门的数据管理员可以提出共享申请").audited(actor, action)
    units = None if actor.is_platform_admin else officer_units(session, actor)
    if client_id:
        try:
            client = client_info(session, client_id)
        except NotFound:
            raise Invalid.on("client_id", f"接入系统 {client_id} 不存在") from None
        if not client.is_active:
            raise Invalid.on("client_id", f"接入系统“{client.name}”已停用")
        if units is not None and client.owner_unit_id not in units:
            raise Forbidden(detail=f"接入系统“{client.name}”不属于本部门，不能代其申请").audited(
                actor, action, object_type="oidc_client", object_id=client_id
            )
        return client.client_id, client.name, client.owner_unit_id
    if actor.department_id is None or units is None:
        raise Invalid.on("client_id", "请指定使用数据的接入系统")
    return None, "", actor.department_id


def _read(row: SharingRequest, now: datetime, events: list[Any] | None = None) -> RequestRead:
    out = RequestRead.model_validate(row)
    out.overdue = row.status == "submitted" and now > row.due_at
    if events is not None:
        out.timeline = [TimelineEvent.model_validate(e) for e in events]
    return out


def _load_request(session: Session, request_id: int, *, for_update: bool = False) -> SharingRequest:
    stmt = select(SharingRequest).where(SharingRequest.id == request_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        raise NotFound(detail=f"共享申请 {request_id} 不存在")
    return row


# ================================================================= commands


def file_request(session: Session, actor: Actor, data: RequestCreate) -> RequestRead:
    """File a sharing request; it is due `decision_working_days` working days after today."""
    client_id, client_name, consumer = _who_files(session, actor, data.client_id)
    entry, spec = _entry_for(session, data)
    items = {i.field_name for i in entry.items}
    unknown = [f for f in data.fields if f not in items]
    if unknown:
        message = f"“{entry.name}”没有以下信息项：{'、'.join(unknown[:20])}"
        raise Invalid(detail=message, errors=[FieldError("fields", message)])
    if data.bulk and data.region_prefix and spec.region_field is None:
        raise Invalid.on("region_prefix", f"资源“{spec.name}”没有行政区划字段，不能按地区切片")
    if data.period_to < _today():
        raise Invalid.on("period_to", "使用期限的截止日期已过")
    now = clock.now()
    days = setting(session, "decision_working_days")
    consumer_name = unit_name(session, consumer)
    row = SharingRequest(
        number="",
        client_id=client_id,
        client_name=client_name,
        consumer_dept_id=consumer,
        consumer_dept_name=consumer_name,
        provider_dept_id=entry.department_id,
        provider_dept_name=entry.provider_name,
        resource_key=spec.key,
        catalog_code=entry.code,
        resource_name=entry.name,
        purpose=" ".join(data.purpose.split()),
        legal_basis=data.legal_basis,
        fields=list(data.fields),
        allow_sensitive=data.allow_sensitive,
        bulk=data.bulk,
        region_prefix=data.region_prefix if data.bulk else None,
        rate_per_minute=data.rate_per_minute,
        period_from=data.period_from,
        period_to=data.period_to,
        status="submitted",
        submitted_at=now,
        due_at=calendar.deadline(now, days),
        working_days=days,
        filed_by=actor_ref(actor),
        filed_by_name=actor.label()[:100],
        opinion="",
    )
    session.add(row)
    session.flush()
    row.number = f"GX{clock.to_local(now).year}{row.id:06d}"
    add_event(session, actor, "request", row.id, "submitted", to_status="submitted")
    remember_labels(
        session,
        [
            ("client", client_id or "", client_name),
            ("dept", str(consumer), consumer_name),
            ("dept", str(entry.department_id), entry.provider_name),
            ("entry", entry.code, entry.name),
        ],
    )
    audit.append(
        session,
        actor,
        "exchange.request.file",
        object_type="exchange_request",
        object_id=row.number,
        purpose=row.purpose,
        detail={
            "resource": spec.key,
            "code": entry.code,
            "client": client_id,
            "fields": row.fields,
            "allow_sensitive": row.allow_sensitive,
            "bulk": row.bulk,
            "region": row.region_prefix,
            "rate": row.rate_per_minute,
            "period": [row.period_from.isoformat(), row.period_to.isoformat()],
            "due_at": row.due_at.isoformat(),
        },
    )
    session.flush()
    return _read(row, now, timeline(session, "request", row.id))


def _narrowed_terms(row: SharingRequest, d: Decision) -> dict[str, Any]:
    """The grant's terms for a narrowing decision, each no wider than asked; at least one narrower."""
    errors: list[FieldError] = []
    fields = list(row.fields) if d.fields is None else d.fields
    outside = [f for f in fields if f not in row.fields]
    if outside:
        errors.append(FieldError("fields", f"只能在申请的信息项中收窄，以下未申请：{'、'.join(outside)}"))
    period_to = d.period_to or row.period_to
    if period_to > row.period_to:
        errors.append(FieldError("period_to", "收窄后的截止日期不能晚于申请的截止日期"))
    if period_to < row.period_from:
        errors.append(FieldError("period_to", "收窄后的截止日期不能早于使用期限的起始日期"))
    rate = d.rate_per_minute or row.rate_per_minute
    if rate > row.rate_per_minute:
        errors.append(FieldError("rate_per_minute", "收窄后的调用上限不能高于申请的上限"))
    sensitive = row.allow_sensitive if d.allow_sensitive is None else d.allow_sensitive
    if sensitive and not row.allow_sensitive:
        errors.append(FieldError("allow_sensitive", "申请方未申请不脱敏的敏感个人信息"))
    bulk = row.bulk if d.allow_bulk is None else d.allow_bulk
    if bulk and not row.bulk:
        errors.append(FieldError("allow_bulk", "申请方未申请批量获取"))
    region = row.region_prefix if d.region_prefix is None else d.region_prefix
    if region and not bulk:
        region = None
    if bulk and row.region_prefix and not (region or "").startswith(row.region_prefix):
        errors.append(FieldError("region_prefix", f"地区只能在申请的 {row.region_prefix} 之内收窄"))
    if errors:
        raise Invalid(detail="；".join(e.message for e in errors), errors=errors)
    terms = {
        "fields": [f for f in row.fields if f in fields],
        "period_to": period_to,
        "rate_per_minute": rate,
        "allow_sensitive": sensitive,
        "allow_bulk": bulk,
        "region_prefix": region if bulk else None,
    }
    asked = {
        "fields": list(row.fields),
        "period_to": row.period_to,
        "rate_per_minute": row.rate_per_minute,
        "allow_sensitive": row.allow_sensitive,
        "allow_bulk": row.bulk,
        "region_prefix": row.region_prefix if row.bulk else None,
    }
    if terms == asked:
        raise Invalid.on("decision", "没有收窄任何条件；如按申请同意，请选择“同意”")
    return terms


def _terms(row: SharingRequest, decision: Decision) -> dict[str, Any] | None:
    """The grant's terms a decision fixes (None for a refusal), checked before anything changes."""
    if decision.decision == "refuse":
        return None
    if decision.decision == "narrow":
        terms = _narrowed_terms(row, decision)
    else:
        changes = (
            decision.fields,
            decision.period_to,
            decision.rate_per_minute,
            decision.allow_sensitive,
            decision.allow_bulk,
            decision.region_prefix,
        )
        if any(v is not None for v in changes):
            raise Invalid.on("decision", "同意时不能修改申请条件；如需收窄，请选择“收窄后同意”")
        terms = {
            "fields": list(row.fields),
            "period_to": row.period_to,
            "rate_per_minute": row.rate_per_minute,
            "allow_sensitive": row.allow_sensitive,
            "allow_bulk": row.bulk,
            "region_prefix": row.region_prefix if row.bulk else None,
        }
    if terms["period_to"] < _today():
        raise Conflict(detail=f"申请 {row.number} 的使用期限已过，请申请方重新申请")
    return terms


def decide_request(session: Session, actor: Actor, request_id: int, decision: Decision) -> RequestRead:
    """Approve, narrow or refuse a submitted request (the providing department's data officer)."""
    action = DECISION_ACTIONS[decision.decision]
    row = _load_request(session, request_id, for_update=True)
    delegation = require_officer_of(
        session, actor, row.provider_dept_id, action, object_type="exchange_request", object_id=row.number
    )
    if _own_request(session, actor, row):
        raise Forbidden(detail="不能审批本部门提出的共享申请，应由提供部门的其他数据管理员审批").audited(
            actor, action, object_type="exchange_request", object_id=row.number
        )
    if row.status != "submitted":
        raise Conflict(detail=f"申请 {row.number} 已{_status_word(row.status)}，不能再审批")
    opinion = decision.opinion.strip()
    if decision.decision != "approve" and len(opinion) < 2:
        raise Invalid.on("opinion", "收窄或不予同意时须写明理由")
    terms = _terms(row, decision)
    now = clock.now()
    before = row.status
    row.status = DECISION_STATUS[decision.decision]
    row.opinion = opinion
    row.decided_at = now
    row.decided_by = actor.account_id
    row.decided_by_name = actor.label()[:100]
    detail: dict[str, Any] = {"decision": decision.decision}
    if delegation is not None:
        detail["delegation"] = delegation
    if terms is not None:
        grant = Grant(
            request_id=row.id,
            client_id=row.client_id,
            client_name=row.client_name,
            consumer_dept_id=row.consumer_dept_id,
            provider_dept_id=row.provider_dept_id,
            resource_key=row.resource_key,
            catalog_code=row.catalog_code,
            resource_name=row.resource_name,
            fields=",".join(terms["fields"]),
            purpose=row.purpose,
            allow_sensitive=terms["allow_sensitive"],
            allow_bulk=terms["allow_bulk"],
            region_prefix=terms["region_prefix"],
            rate_per_minute=terms["rate_per_minute"],
            valid_from=max(now, _start_of(row.period_from)),
            valid_until=_end_of(terms["period_to"]),
            created_at=now,
        )
        session.add(grant)
        session.flush()
        row.grant_id = grant.id
        detail.update(
            grant=grant.id,
            fields=terms["fields"],
            period_to=terms["period_to"].isoformat(),
            rate=terms["rate_per_minute"],
            allow_sensitive=terms["allow_sensitive"],
            allow_bulk=terms["allow_bulk"],
            region=terms["region_prefix"],
        )
    add_event(
        session, actor, "request", row.id, row.status, from_status=before, to_status=row.status,
        opinion=opinion, detail=detail,
    )  # fmt: skip
    if terms is not None:
        add_event(
            session, actor, "grant", row.grant_id or 0, "granted", to_status="active", opinion=opinion,
            detail={"request": row.number},
        )  # fmt: skip
    audit.append(
        session,
        actor,
        action,
        object_type="exchange_request",
        object_id=row.number,
        purpose=row.purpose,
        detail={**detail, "opinion": opinion, "resource": row.resource_key, "client": row.client_id},
    )
    session.flush()
    return _read(row, now, timeline(session, "request", row.id))


def _own_request(session: Session, actor: Actor, row: SharingRequest) -> bool:
    """Did `actor`'s own department (or one it is data officer of) file this request? Then it may
    not decide it, whatever its roles: the provider decides, never whoever files."""
    if actor.account_id is None and actor.role_units is None:
        return False  # the platform's own code (demo seeding), not a person
    if actor.department_id is not None and actor.department_id == row.consumer_dept_id:
        return True
    if actor.account_id is not None and row.filed_by == actor_ref(actor):
        return True
    units = officer_units(session, actor)
    return units is not None and row.consumer_dept_id in units


def may_decide(session: Session, actor: Actor, request_id: int) -> bool:
    """Whether `decide_request` would let `actor` decide this request (for pages to offer the form)."""
    row = _load_request(session, request_id)
    if row.status != "submitted" or actor.is_relying_party:
        return False
    if not is_officer_of(session, actor, row.provider_dept_id):
        from yiwang.exchange.service.delegations import active_delegation

        if active_delegation(session, actor, row.provider_dept_id) is None:
            return False
    return not _own_request(session, actor, row)


def _status_word(status: str) -> str:
    return {"approved": "同意", "narrowed": "收窄后同意", "refused": "不予同意", "withdrawn": "撤回"}.get(
        status, status
    )


def withdraw_request(session: Session, actor: Actor, request_id: int) -> RequestRead:
    action = "exchange.request.withdraw"
    row = _load_request(session, request_id, for_update=True)
    require_authenticated(actor)
    own_system = actor.kind is ActorKind.SYSTEM and actor.client_id and actor.client_id == row.client_id
    filer = actor.account_id is not None and row.filed_by == actor_ref(actor)
    if not (own_system or filer or is_officer_of(session, actor, row.consumer_dept_id)):
        raise Forbidden(detail="只有申请方可以撤回共享申请").audited(
            actor, action, object_type="exchange_request", object_id=row.number
        )
    if row.status != "submitted":
        raise Conflict(detail=f"申请 {row.number} 已{_status_word(row.status)}，不能撤回")
    row.status = "withdrawn"
    add_event(session, actor, "request", row.id, "withdrawn", from_status="submitted", to_status="withdrawn")
    audit.append(session, actor, action, object_type="exchange_request", object_id=row.number)
    session.flush()
    return _read(row, clock.now(), timeline(session, "request", row.id))


# ================================================================= reads


def get_request(session: Session, actor: Actor, request_id: int) -> RequestRead:
    require_authenticated(actor)
    row = _load_request(session, request_id)
    if not may_see(session, actor, row.provider_dept_id, row.consumer_dept_id, row.client_id):
        raise Forbidden(detail="只有申请方、提供方和平台运营人员可以查看该共享申请").audited(
            actor, "exchange.request.read", object_type="exchange_request", object_id=row.number
        )
    return _read(row, clock.now(), timeline(session, "request", row.id))


def list_requests(
    session: Session,
    actor: Actor,
    *,
    box: str = "incoming",
    status: str = "",
    overdue: bool | None = None,
    resource_key: str = "",
    offset: int = 0,
    limit: int = 50,
) -> RequestList:
    """Requests in `actor`'s box, newest first, with the number of overdue ones in the box."""
    R = SharingRequest
    where = box_filter(
        session, actor, box, R.provider_dept_id, R.consumer_dept_id, R.client_id, "exchange.request.list"
    )
    now = clock.now()
    conds = [] if where is None else [where]
    if status:
        if status not in ("submitted", "approved", "narrowed", "refused", "withdrawn"):
            raise Invalid.on("status", "状态不正确")
        conds.append(R.status == status)
    if resource_key:
        conds.append(R.resource_key == resource_key)
    late = and_(R.status == "submitted", R.due_at < now)
    if overdue:
        conds.append(late)
    elif overdue is False:
        conds.append(~late)
    base: Select[Any] = select(R).where(*conds)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    late_count = session.execute(
        select(func.count()).select_from(R).where(*([where] if where is not None else []), late)
    ).scalar_one()
    rows = session.scalars(base.order_by(R.submitted_at.desc(), R.id.desc()).offset(offset).limit(limit))
    return RequestList(
        total=total, offset=offset, limit=limit, overdue=late_count, items=[_read(r, now) for r in rows]
    )
