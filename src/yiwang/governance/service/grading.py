"""分类分级 (B6, S1): proposals for the grade, PIPL sensitivity and masking rule of each data item.

The catalog owns the grades (`catalog.set_item_grade`, which the exchange's masking reads); governance
proposes them from the field's name, type and resource — a proposal the data officer reviews and
applies, never an automatic change — and audits the grading as one governance step.

Heuristics (documented in docs/governance.md):

* 核心 (core): criminal records and health/medical data (出生医学证明's clinical fields), always
  sensitive personal information, masked or withheld;
* 重要 (important): identity numbers, names, phone numbers, addresses, birth dates of natural persons;
  money amounts (contributions, arrears, capital); property and household facts;
* 一般 (general): everything else (codes of organisations, status words, dates of records …).

Sensitive personal information (PIPL art. 28): identity numbers, medical and health data, criminal
records, financial accounts and amounts of a person, whereabouts (addresses), minors' data, ethnicity.
A core or sensitive item always gets a masking rule (the catalog refuses one without).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from yiwang import catalog, registry
from yiwang.core import audit
from yiwang.core.errors import FieldError, Invalid, NotFound
from yiwang.core.security import Actor
from yiwang.governance.schemas import GradeApplied, GradeApply, GradeSuggestion, GradingRead
from yiwang.governance.service.access import require_manage, require_officer
from yiwang.governance.service.rules import LOADER_FIELDS


@dataclass(frozen=True)
class _Proposal:
    grade: str
    sensitive: bool
    masking: str
    reason: str


_HEALTH = ("gestational", "weight_g", "length_cm", "hospital", "health", "diagnos", "medical", "disease")
_CRIMINAL = ("record_summary", "has_record", "criminal")
_ID_NAMES = ("citizen_id", "owner_id")
_PERSON_NAMES = ("name",)
_ADDRESS = ("address", "location")
_MONEY_PERSON = ("base_fen", "amount_fen", "personal_fen")


def _person_resource(spec: registry.ResourceSpec) -> bool:
    return "citizen" in spec.subject_kinds


def propose(spec: registry.ResourceSpec, field: registry.FieldSpec) -> _Proposal:
    """The proposed grade of one data item, with the reason in Chinese."""
    n = field.name
    person = _person_resource(spec)
    criminal = spec.key == "no_criminal_record" and n not in ("name", "citizen_id")
    if criminal or any(k in n for k in _CRIMINAL):
        masking = "date_to_year" if field.type in ("date", "datetime") else "drop"
        return _Proposal("core", True, masking, "犯罪记录属于敏感个人信息，定为核心数据，仅按授权提供")
    if any(k in n for k in _HEALTH) or (spec.key == "birth_certificate" and field.type == "datetime"):
        masking = "date_to_year" if field.type in ("date", "datetime") else "drop"
        return _Proposal("core", True, masking, "医疗健康信息属于敏感个人信息，定为核心数据")
    if n.endswith(_ID_NAMES) and (n == "owner_id" or person):
        return _Proposal("important", True, "id", "个人身份证件号码属于敏感个人信息，脱敏为保留前6后4位")
    if n.endswith("credit_code"):
        return _Proposal("general", False, "none", "统一社会信用代码是公开的法人标识")
    if n == "phone" or n.endswith("_phone"):
        return _Proposal("important", True, "phone", "个人联系电话，脱敏为保留前3后4位")
    if person and (n == "name" or n.endswith("_name")) and not n.startswith(("school", "taxpayer", "office")):
        return _Proposal("important", False, "name", "自然人姓名，对外提供时只保留姓氏")
    if n == "legal_rep_name":
        return _Proposal("important", False, "name", "法定代表人姓名，对外提供时只保留姓氏")
    if any(k in n for k in _ADDRESS) and (person or n == "location"):
        return _Proposal("important", True, "address", "住址反映个人行踪，属于敏感个人信息，脱敏至街道")
    if person and n in ("birth_date", "birth_at"):
        return _Proposal("important", False, "date_to_year", "出生日期，对外提供时只保留年份")
    if n == "ethnicity":
        return _Proposal("important", True, "drop", "民族属于敏感个人信息，默认不提供")
    if spec.key == "school_enrolment" and n.startswith("student"):
        return _Proposal("important", True, "hash", "未成年人个人信息属于敏感个人信息")
    if field.type == "money_fen":
        if person and n in _MONEY_PERSON:
            return _Proposal("important", True, "drop", "个人缴费金额属于个人财产信息（敏感个人信息）")
        return _Proposal("important", False, "none", "金额数据，定为重要数据")
    if spec.key in ("property", "household", "marriage") and n in (
        "mortgaged",
        "seized",
        "kind",
        "relation",
        "co_ownership",
        "household_type",
    ):
        return _Proposal("important", False, "none", "个人财产或家庭关系状况，定为重要数据")
    return _Proposal("general", False, "none", "一般业务数据")


def _entry(session: Session, resource_key: str) -> catalog.EntryRead | None:
    return catalog.entry_for_resource(session, resource_key)


def grading_suggestions(session: Session, actor: Actor, resource_key: str) -> GradingRead:
    """Proposed grades for every data item of a resource, next to what the catalog holds now."""
    require_officer(actor, "governance.grading.read")
    spec = registry.resource(resource_key)
    entry = _entry(session, spec.key)
    suggestions = []
    for field in spec.fields:
        if field.name in LOADER_FIELDS:
            continue
        p = propose(spec, field)
        item = entry.item(field.name) if entry is not None else None
        suggestions.append(
            GradeSuggestion(
                field=field.name,
                label=field.label,
                type=field.type,
                grade=p.grade,  # type: ignore[arg-type]
                sensitive_personal=p.sensitive,
                masking=p.masking,
                reason=p.reason,
                current_grade=item.grade if item else None,
                current_sensitive_personal=item.sensitive_personal if item else None,
                current_masking=item.masking if item else None,
            )
        )
    return GradingRead(
        resource_key=spec.key,
        resource_name=spec.name,
        entry_code=entry.code if entry else None,
        entry_name=entry.name if entry else None,
        suggestions=suggestions,
    )


def apply_grades(session: Session, actor: Actor, resource_key: str, body: GradeApply) -> GradeApplied:
    """Apply the grades the officer confirmed, through the catalog (which checks and records each
    change), and audit the grading as one governance step."""
    spec = registry.resource(resource_key)
    require_manage(session, actor, spec, "governance.grading.apply", "调整数据分级")
    entry = _entry(session, spec.key)
    if entry is None:
        raise NotFound(detail=f"「{spec.name}」尚未在政务信息资源目录中编目并挂接，无法分级")
    fields = [i.field for i in body.items]
    doubled = sorted({f for f in fields if fields.count(f) > 1})
    unknown = [f for f in fields if entry.item(f) is None]
    if doubled or unknown:
        errors = [FieldError(f"items.{f}", "重复") for f in doubled]
        errors += [FieldError(f"items.{f}", f"目录“{entry.name}”没有这个信息项") for f in unknown]
        raise Invalid(
            detail="分级内容有误：" + "；".join(f"{e.field}{e.message}" for e in errors), errors=errors
        )
    changed, unchanged = [], []
    for item in body.items:
        before = entry.item(item.field)
        after = catalog.set_item_grade(
            session,
            actor,
            entry.code,
            item.field,
            catalog.ItemGradeChange(
                grade=item.grade,
                sensitive_personal=item.sensitive_personal,
                masking=item.masking,
                reason=body.reason or "数据治理分级",
            ),
        )
        if before is not None and (before.grade, before.sensitive_personal, before.masking) == (
            after.grade,
            after.sensitive_personal,
            after.masking,
        ):
            unchanged.append(item.field)
        else:
            changed.append(item.field)
    audit.append(
        session,
        actor,
        "governance.grading.apply",
        object_type="catalog_entry",
        object_id=entry.code,
        detail={"resource": spec.key, "changed": changed, "unchanged": unchanged, "reason": body.reason},
    )
    return GradeApplied(resource_key=spec.key, entry_code=entry.code, changed=changed, unchanged=unchanged)
