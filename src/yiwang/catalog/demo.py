"""Demo catalog for the synthetic city: `seed_demo_catalog(session, actor, departments, resource_keys)`.

For every registry resource it drafts, submits, publishes and mounts a realistic entry (人口基础信息 by
市公安局, 婚姻登记信息 by 市民政局, …, 无犯罪记录信息 as 有条件共享, 法人基础信息 as 无条件共享), with
graded items and masking rules; then about sixty department entries that are not mounted (most
published, some submitted, drafted or returned), so the rates are meaningful. Everything goes through
the service functions, so every step has its timeline row and audit record. Deterministic: the same
departments and resources always give the same catalog.

`actor` must be a platform admin (the demo build uses `yiwang.core.security.PLATFORM`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.catalog.models import CatalogEntry
from yiwang.catalog.resources import Resource, find_resource
from yiwang.catalog.schemas import EntryCreate, ItemIn, MountCreate, Review
from yiwang.catalog.service import draft_entry, entry_for_resource, mount_entry, review_entry, submit_entry
from yiwang.catalog.vocab import UPDATE_CYCLES
from yiwang.core.crypto import sm3
from yiwang.core.security import Actor

METHODS = {"api": "api", "file": "file", "table": "exchange"}
CYCLES = {
    "实时": "realtime",
    "每日": "daily",
    "每周": "weekly",
    "每月": "monthly",
    "每季": "quarterly",
    "每年": "yearly",
    "不定期": "irregular",
}
CONTACT_NAMES = (
    "王建华",
    "李秀梅",
    "张志强",
    "刘晓燕",
    "陈国栋",
    "杨丽娟",
    "赵文博",
    "孙海燕",
    "周立新",
    "吴静",
    "郑宏伟",
    "冯雪",
    "何振宇",
    "高春梅",
    "林泽",
    "马慧敏",
)


@dataclass(frozen=True)
class ResourceEntry:
    """How the catalog describes one registry resource."""

    category: str
    form: str
    sharing: str
    condition: str = ""
    open_type: str = "none"
    open_condition: str = ""
    name: str | None = None  # the entry's name when it differs from the resource's


_CONDITION_PERSON = "用于政务服务事项办理、身份核验和“免证办”，须经提供部门审核同意，按最少够用原则申请信息项"
RESOURCE_ENTRIES: dict[str, ResourceEntry] = {
    "population": ResourceEntry("101001", "table", "conditional", _CONDITION_PERSON, name="人口基本信息"),
    "household": ResourceEntry("101002", "api", "conditional", _CONDITION_PERSON + "；可替代户籍证明"),
    "legal_person": ResourceEntry(
        "102001", "table", "unconditional", open_type="unconditional", name="法人基本信息"
    ),
    "no_criminal_record": ResourceEntry(
        "312001",
        "api",
        "conditional",
        "仅限法律法规规定须核查无犯罪记录的事项（如教师资格认定、出租车驾驶员从业资格等），"
        "按次核验，只返回是否有犯罪记录，不提供记录详情",
        name="无犯罪记录",
    ),
    "marriage": ResourceEntry("317001", "api", "conditional", _CONDITION_PERSON + "；可替代婚姻状况证明"),
    "social_insurance": ResourceEntry(
        "203001", "table", "conditional", "用于就业创业补贴、人才引进、落户等事项核验参保缴费情况"
    ),
    "property": ResourceEntry(
        "103001",
        "api",
        "conditional",
        "用于不动产相关政务服务、住房保障资格审核和司法查控，须说明依据",
        name="不动产登记信息",
    ),
    "tax_status": ResourceEntry(
        "307001", "table", "conditional", "用于政府采购、评优评先、惠企政策兑现等事项核验纳税及欠税情况"
    ),
    "birth_certificate": ResourceEntry(
        "202001", "api", "conditional", "用于出生登记、“出生一件事”联办、入学等事项"
    ),
    "school_enrolment": ResourceEntry(
        "313001", "table", "conditional", "用于学生资助、入学转学、教育补贴等事项核验在读情况"
    ),
}

# Items: field-name patterns → (grade, sensitive personal, masking rule).
_ID_FIELDS = ("citizen_id", "owner_id")
_SENSITIVE_DROP = (
    "record_summary",
    "has_record",
    "gestational_weeks",
    "weight_g",
    "length_cm",
    "base_fen",
    "amount_fen",
    "personal_fen",
    "arrears_fen",
)


_PERSON_NAMES = frozenset(
    {
        "party_a_name",
        "party_b_name",
        "legal_rep_name",
        "head_name",
        "mother_name",
        "father_name",
        "student_name",
        "owner_name",
    }
)
_PERSON_RESOURCES = frozenset({"population", "household", "no_criminal_record", "social_insurance"})


def _item_policy(resource: Resource, name: str) -> tuple[str, bool, str]:
    """(grade, sensitive personal information, masking rule) of a registry field in the demo."""
    if name.endswith(_ID_FIELDS):
        return "important", True, "id"
    if name == "record_summary":
        return "core", True, "drop"
    if name == "has_record":
        return "core", True, "drop"
    if name in _SENSITIVE_DROP:
        return "important", True, "drop"
    if name == "child_name":
        return "important", True, "name"  # a minor's personal information is sensitive (PIPL art. 28)
    if name in _PERSON_NAMES or (name == "name" and resource.key in _PERSON_RESOURCES):
        return "important", False, "name"
    if name == "phone":
        return "important", True, "phone"
    if name in ("address", "location"):
        return "important", False, "address"
    if name in ("birth_date", "birth_at"):
        return "important", False, "date_to_year"
    if name in ("mortgaged", "seized", "credit_grade", "has_arrears"):
        return "important", False, "none"
    return "general", False, "none"


def resource_items(resource: Resource) -> list[ItemIn]:
    items = []
    for f in resource.fields:
        grade, sensitive, masking = _item_policy(resource, f.name)
        items.append(
            ItemIn(
                field_name=f.name,
                name=f.label,
                data_type=f.data_type,
                grade=grade,
                sensitive_personal=sensitive,
                masking=masking,
                description=f"单位：{f.unit}" if f.unit else "",
            )
        )
    return items


# ---------------------------------------------------------------- department entries (not mounted)

_KITS: dict[str, list[tuple[str, str, str]]] = {
    "enterprise": [
        ("credit_code", "统一社会信用代码", "string"),
        ("org_name", "单位名称", "string"),
        ("licence_no", "许可证编号", "string"),
        ("valid_from", "有效期起", "date"),
        ("valid_to", "有效期止", "date"),
        ("issuer", "发证机关", "string"),
    ],
    "person": [
        ("citizen_id", "公民身份号码", "string"),
        ("name", "姓名", "string"),
        ("certificate_no", "证书编号", "string"),
        ("issued_on", "发证日期", "date"),
        ("status", "状态", "string"),
    ],
    "place": [
        ("place_code", "编码", "string"),
        ("place_name", "名称", "string"),
        ("address", "地址", "string"),
        ("longitude", "经度", "decimal"),
        ("latitude", "纬度", "decimal"),
        ("manager", "管理单位", "string"),
    ],
    "stats": [
        ("period", "统计期", "string"),
        ("indicator", "指标名称", "string"),
        ("value", "指标值", "decimal"),
        ("unit", "计量单位", "string"),
        ("area_code", "行政区划代码", "string"),
    ],
    "case": [
        ("case_no", "案件编号", "string"),
        ("party_name", "当事人名称", "string"),
        ("party_code", "当事人证件号码", "string"),
        ("decided_on", "决定日期", "date"),
        ("result", "处理结果", "string"),
    ],
}


@dataclass(frozen=True)
class DeptEntry:
    dept: str
    name: str
    category: str
    kit: str
    form: str = "table"
    sharing: str = "conditional"
    open_type: str = "none"
    cycle: str = "monthly"
    reason: str = ""
    extra: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)


_SECRET = "依据《中华人民共和国保守国家秘密法》及本部门定密范围，涉及工作秘密，不予共享"
DEPT_ENTRIES: tuple[DeptEntry, ...] = (
    DeptEntry(
        "gongan",
        "机动车登记信息",
        "312002",
        "person",
        "api",
        cycle="realtime",
        extra=(("plate_no", "号牌号码", "string"),),
    ),
    DeptEntry("gongan", "机动车驾驶证信息", "312003", "person", "api", cycle="realtime"),
    DeptEntry("gongan", "居住证信息", "101003", "person", cycle="daily"),
    DeptEntry(
        "gongan",
        "出入境证件信息",
        "312004",
        "person",
        sharing="none",
        reason="依据《中华人民共和国出境入境管理法》第八十五条，出入境证件信息仅限公安机关履职使用",
    ),
    DeptEntry(
        "minzheng",
        "社会组织登记信息",
        "102002",
        "enterprise",
        sharing="unconditional",
        open_type="unconditional",
        cycle="daily",
    ),
    DeptEntry("minzheng", "最低生活保障对象信息", "317002", "person", cycle="monthly"),
    DeptEntry("minzheng", "特困供养人员信息", "317003", "person", cycle="monthly"),
    DeptEntry(
        "minzheng", "养老机构信息", "317004", "place", sharing="unconditional", open_type="unconditional"
    ),
    DeptEntry("renshe", "就业登记信息", "316001", "person", cycle="daily"),
    DeptEntry("renshe", "失业登记信息", "316002", "person", cycle="daily"),
    DeptEntry("renshe", "职业资格证书信息", "316003", "person", "api", open_type="conditional"),
    DeptEntry(
        "renshe",
        "人力资源服务机构信息",
        "316004",
        "enterprise",
        sharing="unconditional",
        open_type="unconditional",
    ),
    DeptEntry("yibao", "基本医疗保险参保信息", "203002", "person", "api", cycle="daily"),
    DeptEntry(
        "yibao", "医保定点医药机构信息", "203003", "place", sharing="unconditional", open_type="unconditional"
    ),
    DeptEntry(
        "yibao",
        "门诊慢特病备案信息",
        "202002",
        "person",
        sharing="none",
        reason="涉及个人健康医疗信息，依据《中华人民共和国个人信息保护法》第二十八条不予共享",
    ),
    DeptEntry(
        "weijian",
        "医疗机构执业登记信息",
        "314001",
        "enterprise",
        sharing="unconditional",
        open_type="unconditional",
    ),
    DeptEntry("weijian", "医师执业注册信息", "314002", "person", "api", open_type="conditional"),
    DeptEntry("weijian", "预防接种信息", "202003", "person", "api", cycle="daily"),
    DeptEntry("weijian", "死亡医学证明信息", "202004", "person", cycle="daily"),
    DeptEntry(
        "jiaoyu",
        "学校基本信息",
        "313002",
        "place",
        sharing="unconditional",
        open_type="unconditional",
        cycle="yearly",
    ),
    DeptEntry("jiaoyu", "教师资格证书信息", "313003", "person", "api"),
    DeptEntry("jiaoyu", "学生资助信息", "313004", "person", cycle="quarterly"),
    DeptEntry(
        "shichang",
        "食品经营许可信息",
        "204001",
        "enterprise",
        "api",
        sharing="unconditional",
        open_type="unconditional",
        cycle="daily",
    ),
    DeptEntry("shichang", "特种设备使用登记信息", "205001", "enterprise"),
    DeptEntry(
        "shichang",
        "市场监管行政处罚信息",
        "208001",
        "case",
        sharing="unconditional",
        open_type="conditional",
        cycle="daily",
    ),
    DeptEntry(
        "shichang",
        "企业年度报告信息",
        "102003",
        "enterprise",
        cycle="yearly",
        open_type="unconditional",
        sharing="unconditional",
    ),
    DeptEntry(
        "shuiwu",
        "纳税信用A级纳税人名单",
        "208002",
        "enterprise",
        sharing="unconditional",
        open_type="unconditional",
        cycle="yearly",
    ),
    DeptEntry("shuiwu", "税收优惠备案信息", "307002", "enterprise", cycle="monthly"),
    DeptEntry(
        "shuiwu",
        "发票开具汇总信息",
        "307003",
        "enterprise",
        sharing="none",
        reason="依据《中华人民共和国税收征收管理法》第八条，纳税人的商业秘密及个人隐私应当保密",
    ),
    DeptEntry(
        "ziranziyuan",
        "国有建设用地供应信息",
        "103002",
        "place",
        sharing="unconditional",
        open_type="unconditional",
    ),
    DeptEntry("ziranziyuan", "建设工程规划许可信息", "103003", "enterprise", "api"),
    DeptEntry("ziranziyuan", "基础测绘成果目录", "103004", "place", "file", cycle="yearly"),
    DeptEntry(
        "zhujian",
        "建筑业企业资质信息",
        "305001",
        "enterprise",
        "api",
        sharing="unconditional",
        open_type="unconditional",
    ),
    DeptEntry(
        "zhujian",
        "商品房预售许可信息",
        "209001",
        "enterprise",
        sharing="unconditional",
        open_type="unconditional",
        cycle="daily",
    ),
    DeptEntry("zhujian", "建筑工程施工许可信息", "209002", "enterprise"),
    DeptEntry("zhujian", "物业服务企业信息", "210001", "enterprise", sharing="unconditional"),
    DeptEntry("chengguan", "城市管理部件信息", "209003", "place", "file", cycle="quarterly"),
    DeptEntry("chengguan", "户外广告设置许可信息", "305002", "enterprise"),
    DeptEntry("chengguan", "建筑垃圾运输核准信息", "305003", "enterprise", "api", cycle="daily"),
    DeptEntry("yingji", "危险化学品企业信息", "205002", "enterprise", cycle="monthly"),
    DeptEntry(
        "yingji",
        "安全生产许可信息",
        "205003",
        "enterprise",
        "api",
        sharing="unconditional",
        open_type="unconditional",
    ),
    DeptEntry("yingji", "应急物资储备信息", "212001", "place", sharing="none", reason=_SECRET),
    DeptEntry(
        "yingji",
        "应急避难场所信息",
        "212002",
        "place",
        sharing="unconditional",
        open_type="unconditional",
        cycle="yearly",
    ),
    DeptEntry(
        "shengtai",
        "排污许可信息",
        "211001",
        "enterprise",
        "api",
        sharing="unconditional",
        open_type="unconditional",
    ),
    DeptEntry("shengtai", "建设项目环境影响评价审批信息", "211002", "enterprise"),
    DeptEntry(
        "shengtai",
        "环境空气质量监测数据",
        "211003",
        "stats",
        "api",
        sharing="unconditional",
        open_type="unconditional",
        cycle="realtime",
    ),
    DeptEntry(
        "shengtai",
        "重点排污单位名录",
        "211004",
        "enterprise",
        "file",
        sharing="unconditional",
        open_type="unconditional",
        cycle="yearly",
    ),
    DeptEntry("jiaotong", "道路运输经营许可信息", "304001", "enterprise", "api"),
    DeptEntry("jiaotong", "巡游出租汽车驾驶员从业资格信息", "304002", "person"),
    DeptEntry(
        "jiaotong",
        "公交线路及站点信息",
        "304003",
        "place",
        sharing="unconditional",
        open_type="unconditional",
    ),
    DeptEntry(
        "wenlv",
        "A级旅游景区信息",
        "309001",
        "place",
        sharing="unconditional",
        open_type="unconditional",
        cycle="yearly",
    ),
    DeptEntry("wenlv", "文物保护单位信息", "314003", "place", sharing="unconditional", cycle="yearly"),
    DeptEntry("nongye", "家庭农场名录", "306001", "enterprise", cycle="quarterly"),
    DeptEntry("nongye", "农机购置补贴信息", "306002", "person", cycle="quarterly"),
    DeptEntry(
        "tongji",
        "国民经济和社会发展统计公报数据",
        "106001",
        "stats",
        "file",
        sharing="unconditional",
        open_type="unconditional",
        cycle="yearly",
    ),
    DeptEntry("tongji", "规模以上工业企业名录", "106002", "enterprise", cycle="yearly"),
    DeptEntry(
        "caizheng",
        "政府采购项目信息",
        "307004",
        "enterprise",
        sharing="unconditional",
        open_type="unconditional",
        cycle="daily",
    ),
    DeptEntry("fagai", "政府投资项目信息", "302001", "enterprise", "api"),
    DeptEntry(
        "fagai",
        "重要商品价格监测数据",
        "206001",
        "stats",
        "file",
        sharing="unconditional",
        open_type="unconditional",
        cycle="weekly",
    ),
    DeptEntry("sifa", "律师执业信息", "312005", "person", "api", open_type="conditional"),
    DeptEntry(
        "sifa",
        "法律援助案件信息",
        "312006",
        "case",
        sharing="none",
        reason="依据《中华人民共和国法律援助法》第二十一条，受援人的个人隐私和个人信息应当保密",
    ),
)

# Index in DEPT_ENTRIES mod 10 → the status it is left in (the rest are published).
_LEFT_AS = {7: "submitted", 8: "draft", 9: "returned"}


def _contact(dept: str) -> tuple[str, str]:
    digest = sm3(f"yiwang-demo-catalog-contact:{dept}".encode())
    name = CONTACT_NAMES[digest[0] % len(CONTACT_NAMES)]
    number = "".join(str(b % 10) for b in digest[1:8])
    return name, f"024-8{number}"


def _kit_item(field_name: str, label: str, data_type: str) -> ItemIn:
    if field_name in ("citizen_id", "party_code"):
        return ItemIn(
            field_name=field_name,
            name=label,
            data_type=data_type,
            grade="important",
            sensitive_personal=True,
            masking="id",
        )
    if field_name == "name":
        return ItemIn(
            field_name=field_name, name=label, data_type=data_type, grade="important", masking="name"
        )
    if field_name == "address":
        return ItemIn(
            field_name=field_name, name=label, data_type=data_type, grade="general", masking="address"
        )
    return ItemIn(field_name=field_name, name=label, data_type=data_type)


def _publish(session: Session, actor: Actor, code: str) -> None:
    submit_entry(session, actor, code)
    review_entry(session, actor, code, Review(decision="approve", opinion="元数据完整，同意发布"))


def _exists(session: Session, department_id: int, name: str) -> bool:
    return (
        session.scalar(
            select(CatalogEntry.id).where(
                CatalogEntry.department_id == department_id,
                CatalogEntry.name == name,
                CatalogEntry.status != "retired",
            )
        )
        is not None
    )


def seed_demo_catalog(
    session: Session, actor: Actor, departments: dict[str, int], resource_keys: list[str]
) -> int:
    """Draft, publish and mount an entry per registry resource, then the department entries; returns the
    number of entries created. Departments missing from `departments` are skipped; a resource that is
    already mounted and an entry whose department already has one of that name are skipped too, so a
    second call adds nothing."""
    created = 0
    for key in resource_keys:
        resource = find_resource(key)
        if resource is None or resource.department not in departments:
            continue
        if entry_for_resource(session, key) is not None:
            continue
        spec = RESOURCE_ENTRIES.get(key) or ResourceEntry("301001", "table", "conditional", _CONDITION_PERSON)
        name = spec.name or resource.name
        if _exists(session, departments[resource.department], name):
            continue
        contact_name, contact_phone = _contact(resource.department)
        sharing = spec.sharing
        entry = draft_entry(
            session,
            actor,
            EntryCreate(
                category_code=spec.category,
                name=name,
                department_id=departments[resource.department],
                abstract=resource.summary or f"{resource.department_name}{resource.name}",
                form=spec.form,
                sharing_type=sharing,
                sharing_condition=spec.condition if sharing == "conditional" else "",
                sharing_method="api" if spec.form == "api" else "exchange",
                open_type=spec.open_type,
                open_condition=spec.open_condition,
                update_cycle=CYCLES.get(resource.update_cycle, "irregular"),
                contact_name=contact_name,
                contact_phone=contact_phone,
                items=resource_items(resource),
            ),
        )
        _publish(session, actor, entry.code)
        mount_entry(
            session,
            actor,
            entry.code,
            MountCreate(kind="resource", resource_key=resource.key, description=f"基础库资源 {resource.key}"),
        )
        created += 1
    for index, spec in enumerate(DEPT_ENTRIES):
        if spec.dept not in departments or _exists(session, departments[spec.dept], spec.name):
            continue
        contact_name, contact_phone = _contact(spec.dept)
        items = [_kit_item(*f) for f in (*_KITS[spec.kit], *spec.extra)]
        condition = (
            "用于本部门职责范围内的政务服务和监管事项，须经提供部门审核同意"
            if spec.sharing == "conditional"
            else ""
        )
        entry = draft_entry(
            session,
            actor,
            EntryCreate(
                category_code=spec.category,
                name=spec.name,
                department_id=departments[spec.dept],
                abstract=f"{spec.name}，包括{'、'.join(i.name for i in items[:4])}等信息项，"
                f"由提供部门{UPDATE_CYCLES[spec.cycle]}更新。",
                form=spec.form,
                sharing_type=spec.sharing,
                sharing_condition=condition,
                unshared_reason=spec.reason,
                sharing_method="" if spec.sharing == "none" else METHODS[spec.form],
                open_type=spec.open_type,
                open_condition="注册用户申请，说明用途后开放" if spec.open_type == "conditional" else "",
                update_cycle=spec.cycle,
                contact_name=contact_name,
                contact_phone=contact_phone,
                items=items,
            ),
        )
        created += 1
        left_as = _LEFT_AS.get(index % 10, "published")
        if left_as == "draft":
            continue
        if left_as == "submitted":
            submit_entry(session, actor, entry.code)
            continue
        if left_as == "returned":
            submit_entry(session, actor, entry.code)
            review_entry(
                session,
                actor,
                entry.code,
                Review(decision="return", opinion="请补充共享条件的法律依据，并核对信息项的数据类型"),
            )
            continue
        _publish(session, actor, entry.code)
    return created
