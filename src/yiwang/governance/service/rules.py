"""The quality-rule DSL: declarative JSON rules per registry resource, checked, compiled and defaulted.

A rule set is a JSON list of rules; each rule names a `type`, the `field` it checks (a column of the
resource) and what the type needs:

====================  ===========================================================================
type                  meaning (a rule never fires on an empty value, except `required`)
====================  ===========================================================================
``required``          the value is present (not empty after trimming)
``pattern``           the whole value matches ``regex`` (Rust regex syntax: no look-around)
``enum``              the value is one of ``values``
``range``             the number or date lies within ``min`` … ``max`` (either may be left out)
``citizen_id``        a valid GB 11643 citizen ID (length, digits, province, birth date, MOD 11-2)
``credit_code``       a valid GB 32100 unified social credit code (alphabet, authority, area,
                      embedded GB 11714 organisation code, MOD 31)
``date_sane``         a date (or time) not in the future and not before 1900-01-01
``unique``            no other row of the file has the same value (or combination of ``fields``);
                      in insert mode also no row already in the registry (subject fields)
``reference``         the value is a subject of registry resource ``resource``
``citizen_id_match``  the value agrees with the citizen ID in ``id_field``: a date field with the
                      birth date in the ID, a 男/女 field with the sex digit
====================  ===========================================================================

Optional on every rule: ``message`` (Chinese text shown for a failing row instead of the default)
and ``weight`` (0 < w ≤ 1, how much one failure costs the quality score; see `scoring`).

Type checks come from the resource itself and need no rule: a value of an ``int``/``money_fen``
field must be an integer, a ``date`` field a date, etc. Their hits are counted as ``<field>.type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from yiwang import registry
from yiwang.core.errors import FieldError, Invalid, from_validation_errors

RuleType = Literal[
    "required",
    "pattern",
    "enum",
    "range",
    "citizen_id",
    "credit_code",
    "date_sane",
    "unique",
    "reference",
    "citizen_id_match",
]
RULE_TYPES: Final = (
    "required",
    "pattern",
    "enum",
    "range",
    "citizen_id",
    "credit_code",
    "date_sane",
    "unique",
    "reference",
    "citizen_id_match",
)
RULE_LABELS: Final = {
    "required": "必填",
    "pattern": "格式",
    "enum": "取值范围（枚举）",
    "range": "数值/日期范围",
    "citizen_id": "公民身份号码校验（GB 11643）",
    "credit_code": "统一社会信用代码校验（GB 32100）",
    "date_sane": "日期合理性",
    "unique": "唯一性",
    "reference": "关联基础库",
    "citizen_id_match": "与身份证号码一致",
    "type": "数据类型",
    "subject": "权威库中无此主体",
}
# Fields the loader fills itself: never required in a file.
LOADER_FIELDS: Final = frozenset({"source", "updated_at"})
# Rule types whose failure makes a row unusable as a whole (weight 1 by default).
IDENTITY_RULES: Final = frozenset({"citizen_id", "credit_code", "unique", "reference", "subject"})
EARLIEST_DATE: Final = date(1900, 1, 1)


class RuleIn(BaseModel):
    """One rule as written in a rule set (the JSON the API accepts and returns)."""

    model_config = ConfigDict(extra="forbid")

    type: RuleType
    field: str | None = Field(default=None, max_length=64)
    fields: list[str] | None = Field(default=None, max_length=8, description="unique: 组合唯一的字段")
    message: str | None = Field(default=None, max_length=200)
    weight: float | None = Field(default=None, gt=0, le=1)
    regex: str | None = Field(default=None, max_length=500)
    values: list[str] | None = Field(default=None, max_length=500)
    min: int | str | None = None
    max: int | str | None = None
    resource: str | None = Field(default=None, max_length=64)
    id_field: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _shape(self) -> RuleIn:
        if self.type == "unique" and self.fields:
            if self.field and self.field not in self.fields:
                raise ValueError("唯一性规则的检查字段应是组合字段之一")
            self.field = self.field or self.fields[0]
        if not self.field:
            raise ValueError("每条规则都要写明检查的字段")
        needs = {
            "pattern": ("regex", "格式规则需要正则表达式"),
            "enum": ("values", "取值范围规则需要允许的取值"),
            "reference": ("resource", "关联基础库规则需要选择关联的基础库"),
            "citizen_id_match": ("id_field", "与身份证号码一致规则需要选择身份证号码字段"),
        }
        if self.type in needs:
            attr, message = needs[self.type]
            if not getattr(self, attr):
                raise ValueError(message)
        if self.type == "range" and self.min is None and self.max is None:
            raise ValueError("范围规则至少需要最小值或最大值之一")
        return self

    def public(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


@dataclass(frozen=True)
class Rule:
    """A checked rule, ready for the validator."""

    type: str
    field: str
    fields: tuple[str, ...]  # unique: the combination; else (field,)
    message: str | None
    weight: float
    regex: str | None = None
    values: tuple[str, ...] = ()
    min: Any = None
    max: Any = None
    resource: str | None = None
    id_field: str | None = None

    @property
    def name(self) -> str:
        """The key of this rule's hit count: ``citizen_id.citizen_id``, ``a+b.unique``."""
        return f"{'+'.join(self.fields)}.{self.type}"


def _default_weight(spec: registry.ResourceSpec, type_: str, fields: tuple[str, ...]) -> float:
    if type_ in IDENTITY_RULES:
        return 1.0
    if any(f in spec.key_fields or f in spec.subject_fields for f in fields):
        return 1.0
    return 0.5


def type_weight(spec: registry.ResourceSpec, field: str) -> float:
    return 1.0 if field in spec.key_fields or field in spec.subject_fields else 0.5


def _parse_bound(
    spec: registry.ResourceSpec, field: str, value: Any, which: str, errors: list[FieldError], at: str
) -> Any:
    if value is None:
        return None
    kind = spec.field_spec(field).type
    which = {"min": "最小值", "max": "最大值"}.get(which, which)
    if kind in ("int", "money_fen"):
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                return int(str(value).strip())
            except ValueError:
                errors.append(FieldError(at, f"{which}应为整数"))
                return None
        return value
    if kind in ("date", "datetime"):
        try:
            return date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            errors.append(FieldError(at, f"{which}应为日期，按“年-月-日”写，如 2026-12-01"))
            return None
    label = spec.field_spec(field).label
    errors.append(FieldError(at, f"范围规则只能用于数值或日期字段，“{label}”是文本字段"))
    return None


def _regex_ok(regex: str) -> str | None:
    """None when polars (Rust regex) accepts the pattern, else the error's first line."""
    try:
        pl.Series([""], dtype=pl.String).str.contains(f"^(?:{regex})$")
    except Exception as exc:  # polars raises ComputeError for a bad pattern
        return str(exc).strip().splitlines()[0][:200]
    return None


def compile_rules(spec: registry.ResourceSpec, raw: Any) -> list[Rule]:
    """Check a rule set (a JSON list, or {"rules": [...]}) against the resource and compile it.

    Raises one `Invalid` listing every problem, each with the rule's position (``rules.3.regex``)."""
    if isinstance(raw, dict) and "rules" in raw:
        raw = raw["rules"]
    if not isinstance(raw, list):
        raise Invalid.on("rules", "规则集应为 JSON 数组（每条规则一个对象）")
    if len(raw) > 500:
        raise Invalid.on("rules", "规则太多（最多 500 条）")
    errors: list[FieldError] = []
    parsed: list[tuple[int, RuleIn]] = []
    for i, item in enumerate(raw):
        try:
            parsed.append((i, RuleIn.model_validate(item)))
        except ValidationError as exc:
            for err in from_validation_errors(list(exc.errors())).errors:
                name = err.field if err.field != "body" else ""
                errors.append(FieldError(f"rules.{i}{'.' + name if name else ''}", err.message))
    known = set(spec.field_names)
    keys = {s.key for s in registry.resources()}
    rules: list[Rule] = []
    seen: set[tuple[Any, ...]] = set()
    for i, r in parsed:
        at = f"rules.{i}"
        fields = tuple(r.fields) if (r.type == "unique" and r.fields) else (r.field or "",)
        bad = [f for f in (*fields, *([r.id_field] if r.id_field else [])) if f not in known]
        if bad:
            errors.append(FieldError(f"{at}.field", f"资源「{spec.name}」没有字段：{'、'.join(bad)}"))
            continue
        field = r.field or fields[0]
        ftype = spec.field_spec(field).type
        lo = hi = None
        if r.type == "pattern":
            problem = _regex_ok(r.regex or "")
            if problem:
                errors.append(FieldError(f"{at}.regex", f"正则表达式无效：{problem}"))
        elif r.type == "range":
            lo = _parse_bound(spec, field, r.min, "min", errors, f"{at}.min")
            hi = _parse_bound(spec, field, r.max, "max", errors, f"{at}.max")
            if lo is not None and hi is not None and lo > hi:
                errors.append(FieldError(f"{at}.max", "最大值不能小于最小值"))
        elif r.type == "date_sane" and ftype not in ("date", "datetime"):
            errors.append(
                FieldError(
                    f"{at}.field", f"日期合理性规则只能用于日期字段，“{spec.field_spec(field).label}”不是"
                )
            )
        elif r.type == "reference":
            if r.resource not in keys:
                errors.append(FieldError(f"{at}.resource", f"没有名为「{r.resource}」的基础库资源"))
        elif r.type == "citizen_id_match":
            if ftype not in ("date", "string"):
                errors.append(FieldError(f"{at}.field", "“与身份证号码一致”只能用于出生日期或性别字段"))
        elif r.type == "enum" and not r.values:
            errors.append(FieldError(f"{at}.values", "取值列表不能为空"))
        signature = (r.type, fields, r.regex, tuple(r.values or ()), lo, hi, r.resource, r.id_field)
        if signature in seen:
            errors.append(FieldError(at, "与前面的规则重复"))
            continue
        seen.add(signature)
        rules.append(
            Rule(
                type=r.type,
                field=field,
                fields=fields,
                message=r.message,
                weight=r.weight if r.weight is not None else _default_weight(spec, r.type, fields),
                regex=r.regex,
                values=tuple(r.values or ()),
                min=lo,
                max=hi,
                resource=r.resource,
                id_field=r.id_field,
            )
        )
    if errors:
        summary = "；".join(f"{e.field}：{e.message}" for e in errors[:10])
        raise Invalid(detail=f"规则集有误：{summary}", errors=errors)
    return rules


def rules_as_json(rules: list[Rule]) -> list[dict[str, Any]]:
    """The compiled rules back as the JSON the DSL accepts (dates as ISO text)."""
    out: list[dict[str, Any]] = []
    for r in rules:
        item: dict[str, Any] = {"type": r.type}
        if r.type == "unique" and len(r.fields) > 1:
            item["fields"] = list(r.fields)
        else:
            item["field"] = r.field
        if r.regex is not None:
            item["regex"] = r.regex
        if r.values:
            item["values"] = list(r.values)
        for bound in ("min", "max"):
            value = getattr(r, bound)
            if value is not None:
                item[bound] = value.isoformat() if isinstance(value, date) else value
        if r.resource:
            item["resource"] = r.resource
        if r.id_field:
            item["id_field"] = r.id_field
        if r.message:
            item["message"] = r.message
        item["weight"] = r.weight
        out.append(item)
    return out


# ------------------------------------------------------------------ defaults

# Curated rules for the base registries, on top of what the field types imply. Rules whose fields a
# resource lacks are skipped, so a change of the registry never breaks the defaults.
_CURATED: Final[dict[str, list[dict[str, Any]]]] = {
    "population": [
        {"type": "enum", "field": "gender", "values": ["男", "女"]},
        {"type": "citizen_id_match", "field": "birth_date", "id_field": "citizen_id"},
        {"type": "citizen_id_match", "field": "gender", "id_field": "citizen_id"},
        {"type": "pattern", "field": "area_code", "regex": r"\d{6}", "message": "行政区划代码应为6位数字"},
        {"type": "pattern", "field": "community_code", "regex": r"\d{12}", "message": "社区代码应为12位数字"},
        {
            "type": "pattern",
            "field": "phone",
            "regex": r"1[3-9]\d{9}",
            "message": "手机号码应为11位，以1开头",
        },
        {"type": "enum", "field": "status", "values": ["正常", "死亡", "迁出"]},
    ],
    "legal_person": [
        {
            "type": "enum",
            "field": "kind",
            "values": ["企业", "个体工商户", "农民专业合作社", "事业单位", "社会组织", "机关"],
        },
        {"type": "reference", "field": "legal_rep_citizen_id", "resource": "population"},
        {"type": "pattern", "field": "area_code", "regex": r"\d{6}", "message": "行政区划代码应为6位数字"},
        {"type": "enum", "field": "status", "values": ["存续", "注销", "吊销"]},
    ],
    "household": [
        {"type": "reference", "field": "citizen_id", "resource": "population"},
        {"type": "pattern", "field": "area_code", "regex": r"\d{6}", "message": "行政区划代码应为6位数字"},
    ],
    "social_insurance": [
        {"type": "reference", "field": "employer_credit_code", "resource": "legal_person"},
        {
            "type": "pattern",
            "field": "month",
            "regex": r"\d{4}-?(0[1-9]|1[0-2])",
            "message": "费款所属期应为六位年月，如 202612",
        },
    ],
    "school_enrolment": [
        {"type": "reference", "field": "student_citizen_id", "resource": "population"},
    ],
}


def _id_kind(name: str) -> str | None:
    if name.endswith("citizen_id"):
        return "citizen_id"
    if name.endswith("credit_code"):
        return "credit_code"
    return None


def default_rules_json(spec: registry.ResourceSpec) -> list[dict[str, Any]]:
    """Version 0 of every resource's rules: implied by its fields, plus the curated ones above."""
    out: list[dict[str, Any]] = []
    for f in spec.fields:
        if f.name in LOADER_FIELDS:
            continue
        if not f.nullable:
            out.append({"type": "required", "field": f.name})
        kind = _id_kind(f.name)
        if kind:
            out.append({"type": kind, "field": f.name})
        if f.type in ("date", "datetime") and f.name not in ("month",):
            out.append({"type": "date_sane", "field": f.name})
        if f.type == "money_fen":
            out.append({"type": "range", "field": f.name, "min": 0})
    if len(spec.key_fields) == 1:
        out.append({"type": "unique", "field": spec.key_fields[0]})
    else:
        out.append({"type": "unique", "fields": list(spec.key_fields)})
    names = set(spec.field_names)
    keys = {s.key for s in registry.resources()}
    for rule in _CURATED.get(spec.key, []):
        wanted = {rule["field"], rule.get("id_field", rule["field"])}
        if wanted <= names and rule.get("resource", spec.key) in keys:
            out.append(dict(rule))
    return out


def default_rules(spec: registry.ResourceSpec) -> list[Rule]:
    return compile_rules(spec, default_rules_json(spec))


def rule_label(name: str, spec: registry.ResourceSpec | None = None) -> str:
    """``birth_date.type`` → ``出生日期：数据类型`` (with the resource's `spec` to name the fields in
    Chinese; without it the field names stay as they are). An unknown rule kind is "其他规则"."""
    fields, _, kind = name.rpartition(".")
    if spec is not None:
        names = {f.name: f.label for f in spec.fields}
        fields = "+".join(names.get(f, f) for f in fields.split("+"))
    return f"{fields}：{RULE_LABELS.get(kind, '其他规则')}"
