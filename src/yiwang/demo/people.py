"""The population registry of the demo city (人口库): households (户) of plausible families.

Each household has one 户主 and an address in one community (小区, 楼栋, 单元, 室); members are the
spouse, children and the head's parents. Ages follow from the household type, which yields an ageing,
north-eastern age pyramid. Every citizen ID is a valid GB 11643 number: the address code is mostly a
district of the city (a share were born elsewhere), and the sequence number is unique per address code,
birth date and gender without keeping the IDs in memory, so a million people build in flat memory.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from yiwang.core.ids import generate_citizen_id
from yiwang.demo import names
from yiwang.demo.orgs import OrgTree

# The census date of the synthetic registry: everyone was born on or before it, whatever the clock.
REFERENCE_DATE = date(2025, 12, 31)
MAX_AGE = 101

PERSON_COLUMNS = (
    "citizen_id", "name", "gender", "birth_date", "ethnicity", "area_code", "community_code", "address",
    "household_no", "relation", "phone", "status", "source", "updated_at",
)  # fmt: skip

# Household types and their shares: one person, a couple, a couple with one or two children, three
# generations, one parent with a child. Average size ≈ 2.4, as in the north-east.
HOUSEHOLD_TYPES: tuple[tuple[str, float], ...] = (
    ("single", 0.25),
    ("couple", 0.30),
    ("nuclear1", 0.22),
    ("nuclear2", 0.08),
    ("three", 0.10),
    ("single_parent", 0.05),
)


class Weighted:
    """Pick from weighted items with one uniform draw (bisect on cumulative weights)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.items = [p[0] for p in pairs]
        cum: list[float] = []
        total = 0.0
        for _, w in pairs:
            total += w
            cum.append(total)
        self.cum = cum
        self.total = total

    def pick(self, u: float) -> Any:
        i = bisect(self.cum, u * self.total)
        return self.items[i if i < len(self.items) else -1]


@dataclass
class Candidate:
    citizen_id: str
    name: str
    phone: str | None
    birth_year: int
    district_code: str
    address: str


@dataclass
class PeopleResult:
    count: int = 0
    households: int = 0
    # Heads of households of three or more, aged 28–55: the demo citizen and the demo legal rep.
    showcase: list[Candidate] = field(default_factory=list)
    # Other adults aged 23–58: staff members and the enterprise's authorised agent.
    workers: list[Candidate] = field(default_factory=list)
    # Adults sampled for the legal-person registry: (citizen ID, name, birth year).
    legal_reps: list[tuple[str, str, int]] = field(default_factory=list)


def generate_people(
    *,
    seed: int,
    tree: OrgTree,
    count: int,
    legal_rep_quota: int,
    write: Callable[[list[tuple[Any, ...]]], None],
    fmt_date: Callable[[date], Any],
    updated_at: Any,
    chunk: int = 20_000,
    progress: Callable[[str, int, int], None] | None = None,
) -> PeopleResult:
    """Generate `count` people household by household and hand them to `write` in chunks.

    `fmt_date` turns a date into what the database driver takes; `updated_at` is already converted.
    The person stream depends only on the seed, the tree and `count`; sampling legal representatives
    uses its own stream, so the number of enterprises does not change who lives in the city.
    """
    rng = random.Random(f"yiwang-demo:{seed}:people")
    pick_rng = random.Random(f"yiwang-demo:{seed}:legal-reps")
    rand = rng.random
    pick_rand = pick_rng.random

    surnames = Weighted(names.SURNAMES)
    ethnicities = Weighted(names.ETHNICITIES)
    elsewhere = Weighted(names.ELSEWHERE_AREAS)
    types = Weighted(HOUSEHOLD_TYPES)
    communities = tree.communities
    community_pick = Weighted([(c, tree.districts[c.district_index].share * c.weight) for c in communities])
    district_codes = [d.code for d in tree.districts]
    # Every address code a citizen ID may carry, for the sequence-number counters.
    area_codes = district_codes + [a for a, _ in names.ELSEWHERE_AREAS]
    area_index = {a: i for i, a in enumerate(area_codes)}
    given = names.GIVEN_NAMES
    phone_prefixes = names.PHONE_PREFIXES
    n_prefixes = len(phone_prefixes)

    ref_ordinal = REFERENCE_DATE.toordinal()
    n_days = MAX_AGE * 366 + 366
    # One counter per (address code, birth date, gender): the next free sequence number.
    counters = array("H", bytes(2 * len(area_codes) * n_days * 2))

    adults_expected = max(1.0, count * 0.8)
    rep_p = min(1.0, 1.3 * legal_rep_quota / adults_expected)

    result = PeopleResult()
    rows: list[tuple[Any, ...]] = []
    hh_no = 0

    def randint(a: int, b: int) -> int:
        return a + int(rand() * (b - a + 1))

    def given_name(male: bool, birth_year: int) -> str:
        era = 0 if birth_year < 1960 else 1 if birth_year < 1980 else 2 if birth_year < 2000 else 3
        whole, first, second, single_p = given[(era, male)]
        u = rand()
        if u < 0.5:
            return whole[int(rand() * len(whole))]
        if u < 0.5 + 0.5 * single_p:
            return second[int(rand() * len(second))]
        return first[int(rand() * len(first))] + second[int(rand() * len(second))]

    def citizen_id(home_district: str, age: int, male: bool) -> tuple[str, date]:
        u = rand()
        if u < (0.78 if age >= 18 else 0.92):
            area = home_district
        elif u < (0.88 if age >= 18 else 0.97):
            area = district_codes[int(rand() * len(district_codes))]
        else:
            area = elsewhere.pick(rand())
        # Born on a day within the year of age, never after the census date.
        day = age * 365 + int(age / 4) + int(rand() * 365)
        slot_base = (area_index[area] * n_days) * 2 + int(male)
        while True:
            slot = slot_base + day * 2
            k = counters[slot]
            if k < 500:
                counters[slot] = k + 1
                break
            day += 1  # all 500 numbers of that day are taken: the next day (never in practice)
        x = (k * 37 + (slot * 2654435761 >> 7)) % 500
        birth = date.fromordinal(ref_ordinal - day)
        return generate_citizen_id(rng, area, birth, male, x * 2 + int(male)), birth

    def phone_for(age: int) -> str | None:
        if age < 16 or (age >= 80 and rand() < 0.4) or rand() < 0.04:
            return None
        return f"{phone_prefixes[int(rand() * n_prefixes)]}{int(rand() * 100_000_000):08d}"

    def household(total_left: int) -> None:
        nonlocal hh_no
        hh_no += 1
        kind = types.pick(rand())
        community = community_pick.pick(rand())
        estate = community.estates[int(rand() * len(community.estates))]
        floor = randint(1, estate.floors)
        address = (
            f"{community.address_prefix}{estate.name}{randint(1, estate.buildings)}号楼"
            f"{randint(1, estate.units)}单元{floor}{randint(1, 3):02d}室"
        )
        home = community.district_code
        household_no = f"{home}{hh_no:09d}"

        # Who lives here: (male, age, relation, surname, ethnicity).
        members: list[tuple[bool, int, str, str, str]] = []
        head_eth = ethnicities.pick(rand())
        head_surname = surnames.pick(rand())
        if kind == "single":
            u = rand()
            age = (
                randint(20, 34)
                if u < 0.3
                else randint(35, 59)
                if u < 0.58
                else int(rng.triangular(60, 98, 70))
            )
            male = rand() < (0.55 if age < 60 else 0.4)
            members.append((male, age, "户主", head_surname, head_eth))
        elif kind == "single_parent":
            age = int(rng.triangular(26, 62, 42))
            male = rand() < 0.25
            members.append((male, age, "户主", head_surname, head_eth))
            members.append((rand() < 0.51, _child_age(age, randint), "子女", head_surname, head_eth))
        else:
            if kind == "couple":
                age = int(rng.triangular(24, 90, 64))
            elif kind == "three":
                age = int(rng.triangular(28, 60, 44))
            elif rand() < 0.45:
                age = int(rng.triangular(25, 46, 36))  # young parents, children at school
            else:
                age = int(rng.triangular(44, 70, 54))  # grown-up children still at home
            male = rand() < 0.72
            spouse_age = max(20, age - randint(-2, 5) if male else age + randint(-2, 5))
            spouse_eth = head_eth if rand() < 0.7 else ethnicities.pick(rand())
            spouse_surname = surnames.pick(rand())
            members.append((male, age, "户主", head_surname, head_eth))
            members.append((not male, spouse_age, "配偶", spouse_surname, spouse_eth))
            father_surname = head_surname if male else spouse_surname
            mother_age = spouse_age if male else age
            if kind in ("nuclear1", "nuclear2", "three"):
                first = _child_age(mother_age, randint)
                members.append(
                    (
                        rand() < 0.51,
                        first,
                        "子女",
                        father_surname if rand() < 0.93 else (spouse_surname if male else head_surname),
                        head_eth,
                    )
                )
                if kind == "nuclear2" or (kind == "three" and rand() < 0.35):
                    second = max(0, first - randint(1, 8))
                    members.append((rand() < 0.51, second, "子女", father_surname, head_eth))
            if kind == "three":
                father_age = age + randint(24, 34)
                mother_age_p = father_age - randint(0, 5)
                u = rand()
                if father_age <= 97 and u < 0.6:
                    members.append((True, father_age, "父母", head_surname, head_eth))
                if u >= 0.3 and mother_age_p <= MAX_AGE - 1:
                    members.append((False, mother_age_p, "父母", surnames.pick(rand()), head_eth))
        if len(members) > total_left:
            del members[total_left:]

        big = len(members) >= 3
        for male, age, relation, surname, eth in members:
            cid, birth = citizen_id(home, age, male)
            name = surname + given_name(male, birth.year)
            phone = phone_for(age)
            status = "正常"
            if relation != "户主":
                u = rand()
                if u < (0.05 if age >= 75 else 0.002):
                    status = "死亡"
                elif u > (0.97 if 18 <= age <= 40 else 0.995):
                    status = "迁出"
            rows.append(
                (cid, name, "男" if male else "女", fmt_date(birth), eth, home, community.code, address,
                 household_no, relation, phone, status, "市公安局", updated_at)
            )  # fmt: skip
            if status != "正常" or not 22 <= age <= 68:
                continue
            if relation == "户主" and big and 28 <= age <= 55 and len(result.showcase) < 4:
                result.showcase.append(Candidate(cid, name, phone, birth.year, home, address))
            elif relation != "户主" and 23 <= age <= 58 and len(result.workers) < 16:
                result.workers.append(Candidate(cid, name, phone, birth.year, home, address))
            elif pick_rand() < rep_p and len(result.legal_reps) < legal_rep_quota:
                result.legal_reps.append((cid, name, birth.year))

    written = 0
    while written + len(rows) < count:
        household(count - written - len(rows))
        if len(rows) >= chunk:
            write(rows)
            written += len(rows)
            rows = []
            if progress:
                progress("people", written, count)
    if rows:
        write(rows)
        written += len(rows)
        if progress:
            progress("people", written, count)
    result.count = written
    result.households = hh_no
    return result


def _child_age(mother_age: int, randint: Callable[[int, int], int]) -> int:
    """A child's age: born when the mother was 22–36 (younger mothers get a younger child)."""
    age = mother_age - randint(22, 36)
    if age < 0:
        age = randint(0, max(0, mother_age - 20))
    return age
