"""'Who used my data' (个人数据使用记录, after Estonia's Data Tracker) and objections (异议).

A citizen sees every shared-data call about their citizen ID, an enterprise every call about its
credit code: which department, which system, which resource, for what purpose, when, and whether it
was answered. The list comes from the call log (index on subject, at). Other platform records about the
subject — a clerk opening their case, a licence being issued — live in the audit chain; they are a
second, separate section (`platform_access`), leaving out the shared-data calls (already listed) and
the person's own actions (their logins, their applications).

An objection to a call goes to the providing department's data officer, who answers it; both steps
are timeline rows and audit records.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.audit.encoding import from_micros
from yiwang.core.errors import Conflict, Forbidden, Invalid, NotFound
from yiwang.core.labels import action_label
from yiwang.core.security import Actor, ActorKind, require_authenticated
from yiwang.exchange.models import Call, Objection
from yiwang.exchange.schemas import (
    CallRead,
    DataUsePage,
    ObjectionAnswer,
    ObjectionCreate,
    ObjectionList,
    ObjectionRead,
    PlatformAccess,
)
from yiwang.exchange.service.common import (
    add_event,
    labels,
    require_officer_of,
    seen_units,
)

_C = Call.__table__
_USE_COLUMNS = (
    _C.c.id,
    _C.c.at,
    _C.c.client_id,
    _C.c.actor_kind,
    _C.c.consumer_dept_id,
    _C.c.provider_dept_id,
    _C.c.resource_key,
    _C.c.catalog_code,
    _C.c.purpose,
    _C.c.result,
    _C.c.fields,
    _C.c.row_count,
)
MAX_PAGE: Final = 100
# Worded for the person whose data it is; other actions take the platform-wide label (core.labels).
ACTION_LABELS: Final = {
    "identity.register": "注册账号",
    "identity.login": "登录",
    "identity.act_for": "切换办事身份",
    "identity.agent.authorise": "企业授权经办人",
    "identity.oidc.userinfo": "接入系统读取您的登录信息",
    "identity.client.register": "登记接入系统",
}


def subject_of(actor: Actor, action: str = "exchange.data_use.read") -> tuple[str, str]:
    """(subject, kind): the citizen ID of a citizen, the credit code an enterprise login acts for."""
    require_authenticated(actor)
    if actor.kind is ActorKind.ENTERPRISE and actor.on_behalf_of:
        return actor.on_behalf_of, "enterprise"
    if actor.kind is ActorKind.CITIZEN and actor.subject_id:
        return actor.subject_id, "citizen"
    raise Forbidden(detail="数据使用记录只向本人（个人）或企业本身提供").audited(actor, action)


def _names(session: Session, rows: list[Any]) -> dict[tuple[str, str], str]:
    return labels(
        session,
        clients={r.client_id for r in rows},
        depts={r.consumer_dept_id for r in rows} | {r.provider_dept_id for r in rows},
        entries={r.catalog_code for r in rows},
    )


def _system(names: dict[tuple[str, str], str], row: Any) -> str:
    if row.client_id:
        return names.get(("client", row.client_id), row.client_id)
    return "窗口工作人员" if row.actor_kind == "staff" else "平台"


def _use(names: dict[tuple[str, str], str], row: Any, objection: Any = None) -> CallRead:
    return CallRead(
        id=row.id,
        at=from_micros(row.at),
        department=names.get(("dept", str(row.consumer_dept_id)), "") or "未知部门",
        system=_system(names, row),
        resource=names.get(("entry", row.catalog_code), row.resource_key)
        if row.catalog_code
        else row.resource_key,
        provider=names.get(("dept", str(row.provider_dept_id)), ""),
        purpose=row.purpose,
        result=row.result,
        fields=[f for f in (row.fields or "").split(",") if f],
        row_count=row.row_count,
        objection_id=objection.id if objection is not None else None,
        objection_status=objection.status if objection is not None else None,
        objection_answer=objection.answer if objection is not None else "",
    )


def my_data_use(session: Session, actor: Actor, *, offset: int = 0, limit: int = 20) -> DataUsePage:
    """Every shared-data call about the actor's own data, newest first (4 queries per page)."""
    subject, kind = subject_of(actor)
    if offset < 0:
        raise Invalid.on("offset", "偏移量应为不小于 0 的整数")
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid.on("limit", f"每页条数应在 1 到 {MAX_PAGE} 之间")
    total = session.execute(select(func.count()).select_from(_C).where(_C.c.subject == subject)).scalar_one()
    rows = session.execute(
        select(*_USE_COLUMNS)
        .where(_C.c.subject == subject)
        .order_by(_C.c.at.desc(), _C.c.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    items: list[CallRead] = []
    if rows:
        names = _names(session, rows)
        objections = {
            o.call_id: o
            for o in session.scalars(
                select(Objection).where(
                    Objection.call_id.in_([r.id for r in rows]), Objection.subject == subject
                )
            )
        }
        items = [_use(names, r, objections.get(r.id)) for r in rows]
    return DataUsePage(subject_kind=kind, total=total, offset=offset, limit=limit, items=items)  # type: ignore[arg-type]


def data_use_call(session: Session, actor: Actor, call_id: int) -> CallRead:
    """One call of the actor's own data-use log (NotFound for anyone else's call)."""
    subject, _kind = subject_of(actor)
    row = session.execute(select(*_USE_COLUMNS, _C.c.subject).where(_C.c.id == call_id)).first()
    if row is None or row.subject != subject:
        raise NotFound(detail="找不到这条数据使用记录").audited(
            actor, "exchange.data_use.read", object_type="exchange_call", object_id=str(call_id)
        )
    objection = session.scalars(select(Objection).where(Objection.call_id == call_id)).first()
    return _use(_names(session, [row]), row, objection)


def platform_access(session: Session, actor: Actor, *, limit: int = 30) -> list[PlatformAccess]:
    """Other platform records about the actor's data (the audit chain), newest first: not the
    shared-data calls (listed above) and not the person's own acts."""
    subject, _kind = subject_of(actor)
    own = {str(actor.account_id)} if actor.account_id is not None else set()
    out: list[PlatformAccess] = []
    for record in audit.records_for_subject(session, subject, limit=limit * 4):
        if record.action.startswith("exchange."):
            continue
        if record.actor_kind in ("citizen", "enterprise") and record.actor_id in own:
            continue
        out.append(
            PlatformAccess(
                at=record.at,
                action=record.action,
                action_label=ACTION_LABELS.get(record.action) or action_label(record.action),
                actor_kind=record.actor_kind,
                actor_name=record.actor_name if record.actor_kind == "system" else _staff_label(record),
                purpose=record.purpose,
                result=record.result,
            )
        )
        if len(out) >= limit:
            break
    return out


def _staff_label(record: Any) -> str:
    return {"staff": "工作人员", "citizen": "个人用户", "enterprise": "企业用户"}.get(
        record.actor_kind, "平台"
    )


# ================================================================= objections


def _objection_read(session: Session, row: Objection, call: Any = None) -> ObjectionRead:
    out = ObjectionRead.model_validate(row)
    if call is None:
        call = session.execute(select(*_USE_COLUMNS).where(_C.c.id == row.call_id)).first()
    if call is not None:
        use = _use(_names(session, [call]), call)
        out.call_at, out.call_purpose = use.at, use.purpose
        out.resource, out.department, out.system = use.resource, use.department, use.system
    return out


def raise_objection(session: Session, actor: Actor, call_id: int, data: ObjectionCreate) -> ObjectionRead:
    """Object to a call about one's own data; the objection goes to the providing department."""
    action = "exchange.objection.raise"
    subject, _kind = subject_of(actor, action)
    call = session.execute(select(*_USE_COLUMNS, _C.c.subject).where(_C.c.id == call_id)).first()
    if call is None or call.subject != subject:
        raise NotFound(detail="找不到这条数据使用记录").audited(
            actor, action, object_type="exchange_call", object_id=str(call_id)
        )
    if session.scalars(select(Objection.id).where(Objection.call_id == call_id)).first() is not None:
        raise Conflict(detail="您已对这条记录提出过异议，请等待提供部门答复")
    row = Objection(
        call_id=call_id,
        subject=subject,
        raised_by=actor.account_id,
        raised_by_name=actor.label()[:100],
        text=data.text,
        status="open",
        provider_dept_id=call.provider_dept_id,
        consumer_dept_id=call.consumer_dept_id,
        client_id=call.client_id,
        resource_key=call.resource_key,
        catalog_code=call.catalog_code,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    add_event(session, actor, "objection", row.id, "raised", to_status="open", opinion=data.text)
    audit.append(
        session,
        actor,
        action,
        object_type="exchange_objection",
        object_id=str(row.id),
        subject=subject,
        detail={"call": call_id, "provider": call.provider_dept_id, "resource": call.resource_key},
    )
    return _objection_read(session, row, call)


def list_objections(
    session: Session, actor: Actor, *, status: str = "", offset: int = 0, limit: int = 50
) -> ObjectionList:
    """Objections to the calls of the actor's department as provider (all for operators)."""
    require_authenticated(actor)
    conds = []
    units = seen_units(session, actor)
    if units is not None:
        if not units:
            raise Forbidden(detail="只有提供部门的数据管理员可以处理数据使用异议").audited(
                actor, "exchange.objection.list"
            )
        conds.append(Objection.provider_dept_id.in_(sorted(units)))
    if status:
        if status not in ("open", "answered"):
            raise Invalid.on("status", "状态应为 open 或 answered")
        conds.append(Objection.status == status)
    total = session.execute(select(func.count()).select_from(Objection).where(*conds)).scalar_one()
    rows = list(
        session.scalars(
            select(Objection)
            .where(*conds)
            .order_by(Objection.created_at.desc(), Objection.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    calls = (
        {
            c.id: c
            for c in session.execute(select(*_USE_COLUMNS).where(_C.c.id.in_([r.call_id for r in rows])))
        }
        if rows
        else {}
    )
    names = _names(session, list(calls.values())) if calls else {}
    items = []
    for row in rows:
        out = ObjectionRead.model_validate(row)
        call = calls.get(row.call_id)
        if call is not None:
            use = _use(names, call)
            out.call_at, out.call_purpose = use.at, use.purpose
            out.resource, out.department, out.system = use.resource, use.department, use.system
        items.append(out)
    return ObjectionList(total=total, offset=offset, limit=limit, items=items)


def get_objection(session: Session, actor: Actor, objection_id: int) -> ObjectionRead:
    require_authenticated(actor)
    row = session.get(Objection, objection_id)
    if row is None:
        raise NotFound(detail=f"异议 {objection_id} 不存在")
    mine = actor.kind in (ActorKind.CITIZEN, ActorKind.ENTERPRISE) and row.subject in (
        actor.subject_id,
        actor.on_behalf_of,
    )
    if not mine:
        units = seen_units(session, actor)
        if units is not None and row.provider_dept_id not in units:
            raise Forbidden(detail="只有提出人和提供部门可以查看该异议").audited(
                actor,
                "exchange.objection.read",
                object_type="exchange_objection",
                object_id=str(objection_id),
            )
    return _objection_read(session, row)


def answer_objection(
    session: Session, actor: Actor, objection_id: int, data: ObjectionAnswer
) -> ObjectionRead:
    action = "exchange.objection.answer"
    row = session.scalars(select(Objection).where(Objection.id == objection_id).with_for_update()).first()
    if row is None:
        raise NotFound(detail=f"异议 {objection_id} 不存在")
    require_officer_of(
        session, actor, row.provider_dept_id, action, object_type="exchange_objection", object_id=objection_id
    )
    if row.status != "open":
        raise Conflict(detail="该异议已答复")
    row.status = "answered"
    row.answer = data.answer
    row.answered_at = clock.now()
    row.answered_by = actor.account_id
    row.answered_by_name = actor.label()[:100]
    session.flush()
    add_event(
        session,
        actor,
        "objection",
        row.id,
        "answered",
        from_status="open",
        to_status="answered",
        opinion=data.answer,
    )
    audit.append(
        session,
        actor,
        action,
        object_type="exchange_objection",
        object_id=str(row.id),
        subject=row.subject,
        detail={"call": row.call_id},
    )
    return _objection_read(session, row)
