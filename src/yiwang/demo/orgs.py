"""The organisation tree of the demo city (A4): 辽宁省 → 云川市 → 5 districts → streets → communities, the
city's departments (委办局) and their units, and a few departments in every district.

云川市 does not exist. Its codes follow GB/T 2260 and the 12-digit statistical division codes but use the
prefix 2195, which no real prefecture of 辽宁 holds; the province prefix 21 is real because every
GB 11643 citizen ID must start with a real province code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from yiwang import identity
from yiwang.core.ids import generate_credit_code
from yiwang.core.security import PLATFORM
from yiwang.demo import names

PROVINCE_NAME = "辽宁省"
PROVINCE_CODE = "210000"
CITY_NAME = "云川市"
CITY_CODE = "219500"

# (short code, full name, short name, parent short code or None for the city, credit-code org type:
# "1" 机关 / "2" 事业单位). Order is the display order.
CITY_DEPARTMENTS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("zhengfuban", "云川市人民政府办公室", "市政府办", None, "1"),
    ("fagai", "云川市发展和改革委员会", "市发改委", None, "1"),
    ("gongxin", "云川市工业和信息化局", "市工信局", None, "1"),
    ("jiaoyu", "云川市教育局", "市教育局", None, "1"),
    ("gongan", "云川市公安局", "市公安局", None, "1"),
    ("minzheng", "云川市民政局", "市民政局", None, "1"),
    ("sifa", "云川市司法局", "市司法局", None, "1"),
    ("caizheng", "云川市财政局", "市财政局", None, "1"),
    ("renshe", "云川市人力资源和社会保障局", "市人社局", None, "1"),
    ("ziranziyuan", "云川市自然资源局", "市自然资源局", None, "1"),
    ("budongchan", "云川市不动产登记中心", "市不动产登记中心", "ziranziyuan", "2"),
    ("shengtai", "云川市生态环境局", "市生态环境局", None, "1"),
    ("zhujian", "云川市住房和城乡建设局", "市住建局", None, "1"),
    ("chengguan", "云川市城市管理综合行政执法局", "市城管执法局", None, "1"),
    ("jiaotong", "云川市交通运输局", "市交通运输局", None, "1"),
    ("nongye", "云川市农业农村局", "市农业农村局", None, "1"),
    ("wenlv", "云川市文化旅游和广播电视局", "市文旅广电局", None, "1"),
    ("weijian", "云川市卫生健康委员会", "市卫健委", None, "1"),
    ("yingji", "云川市应急管理局", "市应急局", None, "1"),
    ("shichang", "云川市市场监督管理局", "市市场监管局", None, "1"),
    ("tongji", "云川市统计局", "市统计局", None, "1"),
    ("yibao", "云川市医疗保障局", "市医保局", None, "1"),
    ("shuiwu", "国家税务总局云川市税务局", "市税务局", None, "1"),
    ("yingshang", "云川市营商环境建设局", "市营商局", None, "1"),
    ("zhengwu", "云川市政务服务中心", "市政务服务中心", "yingshang", "2"),
    ("rexian", "云川市12345政务服务便民热线中心", "12345热线中心", "yingshang", "2"),
    ("dashuju", "云川市大数据局", "市大数据局", None, "1"),
)

# Departments every district has: (suffix of the short code, name and short name after the district's
# name, credit-code org type).
DISTRICT_DEPARTMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("minzheng", "民政局", "民政局", "1"),
    ("shichang", "市场监督管理局", "市场监管局", "1"),
    ("chengguan", "城市管理综合行政执法局", "城管执法局", "1"),
    ("zhengwu", "政务服务中心", "政务服务中心", "2"),
)


@dataclass
class Estate:
    """A residential compound (小区) and its size."""

    name: str
    road: str
    buildings: int
    units: int
    floors: int


@dataclass
class Community:
    unit_id: int
    code: str  # 12 digits
    district_code: str  # 6 digits
    district_index: int
    name: str
    address_prefix: str  # 辽宁省云川市云中区站前街道金桥社区
    estates: list[Estate]
    weight: float


@dataclass
class District:
    key: str
    name: str
    code: str
    share: float
    unit_id: int
    communities: list[Community] = field(default_factory=list)


@dataclass
class OrgTree:
    province_id: int
    city_id: int
    districts: list[District]
    departments: dict[str, int]  # short code → org unit id
    department_names: dict[int, str]  # org unit id → short name

    @property
    def communities(self) -> list[Community]:
        return [c for d in self.districts for c in d.communities]


def region_code(area6: str, street: int = 0, community: int = 0) -> str:
    """The 12-digit statistical division code: 6-digit county code, 3-digit street, 3-digit community."""
    return f"{area6}{street:03d}{community:03d}"


def build_org_tree(session: Session, rng: random.Random) -> OrgTree:
    """Insert the whole tree through `identity.create_org_unit`, as the platform itself (a few hundred
    rows, each checked and audited like one added in the console)."""
    used_credit: set[str] = set()

    def credit(org_type: str, area: str) -> str:
        while True:
            code = generate_credit_code(rng, "1", org_type, area)
            if code not in used_credit:
                used_credit.add(code)
                return code

    province = identity.create_org_unit(
        session,
        PLATFORM,
        identity.OrgUnitCreate(
            code=region_code(PROVINCE_CODE),
            name=PROVINCE_NAME,
            short_name="辽宁",
            kind="province",
            parent_id=None,
            region_code=region_code(PROVINCE_CODE),
        ),
    )
    city = identity.create_org_unit(
        session,
        PLATFORM,
        identity.OrgUnitCreate(
            code=region_code(CITY_CODE),
            name=CITY_NAME,
            short_name="云川",
            kind="city",
            parent_id=province.id,
            region_code=region_code(CITY_CODE),
            credit_code=credit("1", CITY_CODE),  # 云川市人民政府
        ),
    )
    departments: dict[str, int] = {}
    department_names: dict[int, str] = {}
    for sort, (short, name, short_name, parent, org_type) in enumerate(CITY_DEPARTMENTS, start=1):
        unit = identity.create_org_unit(
            session,
            PLATFORM,
            identity.OrgUnitCreate(
                code=short,
                name=name,
                short_name=short_name,
                kind="unit" if parent else "department",
                parent_id=departments[parent] if parent else city.id,
                region_code=region_code(CITY_CODE),
                credit_code=credit(org_type, CITY_CODE),
                sort=sort,
            ),
        )
        departments[short] = unit.id
        department_names[unit.id] = short_name

    street_words = rng.sample(names.STREET_WORDS, len(names.STREET_WORDS))
    estate_names = [w + s for w in names.ESTATE_WORDS for s in names.ESTATE_SUFFIXES]
    districts: list[District] = []
    for d_index, (key, d_name, d_code, share) in enumerate(names.DISTRICTS):
        d_unit = identity.create_org_unit(
            session,
            PLATFORM,
            identity.OrgUnitCreate(
                code=region_code(d_code),
                name=d_name,
                short_name=d_name,
                kind="district",
                parent_id=city.id,
                region_code=region_code(d_code),
                credit_code=credit("1", d_code),  # 区人民政府
                sort=d_index + 1,
            ),
        )
        district = District(key=key, name=d_name, code=d_code, share=share, unit_id=d_unit.id)
        districts.append(district)
        for sort, (suffix, dept_name, dept_short, org_type) in enumerate(DISTRICT_DEPARTMENTS, start=1):
            short = f"{key}.{suffix}"
            unit = identity.create_org_unit(
                session,
                PLATFORM,
                identity.OrgUnitCreate(
                    code=short,
                    name=d_name + dept_name,
                    short_name=d_name + dept_short,
                    kind="department",
                    parent_id=d_unit.id,
                    region_code=region_code(d_code),
                    credit_code=credit(org_type, d_code),
                    sort=sort,
                ),
            )
            departments[short] = unit.id
            department_names[unit.id] = unit.short_name
        community_words = rng.sample(names.COMMUNITY_WORDS, len(names.COMMUNITY_WORDS))
        for s_no in range(1, rng.randint(4, 6) + 1):
            s_name = street_words.pop() + "街道"
            s_code = region_code(d_code, s_no)
            s_unit = identity.create_org_unit(
                session,
                PLATFORM,
                identity.OrgUnitCreate(
                    code=s_code,
                    name=s_name,
                    short_name=s_name,
                    kind="street",
                    parent_id=d_unit.id,
                    region_code=s_code,
                    sort=s_no,
                ),
            )
            for c_no in range(1, rng.randint(5, 8) + 1):
                c_name = community_words.pop() + "社区"
                c_code = region_code(d_code, s_no, c_no)
                c_unit = identity.create_org_unit(
                    session,
                    PLATFORM,
                    identity.OrgUnitCreate(
                        code=c_code,
                        name=c_name,
                        short_name=c_name,
                        kind="community",
                        parent_id=s_unit.id,
                        region_code=c_code,
                        sort=c_no,
                    ),
                )
                estates = [
                    Estate(
                        name=estate,
                        road=rng.choice(names.ROAD_WORDS) + rng.choice(names.ROAD_SUFFIXES),
                        buildings=rng.randint(4, 40),
                        units=rng.randint(2, 6),
                        floors=rng.choice((6, 6, 7, 11, 18, 18, 26, 33)),
                    )
                    for estate in rng.sample(estate_names, rng.randint(2, 4))
                ]
                district.communities.append(
                    Community(
                        unit_id=c_unit.id,
                        code=c_code,
                        district_code=d_code,
                        district_index=d_index,
                        name=c_name,
                        address_prefix=f"{PROVINCE_NAME}{CITY_NAME}{d_name}{s_name}{c_name}",
                        estates=estates,
                        weight=rng.uniform(0.5, 1.5),
                    )
                )
    return OrgTree(
        province_id=province.id,
        city_id=city.id,
        districts=districts,
        departments=departments,
        department_names=department_names,
    )
