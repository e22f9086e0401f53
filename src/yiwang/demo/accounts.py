"""Demo accounts for every role and the sample relying party, created through the identity services
(so passwords are real Argon2id hashes and every step is on the audit chain)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from yiwang import identity
from yiwang.core import audit, clock
from yiwang.core.crypto import sm3, sm3_hex
from yiwang.core.security import PLATFORM
from yiwang.demo.info import DEMO_PASSWORD, DemoAccount, DemoClient
from yiwang.demo.orgs import OrgTree
from yiwang.demo.people import Candidate, PeopleResult

DEMO_CLIENT_ID = "demo-rp"
# 市民政局's marriage registration system, a second registered system that calls the exchange.
MARRIAGE_CLIENT_ID = "demo-minzheng-hydj"
DEMO_REDIRECT_URI = "http://127.0.0.1:9000/callback"
DEMO_POST_LOGOUT_URI = "http://127.0.0.1:9000/"
DEMO_GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials"]
DEMO_SCOPES = "openid profile phone idcard enterprise"


@dataclass(frozen=True)
class StaffSpec:
    key: str
    username: str
    role: str
    # Where the role is held and where the account sits: a department short code, or "city",
    # "province", "community" (the first community of the first street of the first district).
    role_unit: str
    department: str
    title: str


STAFF: tuple[StaffSpec, ...] = (
    StaffSpec("clerk", "clerk", "window_clerk", "zhengwu", "zhengwu", "综合窗口受理员"),
    StaffSpec("approver", "approver", "approver", "shichang", "shichang", "登记注册科审批员"),
    StaffSpec("data_officer", "dataofficer", "data_officer", "gongan", "gongan", "数据资源管理员"),
    StaffSpec("dispatcher", "dispatcher", "dispatcher", "rexian", "rexian", "派单员"),
    StaffSpec("grid_worker", "gridworker", "grid_worker", "community", "community", "专职网格员"),
    StaffSpec("handler", "handler", "handler", "chengguan", "chengguan", "执法队员"),
    StaffSpec("leader", "leader", "leader", "city", "zhengfuban", "副市长"),
    StaffSpec("dept_admin", "deptadmin", "dept_admin", "minzheng", "minzheng", "办公室主任"),
    StaffSpec("admin", "admin", "platform_admin", "province", "dashuju", "平台运维管理员"),
    StaffSpec("auditor", "auditor", "auditor", "city", "dashuju", "安全审计员"),
)
ACCOUNT_KEYS = ("citizen", "enterprise", "agent", *(s.key for s in STAFF))


def client_secret_for(seed: int, client_id: str = DEMO_CLIENT_ID) -> str:
    """A demo client's secret: derived from the seed, so every build with one seed prints the same.

    Anyone who knows the seed knows the secret — right for a demo, never for a real client."""
    tag = "" if client_id == DEMO_CLIENT_ID else f":{client_id}"
    return base64.urlsafe_b64encode(sm3(f"yiwang-demo-client:{seed}{tag}".encode())).decode().rstrip("=")


def _unit(tree: OrgTree, ref: str) -> int:
    if ref == "city":
        return tree.city_id
    if ref == "province":
        return tree.province_id
    if ref == "community":
        return tree.districts[0].communities[0].unit_id
    return tree.departments[ref]


def _unit_name(session: Session, unit_id: int) -> str:
    return identity.get_org_unit(session, unit_id).name


def create_accounts(
    session: Session,
    *,
    tree: OrgTree,
    people: PeopleResult,
    credit_code: str,
) -> dict[str, DemoAccount]:
    """One account per role key. Staff are people of the registry too (real-name binding)."""
    if len(people.showcase) < 2 or len(people.workers) < len(STAFF) + 1:
        raise ValueError("the population is too small to pick the demo accounts from")
    citizen_p, rep_p = people.showcase[0], people.showcase[1]
    agent_p = people.workers[len(STAFF)]
    accounts: dict[str, DemoAccount] = {}

    def citizen(p: Candidate) -> Any:
        return identity.register_citizen(
            session, PLATFORM, citizen_id=p.citizen_id, name=p.name, password=DEMO_PASSWORD, phone=p.phone
        )

    citizen(citizen_p)
    accounts["citizen"] = DemoAccount(
        "citizen", citizen_p.citizen_id, DEMO_PASSWORD, citizen_p.name, "个人用户（自然人）", "citizen",
        citizen_p.citizen_id, None, None,
    )  # fmt: skip
    rep_account = citizen(rep_p)
    accounts["enterprise"] = DemoAccount(
        "enterprise", rep_p.citizen_id, DEMO_PASSWORD, rep_p.name, "企业法定代表人（法人）", "enterprise",
        rep_p.citizen_id, None, credit_code,
    )  # fmt: skip
    citizen(agent_p)
    rep_actor = identity.build_actor(session, rep_account, on_behalf_of=credit_code)
    identity.authorise_agent(
        session,
        rep_actor,
        credit_code=credit_code,
        agent_citizen_id=agent_p.citizen_id,
        agent_name=agent_p.name,
        valid_until=clock.now() + timedelta(days=3 * 365),
    )
    accounts["agent"] = DemoAccount(
        "agent", agent_p.citizen_id, DEMO_PASSWORD, agent_p.name, "企业经办人（获授权代理）", "enterprise",
        agent_p.citizen_id, None, credit_code,
    )  # fmt: skip

    for spec, person in zip(STAFF, people.workers, strict=False):
        department_id = _unit(tree, spec.department)
        identity.create_staff_account(
            session,
            PLATFORM,
            identity.StaffAccountCreate(
                username=spec.username,
                display_name=person.name,
                citizen_id=person.citizen_id,
                department_id=department_id,
                password=DEMO_PASSWORD,
                title=spec.title,
                phone=person.phone,
                roles=[
                    identity.RoleGrantCreate(role_code=spec.role, org_unit_id=_unit(tree, spec.role_unit))
                ],
            ),
        )
        accounts[spec.key] = DemoAccount(
            spec.key, spec.username, DEMO_PASSWORD, person.name, identity.role_name(spec.role), "staff",
            person.citizen_id, _unit_name(session, department_id), None,
        )  # fmt: skip
    return accounts


def create_client(session: Session, *, tree: OrgTree, seed: int) -> DemoClient:
    """The sample relying party (A5), owned by 市大数据局, with a stable ID and a seed-derived secret."""
    secret = client_secret_for(seed)
    shape = {
        "name": "演示业务系统（示例接入方）",
        "owner_unit_id": tree.departments["dashuju"],
        "redirect_uris": [DEMO_REDIRECT_URI],
        "grant_types": list(DEMO_GRANT_TYPES),
        "allowed_scopes": DEMO_SCOPES,
        "is_confidential": True,
        "post_logout_redirect_uris": [DEMO_POST_LOGOUT_URI],
    }
    register_pinned_client(session, shape, client_id=DEMO_CLIENT_ID, secret=secret)
    return DemoClient(client_id=DEMO_CLIENT_ID, client_secret=secret, redirect_uri=DEMO_REDIRECT_URI)


def register_pinned_client(session: Session, shape: dict, *, client_id: str, secret: str) -> None:
    """Register a client through identity, then pin its ID and secret so that one seed always prints
    the same credentials; the pinning is recorded on the audit chain next to the registration."""
    client, _random_secret = identity.register_client(session, PLATFORM, **shape)
    registered_as = client.client_id
    client.client_id = client_id
    client.secret_hash = client_secret_hash(secret)
    session.flush()
    audit.append(
        session,
        PLATFORM,
        "demo.client.pin",
        object_type="oidc_client",
        object_id=client_id,
        detail={"registered_as": registered_as, "secret": "derived from the demo seed"},
    )


def create_marriage_client(session: Session, *, departments: dict[str, int], seed: int) -> str:
    """市民政局婚姻登记系统: a system-to-system client (client credentials only) for the exchange demo."""
    shape = {
        "name": "市民政局婚姻登记系统",
        "owner_unit_id": departments["minzheng"],
        "redirect_uris": [],
        "grant_types": ["client_credentials"],
        "allowed_scopes": "exchange.call",
        "is_confidential": True,
    }
    secret = client_secret_for(seed, MARRIAGE_CLIENT_ID)
    register_pinned_client(session, shape, client_id=MARRIAGE_CLIENT_ID, secret=secret)
    return MARRIAGE_CLIENT_ID


def client_secret_hash(secret: str) -> str:
    """What `identity_oidc_client.secret_hash` holds: identity.service.tokens.digest, SM3 in hex."""
    return sm3_hex(secret.encode())
