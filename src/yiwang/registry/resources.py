"""Registry resources: what each base or department registry offers, described as data.

A `ResourceSpec` is what the catalog mounts (信息资源: name, provider, 信息项 with their types), what the
exchange serves and what governance loads: its key, Chinese name, owning department, the subject it is
keyed by (citizen or enterprise, in one or more fields), its fields, the field for regional slices
(数据回流 to districts and streets) and how the platform holds it:

* "table"    — held in the platform, written by platform services or the demo;
* "file"     — a department's periodic export, loaded by governance into the same table (`bulk_write`);
* "external" — the department system answers live, proxied by the exchange (`ExternalSource`).

`storage` is the declared default. Any resource can also be registered as an external source; then
`storage_of(session, key)` says "external". Field names are the table's column names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from yiwang.core.errors import FieldError, Invalid, NotFound

FieldType = Literal["string", "int", "date", "datetime", "bool", "money_fen"]
SubjectKind = Literal["citizen", "enterprise"]
StorageKind = Literal["table", "external", "file"]

FIELD_TYPES: Final = ("string", "int", "date", "datetime", "bool", "money_fen")
STORAGE_KINDS: Final = ("table", "external", "file")


@dataclass(frozen=True)
class FieldSpec:
    """One 信息项: column name, Chinese label, type; `unit` for numbers with one (cm², 克 …)."""

    name: str
    label: str
    type: FieldType = "string"
    nullable: bool = False
    unit: str = ""


@dataclass(frozen=True)
class ResourceSpec:
    key: str
    name: str  # Chinese name, e.g. 婚姻登记信息
    department: str  # owning department's short code (identity org tree): gongan, minzheng, …
    department_name: str  # the `source` written on its rows, e.g. 市民政局
    subject_kinds: tuple[SubjectKind, ...]
    subject_fields: tuple[str, ...]  # fields a subject ID is looked up in (OR)
    fields: tuple[FieldSpec, ...]
    table: str
    key_fields: tuple[str, ...]  # the natural unique key: conflict target of upserts
    region_field: str | None = None  # a GB/T 2260 / 12-digit division code, for regional slices
    storage: StorageKind = "table"
    summary: str = ""  # 信息资源摘要
    update_cycle: str = "实时"  # 更新周期: 实时 / 每日 / 每月 …
    _by_name: dict[str, FieldSpec] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({f.name: f for f in self.fields})

    @property
    def subject_kind(self) -> SubjectKind:
        """The main kind of subject (the first); see `subject_kinds` for resources that take both."""
        return self.subject_kinds[0]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field_spec(self, name: str) -> FieldSpec:
        try:
            return self._by_name[name]
        except KeyError:
            raise _unknown_fields(self, [name]) from None

    def select_fields(self, names: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
        """The requested field names checked against the spec (all fields when None)."""
        if names is None:
            return self.field_names
        if isinstance(names, str):
            names = [n for n in names.split(",") if n]
        wanted = tuple(dict.fromkeys(n.strip() for n in names))
        if not wanted:
            raise Invalid.on("fields", "请至少选择一个字段")
        unknown = [n for n in wanted if n not in self._by_name]
        if unknown:
            raise _unknown_fields(self, unknown)
        return wanted


def _unknown_fields(spec: ResourceSpec, names: list[str]) -> Invalid:
    listed = "、".join(names)
    message = f"资源「{spec.name}」没有字段：{listed}"
    return Invalid(detail=message, errors=[FieldError("fields", message)])


# ------------------------------------------------------------------------------------------ helpers
def _f(
    name: str, label: str, type_: FieldType = "string", *, nullable: bool = False, unit: str = ""
) -> FieldSpec:
    return FieldSpec(name, label, type_, nullable, unit)


_TAIL = (_f("source", "数据来源单位"), _f("updated_at", "更新时间", "datetime"))


def _fields(*items: FieldSpec) -> tuple[FieldSpec, ...]:
    return (*items, *_TAIL)


# ------------------------------------------------------------------------------------------ the specs
_SPECS: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        key="population",
        name="人口基础信息",
        department="gongan",
        department_name="市公安局",
        subject_kinds=("citizen",),
        subject_fields=("citizen_id",),
        table="registry_person",
        key_fields=("citizen_id",),
        region_field="community_code",
        summary="全市户籍人口的身份、户籍地、居住社区和联系方式（人口基础库）",
        update_cycle="实时",
        fields=_fields(
            _f("citizen_id", "公民身份号码"),
            _f("name", "姓名"),
            _f("gender", "性别"),
            _f("birth_date", "出生日期", "date"),
            _f("ethnicity", "民族"),
            _f("area_code", "户籍地行政区划代码"),
            _f("community_code", "居住社区代码", nullable=True),
            _f("address", "住址"),
            _f("household_no", "户号"),
            _f("relation", "与户主关系"),
            _f("phone", "联系电话", nullable=True),
            _f("status", "人员状态"),
        ),
    ),
    ResourceSpec(
        key="legal_person",
        name="法人基础信息",
        department="shichang",
        department_name="市市场监管局",
        subject_kinds=("enterprise",),
        subject_fields=("credit_code",),
        table="registry_legal_person",
        key_fields=("credit_code",),
        region_field="area_code",
        summary="企业、个体工商户、事业单位和社会组织的登记信息（法人基础库）",
        update_cycle="实时",
        fields=_fields(
            _f("credit_code", "统一社会信用代码"),
            _f("name", "名称"),
            _f("kind", "主体类型"),
            _f("org_form", "组织形式"),
            _f("legal_rep_citizen_id", "法定代表人公民身份号码"),
            _f("legal_rep_name", "法定代表人姓名"),
            _f("registered_capital_fen", "注册资本", "money_fen"),
            _f("established_on", "成立日期", "date"),
            _f("area_code", "登记地行政区划代码"),
            _f("address", "住所"),
            _f("industry_code", "行业代码"),
            _f("industry_name", "行业"),
            _f("business_scope", "经营范围"),
            _f("status", "登记状态"),
        ),
    ),
    ResourceSpec(
        key="household",
        name="户籍登记信息",
        department="gongan",
        department_name="市公安局",
        subject_kinds=("citizen",),
        subject_fields=("citizen_id",),
        table="registry_household",
        key_fields=("citizen_id",),
        region_field="community_code",
        summary="户号、户主、与户主关系、户籍地址和登记日期，可替代户籍证明",
        update_cycle="实时",
        fields=_fields(
            _f("citizen_id", "公民身份号码"),
            _f("name", "姓名"),
            _f("household_no", "户号"),
            _f("household_type", "户别"),
            _f("head_citizen_id", "户主公民身份号码"),
            _f("head_name", "户主姓名"),
            _f("relation", "与户主关系"),
            _f("address", "户籍地址"),
            _f("area_code", "户籍地行政区划代码"),
            _f("community_code", "社区代码", nullable=True),
            _f("police_station", "登记机关"),
            _f("registered_on", "登记日期", "date"),
            _f("reason", "登记原因"),
            _f("status", "户籍状态"),
        ),
    ),
    ResourceSpec(
        key="no_criminal_record",
        name="无犯罪记录信息",
        department="gongan",
        department_name="市公安局",
        subject_kinds=("citizen",),
        subject_fields=("citizen_id",),
        table="registry_no_criminal_record",
        key_fields=("citizen_id",),
        summary="是否有犯罪记录及核查时间；仅在有记录时提供摘要，可替代无犯罪记录证明",
        update_cycle="实时",
        fields=_fields(
            _f("citizen_id", "公民身份号码"),
            _f("name", "姓名"),
            _f("has_record", "有犯罪记录", "bool"),
            _f("record_summary", "记录摘要", nullable=True),
            _f("checked_at", "核查时间", "datetime"),
        ),
    ),
    ResourceSpec(
        key="marriage",
        name="婚姻登记信息",
        department="minzheng",
        department_name="市民政局",
        subject_kinds=("citizen",),
        subject_fields=("party_a_citizen_id", "party_b_citizen_id"),
        table="registry_marriage",
        key_fields=("certificate_no",),
        region_field="office_area_code",
        summary="结婚、离婚登记记录（双方身份、登记日期、登记机关、证件字号），可替代婚姻状况证明",
        update_cycle="实时",
        fields=_fields(
            _f("certificate_no", "证件字号"),
            _f("kind", "登记类型"),
            _f("party_a_citizen_id", "男方公民身份号码"),
            _f("party_a_name", "男方姓名"),
            _f("party_b_citizen_id", "女方公民身份号码"),
            _f("party_b_name", "女方姓名"),
            _f("registered_on", "登记日期", "date"),
            _f("office", "登记机关"),
            _f("office_area_code", "登记机关行政区划代码"),
        ),
    ),
    ResourceSpec(
        key="social_insurance",
        name="社会保险缴费信息",
        department="renshe",
        department_name="市人社局",
        subject_kinds=("citizen",),
        subject_fields=("citizen_id",),
        table="registry_social_insurance",
        key_fields=("citizen_id", "insurance_type", "month"),
        region_field="area_code",
        storage="file",
        summary="按月、按险种的社会保险缴费明细（基数、金额、缴费单位、状态），可替代社保缴费证明",
        update_cycle="每月",
        fields=_fields(
            _f("citizen_id", "公民身份号码"),
            _f("name", "姓名"),
            _f("insurance_type", "险种"),
            _f("employer_credit_code", "缴费单位统一社会信用代码", nullable=True),
            _f("month", "费款所属期"),
            _f("base_fen", "缴费基数", "money_fen"),
            _f("amount_fen", "缴费金额", "money_fen"),
            _f("personal_fen", "个人缴费金额", "money_fen"),
            _f("status", "缴费状态"),
            _f("area_code", "参保地行政区划代码"),
        ),
    ),
    ResourceSpec(
        key="property",
        name="不动产权登记信息",
        department="ziranziyuan",
        department_name="市自然资源局",
        subject_kinds=("citizen", "enterprise"),
        subject_fields=("owner_id",),
        table="registry_property",
        key_fields=("certificate_no",),
        region_field="community_code",
        summary="不动产权证书、权利人、坐落、面积、用途及抵押查封状态，可替代房产证明",
        update_cycle="实时",
        fields=_fields(
            _f("certificate_no", "不动产权证号"),
            _f("unit_no", "不动产单元号"),
            _f("owner_id", "权利人证件号码"),
            _f("owner_kind", "权利人类型"),
            _f("owner_name", "权利人名称"),
            _f("co_ownership", "共有情况"),
            _f("location", "坐落"),
            _f("community_code", "所在社区代码"),
            _f("area_cm2", "建筑面积", "int", unit="平方厘米"),
            _f("usage", "用途"),
            _f("right_type", "权利类型"),
            _f("registered_on", "登记日期", "date"),
            _f("mortgaged", "是否抵押", "bool"),
            _f("seized", "是否查封", "bool"),
            _f("status", "权属状态"),
        ),
    ),
    ResourceSpec(
        key="tax_status",
        name="纳税状态信息",
        department="shuiwu",
        department_name="市税务局",
        subject_kinds=("enterprise",),
        subject_fields=("credit_code",),
        table="registry_tax_status",
        key_fields=("credit_code",),
        region_field="area_code",
        storage="file",
        summary="纳税人类型、纳税信用级别、欠税情况和最近申报期，可替代完税及无欠税证明",
        update_cycle="每月",
        fields=_fields(
            _f("credit_code", "统一社会信用代码"),
            _f("taxpayer_name", "纳税人名称"),
            _f("taxpayer_type", "纳税人类型"),
            _f("credit_grade", "纳税信用级别"),
            _f("has_arrears", "是否欠税", "bool"),
            _f("arrears_fen", "欠税金额", "money_fen"),
            _f("last_period", "最近申报所属期"),
            _f("status", "纳税人状态"),
            _f("tax_authority", "主管税务机关"),
            _f("area_code", "主管税务机关行政区划代码"),
        ),
    ),
    ResourceSpec(
        key="birth_certificate",
        name="出生医学证明信息",
        department="weijian",
        department_name="市卫健委",
        subject_kinds=("citizen",),
        subject_fields=("child_citizen_id", "mother_citizen_id", "father_citizen_id"),
        table="registry_birth_certificate",
        key_fields=("certificate_no",),
        region_field="area_code",
        summary="出生医学证明：新生儿信息、接生机构和父母身份，可用于出生登记和入学",
        update_cycle="实时",
        fields=_fields(
            _f("certificate_no", "出生医学证明编号"),
            _f("child_name", "新生儿姓名"),
            _f("child_gender", "新生儿性别"),
            _f("birth_at", "出生时间", "datetime"),
            _f("gestational_weeks", "出生孕周", "int", unit="周"),
            _f("weight_g", "出生体重", "int", unit="克"),
            _f("length_cm", "出生身长", "int", unit="厘米"),
            _f("hospital", "接生机构"),
            _f("area_code", "出生地行政区划代码"),
            _f("mother_citizen_id", "母亲公民身份号码"),
            _f("mother_name", "母亲姓名"),
            _f("father_citizen_id", "父亲公民身份号码", nullable=True),
            _f("father_name", "父亲姓名", nullable=True),
            _f("child_citizen_id", "新生儿公民身份号码", nullable=True),
            _f("issued_on", "签发日期", "date"),
        ),
    ),
    ResourceSpec(
        key="school_enrolment",
        name="学籍信息",
        department="jiaoyu",
        department_name="市教育局",
        subject_kinds=("citizen",),
        subject_fields=("student_citizen_id",),
        table="registry_school_enrolment",
        key_fields=("student_citizen_id", "school_credit_code"),
        region_field="area_code",
        summary="中小学生学籍：学校、学段、年级、入学日期和学籍状态，可替代在读证明",
        update_cycle="每日",
        fields=_fields(
            _f("student_citizen_id", "学生公民身份号码"),
            _f("student_name", "学生姓名"),
            _f("student_no", "全国学籍号"),
            _f("school_name", "学校名称"),
            _f("school_credit_code", "学校统一社会信用代码"),
            _f("stage", "学段"),
            _f("grade", "年级"),
            _f("enrolled_on", "入学日期", "date"),
            _f("status", "学籍状态"),
            _f("area_code", "学校所在行政区划代码"),
        ),
    ),
)

RESOURCE_KEYS: Final = tuple(s.key for s in _SPECS)
_BY_KEY: Final = {s.key: s for s in _SPECS}


def resources() -> list[ResourceSpec]:
    """Every registry resource, base registries first."""
    return list(_SPECS)


def resource(key: str) -> ResourceSpec:
    """The resource with this key; NotFound (problem) when there is none."""
    spec = _BY_KEY.get(key)
    if spec is None:
        raise NotFound(
            detail=f"没有名为「{key}」的基础库资源",
            extra={"resource": key, "known": list(RESOURCE_KEYS)},
        )
    return spec
