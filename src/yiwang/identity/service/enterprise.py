"""法人代理: a person acts for an enterprise as its legal representative or while authorised by it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang import registry
from yiwang.core import audit, clock
from yiwang.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from yiwang.core.ids import mask_citizen_id, validate_citizen_id, validate_credit_code
from yiwang.core.security import Actor, require_authenticated, require_own_channel
from yiwang.identity.models import Account, EnterpriseAgent


@dataclass(frozen=True)
class EnterpriseLink:
    credit_code: str
    name: str
    as_legal_rep: bool
    valid_until: datetime | None


def enterprises_for(session: Session, account: Account) -> list[EnterpriseLink]:
    """Every enterprise the account's person may act for right now."""
    if account.kind != "citizen" or not account.citizen_id:
        return []
    links = [
        EnterpriseLink(lp.credit_code, lp.name, True, None)
        for lp in registry.legal_persons_represented_by(session, account.citizen_id)
    ]
    now = clock.now()
    agents = session.scalars(
        select(EnterpriseAgent).where(
            EnterpriseAgent.agent_account_id == account.id,
            EnterpriseAgent.revoked_at.is_(None),
            EnterpriseAgent.valid_from <= now,
            EnterpriseAgent.valid_until > now,
        )
    )
    seen = {link.credit_code for link in links}
    for agent in agents:
        if agent.credit_code in seen:
            continue
        lp = registry.find_legal_person(session, agent.credit_code)
        if lp is not None and lp.status == "存续":
            links.append(EnterpriseLink(lp.credit_code, lp.name, False, agent.valid_until))
            seen.add(lp.credit_code)
    return links


def can_act_for(session: Session, account: Account, credit_code: str) -> bool:
    return any(link.credit_code == credit_code for link in enterprises_for(session, account))


def _require_legal_rep(session: Session, actor: Actor, credit_code: str) -> None:
    # Authorising agents is the enterprise's own act on the platform: a relying party's token (even
    # one with the `enterprise` scope) only tells that system whom the person represents.
    require_own_channel(actor)
    lp = registry.find_legal_person(session, credit_code)
    if lp is None:
        raise NotFound(detail="该企业不在法人库中")
    if actor.subject_id != lp.legal_rep_citizen_id or actor.on_behalf_of != credit_code:
        raise Forbidden(detail="只有以本企业身份登录的法定代表人可以管理授权")


def authorise_agent(
    session: Session,
    actor: Actor,
    *,
    credit_code: str,
    agent_citizen_id: str,
    agent_name: str,
    valid_until: datetime,
    scope: str = "*",
) -> EnterpriseAgent:
    code = validate_credit_code(credit_code, "credit_code").value
    _require_legal_rep(session, actor, code)
    cid = validate_citizen_id(agent_citizen_id, "agent_citizen_id").value
    now = clock.now()
    if valid_until <= now:
        raise Invalid.on("valid_until", "授权截止时间必须晚于现在")
    if (valid_until - now).days > 366 * 3:
        raise Invalid.on("valid_until", "单次授权最长三年")
    agent = session.scalars(select(Account).where(Account.username == cid, Account.kind == "citizen")).first()
    # Same answer for "no account" and "name differs": the form must not reveal who is registered.
    if agent is None or agent.display_name != agent_name.strip():
        raise Invalid.on("agent_citizen_id", "找不到与该姓名和身份证号码相符的已注册个人用户")
    if agent.citizen_id == actor.subject_id:
        raise Invalid.on("agent_citizen_id", "法定代表人本人无需授权")
    active = session.scalars(
        select(EnterpriseAgent.id).where(
            EnterpriseAgent.credit_code == code,
            EnterpriseAgent.agent_account_id == agent.id,
            EnterpriseAgent.revoked_at.is_(None),
            EnterpriseAgent.valid_until > now,
        )
    ).first()
    if active is not None:
        raise Conflict(
            detail="该人员已有本企业的有效授权；如需修改期限，请先撤销原授权",
            errors=[FieldError("agent_citizen_id", "该人员已有本企业的有效授权")],
        )
    grant = EnterpriseAgent(
        credit_code=code,
        agent_account_id=agent.id,
        granted_by_account_id=actor.account_id or 0,
        scope=scope,
        valid_from=now,
        valid_until=valid_until,
    )
    session.add(grant)
    session.flush()
    audit.append(
        session,
        actor,
        "identity.enterprise.authorise",
        object_type="enterprise_agent",
        object_id=str(grant.id),
        subject=code,
        detail={"agent": cid, "valid_until": valid_until.isoformat()},
    )
    return grant


def revoke_agent(session: Session, actor: Actor, grant_id: int, *, credit_code: str | None = None) -> None:
    """End an authorisation. `credit_code`, when given (the API path names it), must be the grant's."""
    if credit_code is not None:
        # Who asks is checked before whether the grant exists, so grant ids cannot be probed.
        _require_legal_rep(session, actor, credit_code)
    grant = session.get(EnterpriseAgent, grant_id)
    if grant is None or (credit_code is not None and grant.credit_code != credit_code):
        raise NotFound(detail="授权记录不存在")
    _require_legal_rep(session, actor, grant.credit_code)
    if grant.revoked_at is None:
        grant.revoked_at = clock.now()
        audit.append(
            session,
            actor,
            "identity.enterprise.revoke",
            object_type="enterprise_agent",
            object_id=str(grant.id),
            subject=grant.credit_code,
        )
    session.flush()


def agents_of(session: Session, actor: Actor, credit_code: str) -> list[EnterpriseAgent]:
    _require_legal_rep(session, actor, credit_code)
    return list(
        session.scalars(
            select(EnterpriseAgent)
            .where(EnterpriseAgent.credit_code == credit_code)
            .order_by(EnterpriseAgent.id.desc())
        )
    )


@dataclass(frozen=True)
class AgentView:
    """An authorisation as its enterprise's legal representative sees it (agent's ID masked)."""

    id: int
    credit_code: str
    agent_name: str
    agent_citizen_id_masked: str
    scope: str
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None
    status: str  # active / expired / revoked

    @property
    def status_label(self) -> str:
        return {"active": "有效", "expired": "已过期", "revoked": "已撤销"}[self.status]


def agent_views(session: Session, actor: Actor, credit_code: str) -> list[AgentView]:
    """Every authorisation the enterprise has given, newest first (legal representative only)."""
    rows = agents_of(session, actor, credit_code)
    ids = {r.agent_account_id for r in rows}
    accounts = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(ids)))} if ids else {}
    now = clock.now()
    out = []
    for r in rows:
        agent = accounts.get(r.agent_account_id)
        status = "revoked" if r.revoked_at else ("expired" if r.valid_until <= now else "active")
        out.append(
            AgentView(
                id=r.id,
                credit_code=r.credit_code,
                agent_name=agent.display_name if agent else "",
                agent_citizen_id_masked=mask_citizen_id(agent.citizen_id or "") if agent else "",
                scope=r.scope,
                valid_from=r.valid_from,
                valid_until=r.valid_until,
                revoked_at=r.revoked_at,
                status=status,
            )
        )
    return out


def my_enterprises(session: Session, actor: Actor) -> list[EnterpriseLink]:
    """The enterprises the signed-in person may act for now (as legal representative or agent)."""
    require_authenticated(actor)
    if actor.account_id is None:
        return []
    account = session.get(Account, actor.account_id)
    return enterprises_for(session, account) if account is not None else []
