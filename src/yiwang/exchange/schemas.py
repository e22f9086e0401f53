"""Input and output models of the exchange (pydantic; templates and other modules get these, never ORM
rows). Families: `RequestCreate` / `Decision` / `RequestRead` / `RequestList`, `GrantRead` /
`GrantList`, `TimelineEvent`, `CallRead` / `DataUsePage`, `ObjectionCreate` / `ObjectionAnswer` /
`ObjectionRead`, `DelegationCreate` / `DelegationRead`, `StatRow` / `StatsRead`, `SettingsRead` /
`SettingsUpdate`. Messages of our own validators are Chinese: they reach people as problem+json."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from yiwang.core import timeline as core_timeline
from yiwang.core.clock import to_local

STATUSES = {
    "submitted": "待审批",
    "approved": "已同意",
    "narrowed": "已同意（收窄）",
    "refused": "不予同意",
    "withdrawn": "已撤回",
}
STATUS_TONES = {
    "submitted": "yellow",
    "approved": "green",
    "narrowed": "blue",
    "refused": "red",
    "withdrawn": "grey",
}
DECISIONS = {"approve": "同意", "narrow": "收窄后同意", "refuse": "不予同意"}
RESULTS = {"ok": "已提供", "refused": "已拒绝", "failed": "未能提供"}
OBJECTION_STATUSES = {"open": "待答复", "answered": "已答复"}
TIMELINE_ACTIONS = {
    "submitted": "提交申请",
    "approved": "同意",
    "narrowed": "收窄后同意",
    "refused": "不予同意",
    "withdrawn": "撤回申请",
    "granted": "生成授权",
    "revoked": "撤销授权",
    "raised": "提出异议",
    "answered": "答复异议",
}
MODES = {"subject": "按主体查询", "batch": "批量查询", "slice": "区域切片"}

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_region(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise ValueError("地区代码前缀应为 1–12 位数字（如区县 219502、街道 219502001）")
    return value


def _check_fields(value: list[str]) -> list[str]:
    out: list[str] = []
    for name in value:
        name = name.strip()
        if not name:
            continue
        if len(name) > 64 or not name.replace("_", "").isalnum() or not name.isascii():
            raise ValueError(f"字段名“{name[:64]}”格式不正确")
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError("请至少选择一个字段")
    return out


# ================================================================= requests


class RequestCreate(BaseModel):
    """A sharing request (共享申请). Name the resource by its registry key or its catalog code."""

    model_config = _STRICT

    resource_key: str | None = Field(default=None, max_length=64, description="基础库资源标识，如 population")
    catalog_code: str | None = Field(
        default=None, max_length=24, description="目录资源代码，如 101001/000001"
    )
    client_id: str | None = Field(
        default=None, max_length=64, description="使用数据的接入系统；留空表示本部门工作人员（窗口）使用"
    )
    purpose: str = Field(min_length=2, max_length=200, description="用途，如“婚姻登记办理”")
    legal_basis: str = Field(min_length=2, max_length=2000, description="法律法规或政策依据")
    fields: list[str] = Field(min_length=1, max_length=200, description="申请的信息项（字段名）")
    allow_sensitive: bool = Field(default=False, description="是否申请不脱敏的敏感个人信息（须有法定依据）")
    bulk: bool = Field(default=False, description="是否申请批量 / 按区域切片获取（数据回流）")
    region_prefix: str | None = Field(default=None, max_length=12, description="切片限定的地区代码前缀")
    rate_per_minute: int = Field(default=60, ge=1, le=1_000_000, description="每分钟调用上限")
    period_from: date = Field(description="使用期限起始日")
    period_to: date = Field(description="使用期限截止日")

    _fields = field_validator("fields")(_check_fields)
    _region = field_validator("region_prefix")(_check_region)

    @model_validator(mode="after")
    def _shape(self) -> RequestCreate:
        if not self.resource_key and not self.catalog_code:
            raise ValueError("请指定申请的资源（resource_key 或 catalog_code）")
        if self.period_to < self.period_from:
            raise ValueError("使用期限的截止日期不能早于起始日期")
        if (self.period_to - self.period_from).days > 3 * 366:
            raise ValueError("使用期限最长三年，期满后请重新申请")
        if self.region_prefix and not self.bulk:
            raise ValueError("只有申请批量获取时才能限定地区")
        return self


class Decision(BaseModel):
    """The provider's decision: approve as asked, narrow (fewer fields, shorter period, lower rate,
    no sensitive data, no bulk, a smaller region) or refuse, with an opinion."""

    model_config = _STRICT

    decision: Literal["approve", "narrow", "refuse"]
    opinion: str = Field(default="", max_length=2000)
    fields: list[str] | None = Field(default=None, max_length=200)
    period_to: date | None = None
    rate_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    allow_sensitive: bool | None = None
    allow_bulk: bool | None = None
    region_prefix: str | None = Field(default=None, max_length=12)

    _region = field_validator("region_prefix")(_check_region)

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_fields(value)


class TimelineEvent(core_timeline.TimelineEvent):
    ACTION_LABELS: ClassVar[dict[str, str]] = TIMELINE_ACTIONS


class RequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    client_id: str | None
    client_name: str
    consumer_dept_id: int
    consumer_dept_name: str
    provider_dept_id: int
    provider_dept_name: str
    resource_key: str
    catalog_code: str
    resource_name: str
    purpose: str
    legal_basis: str
    fields: list[str]
    allow_sensitive: bool
    bulk: bool
    region_prefix: str | None
    rate_per_minute: int
    period_from: date
    period_to: date
    status: str
    submitted_at: datetime
    due_at: datetime
    working_days: int
    filed_by_name: str
    decided_at: datetime | None
    decided_by_name: str
    opinion: str
    grant_id: int | None
    overdue: bool = False
    timeline: list[TimelineEvent] = Field(default_factory=list)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def status_tone(self) -> str:
        return STATUS_TONES.get(self.status, "grey")

    @property
    def user_label(self) -> str:
        return self.client_name or "本部门工作人员（窗口）"


class RequestList(BaseModel):
    total: int
    offset: int
    limit: int
    overdue: int
    items: list[RequestRead]


# ================================================================= grants


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    request_id: int | None
    client_id: str | None
    client_name: str
    consumer_dept_id: int
    provider_dept_id: int
    resource_key: str
    catalog_code: str
    resource_name: str
    fields: list[str]
    purpose: str
    allow_sensitive: bool
    allow_bulk: bool
    region_prefix: str | None
    rate_per_minute: int
    valid_from: datetime
    valid_until: datetime
    created_at: datetime
    revoked_at: datetime | None
    revoked_by_name: str
    revoke_reason: str
    state: str = "active"  # active / expired / pending / revoked

    @field_validator("fields", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [f for f in value.split(",") if f]
        return value

    @property
    def state_label(self) -> str:
        return {"active": "有效", "expired": "已到期", "pending": "未到生效日", "revoked": "已撤销"}.get(
            self.state, self.state
        )

    @property
    def user_label(self) -> str:
        return self.client_name or "本部门工作人员（窗口）"


class GrantList(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[GrantRead]


class RevokeGrant(BaseModel):
    model_config = _STRICT

    reason: str = Field(min_length=2, max_length=2000)


# ================================================================= delegations


class DelegationCreate(BaseModel):
    """A provider's delegation of its sharing decisions to an operator account, until a date."""

    model_config = _STRICT

    provider_dept_id: int = Field(ge=1, le=2_147_483_647, description="委托的提供部门")
    delegate_account_id: int = Field(ge=1, le=2_147_483_647, description="受托的平台运营人员账号")
    reason: str = Field(min_length=2, max_length=400, description="委托事由")
    valid_until: date = Field(description="委托截止日期（含当日，最长 90 天）")


class DelegationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider_dept_id: int
    provider_dept_name: str
    delegate_account_id: int
    delegate_name: str
    reason: str
    valid_until: datetime
    created_at: datetime
    created_by_name: str
    revoked_at: datetime | None = None
    revoked_by_name: str = ""
    active: bool = False


# ================================================================= who used my data


class CallRead(BaseModel):
    """One use of a person's (or an enterprise's) data, in the words of the data-use page."""

    id: int
    at: datetime
    department: str  # who used it (the consumer department)
    system: str  # which system (client name), or 工作人员
    resource: str  # which resource (catalog entry name)
    provider: str  # who provided it
    purpose: str
    result: str
    fields: list[str]
    row_count: int
    objection_id: int | None = None
    objection_status: str | None = None
    objection_answer: str = ""

    @property
    def result_label(self) -> str:
        return RESULTS.get(self.result, self.result)

    @property
    def local_at(self) -> datetime:
        return to_local(self.at)


class DataUsePage(BaseModel):
    subject_kind: Literal["citizen", "enterprise"]
    total: int
    offset: int
    limit: int
    items: list[CallRead]


class PlatformAccess(BaseModel):
    """A platform record about the subject from the audit chain (not a shared-data call)."""

    at: datetime
    action: str
    action_label: str
    actor_kind: str
    actor_name: str
    purpose: str
    result: str


class ObjectionCreate(BaseModel):
    model_config = _STRICT

    text: str = Field(min_length=5, max_length=2000, description="异议内容")


class ObjectionAnswer(BaseModel):
    model_config = _STRICT

    answer: str = Field(min_length=5, max_length=2000)


class ObjectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: int
    subject: str
    raised_by_name: str
    text: str
    status: str
    provider_dept_id: int
    consumer_dept_id: int
    client_id: str
    resource_key: str
    catalog_code: str
    created_at: datetime
    answer: str
    answered_at: datetime | None
    answered_by_name: str
    call_at: datetime | None = None
    call_purpose: str = ""
    resource: str = ""
    department: str = ""
    system: str = ""

    @property
    def status_label(self) -> str:
        return OBJECTION_STATUSES.get(self.status, self.status)


class ObjectionList(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ObjectionRead]


# ================================================================= statistics and the call log


class StatRow(BaseModel):
    key: str
    label: str
    calls: int  # 服务次数
    ok: int
    refused: int
    rows: int  # 交换总量 (records exchanged)


class StatsRead(BaseModel):
    by: str
    side: str
    date_from: date
    date_to: date
    total_calls: int
    total_ok: int
    total_refused: int
    total_rows: int
    items: list[StatRow]


class CallLogRow(BaseModel):
    """A row of the operator's call log (staff view: subjects are masked)."""

    id: int
    at: datetime
    mode: str
    client_id: str
    system: str
    department: str
    provider: str
    resource_key: str
    resource: str
    subject_masked: str
    region: str
    purpose: str
    fields: list[str]
    row_count: int
    result: str
    status: int
    reason: str
    latency_us: int
    grant_id: int | None
    audit_ref: str

    @property
    def result_label(self) -> str:
        return RESULTS.get(self.result, self.result)

    @property
    def mode_label(self) -> str:
        return MODES.get(self.mode, self.mode)

    @property
    def reason_text(self) -> str:
        """The reason for people: the stored reason leads with the problem type ("no-grant: …") for
        machines; the page shows only the Chinese part."""
        head, sep, rest = self.reason.partition(": ")
        return rest if sep and re.fullmatch(r"[a-z0-9-]+", head) else self.reason


class CallLogPage(BaseModel):
    offset: int
    limit: int
    has_more: bool
    items: list[CallLogRow]


# ================================================================= settings


class SettingsRead(BaseModel):
    decision_working_days: int
    unconditional_rate_per_minute: int
    max_batch: int
    token_cache_seconds: int


class SettingsUpdate(BaseModel):
    model_config = _STRICT

    decision_working_days: int | None = Field(default=None, ge=1, le=60)
    unconditional_rate_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    max_batch: int | None = Field(default=None, ge=1, le=200)
    token_cache_seconds: int | None = Field(default=None, ge=0, le=30)
