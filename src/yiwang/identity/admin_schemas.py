"""Input and output models of the administrator's console (organisation, accounts, roles, clients).

Read models are plain pydantic objects built by `service/admin/`; the REST API returns them as they
are and the pages render them, so templates never see an ORM object.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from yiwang.core import edge

OrgKind = Literal["province", "city", "district", "street", "community", "department", "unit"]
AccountKind = Literal["staff", "citizen"]
# Columns a list of accounts may be sorted on; a leading "-" sorts descending.
ACCOUNT_SORTS = ("username", "display_name", "department", "created_at", "last_login_at")


class _In(BaseModel):
    """Inputs strip surrounding whitespace and refuse unknown fields."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


# ---------------------------------------------------------------- organisation


class OrgUnitCreate(_In):
    code: str = Field(max_length=32, description="机构编码，全平台唯一")
    name: str = Field(max_length=100)
    kind: OrgKind
    parent_id: edge.OptionalDbId = Field(default=None, description="上级机构；省级节点没有上级")
    short_name: str = Field(default="", max_length=50)
    region_code: str = Field(default="", max_length=12, pattern=r"^\d{0,12}$")
    credit_code: str | None = Field(default=None, max_length=18)
    sort: int = Field(default=0, ge=0, le=1_000_000)


class OrgUnitUpdate(_In):
    """Only the fields given are changed. `code`, `kind` and the parent never change."""

    name: str | None = Field(default=None, max_length=100)
    short_name: str | None = Field(default=None, max_length=50)
    sort: int | None = Field(default=None, ge=0, le=1_000_000)
    is_active: bool | None = None


class OrgUnitRead(BaseModel):
    id: int
    code: str
    name: str
    short_name: str
    kind: str
    kind_label: str
    parent_id: int | None
    level: int
    region_code: str
    credit_code: str | None
    sort: int
    is_active: bool
    staff_count: int = 0


class OrgNode(OrgUnitRead):
    children: list[OrgNode] = Field(default_factory=list)


class OrgTree(BaseModel):
    roots: list[OrgNode]
    total: int


# ---------------------------------------------------------------- accounts


class AccountFilters(BaseModel):
    """What a list of accounts was filtered and sorted by (echoed back, and the audit purpose)."""

    q: str = ""
    kind: AccountKind = "staff"
    department_id: int | None = None
    role: str | None = None
    active: bool | None = None
    locked: bool | None = None
    sort: str = "username"


class AccountRow(BaseModel):
    id: int
    username: str
    kind: str
    kind_label: str
    display_name: str
    citizen_id_masked: str
    department_id: int | None
    department_name: str
    title: str
    roles: list[str]
    role_names: list[str]
    is_active: bool
    is_locked: bool
    created_at: datetime
    last_login_at: datetime | None


class AccountList(BaseModel):
    total: int
    offset: int
    limit: int
    filters: AccountFilters
    items: list[AccountRow]


class RoleGrantRead(BaseModel):
    id: int
    role_code: str
    role_name: str
    org_unit_id: int
    org_unit_name: str
    granted_at: datetime
    granted_by: int | None


class AccountDetail(BaseModel):
    id: int
    username: str
    kind: str
    kind_label: str
    display_name: str
    citizen_id_masked: str
    phone_masked: str
    email: str | None
    department_id: int | None
    department_name: str
    # Names from the root of the tree down to the account's department: 辽宁省 › 本溪市 › 市民政局.
    department_path: list[str]
    title: str
    is_active: bool
    is_locked: bool
    locked_until: datetime | None
    failed_logins: int
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None
    active_sessions: int
    roles: list[RoleGrantRead]


class RoleGrantCreate(_In):
    role_code: str = Field(max_length=32)
    org_unit_id: edge.DbId


class StaffAccountCreate(_In):
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=64)
    citizen_id: str = Field(max_length=32)
    department_id: edge.DbId
    # Left out, a temporary password is generated and returned once.
    password: str | None = Field(default=None, max_length=128)
    title: str = Field(default="", max_length=50)
    phone: str | None = Field(default=None, max_length=20)
    roles: list[RoleGrantCreate] = Field(default_factory=list, max_length=20)


class StaffAccountCreated(BaseModel):
    account: AccountDetail
    # Only when the password was generated: shown this once, never stored in plain text.
    temporary_password: str | None = None


class TemporaryPassword(BaseModel):
    account_id: int
    temporary_password: str
    sessions_revoked: int
    note: str = "临时密码只显示这一次，请通过安全渠道交给本人，并提醒其登录后立即修改密码。"


class AccountStatusChange(BaseModel):
    account: AccountDetail
    sessions_revoked: int = 0
    tokens_revoked: int = 0


# ---------------------------------------------------------------- roles


class RoleHolder(BaseModel):
    grant_id: int
    account_id: int
    username: str
    display_name: str
    org_unit_id: int
    org_unit_name: str
    is_active: bool


class RoleRead(BaseModel):
    code: str
    name: str
    description: str
    builtin: bool
    holders_count: int
    holders: list[RoleHolder]


# ---------------------------------------------------------------- OIDC clients (A5)


class ClientCreate(_In):
    name: str = Field(max_length=100)
    owner_unit_id: edge.DbId
    redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    grant_types: list[str] = Field(default_factory=lambda: ["authorization_code"], max_length=5)
    allowed_scopes: str = Field(default="openid profile", max_length=500)
    is_confidential: bool = True


class ClientUpdate(_In):
    name: str | None = Field(default=None, max_length=100)
    redirect_uris: list[str] | None = Field(default=None, max_length=20)
    post_logout_redirect_uris: list[str] | None = Field(default=None, max_length=20)
    grant_types: list[str] | None = Field(default=None, max_length=5)
    allowed_scopes: str | None = Field(default=None, max_length=500)


class ClientRead(BaseModel):
    id: int
    client_id: str
    name: str
    owner_unit_id: int
    owner_unit_name: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    allowed_scopes: str
    is_confidential: bool
    is_active: bool
    pre_consented: bool = False
    created_at: datetime


class ClientPreConsent(BaseModel):
    """Whether people signing in to a first-party client skip the consent screen."""

    model_config = ConfigDict(extra="forbid")

    pre_consented: bool


class ClientCreated(BaseModel):
    client: ClientRead
    # Shown this once; only its hash is kept. None for public clients.
    client_secret: str | None
    note: str = "客户端密钥只显示这一次，请立即复制并妥善保存；遗失后只能重新生成。"


# ---------------------------------------------------------------- dashboard


class AdminCount(BaseModel):
    key: str
    label: str
    value: int
    href: str


class AdminOverview(BaseModel):
    is_platform_admin: bool
    scope_names: list[str]
    counts: list[AdminCount]
