"""Actors and permission checks (DESIGN §3 rules 2 and 9).

Every request, CLI command and job runs as an `Actor`: who acts, for whom, with which roles and
scopes. Services take the actor as an argument and decide authorisation themselves, so a page, an API
route and a script reach the same decision.

Two things bound an actor's power besides its roles:

* **where the power came from** (`Actor.origin`): the platform's own browser session or first-party
  token carries the person's roles; a token the OIDC provider issued to a relying party carries only
  its scopes (`SCOPE_PERMISSIONS`), never the person's roles. The router gate (`core.deps.get_actor`)
  refuses a relying-party token on every route that does not name one of its scopes
  (`core.deps.accepts_scopes`), and services check `require_scope` / `require_own_channel`;
* **where each role is held** (`Actor.role_units`): a role held in an organisation unit is valid in
  that unit's subtree only. `reach()` answers "over which units", `wide()` "over all of them" (a role
  held at a top-level unit). `has_role` only says the role is held *somewhere*: it may choose a menu,
  never authorise an act on an object.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from yiwang.core.errors import Forbidden, Unauthenticated


class Origin(StrEnum):
    """Where an actor's power came from."""

    INTERNAL = "internal"  # the platform's own code: demo seeding, CLI, jobs (never reached over HTTP)
    SESSION = "session"  # the platform's browser session (cookie)
    FIRST_PARTY = "first_party"  # a bearer token from the platform's own login API (its mobile app)
    RELYING_PARTY = "relying_party"  # a token the OIDC provider issued to a registered client


# What a relying party's token may call, by scope (docs/sso.md "Scopes and permissions"). The
# person scopes release claims at /oidc/userinfo and nothing else; a scope not listed here is a
# system scope that opens no route until a route names it with `core.deps.accepts_scopes`.
SCOPE_PERMISSIONS: dict[str, str] = {
    "openid": "/oidc/userinfo：sub、账号类型",
    "profile": "/oidc/userinfo：姓名、用户名、脱敏身份证号",
    "idcard": "/oidc/userinfo：完整身份证号",
    "phone": "/oidc/userinfo：手机号",
    "email": "/oidc/userinfo：电子邮箱",
    "enterprise": "/oidc/userinfo：所代表的企业",
    "staff": "/oidc/userinfo：部门、角色、职务",
    "exchange.call": "共享数据接口（在共享授权之内）及本系统的共享申请与授权",
    "catalog.read": "政务信息资源目录的只读接口：已发布目录、信息项、共享/开放/需求清单、检索",
}
EXCHANGE_CALL = "exchange.call"
CATALOG_READ = "catalog.read"


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
    # Roles held somewhere (for menus and labels). Authority over an object comes from `reach()`.
    roles: frozenset[str] = frozenset()
    department_id: int | None = None
    # Organisation units this actor may administer (the subtree roots); platform admins hold all.
    admin_units: frozenset[int] = frozenset()
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    session_id: str | None = None
    ip: str | None = None
    origin: Origin = Origin.INTERNAL
    # (role, unit) for every role the account holds in the organisation tree; None for an actor made
    # by code (the platform itself, the CLI), whose roles are not held in the tree and reach everywhere.
    role_units: frozenset[tuple[str, int]] | None = None
    # The roles held at a top-level unit: they reach the whole platform (None: as `role_units`).
    wide_roles: frozenset[str] | None = None
    # The roles valid at the actor's own department (held there or above it; None: as `role_units`).
    department_roles: frozenset[str] | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not ActorKind.ANONYMOUS

    @property
    def is_relying_party(self) -> bool:
        """Acting through a token issued to another system: only its scopes count."""
        return self.origin is Origin.RELYING_PARTY

    @property
    def is_platform_admin(self) -> bool:
        """Holds 平台管理员 over the whole platform (at a top-level unit)."""
        return self.wide("platform_admin")

    def has_role(self, *roles: str) -> bool:
        """Holds one of `roles` somewhere. Enough to choose a menu; never enough to act on an object
        (use `reach`, `wide` or a unit check)."""
        return any(r in self.roles for r in roles)

    def wide(self, *roles: str) -> bool:
        """Holds one of `roles` over the whole platform."""
        held = self.roles if self.wide_roles is None or self.role_units is None else self.wide_roles
        return any(r in held for r in roles)

    def holds_for_department(self, *roles: str) -> bool:
        """Holds one of `roles` in a unit whose subtree contains the actor's own department — what a
        module that acts "for the officer's department" must check, rather than `has_role`."""
        held = (
            self.roles if self.department_roles is None or self.role_units is None else self.department_roles
        )
        return self.department_id is not None and any(r in held for r in roles)

    def units_of(self, *roles: str) -> frozenset[int]:
        """The units in which one of `roles` is held (each valid in its subtree)."""
        if self.role_units is None:
            return frozenset()
        return frozenset(u for r, u in self.role_units if r in roles)

    def reach(self, *roles: str) -> frozenset[int] | None:
        """Where `roles` give power: None for the whole platform, else the subtree roots (empty for
        none). Callers expand the roots to subtrees with the organisation tree."""
        if self.wide(*roles):
            return None
        return self.units_of(*roles)

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
    """One of `roles`, held over the whole platform (at a top-level unit). For authority within a
    unit, check `actor.reach(...)` against the object's unit instead."""
    require_authenticated(actor)
    if not actor.wide(*roles):
        raise Forbidden(detail="您的角色不能进行此操作")


class InsufficientScope(Forbidden):
    default_slug = "insufficient-scope"
    default_title = "访问令牌的权限范围不足"


def require_scope(actor: Actor, scope: str) -> None:
    """A relying party's token must name `scope`; the platform's own session and tokens pass."""
    require_authenticated(actor)
    if actor.is_relying_party and scope not in actor.scopes:
        raise InsufficientScope(detail=f"访问令牌未包含所需权限范围 {scope}", extra={"scope": scope})


def require_own_channel(actor: Actor) -> None:
    """Only the platform's own session or first-party token (or the platform's code) may do this: a
    token issued to another system never acts on the platform itself."""
    require_authenticated(actor)
    if actor.is_relying_party:
        raise InsufficientScope(
            detail="接入系统的访问令牌不能调用平台自身的接口，请登录一网平台后操作",
            extra={"scope": "platform"},
        )
