"""Input and output models of the catalog (pydantic; templates and other modules get these, never ORM rows).

Families: `EntryCreate` / `EntryUpdate` / `EntryRead` / `EntryRow` (list), `ItemIn` / `ItemRead`,
`MountCreate` / `MountRead`, `DemandCreate` / `DemandAnswer` / `DemandRead`, the derived lists'
rows and `RatesRead`. Messages of our own validators are Chinese (they reach people as problem+json).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from yiwang.catalog import vocab
from yiwang.core import edge
from yiwang.core import timeline as core_timeline

Form = Literal["table", "api", "file"]
SharingType = Literal["unconditional", "conditional", "none"]
OpenType = Literal["none", "conditional", "unconditional"]
UpdateCycle = Literal["realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular"]
SharingMethod = Literal["", "api", "exchange", "file", "query"]
Grade = Literal["general", "important", "core"]
DataType = Literal["string", "integer", "decimal", "date", "datetime", "boolean", "binary"]
MaskingRule = Literal["none", "id", "name", "phone", "address", "date_to_year", "hash", "drop"]
Status = Literal["draft", "submitted", "returned", "published", "retired"]
MountKind = Literal["resource", "api", "file"]
DemandOutcome = Literal["satisfied", "planned", "rejected"]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_category(value: str) -> str:
    problem = vocab.category_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _check_code(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = vocab.normalise_code(value)
    problem = vocab.code_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# ================================================================= items


class ItemIn(BaseModel):
    """One 信息项 as drafted."""

    model_config = _STRICT

    field_name: str = Field(min_length=1, max_length=64, description="英文字段名，与挂接资源的字段一致")
    name: str = Field(min_length=1, max_length=100, description="信息项中文名称")
    data_type: DataType = "string"
    length: int | None = Field(default=None, ge=1, le=100_000)
    grade: Grade = "general"
    sensitive_personal: bool = False
    masking: MaskingRule = "none"
    description: str = Field(default="", max_length=200)

    @field_validator("field_name")
    @classmethod
    def _field_name(cls, value: str) -> str:
        if not vocab.FIELD_NAME_RE.fullmatch(value):
            raise ValueError("字段名只能用小写英文字母、数字和下划线，并以字母开头")
        return value


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    field_name: str
    name: str
    data_type: str
    length: int | None
    grade: str
    sensitive_personal: bool
    masking: str
    description: str = ""

    @property
    def grade_label(self) -> str:
        return vocab.label(vocab.GRADES, self.grade)

    @property
    def data_type_label(self) -> str:
        return vocab.label(vocab.DATA_TYPES, self.data_type)

    @property
    def masking_label(self) -> str:
        return vocab.label(vocab.MASKING_RULES, self.masking)

    @property
    def protected(self) -> bool:
        """Masked for a purpose that does not allow sensitive data (核心 or 敏感个人信息)."""
        return self.grade == "core" or self.sensitive_personal


class ItemGradeChange(BaseModel):
    model_config = _STRICT

    grade: Grade
    sensitive_personal: bool | None = None
    masking: MaskingRule | None = None
    reason: str = Field(default="", max_length=500)


# ================================================================= entries


def _check_items(items: list[ItemIn]) -> list[ItemIn]:
    seen: set[str] = set()
    for item in items:
        if item.field_name in seen:
            raise ValueError(f"信息项字段名 {item.field_name} 重复")
        seen.add(item.field_name)
    return items


class _EntryFields(BaseModel):
    model_config = _STRICT

    @field_validator("category_code", check_fields=False)
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        return None if value is None else _check_category(value)

    @field_validator("linked_codes", check_fields=False)
    @classmethod
    def _linked(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = []
        for code in value:
            checked = _check_code(code)
            if checked and checked not in out:
                out.append(checked)
        return out

    @field_validator("items", check_fields=False)
    @classmethod
    def _items(cls, value: list[ItemIn] | None) -> list[ItemIn] | None:
        return None if value is None else _check_items(value)


class EntryCreate(_EntryFields):
    """What a data officer drafts. `code` is generated from the category unless given."""

    code: str | None = Field(default=None, description="资源代码；留空则按分类自动编码")
    category_code: str = Field(description="分类代码：类1位+项2位+目3位(+细目3位)，如 101001")
    name: str = Field(min_length=2, max_length=200)
    department_id: edge.OptionalDbId = Field(default=None, description="提供方部门；数据管理员留空即本部门")
    abstract: str = Field(default="", max_length=2000)
    form: Form
    sharing_type: SharingType
    sharing_condition: str = Field(default="", max_length=2000)
    unshared_reason: str = Field(default="", max_length=2000)
    sharing_method: SharingMethod = ""
    open_type: OpenType = "none"
    open_condition: str = Field(default="", max_length=2000)
    update_cycle: UpdateCycle
    contact_name: str = Field(default="", max_length=50)
    contact_phone: str = Field(default="", max_length=32)
    linked_codes: list[str] = Field(default_factory=list, max_length=50)
    items: list[ItemIn] = Field(default_factory=list, max_length=500)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return _check_code(value)


class EntryUpdate(_EntryFields):
    """A partial update of a draft or returned entry; `items`, when given, replaces the whole list."""

    category_code: str | None = None
    name: str | None = Field(default=None, min_length=2, max_length=200)
    abstract: str | None = Field(default=None, max_length=2000)
    form: Form | None = None
    sharing_type: SharingType | None = None
    sharing_condition: str | None = Field(default=None, max_length=2000)
    unshared_reason: str | None = Field(default=None, max_length=2000)
    sharing_method: SharingMethod | None = None
    open_type: OpenType | None = None
    open_condition: str | None = Field(default=None, max_length=2000)
    update_cycle: UpdateCycle | None = None
    contact_name: str | None = Field(default=None, max_length=50)
    contact_phone: str | None = Field(default=None, max_length=32)
    linked_codes: list[str] | None = Field(default=None, max_length=50)
    items: list[ItemIn] | None = Field(default=None, max_length=500)


class MountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    resource_key: str | None
    endpoint: str
    description: str
    active: bool
    mounted_at: datetime
    mounted_by_name: str
    unmounted_at: datetime | None
    unmounted_by_name: str
    unmount_reason: str

    @property
    def kind_label(self) -> str:
        return vocab.label(vocab.MOUNT_KINDS, self.kind)


class _EntryBase(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    category_code: str
    name: str
    department_id: int
    provider_name: str
    provider_code: str
    form: str
    sharing_type: str
    sharing_method: str
    open_type: str
    update_cycle: str
    status: str
    version: int
    published_at: datetime | None
    updated_at: datetime

    @property
    def url_code(self) -> str:
        return vocab.url_code(self.code)

    @property
    def category_path(self) -> list[str]:
        return vocab.category_path(self.category_code)

    @property
    def form_label(self) -> str:
        return vocab.label(vocab.FORMS, self.form)

    @property
    def sharing_label(self) -> str:
        return vocab.label(vocab.SHARING_TYPES, self.sharing_type)

    @property
    def sharing_method_label(self) -> str:
        return vocab.label(vocab.SHARING_METHODS, self.sharing_method)

    @property
    def open_label(self) -> str:
        return vocab.label(vocab.OPEN_TYPES, self.open_type)

    @property
    def cycle_label(self) -> str:
        return vocab.label(vocab.UPDATE_CYCLES, self.update_cycle)

    @property
    def status_label(self) -> str:
        return vocab.label(vocab.STATUSES, self.status)

    @property
    def status_tone(self) -> str:
        return vocab.STATUS_TONES.get(self.status, "grey")


class EntryRow(_EntryBase):
    """One entry in a list (no items)."""

    mounted: bool = False
    item_count: int = 0


class EntryRead(_EntryBase):
    """A whole entry with its data items and its live mount (if any)."""

    abstract: str
    sharing_condition: str
    unshared_reason: str
    open_condition: str
    contact_name: str
    contact_phone: str
    linked_codes: list[str]
    review_opinion: str
    created_at: datetime
    submitted_at: datetime | None
    retired_at: datetime | None
    items: list[ItemRead]
    mount: MountRead | None = None

    @property
    def mounted(self) -> bool:
        return self.mount is not None

    def item(self, field_name: str) -> ItemRead | None:
        for it in self.items:
            if it.field_name == field_name:
                return it
        return None


class EntryList(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[EntryRow]


class TimelineEvent(core_timeline.TimelineEvent):
    ACTION_LABELS: ClassVar[dict[str, str]] = vocab.TIMELINE_ACTIONS

    version: int


class Review(BaseModel):
    model_config = _STRICT

    decision: Literal["approve", "return"]
    opinion: str = Field(default="", max_length=2000)


class ReasonIn(BaseModel):
    model_config = _STRICT

    reason: str = Field(min_length=2, max_length=2000)


class MountCreate(BaseModel):
    model_config = _STRICT

    kind: MountKind = "resource"
    resource_key: str | None = Field(default=None, max_length=64)
    endpoint: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _target(self) -> MountCreate:
        if self.kind == "resource" and not self.resource_key:
            raise ValueError("挂接基础库资源时须填写资源标识 resource_key")
        if self.kind == "api" and not self.endpoint:
            raise ValueError("挂接接口时须填写接口地址 endpoint")
        if self.kind == "file" and not self.description:
            raise ValueError("挂接文件时须填写文件说明 description")
        return self


class ResourceOption(BaseModel):
    """A registry resource as the mount form offers it."""

    key: str
    name: str
    department: str
    fields: list[str]
    mounted_by: str | None = None  # the code of the entry it is bound to


# ================================================================= demands


class DemandCreate(BaseModel):
    model_config = _STRICT

    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    purpose: str = Field(min_length=2, max_length=2000, description="用途及依据")
    wanted_items: list[str] = Field(default_factory=list, max_length=100)
    requester_department_id: edge.OptionalDbId = Field(default=None, description="需求部门；留空即本部门")
    provider_department_id: edge.OptionalDbId = Field(default=None, description="建议的提供部门（可不填）")

    @field_validator("wanted_items")
    @classmethod
    def _wanted(cls, value: list[str]) -> list[str]:
        out = []
        for item in value:
            item = item.strip()
            if len(item) > 100:
                raise ValueError("单个信息项名称不能超过 100 字")
            if item and item not in out:
                out.append(item)
        return out


class DemandAnswer(BaseModel):
    model_config = _STRICT

    outcome: DemandOutcome
    answer: str = Field(min_length=2, max_length=4000)
    entry_code: str | None = None

    @field_validator("entry_code")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return _check_code(value)


class DemandRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    requester_department_id: int
    requester_name: str
    provider_department_id: int | None
    provider_name: str
    title: str
    description: str
    purpose: str
    wanted_items: list[str]
    status: str
    answer: str
    entry_code: str | None
    created_at: datetime
    created_by_name: str
    answered_at: datetime | None
    answered_by_name: str

    @property
    def status_label(self) -> str:
        return vocab.label(vocab.DEMAND_STATUSES, self.status)


class DemandList(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[DemandRead]


# ================================================================= derived lists and rates


class SharingRow(EntryRow):
    """A row of the sharing or open list: the entry with its conditions and item names."""

    abstract: str = ""
    sharing_condition: str = ""
    open_condition: str = ""
    item_names: list[str] = Field(default_factory=list)


class SharingList(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[SharingRow]


class ResponsibilityRow(BaseModel):
    department_id: int
    provider_name: str
    provider_code: str
    entries: int
    drafts: int
    submitted: int
    published: int
    mounted: int
    retired: int
    demands_open: int
    contact_name: str
    contact_phone: str


class ResponsibilityList(BaseModel):
    total: int
    items: list[ResponsibilityRow]


class FormRates(BaseModel):
    form: str
    label: str
    published: int
    mounted: int
    mount_rate: float


class DepartmentRates(BaseModel):
    department_id: int
    provider_name: str
    entries: int
    published: int
    mounted: int
    mount_rate: float
    by_form: list[FormRates]


class RatesRead(BaseModel):
    """Catalog figures, computed from rows (never typed in).

    * `mount_rate` = mounted published entries / published entries (挂接率);
    * `catalog_rate` (编目率) = registry resources bound to a published entry / registry resources;
    * `department_coverage` = departments with a published entry / departments with any entry."""

    entries: int
    published: int
    mounted: int
    mount_rate: float
    registry_resources: int
    catalogued_resources: int
    catalog_rate: float
    departments: int
    departments_publishing: int
    department_coverage: float
    by_form: list[FormRates]
    by_department: list[DepartmentRates]


class CategoryNode(BaseModel):
    code: str
    name: str
    children: list[CategoryNode] = Field(default_factory=list)
