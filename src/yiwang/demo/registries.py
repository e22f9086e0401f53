"""The department registries of the demo city: what zero-proof services read instead of asking for
proofs — 户籍 (公安), 无犯罪记录 (公安), 婚姻登记 (民政), 社保缴费 (人社), 不动产权 (自然资源),
纳税状态 (税务), 出生医学证明 (卫健), 学籍 (教育) — derived from the population and legal-person
registries so that they agree with them (spouses are married, parents are on their children's birth
certificates, pupils go to school in their district, employers are legal persons of the city).

Proportions: every adult has a criminal-record entry and about 0.5 % have a record (mostly men);
every couple in a household is married (some earlier marriages ended in divorce, and most single
parents are divorced); about 68 % of working-age adults pay social insurance — pension (养老) for each
of their last 12–36 months, what 缴费年限 checks read, plus the current month's 医疗/失业/工伤 for
employees (生育 is merged into 医疗 since 2019, so the demo writes none); about 30 % of households own
their home (couples often as 共同共有, one certificate each) and some a parking space, and 15 % of
companies own premises; every legal person has a tax status; every minor born in the city since 2008
has a birth medical certificate; pupils aged 6–18 attend primary, junior and senior schools of their
district, which are added to the legal-person registry as 事业单位 (`create_schools`).

Deterministic: one random stream per registry, seeded from `rng_seed`, and inputs read in id order.
Rows go in through `yiwang.registry.bulk_write` (driver executemany / COPY); social-insurance rows are
streamed so a large city builds in flat memory.
"""

from __future__ import annotations

import math
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from yiwang import registry
from yiwang.core.clock import SHANGHAI
from yiwang.core.db import Base
from yiwang.core.ids import generate_credit_code
from yiwang.demo import names
from yiwang.demo.people import REFERENCE_DATE

REF = REFERENCE_DATE
REF_ORDINAL = REF.toordinal()
REF_MONTH = REF.year * 12 + REF.month - 1  # months since year 0
DISTRICT_NAMES: dict[str, str] = {code: name for _key, name, code, _share in names.DISTRICTS}
CITY_AREA = "219500"
CN_NUMBERS = "零一二三四五六七八九十"


class PersonSeed(NamedTuple):
    """One person the registries are derived from; only the first five fields are required.

    A missing relation is inferred within the household (the oldest adult is 户主, an adult of the
    other gender within 15 years the 配偶, people 16+ years younger 子女, 16+ years older 父母)."""

    citizen_id: str
    birth_date: date
    gender: str  # 男 / 女
    household_no: str
    area_code: str
    name: str = ""
    relation: str = ""
    community_code: str | None = None
    address: str = ""
    status: str = "正常"


class EnterpriseSeed(NamedTuple):
    credit_code: str
    name: str
    kind: str = "企业"
    status: str = "存续"
    area_code: str = ""
    established_on: date | None = None
    registered_capital_fen: int = 0
    address: str = ""
    industry_code: str = ""


def stamp_for(seed: int) -> datetime:
    """The `updated_at` of the generated rows: from the seed, never the wall clock (as the city's)."""
    return datetime(2025, 12, 31, 16, 0, tzinfo=UTC) + timedelta(seconds=seed % 86_400)


# ------------------------------------------------------------------------------------------ reading
def _read_people(conn: Connection) -> list[PersonSeed]:
    t = Base.metadata.tables["registry_person"]
    query = select(
        t.c.citizen_id, t.c.birth_date, t.c.gender, t.c.household_no, t.c.area_code, t.c.name,
        t.c.relation, t.c.community_code, t.c.address, t.c.status,
    ).order_by(t.c.id)  # fmt: skip
    return [PersonSeed(*row) for row in conn.execute(query)]


def _read_enterprises(conn: Connection) -> list[EnterpriseSeed]:
    t = Base.metadata.tables["registry_legal_person"]
    query = select(
        t.c.credit_code, t.c.name, t.c.kind, t.c.status, t.c.area_code, t.c.established_on,
        t.c.registered_capital_fen, t.c.address, t.c.industry_code,
    ).order_by(t.c.id)  # fmt: skip
    return [EnterpriseSeed(*row) for row in conn.execute(query)]


def _complete(people: Sequence[Any], conn: Connection) -> list[PersonSeed]:
    """Seeds from tuples; names and relations missing from them are taken from the population
    registry when it has the person, and relations otherwise inferred."""
    seeds = [p if isinstance(p, PersonSeed) else PersonSeed(*p) for p in people]
    missing = [s.citizen_id for s in seeds if not s.name or not s.relation]
    if missing:
        t = Base.metadata.tables["registry_person"]
        known: dict[str, tuple] = {}
        for start in range(0, len(missing), 1000):
            chunk = missing[start : start + 1000]
            query = select(t.c.citizen_id, t.c.name, t.c.relation, t.c.community_code, t.c.address).where(
                t.c.citizen_id.in_(chunk)
            )
            known.update((row[0], tuple(row[1:])) for row in conn.execute(query))
        seeds = [
            s._replace(
                name=s.name or known[s.citizen_id][0],
                relation=s.relation or known[s.citizen_id][1],
                community_code=s.community_code or known[s.citizen_id][2],
                address=s.address or known[s.citizen_id][3],
            )
            if s.citizen_id in known
            else s
            for s in seeds
        ]
    if any(not s.relation for s in seeds):
        seeds = _infer_relations(seeds)
    return seeds


def _infer_relations(seeds: list[PersonSeed]) -> list[PersonSeed]:
    by_household: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(seeds):
        by_household[s.household_no].append(i)
    out = list(seeds)
    for members in by_household.values():
        if all(seeds[i].relation for i in members):
            continue
        head = min(members, key=lambda i: (seeds[i].birth_date, i))
        hb = seeds[head].birth_date
        out[head] = seeds[head]._replace(relation=seeds[head].relation or "户主")
        spouse_taken = any(seeds[i].relation == "配偶" for i in members)
        for i in members:
            if i == head or seeds[i].relation:
                continue
            gap = (seeds[i].birth_date - hb).days / 365.25
            if (
                not spouse_taken
                and seeds[i].gender != seeds[head].gender
                and abs(gap) <= 15
                and _age(seeds[i]) >= 20
            ):
                relation, spouse_taken = "配偶", True
            elif gap >= 16:
                relation = "子女"
            elif gap <= -16:
                relation = "父母"
            else:
                relation = "其他"
            out[i] = seeds[i]._replace(relation=relation)
    return out


def _age(p: PersonSeed, on: date = REF) -> int:
    b = p.birth_date
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def _district_of(p: PersonSeed) -> str:
    return p.community_code[:6] if p.community_code else p.area_code


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _between(rand: Callable[[], float], lo: date, hi: date) -> date:
    if hi <= lo:
        return lo
    return date.fromordinal(lo.toordinal() + int(rand() * (hi.toordinal() - lo.toordinal() + 1)))


def _month_text(m: int) -> str:
    return f"{m // 12:04d}{m % 12 + 1:02d}"


# ------------------------------------------------------------------------------------------ context
@dataclass
class _City:
    people: list[PersonSeed]
    index: dict[str, int]
    households: dict[str, list[int]]  # household_no → member indices, head first
    enterprises: list[EnterpriseSeed]
    stamp: datetime
    seed: int

    def by_citizen_id(self) -> list[PersonSeed]:
        """People in citizen-ID order: rows written in their unique key's order append to its index
        instead of inserting at random pages (several times faster for a large city)."""
        return sorted(self.people)

    def rng(self, name: str) -> random.Random:
        return random.Random(f"yiwang-demo:{self.seed}:registries:{name}")


def _households(people: list[PersonSeed]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(people):
        groups.setdefault(p.household_no, []).append(i)
    for members in groups.values():
        members.sort(key=lambda i: (people[i].relation != "户主", i))
    return groups


# ------------------------------------------------------------------------------------------ 户籍
HOUSEHOLD_COLUMNS = (
    "citizen_id", "name", "household_no", "household_type", "head_citizen_id", "head_name", "relation",
    "address", "area_code", "community_code", "police_station", "registered_on", "reason", "status",
    "source", "updated_at",
)  # fmt: skip
HOUSEHOLD_STATUS = {"正常": "正常", "迁出": "迁出", "死亡": "死亡注销"}


def police_station(community_code: str | None, area_code: str) -> str:
    district = DISTRICT_NAMES.get(area_code, "")
    street = int(community_code[6:9]) if community_code and community_code[6:9].isdigit() else 0
    word = names.STREET_WORDS[(street * 7 + int(area_code[-2:] or 0)) % len(names.STREET_WORDS)]
    return f"云川市公安局{district}分局{word}派出所"


def _household_rows(city: _City) -> list[tuple]:
    rng = city.rng("household")
    rand = rng.random
    people = city.people
    rows: list[tuple] = []
    for household_no, members in city.households.items():
        head = people[members[0]]
        head_adult = _add_years(head.birth_date, 18)
        founded = _between(rand, max(head_adult, date(1985, 1, 1)), REF - timedelta(days=30))
        station = police_station(head.community_code, head.area_code)
        for i in members:
            p = people[i]
            if i == members[0]:
                on, reason = founded, ("立户" if rand() < 0.55 else "迁入")
            elif p.relation == "配偶":
                on = max(founded, _add_years(p.birth_date, 20))
                on, reason = (on, "迁入") if on == founded else (on, "婚姻迁入")
            elif p.relation == "子女" and p.birth_date >= founded:
                on, reason = p.birth_date + timedelta(days=10 + int(rand() * 50)), "出生登记"
            elif p.relation == "父母":
                on, reason = _between(rand, founded, REF), "投靠迁入"
            else:
                on, reason = founded, "随迁"
            rows.append(
                (p.citizen_id, p.name, household_no, "家庭户", head.citizen_id, head.name, p.relation,
                 p.address, p.area_code, p.community_code, station, min(on, REF), reason,
                 HOUSEHOLD_STATUS.get(p.status, p.status), "市公安局", city.stamp)
            )  # fmt: skip
    rows.sort()  # in citizen-ID order (see _City.by_citizen_id)
    return rows


# ------------------------------------------------------------------------------------------ 无犯罪记录
RECORD_COLUMNS = ("citizen_id", "name", "has_record", "record_summary", "checked_at", "source", "updated_at")
CRIMES = (
    ("危险驾驶罪", "拘役{m}个月，并处罚金人民币{f}元", 30),
    ("盗窃罪", "有期徒刑{y}年，并处罚金人民币{f}元", 22),
    ("故意伤害罪", "有期徒刑{y}年", 10),
    ("诈骗罪", "有期徒刑{y}年，并处罚金人民币{f}元", 10),
    ("寻衅滋事罪", "有期徒刑{y}年", 8),
    ("交通肇事罪", "有期徒刑{y}年，缓刑{y2}年", 8),
    ("开设赌场罪", "有期徒刑{y}年，并处罚金人民币{f}元", 6),
    ("帮助信息网络犯罪活动罪", "有期徒刑{m}个月，并处罚金人民币{f}元", 6),
)


def _record_rows(city: _City) -> list[tuple]:
    rng = city.rng("no_criminal_record")
    rand = rng.random
    crimes = [(c, s) for c, s, w in CRIMES for _ in range(w)]
    rows = []
    base = city.stamp
    for p in city.by_citizen_id():
        if p.status != "正常" or _age(p) < 18:
            continue
        has = rand() < (0.0085 if p.gender == "男" else 0.0015)
        summary = None
        if has:
            crime, sentence = crimes[int(rand() * len(crimes))]
            year = max(_add_years(p.birth_date, 18).year, REF.year - 1 - int(rand() * 20))
            court = f"云川市{DISTRICT_NAMES.get(p.area_code, '云中区')}人民法院"
            text = sentence.format(
                m=1 + int(rand() * 6),
                y=1 + int(rand() * 5),
                y2=1 + int(rand() * 3),
                f=1000 * (2 + int(rand() * 19)),
            )
            summary = f"{year}年经{court}判决，犯{crime}，判处{text}；已执行完毕"
        checked = base - timedelta(minutes=int(rand() * 1440))
        rows.append((p.citizen_id, p.name, has, summary, checked, "市公安局", city.stamp))
    return rows


# ------------------------------------------------------------------------------------------ 婚姻登记
MARRIAGE_COLUMNS = (
    "certificate_no", "kind", "party_a_citizen_id", "party_a_name", "party_b_citizen_id", "party_b_name",
    "registered_on", "office", "office_area_code", "source", "updated_at",
)  # fmt: skip


@dataclass
class _Marriages:
    rows: list[tuple]
    ex_spouse: dict[str, str]  # a single parent's citizen ID → the former spouse's


def _marriage_rows(city: _City) -> _Marriages:
    rng = city.rng("marriage")
    rand = rng.random
    people = city.people
    serial: dict[tuple[str, str, int], int] = defaultdict(int)
    rows: list[tuple] = []
    ex_spouse: dict[str, str] = {}

    def register(kind: str, man: PersonSeed, woman: PersonSeed, on: date, area: str) -> None:
        letter = "J" if kind == "结婚" else "L"
        serial[(letter, area, on.year)] += 1
        number = f"{letter}{area}-{on.year}-{serial[(letter, area, on.year)]:06d}"
        office = f"云川市{DISTRICT_NAMES.get(area, '云中区')}民政局婚姻登记处"
        rows.append(
            (number, kind, man.citizen_id, man.name, woman.citizen_id, woman.name, on, office, area,
             "市民政局", city.stamp)
        )  # fmt: skip

    def legal_age(man: PersonSeed, woman: PersonSeed) -> date:
        return max(_add_years(man.birth_date, 22), _add_years(woman.birth_date, 20), date(1980, 1, 1))

    # Adults living alone: the former spouses of single parents and of some remarried people.
    singles: dict[tuple[str, int], list[int]] = defaultdict(list)
    for members in city.households.values():
        if len(members) == 1:
            p = people[members[0]]
            if 28 <= _age(p) <= 75 and p.status == "正常":
                singles[(p.gender, p.birth_date.year)].append(members[0])

    def take_single(gender: str, year: int) -> PersonSeed | None:
        for delta in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5):
            bucket = singles.get((gender, year + delta))
            if bucket:
                return people[bucket.pop(int(rand() * len(bucket)))]
        return None

    for members in city.households.values():
        head = people[members[0]]
        spouse = next((people[i] for i in members if people[i].relation == "配偶"), None)
        children = [people[i] for i in members if people[i].relation == "子女"]
        first_child = min((c.birth_date for c in children), default=None)
        area = head.area_code if head.area_code in DISTRICT_NAMES else "219502"
        if spouse is not None:
            man, woman = (head, spouse) if head.gender == "男" else (spouse, head)
            lo = legal_age(man, woman)
            hi = REF if first_child is None else first_child - timedelta(days=300)
            married = _between(rand, lo, max(lo, min(hi, _add_years(lo, 8))))
            # Some had an earlier marriage that ended in divorce.
            if rand() < 0.07 and married.year - lo.year >= 4:
                earlier_man = man if rand() < 0.5 else None
                ex = take_single(
                    "女" if earlier_man else "男", (woman if earlier_man else man).birth_date.year
                )
                if ex is not None:
                    a, b = (man, ex) if earlier_man else (ex, woman)
                    lo2 = legal_age(a, b)
                    if lo2 < married - timedelta(days=400):
                        first = _between(rand, lo2, married - timedelta(days=400))
                        register("结婚", a, b, first, area)
                        register(
                            "离婚",
                            a,
                            b,
                            _between(rand, first + timedelta(days=200), married - timedelta(days=60)),
                            area,
                        )
            register("结婚", man, woman, married, area)
        elif children and head.relation == "户主" and rand() < 0.7:
            ex = take_single("女" if head.gender == "男" else "男", head.birth_date.year)
            if ex is None:
                continue
            man, woman = (head, ex) if head.gender == "男" else (ex, head)
            lo = legal_age(man, woman)
            hi = (first_child or REF) - timedelta(days=300)
            if hi < lo:
                continue
            married = _between(rand, max(lo, _add_years(hi, -6)), hi)
            last_child = max(c.birth_date for c in children)
            divorced = _between(
                rand, max(married + timedelta(days=365), last_child + timedelta(days=200)), REF
            )
            register("结婚", man, woman, married, area)
            register("离婚", man, woman, min(divorced, REF), area)
            ex_spouse[head.citizen_id] = ex.citizen_id
    return _Marriages(rows, ex_spouse)


# ------------------------------------------------------------------------------------------ 社保缴费
INSURANCE_COLUMNS = (
    "citizen_id", "name", "insurance_type", "employer_credit_code", "month", "base_fen", "amount_fen",
    "personal_fen", "status", "area_code", "source", "updated_at",
)  # fmt: skip
# (unit rate, personal rate) by type for employees (Liaoning-like), per mille.
EMPLOYEE_RATES = {"养老": (160, 80), "医疗": (75, 20), "失业": (5, 5), "工伤": (4, 0)}
FLEXIBLE_RATES = {"养老": (0, 200), "医疗": (0, 80)}
BASE_MIN, BASE_MAX = 4_500, 22_500  # yuan per month (60 % and 300 % of the average wage)


def _employers(enterprises: Sequence[EnterpriseSeed]) -> tuple[list[EnterpriseSeed], list[float]]:
    """Live legal persons that employ people, with cumulative weights (bigger capital, more staff)."""
    pool = [e for e in enterprises if e.status == "存续" and e.kind != "个体工商户"]
    cum: list[float] = []
    total = 0.0
    for e in pool:
        total += 1.0 + math.log10(1 + e.registered_capital_fen / 100 / 100_000)
        cum.append(total)
    return pool, cum


def _insurance_rows(city: _City, rng: random.Random) -> Iterator[tuple]:
    from bisect import bisect

    rand = rng.random
    pool, cum = _employers(city.enterprises)
    total = cum[-1] if cum else 0.0
    stamp = city.stamp
    months = [_month_text(m) for m in range(REF_MONTH - 48, REF_MONTH + 1)]
    base_index = len(months) - 1  # months[base_index] is the reference month
    for p in city.by_citizen_id():
        if p.status != "正常":
            continue
        age = _age(p)
        retire = 60 if p.gender == "男" else 55
        if not 18 <= age < retire:
            continue
        u = rand()
        employed_p = 0.25 if age < 23 else 0.60
        if u < employed_p and pool:
            employer = pool[min(len(pool) - 1, bisect(cum, rand() * total))]
            credit, area, rates = employer.credit_code, employer.area_code or p.area_code, EMPLOYEE_RATES
        elif u < employed_p + 0.10:
            credit, area, rates = None, p.area_code, FLEXIBLE_RATES
        else:
            continue
        if area not in DISTRICT_NAMES:
            area = p.area_code
        base_yuan = min(BASE_MAX, max(BASE_MIN, int(rng.lognormvariate(math.log(6_200), 0.45))))
        n_months = 12 + int(rand() * 25)
        stopped = int(rand() * 12) + 1 if rand() < 0.08 else 0  # stopped paying some months ago
        last = base_index - stopped
        first = max(0, last - n_months + 1)
        name, cid = p.name, p.citizen_id
        unit_rate, personal_rate = rates["养老"]
        for k in range(first, last + 1):
            # The base is set each July: 4 % lower for each earlier base year.
            years_back = (base_index - k + 6) // 12
            base = base_yuan * 100 * (100 - 4 * years_back) // 100
            personal = base * personal_rate // 1000
            status = "已缴"
            if k == base_index and rand() < 0.01:
                status = "欠缴"
            elif rand() < 0.004:
                status = "补缴"
            yield (cid, name, "养老", credit, months[k], base, base * unit_rate // 1000 + personal, personal,
                   status, area, "市人社局", stamp)  # fmt: skip
        if stopped == 0:
            base = base_yuan * 100
            for kind, (unit_rate, personal_rate) in rates.items():
                if kind == "养老":
                    continue
                personal = base * personal_rate // 1000
                yield (cid, name, kind, credit, months[base_index], base, base * unit_rate // 1000 + personal,
                       personal, "已缴", area, "市人社局", stamp)  # fmt: skip


# ------------------------------------------------------------------------------------------ 不动产权
PROPERTY_COLUMNS = (
    "certificate_no", "unit_no", "owner_id", "owner_kind", "owner_name", "co_ownership", "location",
    "community_code", "area_cm2", "usage", "right_type", "registered_on", "mortgaged", "seized", "status",
    "source", "updated_at",
)  # fmt: skip
_ADDRESS = re.compile(r"^(?P<estate>.*?)(?P<building>\d+)号楼(?P<unit>\d+)单元(?P<room>\d+)室$")
HOME_RIGHT = "国有建设用地使用权/房屋所有权"


def _property_rows(city: _City) -> list[tuple]:
    rng = city.rng("property")
    rand = rng.random
    people = city.people
    serial: dict[int, int] = defaultdict(int)
    estates: dict[tuple[str, str], int] = {}
    rows: list[tuple] = []
    communities_by_district: dict[str, list[str]] = defaultdict(list)
    for p in people:
        if p.community_code:
            bucket = communities_by_district[p.community_code[:6]]
            if not bucket or bucket[-1] != p.community_code:
                bucket.append(p.community_code)

    def number(on: date) -> str:
        serial[on.year] += 1
        return f"辽（{on.year}）云川市不动产权第{serial[on.year]:07d}号"

    def unit_no(community: str, location: str, fallback: int) -> str:
        m = _ADDRESS.match(location)
        if m is None:
            return f"{community}GB{fallback % 100_000:05d}F{fallback % 10_000:04d}0001"
        estate = estates.setdefault((community, m["estate"]), len(estates) + 1)
        building, room = int(m["building"]) % 10_000, int(m["room"]) % 10_000
        return f"{community}GB{estate % 100_000:05d}F{building:04d}{room:04d}"

    def add(owner: tuple[str, str, str], co: str, location: str, community: str, unit: str, area_m2: float,
            usage: str, right: str, on: date, mortgaged: bool) -> None:  # fmt: skip
        rows.append(
            (number(on), unit, owner[0], owner[1], owner[2], co, location, community,
             int(round(area_m2 * 100)) * 100, usage, right, on, mortgaged, rand() < 0.003, "现势",
             "市自然资源局", city.stamp)
        )  # fmt: skip

    for members in city.households.values():
        head = people[members[0]]
        if head.status != "正常" or _age(head) < 25 or rand() >= 0.30 or not head.address:
            continue
        community = head.community_code or f"{head.area_code}000000"
        spouse = next(
            (people[i] for i in members if people[i].relation == "配偶" and people[i].status == "正常"), None
        )
        on = _between(rand, max(date(2016, 1, 1), _add_years(head.birth_date, 22)), REF)
        area = round(rng.triangular(42, 160, 86), 2)
        mortgaged = rand() < (0.45 if on.year >= 2019 else 0.2)
        unit = unit_no(community, head.address, len(rows))
        owners = [head] + ([spouse] if spouse is not None and rand() < 0.55 else [])
        co = "共同共有" if len(owners) == 2 else "单独所有"
        for owner in owners:
            add((owner.citizen_id, "个人", owner.name), co, head.address, community, unit, area, "住宅",
                HOME_RIGHT, on, mortgaged)  # fmt: skip
        if rand() < 0.12:  # a parking space in the same estate
            m = _ADDRESS.match(head.address)
            estate = m["estate"] if m else head.address
            slot = f"{estate}地下车库{1 + int(rand() * 400)}号车位"
            add((head.citizen_id, "个人", head.name), "单独所有", slot, community,
                unit_no(community, slot, len(rows) + 7), round(12 + rand() * 4, 2), "车位", HOME_RIGHT,
                _between(rand, on, REF), False)  # fmt: skip
    for e in city.enterprises:
        if e.status != "存续" or e.kind != "企业" or rand() >= 0.15:
            continue
        district = e.area_code if e.area_code in DISTRICT_NAMES else "219502"
        choices = communities_by_district.get(district) or [f"{district}001001"]
        community = choices[int(rand() * len(choices))]
        industrial = e.industry_code[:1] in ("C", "A", "G") and rand() < 0.5
        usage = "工业" if industrial else ("商业" if rand() < 0.6 else "办公")
        area = round(rng.triangular(300, 6000, 1200) if industrial else rng.triangular(40, 1500, 150), 2)
        established = e.established_on or date(2016, 1, 1)
        on = _between(rand, max(date(2016, 1, 1), established), REF)
        location = e.address or f"辽宁省云川市{DISTRICT_NAMES.get(district, '')}"
        unit = unit_no(community, location, len(rows))
        add((e.credit_code, "单位", e.name), "单独所有", location, community, unit, area, usage,
            "国有建设用地使用权/房屋（构筑物）所有权", on, rand() < 0.3)  # fmt: skip
    return rows


# ------------------------------------------------------------------------------------------ 纳税状态
TAX_COLUMNS = (
    "credit_code", "taxpayer_name", "taxpayer_type", "credit_grade", "has_arrears", "arrears_fen",
    "last_period", "status", "tax_authority", "area_code", "source", "updated_at",
)  # fmt: skip
GRADES = (("A", 18), ("B", 55), ("M", 17), ("C", 6), ("D", 4))


def tax_authority(area_code: str) -> str:
    district = DISTRICT_NAMES.get(area_code)
    return f"国家税务总局云川市{district}税务局" if district else "国家税务总局云川市税务局"


def _tax_rows(city: _City) -> list[tuple]:
    rng = city.rng("tax_status")
    rand = rng.random
    grades = [g for g, w in GRADES for _ in range(w)]
    year_ago = REF - timedelta(days=365)
    rows = []
    for e in city.enterprises:
        capital_yuan = e.registered_capital_fen // 100
        if e.kind == "企业" and (capital_yuan >= 5_000_000 or rand() < 0.22):
            kind = "一般纳税人"
        else:
            kind = "小规模纳税人"
        grade = "M" if e.established_on and e.established_on > year_ago else grades[int(rand() * len(grades))]
        status = {"注销": "注销", "吊销": "非正常"}.get(e.status, "正常")
        if status == "正常" and rand() < 0.02:
            status, grade = "非正常", "D"
        arrears_p = {"D": 0.6, "C": 0.2}.get(grade, 0.01)
        has_arrears = status != "注销" and rand() < arrears_p
        arrears = (1_000 + int(rand() * 499_000)) * 100 if has_arrears else 0
        if status == "正常":
            period = "202511" if kind == "一般纳税人" else "202509"
        else:
            period = _month_text(REF_MONTH - 3 - int(rand() * 30))
        area = e.area_code if e.area_code else CITY_AREA
        rows.append(
            (e.credit_code, e.name, kind, grade, has_arrears, arrears, period, status, tax_authority(area),
             area, "市税务局", city.stamp)
        )  # fmt: skip
    return rows


# ------------------------------------------------------------------------------------------ 出生医学证明
BIRTH_COLUMNS = (
    "certificate_no", "child_name", "child_gender", "birth_at", "gestational_weeks", "weight_g", "length_cm",
    "hospital", "area_code", "mother_citizen_id", "mother_name", "father_citizen_id", "father_name",
    "child_citizen_id", "issued_on", "source", "updated_at",
)  # fmt: skip
BIRTH_CERTIFICATES_SINCE = date(2008, 1, 1)
CITY_HOSPITALS = (
    ("云川市妇幼保健院", "219502", 35),
    ("云川市第一人民医院", "219502", 20),
    ("云川市中心医院", "219503", 15),
)


def _certificate_letter(year: int) -> str:
    return "K" if year < 2014 else "N" if year < 2017 else "O" if year < 2020 else "P" if year < 2023 else "Q"


def _birth_rows(city: _City, ex_spouse: dict[str, str]) -> list[tuple]:
    rng = city.rng("birth_certificate")
    rand = rng.random
    people = city.people
    rows = []
    serial = 0
    for members in city.households.values():
        head = people[members[0]]
        spouse = next((people[i] for i in members if people[i].relation == "配偶"), None)
        if spouse is None:
            ex = ex_spouse.get(head.citizen_id)
            spouse = people[city.index[ex]] if ex in city.index else None
        mother, father = (head, spouse) if head.gender == "女" else (spouse, head)
        if mother is None:
            continue
        for i in members:
            child = people[i]
            if child.relation != "子女" or child.birth_date < BIRTH_CERTIFICATES_SINCE:
                continue
            born_in = child.citizen_id[:6]
            if born_in not in DISTRICT_NAMES:
                continue  # born outside the city: its certificate is another city's record
            if not 16 <= (child.birth_date - mother.birth_date).days / 365.25 <= 50:
                continue
            u = rand() * 100
            if u < 70:
                cum = 0
                for hospital, area, weight in CITY_HOSPITALS:  # noqa: B007 - the one picked is used
                    cum += weight
                    if u < cum:
                        break
            else:
                hospital, area = f"云川市{DISTRICT_NAMES[born_in]}人民医院", born_in
            serial += 1
            moment = datetime.combine(child.birth_date, time(int(rand() * 24), int(rand() * 60)), SHANGHAI)
            weeks = 37 + int(rand() * 5) if rand() > 0.07 else 33 + int(rand() * 4)
            weight = int(rng.gauss(3300 if weeks >= 37 else 2500, 380))
            rows.append(
                (f"{_certificate_letter(child.birth_date.year)}21{serial:07d}", child.name, child.gender,
                 moment.astimezone(UTC), weeks, max(1500, weight), 46 + int(rand() * 8), hospital, area,
                 mother.citizen_id, mother.name, father.citizen_id if father else None,
                 father.name if father else None, child.citizen_id,
                 min(REF, child.birth_date + timedelta(days=int(rand() * 4))), "市卫健委", city.stamp)
            )  # fmt: skip
    return rows


# ------------------------------------------------------------------------------------------ 学籍 and schools
SCHOOL_COLUMNS = (
    "student_citizen_id", "student_name", "student_no", "school_name", "school_credit_code", "stage", "grade",
    "enrolled_on", "status", "area_code", "source", "updated_at",
)  # fmt: skip
LEGAL_PERSON_COLUMNS = (
    "credit_code", "name", "kind", "org_form", "legal_rep_citizen_id", "legal_rep_name",
    "registered_capital_fen", "established_on", "area_code", "address", "industry_code", "industry_name",
    "business_scope", "status", "source", "updated_at",
)  # fmt: skip
SCHOOL_WORDS = (
    "实验", "育才", "新华", "胜利", "光明", "朝阳", "文化", "友谊", "红旗", "东风", "青年", "和平", "建设",
    "民主", "向阳", "长青", "明德", "启智", "博文", "求真",
)  # fmt: skip
# stage: (first grade, last grade, pupils per school, name pattern, scope)
STAGES = {
    "小学": (1, 6, 700, "云川市{district}{word}小学", "实施小学义务教育，促进基础教育发展"),
    "初中": (7, 9, 1000, "云川市{district}{word}初级中学", "实施初中义务教育，促进基础教育发展"),
    "高中": (10, 12, 1500, "云川市第{n}高级中学", "实施普通高中学历教育，促进基础教育发展"),
}


@dataclass
class _School:
    credit_code: str
    name: str
    stage: str
    area_code: str


def _school_grade(birth: date) -> int:
    """The grade a child born on `birth` is in during the school year that began in September of the
    reference year (grade 1 in the September after turning 6 by 31 August)."""
    entry = birth.year + (6 if (birth.month, birth.day) <= (8, 31) else 7)
    return REF.year - entry + 1 if REF.month >= 9 else REF.year - entry


def _chinese_number(n: int) -> str:
    if n <= 10:
        return CN_NUMBERS[n]
    if n < 20:
        return "十" + (CN_NUMBERS[n % 10] if n % 10 else "")
    return CN_NUMBERS[n // 10] + "十" + (CN_NUMBERS[n % 10] if n % 10 else "")


def _schools(
    city: _City, pupils: dict[tuple[str, str], int], taken: set[str]
) -> tuple[list[_School], list[tuple]]:
    """Public schools (事业单位) for every district and stage, sized to its pupils, and their rows
    for the legal-person registry."""
    rng = city.rng("schools")
    rand = rng.random
    principals = [p for p in city.people if p.status == "正常" and 35 <= _age(p) <= 58]
    schools: list[_School] = []
    rows: list[tuple] = []
    senior_no = 0
    for _key, district, code, _share in names.DISTRICTS:
        words = rng.sample(SCHOOL_WORDS, len(SCHOOL_WORDS))
        for stage, (_lo, _hi, size, pattern, scope) in STAGES.items():
            count = max(1, math.ceil(pupils.get((code, stage), 0) / size))
            for _ in range(count):
                if stage == "高中":
                    senior_no += 1
                    name = pattern.format(n=_chinese_number(senior_no))
                else:
                    name = pattern.format(
                        district=district, word=words.pop() if words else f"第{len(schools) + 1}"
                    )
                while True:
                    credit = generate_credit_code(rng, "1", "2", code)
                    if credit not in taken:
                        taken.add(credit)
                        break
                head = principals[int(rand() * len(principals))] if principals else None
                road = names.ROAD_WORDS[int(rand() * len(names.ROAD_WORDS))]
                suffix = names.ROAD_SUFFIXES[int(rand() * len(names.ROAD_SUFFIXES))]
                established = date(1950 + int(rand() * 56), 9, 1)
                schools.append(_School(credit, name, stage, code))
                rep = (head.citizen_id, head.name) if head else ("", "")
                rows.append(
                    (credit, name, "事业单位", "事业单位", rep[0], rep[1],
                     (1_000_000 + int(rand() * 9) * 1_000_000) * 100, established, code,
                     f"辽宁省云川市{district}{road}{suffix}{1 + int(rand() * 300)}号", "P83", "教育", scope,
                     "存续", "市委编办", city.stamp)
                )  # fmt: skip
    return schools, rows


def _pupils(city: _City) -> list[tuple[PersonSeed, str, int]]:
    """(pupil, stage, grade) for every child at school in the reference school year."""
    out = []
    rand = city.rng("pupils").random
    for p in city.people:
        if p.status != "正常" or not 5 <= _age(p) <= 19:
            continue
        grade = _school_grade(p.birth_date)
        if not 1 <= grade <= 12:
            continue
        if grade >= 10 and rand() >= 0.88:
            continue  # vocational school or work instead of 普通高中
        stage = "小学" if grade <= 6 else "初中" if grade <= 9 else "高中"
        out.append((p, stage, grade))
    return out


def _enrolment_rows(
    city: _City, pupils: list[tuple[PersonSeed, str, int]], schools: list[_School]
) -> list[tuple]:
    rng = city.rng("school_enrolment")
    rand = rng.random
    by_place: dict[tuple[str, str], list[_School]] = defaultdict(list)
    for s in schools:
        by_place[(s.area_code, s.stage)].append(s)
    rows = []
    for p, stage, grade in pupils:
        district = _district_of(p)
        choices = by_place.get((district, stage)) or by_place.get(("219502", stage))
        if not choices:
            continue
        school = choices[int(rand() * len(choices))]
        first, *_ = STAGES[stage]
        in_stage = grade - first + 1
        started = REF.year - in_stage + (1 if REF.month >= 9 else 0)
        status = "在读" if rand() > 0.01 else "休学"
        rows.append(
            (p.citizen_id, p.name, f"G{p.citizen_id}", school.name, school.credit_code, stage,
             f"{stage}{CN_NUMBERS[in_stage]}年级", date(started, 9, 1), status, school.area_code, "市教育局",
             city.stamp)
        )  # fmt: skip
    return rows


# ------------------------------------------------------------------------------------------ entry
def build_department_registries(
    session_or_connection: Session | Connection,
    *,
    rng_seed: int,
    people: Sequence[PersonSeed | tuple] | None = None,
    enterprises: Sequence[EnterpriseSeed | tuple] | None = None,
    create_schools: bool = True,
    updated_at: datetime | None = None,
) -> dict[str, int]:
    """Generate the department registries from the people and enterprises given (default: all of
    `registry_person` and `registry_legal_person`) and write them in the caller's transaction.

    Returns rows written per resource key; "legal_person" counts the schools added (事业单位). Run it
    once, on a city without department registries: the registries' unique keys refuse a second run.
    """
    conn = (
        session_or_connection.connection()
        if isinstance(session_or_connection, Session)
        else session_or_connection
    )
    if isinstance(session_or_connection, Session):
        session_or_connection.flush()
    seeds = _read_people(conn) if people is None else _complete(people, conn)
    firms = _read_enterprises(conn) if enterprises is None else [
        e if isinstance(e, EnterpriseSeed) else EnterpriseSeed(*e) for e in enterprises
    ]  # fmt: skip
    city = _City(
        people=seeds,
        index={p.citizen_id: i for i, p in enumerate(seeds)},
        households=_households(seeds),
        enterprises=firms,
        stamp=updated_at or stamp_for(rng_seed),
        seed=rng_seed,
    )
    counts: dict[str, int] = {}

    def write(key: str, columns: Sequence[str], rows: Any, **kw: Any) -> None:
        counts[key] = counts.get(key, 0) + registry.bulk_write(conn, key, rows, columns=columns, **kw)

    pupils = _pupils(city)
    schools: list[_School] = []
    if create_schools and seeds:
        tally: dict[tuple[str, str], int] = defaultdict(int)
        for p, stage, _grade in pupils:
            tally[(_district_of(p), stage)] += 1
        schools, school_rows = _schools(city, tally, {e.credit_code for e in firms})
        write("legal_person", LEGAL_PERSON_COLUMNS, school_rows)
        firms.extend(
            EnterpriseSeed(r[0], r[1], r[2], r[13], r[8], r[7], r[6], r[9], r[10]) for r in school_rows
        )
    else:
        schools = [
            _School(e.credit_code, e.name, stage, e.area_code)
            for e in firms
            if e.status == "存续"
            for stage in STAGES
            if e.name.endswith({"小学": "小学", "初中": "中学", "高中": "高级中学"}[stage])
        ]

    write("household", HOUSEHOLD_COLUMNS, _household_rows(city))
    write("no_criminal_record", RECORD_COLUMNS, _record_rows(city))
    marriages = _marriage_rows(city)
    write("marriage", MARRIAGE_COLUMNS, marriages.rows)
    insurance_rng = city.rng("social_insurance")
    # A large stream into an empty table: build its secondary indexes once, after the rows.
    insurance = Base.metadata.tables["registry_social_insurance"]
    empty = conn.execute(select(insurance.c.id).limit(1)).first() is None
    big = empty and len(seeds) >= 10_000
    write("social_insurance", INSURANCE_COLUMNS, _insurance_rows(city, insurance_rng), rebuild_indexes=big)
    write("property", PROPERTY_COLUMNS, _property_rows(city))
    write("tax_status", TAX_COLUMNS, _tax_rows(city))
    write("birth_certificate", BIRTH_COLUMNS, _birth_rows(city, marriages.ex_spouse))
    write("school_enrolment", SCHOOL_COLUMNS, _enrolment_rows(city, pupils, schools))
    counts.setdefault("legal_person", 0)
    return counts
