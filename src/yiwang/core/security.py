"""Actors and permission checks (DESIGN §3 rule 2).

Every request, CLI command and job runs as an `Actor`: who acts, for whom, with which roles and
scopes. Services take the actor as an argument and decide authorisation themselves, so a page, an API
route and a script reach the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from yiwang.core.errors import Forbidden, Unauthenticated


class ActorKind(StrEnum):
    ANONYMOUS = "anonymous"
    CITIZEN = "citizen"  # 自然人
    ENTERPRISE = "enterprise"  # 法人 (an account of a person who may act for an enterprise)
    STAFF = "staff"  # 政府工作人员
    SYSTEM = "system"  # a registered government system (client credentials) or the platform itself


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    account_id: int | None = None
    name: str = ""
    # The natural person behind the account (citizen ID) or the system's client ID.
    subject_id: str | None = None
    # Whom the actor acts for: an enterprise's credit code while 法人代理 is authorised, a relative's
    # citizen ID under 亲友代办, or None when acting for themself.
    on_behalf_of: str | None = None
    roles: frozenset[str] = frozenset()
    department_id: int | None = None
    # Organisation units this actor may administer (the subtree roots); platform admins hold all.
    admin_units: frozenset[int] = frozenset()
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    session_id: str | None = None
    ip: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not ActorKind.ANONYMOUS

    @property
    def is_platform_admin(self) -> bool:
        return "platform_admin" in self.roles

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def label(self) -> str:
        who = self.name or self.subject_id or self.client_id or self.kind.value
        return f"{who}（代 {self.on_behalf_of}）" if self.on_behalf_of else who

    def with_request(self, ip: str | None) -> Actor:
        return replace(self, ip=ip)


ANONYMOUS = Actor(kind=ActorKind.ANONYMOUS, name="匿名用户")
PLATFORM = Actor(kind=ActorKind.SYSTEM, name="平台", subject_id="yiwang", roles=frozenset({"platform_admin"}))


def require_authenticated(actor: Actor) -> None:
    if not actor.is_authenticated:
        raise Unauthenticated(detail="该操作需要登录")


def require_role(actor: Actor, *roles: str) -> None:
    require_authenticated(actor)
    if not actor.has_role(*roles):
        raise Forbidden(detail="您的角色不能进行此操作")


def require_scope(actor: Actor, scope: str) -> None:
    require_authenticated(actor)
    if actor.client_id and scope not in actor.scopes:
        raise Forbidden(detail=f"访问令牌未包含所需权限范围 {scope}")
