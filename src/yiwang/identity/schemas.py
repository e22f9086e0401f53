"""Input and output models of the identity API (`…Create` in, `…Read` out; never ORM objects)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pydantic import BaseModel, ConfigDict, Field

from yiwang.core.clock import SHANGHAI

# ---- login ---------------------------------------------------------------------------------------


class LoginCreate(BaseModel):
    """Password login; `otp` when the account has a second factor; `on_behalf_of` to act for an
    enterprise (the caller's own credentials, the enterprise's credit code)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field("", max_length=64, description="用户名（个人用户为身份证号码）")
    password: str = Field("", max_length=128)
    otp: str | None = Field(
        None, max_length=16, description="6 位动态验证码或 10 位恢复码（开启双因素认证时必填）"
    )
    on_behalf_of: str | None = Field(None, max_length=32, description="代表企业办事时填写统一社会信用代码")
    new_password: str | None = Field(
        None, max_length=128, description="管理员重置密码后首次登录时必填：本人设置的新密码"
    )


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="有效期（秒）")


# ---- registration --------------------------------------------------------------------------------


class RegisterCreate(BaseModel):
    """Self-registration, step 1: name and citizen ID. A code goes to the phone on record only when
    they match the population registry; the answer is the same either way."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, description="姓名，与身份证一致")
    citizen_id: str = Field(min_length=1, max_length=32, description="18 位居民身份证号码")


class RegistrationStartedRead(BaseModel):
    registration_id: str = Field(description="第 2 步提交时带上")
    expires_in: int = Field(description="有效期（秒）")
    detail: str


class RegisterConfirm(BaseModel):
    """Self-registration, step 2: the SMS code and the password."""

    model_config = ConfigDict(extra="forbid")

    registration_id: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=1, max_length=16, description="短信验证码（6 位数字）")
    password: str = Field(min_length=1, max_length=128)


class AccountRead(BaseModel):
    id: int
    username: str
    name: str
    kind: str
    citizen_id_masked: str


# ---- my account ----------------------------------------------------------------------------------


class RoleRead(BaseModel):
    code: str
    name: str = Field(description="角色中文名")
    org_unit_id: int | None = None
    org_unit_name: str = ""


class DepartmentRead(BaseModel):
    id: int
    name: str


class ActingForRead(BaseModel):
    credit_code: str
    name: str
    as_legal_rep: bool


class ProfileRead(BaseModel):
    id: int
    username: str
    name: str
    kind: str = Field(description="citizen 个人 / enterprise 法人（代表企业） / staff 工作人员")
    kind_label: str
    citizen_id_masked: str
    phone_masked: str
    title: str = ""
    roles: list[RoleRead]
    department: DepartmentRead | None
    acting_for: ActingForRead | None
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None


class SessionRead(BaseModel):
    id: str = Field(description="会话编号（16 位），用于退出该会话")
    current: bool = Field(description="是否为本次请求所用的会话")
    on_behalf_of: str | None
    auth_methods: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class TotpEnrolmentRead(BaseModel):
    secret: str = Field(description="Base32 密钥，无法扫码时手工输入")
    otpauth_uri: str
    qr_svg: str = Field(description="二维码 SVG")


class TotpConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    otp: str = Field(min_length=1, max_length=16)


class TotpDisable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=128)
    otp: str = Field(min_length=1, max_length=16)


class TotpStatusRead(BaseModel):
    totp_enabled: bool


class TotpEnabledRead(TotpStatusRead):
    recovery_codes: list[str] = Field(
        default_factory=list, description="恢复码，只返回这一次（每个可代替动态验证码使用一次）"
    )


class RecoveryCodesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=128, description="当前密码")


class RecoveryCodesRead(BaseModel):
    recovery_codes: list[str] = Field(description="新的恢复码，只返回这一次；旧的全部作废")


class ScopeRead(BaseModel):
    scope: str
    label: str = Field(description="中文名称")
    description: str
    sensitive: bool


class ConsentRead(BaseModel):
    client_id: str
    client_name: str
    scopes: list[ScopeRead]
    updated_at: datetime


class MessageRead(BaseModel):
    detail: str


# ---- enterprises ---------------------------------------------------------------------------------


class EnterpriseRead(BaseModel):
    credit_code: str
    name: str
    as_legal_rep: bool = Field(description="本人是否为该企业的法定代表人（否则为授权办事人）")
    valid_until: datetime | None = Field(description="授权截止时间；法定代表人为空")


class AgentCreate(BaseModel):
    """The legal representative authorises a registered person to act for the enterprise."""

    model_config = ConfigDict(extra="forbid")

    agent_citizen_id: str = Field(min_length=1, max_length=32, description="被授权人身份证号码")
    agent_name: str = Field(min_length=1, max_length=64, description="被授权人姓名")
    valid_until: date = Field(description="授权截止日期（含当日，北京时间）")
    scope: str = Field("*", max_length=200)


class AgentRead(BaseModel):
    id: int
    credit_code: str
    agent_name: str
    agent_citizen_id_masked: str
    scope: str
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None
    status: str = Field(description="active 有效 / expired 已过期 / revoked 已撤销")
    status_label: str


def end_of_local_day(day: date) -> datetime:
    """An authorisation "until 2026-12-31" lasts to the end of that day in Asia/Shanghai (23:59:59, so
    the date shown back is the date chosen)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)
