"""Read models and inputs of 数据治理 (plain pydantic: templates and clients never see ORM objects)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LOAD_STATUSES = {
    "running": "装载中",
    "succeeded": "成功",
    "partial": "部分拒收",
    "failed": "失败",
    "interrupted": "已中断",
}
LOAD_STATUS_TONES = {
    "running": "blue",
    "succeeded": "green",
    "partial": "yellow",
    "failed": "red",
    "interrupted": "red",
}
ROW_STATUSES = {"open": "待处理", "corrected": "已更正", "reloaded": "已重新装载", "dismissed": "已忽略"}
ROW_STATUS_TONES = {"open": "yellow", "corrected": "blue", "reloaded": "green", "dismissed": "grey"}
CONFLICT_STATUSES = {
    "resolved_by_authority": "以权威来源为准",
    "confirmed": "权威部门已确认",
    "corrected": "权威部门已更正",
}
CONFLICT_STATUS_TONES = {"resolved_by_authority": "yellow", "confirmed": "green", "corrected": "blue"}
MODES = {"insert": "仅新增", "upsert": "新增或更新"}
GRADE_LABELS = {"general": "一般", "important": "重要", "core": "核心"}

Mode = Literal["insert", "upsert"]


class RuleHit(BaseModel):
    rule: str  # "citizen_id.citizen_id"
    label: str  # "公民身份号码：公民身份号码校验（GB 11643）"
    hits: int


class LoadReport(BaseModel):
    """One load and its quality report."""

    id: int
    resource_key: str
    resource_name: str
    department: str
    department_name: str
    source_department: str
    source_department_name: str
    authoritative: bool
    actor_name: str
    filename: str
    format: str
    encoding: str | None
    mode: Mode
    status: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    conflicts: int
    rule_hits: list[RuleHit]
    quality_score: float | None
    rule_set_version: int
    columns: list[str]
    parent_load_id: int | None
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    error: str

    @property
    def status_label(self) -> str:
        return _load_status_label(self.status, self.rows_loaded)

    @property
    def status_tone(self) -> str:
        return LOAD_STATUS_TONES.get(self.status, "grey")

    @property
    def mode_label(self) -> str:
        return MODES.get(self.mode, self.mode)

    @property
    def rows_per_second(self) -> float | None:
        if not self.duration_ms:
            return None
        return round(self.rows_read * 1000 / self.duration_ms, 1)


class LoadRow(BaseModel):
    """A load in a list."""

    id: int
    resource_key: str
    resource_name: str
    source_department: str
    source_department_name: str
    authoritative: bool
    actor_name: str
    filename: str
    format: str
    mode: Mode
    status: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    conflicts: int
    quality_score: float | None
    started_at: datetime

    @property
    def status_label(self) -> str:
        return _load_status_label(self.status, self.rows_loaded)

    @property
    def status_tone(self) -> str:
        return LOAD_STATUS_TONES.get(self.status, "grey")


def _load_status_label(status: str, rows_loaded: int) -> str:
    if status == "partial" and rows_loaded == 0:
        return "全部拒收"
    return LOAD_STATUSES.get(status, status)


class Reason(BaseModel):
    field: str
    rule: str
    message: str


class RejectedRowRead(BaseModel):
    id: int
    load_id: int
    row_number: int
    subject: str | None
    data: dict[str, Any]
    original: dict[str, Any] | None
    reasons: list[Reason]
    status: str
    reload_load_id: int | None
    updated_by_name: str
    updated_at: datetime | None

    @property
    def status_label(self) -> str:
        return ROW_STATUSES.get(self.status, self.status)

    @property
    def status_tone(self) -> str:
        return ROW_STATUS_TONES.get(self.status, "grey")

    def reasons_for(self, field: str) -> list[str]:
        return [r.message for r in self.reasons if r.field == field]


class RowCorrection(BaseModel):
    """New values for some fields of a rejected row (the others keep their values)."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, str | None] = Field(..., description="字段名 → 更正后的值（空值表示清空）")


class RuleSetRead(BaseModel):
    resource_key: str
    resource_name: str
    version: int  # 0: the built-in defaults
    rules: list[dict[str, Any]]
    note: str
    created_by_name: str
    created_at: datetime | None
    is_default: bool


class RuleSetWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[dict[str, Any]] = Field(..., description="规则列表，见 docs/governance.md")
    note: str = Field(default="", max_length=200)


class ConflictRead(BaseModel):
    id: int
    resource_key: str
    resource_name: str
    subject: str
    attribute: str
    attribute_label: str
    authority_department: str
    authority_department_name: str
    authority_value: str | None
    source_department: str
    source_department_name: str
    source_value: str | None
    load_id: int | None
    detected_at: datetime
    status: str
    winning_value: str | None
    resolved_by_name: str
    resolved_at: datetime | None
    note: str

    @property
    def status_label(self) -> str:
        return CONFLICT_STATUSES.get(self.status, self.status)

    @property
    def status_tone(self) -> str:
        return CONFLICT_STATUS_TONES.get(self.status, "grey")


class ConflictResolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["confirm", "correct"] = Field(
        ..., description="confirm：确认权威库的值；correct：更正权威库（默认采用另一来源的值）"
    )
    value: str | None = Field(default=None, max_length=500, description="更正后的值（action=correct）")
    note: str = Field(default="", max_length=500)


class GradeSuggestion(BaseModel):
    field: str
    label: str
    type: str
    grade: Literal["general", "important", "core"]
    sensitive_personal: bool
    masking: str
    reason: str
    # What the catalog holds now (None when the resource has no catalog entry or item).
    current_grade: str | None = None
    current_sensitive_personal: bool | None = None
    current_masking: str | None = None

    @property
    def grade_label(self) -> str:
        return GRADE_LABELS.get(self.grade, self.grade)

    @property
    def changed(self) -> bool:
        return (self.current_grade, self.current_sensitive_personal, self.current_masking) != (
            self.grade,
            self.sensitive_personal,
            self.masking,
        )


class GradingRead(BaseModel):
    resource_key: str
    resource_name: str
    entry_code: str | None
    entry_name: str | None
    suggestions: list[GradeSuggestion]


class GradeItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(..., max_length=64)
    grade: Literal["general", "important", "core"]
    sensitive_personal: bool = False
    masking: Literal["none", "id", "name", "phone", "address", "date_to_year", "hash", "drop"] = "none"


class GradeApply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[GradeItem] = Field(..., min_length=1, max_length=200)
    reason: str = Field(default="", max_length=500)


class GradeApplied(BaseModel):
    resource_key: str
    entry_code: str
    changed: list[str]
    unchanged: list[str]
