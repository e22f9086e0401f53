"""Demo data of the exchange for the synthetic city: `seed_demo_exchange(session, actor, …)`.

After the catalog is seeded (every registry resource published and mounted), it creates

* 市民政局's marriage registration system as a registered client (unless one is given);
* two grants, decided a month ago: the demo relying party may read 人口基本信息 for “政务服务身份核验”
  (approved as asked), the marriage system for “婚姻登记办理” (narrowed: no phone number, a lower rate);
* open requests: one filed ten working days ago and now overdue (社会保险缴费信息), one filed today
  (不动产登记信息), one filed two days ago for 市公安局 to decide (户籍信息, for marriage registration);
  and one refused (无犯罪记录, with the provider's opinion);
* a few hundred historical calls over the last 30 days — population lookups under both grants,
  法人基本信息 lookups (无条件共享), a few refused calls — each with its audit record written at the
  call's time, about a dozen of them about the demo citizen and a few about the demo enterprise, so
  the statistics and the data-use page have something to show; then the daily statistics roll-up;
* one open objection by the demo citizen to a call of the marriage system.

Everything but the historical calls goes through the service functions (timeline rows, audit
records). Deterministic for one city and seed (the marriage system's client id is random when this
function registers it: pass `marriage_client_id` to pin it). `actor` must be a platform admin.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

import yiwang.identity as identity
from yiwang import catalog, registry
from yiwang.core import audit, clock
from yiwang.core.clock import SHANGHAI
from yiwang.core.security import Actor, ActorKind
from yiwang.exchange.models import Call, Objection
from yiwang.exchange.schemas import Decision, RequestCreate
from yiwang.exchange.service.common import add_event, remember_labels
from yiwang.exchange.service.requests import decide_request, file_request
from yiwang.exchange.service.stats import roll_up_stats

ID_PURPOSE = "政务服务身份核验"
MARRIAGE_PURPOSE = "婚姻登记办理"
COMPANY_PURPOSE = "企业开办及变更登记核验"
PERSON_FIELDS = ["citizen_id", "name", "gender", "birth_date", "ethnicity", "address", "phone", "status"]


@dataclass
class DemoExchange:
    marriage_client_id: str
    marriage_client_secret: str | None
    requests: dict[str, int] = field(default_factory=dict)
    calls: int = 0


def _system(client_id: str, name: str, department_id: int) -> Actor:
    return Actor(
        kind=ActorKind.SYSTEM,
        name=name,
        subject_id=client_id,
        roles=frozenset({"system"}),
        department_id=department_id,
        client_id=client_id,
    )


def _request(session: Session, actor: Actor, **body: Any) -> Any:
    return file_request(session, actor, RequestCreate.model_validate(body))


def seed_demo_exchange(
    session: Session,
    actor: Actor,
    *,
    departments: dict[str, int],
    demo_client_id: str,
    citizen_id: str,
    credit_code: str,
    marriage_client_id: str | None = None,
    calls: int = 360,
    days: int = 30,
    seed: int = 2026,
) -> DemoExchange:
    """Seed grants, requests and a month of calls (see the module docstring)."""
    rng = random.Random(f"yiwang-demo-exchange:{seed}")
    secret = None
    if marriage_client_id is None:
        client, secret = identity.register_client(
            session,
            actor,
            name="市民政局婚姻登记系统",
            owner_unit_id=departments["minzheng"],
            redirect_uris=[],
            grant_types=["client_credentials"],
            allowed_scopes="exchange.call",
        )
        marriage_client_id = client.client_id
    out = DemoExchange(marriage_client_id=marriage_client_id, marriage_client_secret=secret)
    demo = identity.get_client(session, actor, demo_client_id)
    marriage = identity.get_client(session, actor, marriage_client_id)
    entries = {
        k: catalog.entry_for_resource(session, k)
        for k in (
            "population",
            "legal_person",
            "social_insurance",
            "property",
            "no_criminal_record",
            "household",
        )
    }
    now = clock.now()
    today = clock.to_local(now).date()
    month_ago = now - timedelta(days=days + 5)
    start = clock.to_local(month_ago).date()

    if entries["population"] is not None:
        with clock.freeze(month_ago):
            r = _request(
                session,
                actor,
                resource_key="population",
                client_id=demo.client_id,
                purpose=ID_PURPOSE,
                legal_basis="《国务院关于加快推进全国一体化在线政务服务平台建设的指导意见》（国发〔2018〕27号）",
                fields=["citizen_id", "name", "gender", "birth_date", "address", "status"],
                rate_per_minute=600,
                period_from=start.isoformat(),
                period_to=(start + timedelta(days=365)).isoformat(),
            )
            decide_request(session, actor, r.id, Decision(decision="approve", opinion="符合共享条件，同意"))
            out.requests["demo_population"] = r.id
            r = _request(
                session,
                actor,
                resource_key="population",
                client_id=marriage.client_id,
                purpose=MARRIAGE_PURPOSE,
                legal_basis="《婚姻登记条例》第五条、第七条：婚姻登记机关应当核对当事人的身份证件和户口簿",
                fields=PERSON_FIELDS,
                rate_per_minute=300,
                period_from=start.isoformat(),
                period_to=(start + timedelta(days=730)).isoformat(),
            )
            decide_request(
                session,
                actor,
                r.id,
                Decision(
                    decision="narrow",
                    opinion="婚姻登记核验身份无需联系电话和民族，按最少够用原则收窄；"
                    "调用上限调整为每分钟 120 次",
                    fields=["citizen_id", "name", "gender", "birth_date", "address", "status"],
                    rate_per_minute=120,
                ),
            )
            out.requests["marriage_population"] = r.id
            if entries["no_criminal_record"] is not None:
                r = _request(
                    session,
                    actor,
                    resource_key="no_criminal_record",
                    client_id=demo.client_id,
                    purpose="人才引进背景核查",
                    legal_basis="本单位人才引进工作办法",
                    fields=["citizen_id", "name", "has_record", "record_summary"],
                    rate_per_minute=60,
                    period_from=start.isoformat(),
                    period_to=(start + timedelta(days=365)).isoformat(),
                )
                decide_request(
                    session,
                    actor,
                    r.id,
                    Decision(
                        decision="refuse",
                        opinion="人才引进不属于法律法规规定须核查无犯罪记录的事项，不予共享",
                    ),
                )
                out.requests["refused_no_criminal_record"] = r.id
    if entries["social_insurance"] is not None:
        with clock.freeze(now - timedelta(days=14)):
            r = _request(
                session,
                actor,
                resource_key="social_insurance",
                client_id=demo.client_id,
                purpose="就业创业补贴资格核验",
                legal_basis="《就业补助资金管理办法》（财社〔2017〕164号）",
                fields=["citizen_id", "name", "insurance_type", "month", "status"],
                rate_per_minute=120,
                period_from=(today - timedelta(days=14)).isoformat(),
                period_to=(today + timedelta(days=351)).isoformat(),
            )
            out.requests["overdue_social_insurance"] = r.id
    if entries["property"] is not None:
        r = _request(
            session,
            actor,
            resource_key="property",
            client_id=marriage.client_id,
            purpose="离婚登记财产情况告知",
            legal_basis="《婚姻登记工作规范》第五十六条",
            fields=["certificate_no", "owner_id", "owner_name", "location"],
            rate_per_minute=60,
            period_from=today.isoformat(),
            period_to=(today + timedelta(days=365)).isoformat(),
        )
        out.requests["pending_property"] = r.id
    if entries["household"] is not None:
        # Waiting for 市公安局: its data officer finds a request to decide on the first visit.
        with clock.freeze(now - timedelta(days=2)):
            r = _request(
                session,
                actor,
                resource_key="household",
                client_id=marriage.client_id,
                purpose=MARRIAGE_PURPOSE,
                legal_basis="《婚姻登记条例》第五条：办理结婚登记应当出具本人的户口簿",
                fields=["household_no", "citizen_id", "name", "head_name", "address"],
                rate_per_minute=120,
                period_from=(today - timedelta(days=2)).isoformat(),
                period_to=(today + timedelta(days=728)).isoformat(),
            )
        out.requests["pending_household"] = r.id

    out.calls = _historical_calls(
        session, rng, entries, departments, demo, marriage, citizen_id, credit_code, out, calls, days, now
    )
    roll_up_stats(session)
    return out


def _historical_calls(
    session: Session,
    rng: random.Random,
    entries: dict[str, Any],
    departments: dict[str, int],
    demo: Any,
    marriage: Any,
    citizen_id: str,
    credit_code: str,
    out: DemoExchange,
    count: int,
    days: int,
    now: datetime,
) -> int:
    population, legal = entries["population"], entries["legal_person"]
    if population is None:
        return 0
    people = [
        r["citizen_id"] for r in registry.fetch_slice(session, "population", fields=["citizen_id"], limit=400)
    ]
    firms = [
        r["credit_code"]
        for r in registry.fetch_slice(session, "legal_person", fields=["credit_code"], limit=60)
    ]
    firms = firms or [credit_code]
    demo_actor = _system(demo.client_id, demo.name, demo.owner_unit_id)
    marriage_actor = _system(marriage.client_id, marriage.name, marriage.owner_unit_id)
    grants = _grant_ids(session, out)
    plan: list[tuple[datetime, Actor, str, str, str, str, int | None, str, str]] = []
    local_today = clock.to_local(now).date()
    for i in range(count):
        day = local_today - timedelta(days=rng.randrange(1, days))
        at = datetime.combine(day, time(8, 30), SHANGHAI) + timedelta(seconds=rng.randrange(9 * 3600))
        roll = rng.random()
        if i % 30 == 0:
            subject = citizen_id
        elif i % 60 == 7:
            subject = credit_code
        else:
            subject = ""
        if subject == credit_code or (not subject and roll < 0.25 and legal is not None):
            plan.append(
                (
                    at,
                    # Only the platform's service system verifies companies: a marriage registry
                    # has no business reading the legal-person registry.
                    demo_actor,
                    "legal_person",
                    COMPANY_PURPOSE,
                    subject or rng.choice(firms),
                    "ok",
                    None,
                    "",
                    "credit_code,name,kind,status",
                )
            )
            continue
        subject = subject or rng.choice(people)
        if roll > 0.96:
            plan.append(
                (
                    at,
                    marriage_actor,
                    "population",
                    "市场推广",
                    subject,
                    "refused",
                    None,
                    "exchange-purpose-not-granted: 用途不在授权范围内",
                    "",
                )
            )
        elif rng.random() < 0.55:
            plan.append(
                (
                    at,
                    marriage_actor,
                    "population",
                    MARRIAGE_PURPOSE,
                    subject,
                    "ok",
                    grants.get("marriage_population"),
                    "",
                    "citizen_id,name,gender,birth_date,address,status",
                )
            )
        else:
            plan.append(
                (
                    at,
                    demo_actor,
                    "population",
                    ID_PURPOSE,
                    subject,
                    "ok",
                    grants.get("demo_population"),
                    "",
                    "citizen_id,name,gender,birth_date,address,status",
                )
            )
    plan.sort(key=lambda p: p[0])
    code_of = {"population": population.code, "legal_person": legal.code if legal is not None else ""}
    provider_of = {
        "population": population.department_id,
        "legal_person": legal.department_id if legal is not None else 0,
    }
    objection_call: int | None = None
    for at, actor, key, purpose, subject, result, grant_id, reason, fields in plan:
        with clock.freeze(at):
            ref = audit.append(
                session,
                actor,
                "exchange.query",
                object_type="exchange_resource",
                object_id=key,
                subject=subject,
                purpose=purpose,
                result=result,
                detail={
                    "code": code_of[key],
                    "grant": grant_id,
                    "mode": "subject",
                    "demo": True,
                    **({"reason": reason} if reason else {"rows": 1}),
                },
            )
        call_id = session.execute(
            insert(Call).returning(Call.id),
            {
                "at": int(at.timestamp() * 1_000_000),
                "mode": "subject",
                "client_id": actor.client_id or "",
                "actor_kind": "system",
                "actor_id": "",
                "consumer_dept_id": actor.department_id or 0,
                "provider_dept_id": provider_of[key],
                "resource_key": key,
                "catalog_code": code_of[key],
                "subject": subject,
                "region": "",
                "purpose": purpose,
                "fields": fields,
                "row_count": 1 if result == "ok" else 0,
                "result": result,
                "status": 200 if result == "ok" else 403,
                "reason": reason,
                "latency_us": 600 + rng.randrange(1400),
                "grant_id": grant_id,
                "audit_chain": ref.chain_id,
                "audit_seq": ref.seq,
            },
        ).scalar_one()
        if subject == citizen_id and actor is marriage_actor and result == "ok":
            objection_call = call_id
    remember_labels(
        session,
        [
            ("client", demo.client_id, demo.name),
            ("client", marriage.client_id, marriage.name),
            ("entry", population.code, population.name),
            ("dept", str(population.department_id), population.provider_name),
            *(
                [("entry", legal.code, legal.name), ("dept", str(legal.department_id), legal.provider_name)]
                if legal is not None
                else []
            ),
        ],
    )
    if objection_call is not None:
        _objection(session, objection_call, citizen_id, population, marriage_actor, now)
    return len(plan)


def _grant_ids(session: Session, out: DemoExchange) -> dict[str, int | None]:
    from yiwang.exchange.models import SharingRequest

    ids: dict[str, int | None] = {}
    for key in ("demo_population", "marriage_population"):
        req_id = out.requests.get(key)
        row = session.get(SharingRequest, req_id) if req_id else None
        ids[key] = row.grant_id if row is not None else None
    return ids


def _objection(
    session: Session, call_id: int, subject: str, entry: Any, consumer: Actor, now: datetime
) -> None:
    provider = entry.department_id
    row = Objection(
        call_id=call_id,
        subject=subject,
        raised_by=None,
        raised_by_name="数据主体本人",
        text="我近期没有办理婚姻登记，也没有委托他人办理，请核实婚姻登记系统为什么查询了我的户籍信息。",
        status="open",
        provider_dept_id=provider,
        consumer_dept_id=consumer.department_id or 0,
        client_id=consumer.client_id or "",
        resource_key="population",
        catalog_code=entry.code,
        created_at=now - timedelta(days=1),
    )
    session.add(row)
    session.flush()
    owner = Actor(kind=ActorKind.CITIZEN, name="数据主体本人", subject_id=subject)
    add_event(session, owner, "objection", row.id, "raised", to_status="open", opinion=row.text)
    audit.append(
        session,
        owner,
        "exchange.objection.raise",
        object_type="exchange_objection",
        object_id=str(row.id),
        subject=subject,
        detail={"call": call_id, "provider": provider, "demo": True},
    )
