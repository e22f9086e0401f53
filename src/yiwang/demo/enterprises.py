"""The legal-person registry of the demo city (法人库): companies, sole traders (个体工商户), farmers'
co-operatives and social organisations, each with a valid GB 32100 credit code and a legal
representative drawn from the city's adult population."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from yiwang.core.ids import generate_credit_code
from yiwang.demo import names
from yiwang.demo.orgs import CITY_CODE, CITY_NAME, PROVINCE_NAME, OrgTree
from yiwang.demo.people import REFERENCE_DATE, Candidate, Weighted

LEGAL_PERSON_COLUMNS = (
    "credit_code", "name", "kind", "org_form", "legal_rep_citizen_id", "legal_rep_name",
    "registered_capital_fen", "established_on", "area_code", "address", "industry_code", "industry_name",
    "business_scope", "status", "source", "updated_at",
)  # fmt: skip

# (category, share): companies (authority 9 type 1), sole traders (9/2), co-operatives (9/3), social
# organisations registered with 民政 (5/1, 5/2, 5/3).
CATEGORIES: tuple[tuple[str, float], ...] = (
    ("company", 0.70),
    ("sole_trader", 0.235),
    ("coop", 0.02),
    ("social", 0.045),
)
COMPANY_FORMS: tuple[tuple[str, float], ...] = (
    ("有限责任公司", 0.80),
    ("有限责任公司（自然人独资）", 0.09),
    ("股份有限公司", 0.03),
    ("个人独资企业", 0.05),
    ("合伙企业", 0.03),
)
# Registered capital in yuan (×100 → fen) and weights.
CAPITALS: tuple[tuple[int, float], ...] = (
    (100_000, 8), (300_000, 10), (500_000, 14), (1_000_000, 20), (2_000_000, 12), (3_000_000, 10),
    (5_000_000, 10), (10_000_000, 8), (20_000_000, 4), (50_000_000, 3), (100_000_000, 1),
)  # fmt: skip
SCOPE_TAIL = "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"


@dataclass
class EnterpriseResult:
    count: int
    demo_credit_code: str
    demo_name: str


def generate_enterprises(
    *,
    seed: int,
    tree: OrgTree,
    count: int,
    legal_reps: list[tuple[str, str, int]],
    demo_rep: Candidate,
    write: Callable[[list[tuple[Any, ...]]], None],
    fmt_date: Callable[[date], Any],
    updated_at: Any,
    chunk: int = 20_000,
    progress: Callable[[str, int, int], None] | None = None,
) -> EnterpriseResult:
    """Generate `count` legal persons; the first is the demo enterprise, represented by `demo_rep`."""
    rng = random.Random(f"yiwang-demo:{seed}:enterprises")
    rand = rng.random
    categories = Weighted(CATEGORIES)
    forms = Weighted(COMPANY_FORMS)
    capitals = Weighted(CAPITALS)
    industries = Weighted([(ind, ind[4]) for ind in names.INDUSTRIES])
    industry_by_code = {ind[0]: ind for ind in names.INDUSTRIES}
    shop_industries = list(names.SHOP_WORDS)
    districts = Weighted([(d, d.share) for d in tree.districts])
    brand_chars = names.BRAND_CHARS
    n_brand = len(brand_chars)
    if not legal_reps:
        legal_reps = [(demo_rep.citizen_id, demo_rep.name, demo_rep.birth_year)]
    n_reps = len(legal_reps)
    ref_ordinal = REFERENCE_DATE.toordinal()

    used_codes: set[str] = set()
    used_names: set[str] = set()
    rows: list[tuple[Any, ...]] = []
    written = 0
    demo = ("", "")

    def brand(chars: int = 2) -> str:
        picked = ""
        while len(picked) < chars:
            ch = brand_chars[int(rand() * n_brand)]
            if ch not in picked:
                picked += ch
        return picked

    def unique_name(make: Callable[[int], str]) -> str:
        for attempt in range(12):
            name = make(2 if attempt < 6 else 3)
            if name not in used_names:
                used_names.add(name)
                return name
        n = 2
        while f"{name}（{n}）" in used_names:
            n += 1
        used_names.add(f"{name}（{n}）")
        return f"{name}（{n}）"

    def credit(authority: str, org_type: str, area: str) -> str:
        while True:
            code = generate_credit_code(rng, authority, org_type, area)
            if code not in used_codes:
                used_codes.add(code)
                return code

    def address(district_name: str) -> str:
        road = names.ROAD_WORDS[int(rand() * len(names.ROAD_WORDS))]
        suffix = names.ROAD_SUFFIXES[int(rand() * len(names.ROAD_SUFFIXES))]
        tail = f"{int(rand() * 30) + 1}层" if rand() < 0.3 else ""
        return f"{PROVINCE_NAME}{CITY_NAME}{district_name}{road}{suffix}{int(rand() * 300) + 1}号{tail}"

    for i in range(count):
        district = districts.pick(rand())
        if i == 0:
            cid, rep_name, rep_birth = demo_rep.citizen_id, demo_rep.name, demo_rep.birth_year
            category = "company"
        else:
            cid, rep_name, rep_birth = legal_reps[int(rand() * n_reps)]
            category = categories.pick(rand())
        # Established after the representative came of age, mostly in recent years.
        earliest = max(1993, rep_birth + 18)
        year = max(earliest, REFERENCE_DATE.year - int(rng.expovariate(1 / 7)))
        established = date.fromordinal(min(ref_ordinal, date(year, 1, 1).toordinal() + int(rand() * 365)))
        u = rand()
        status = "存续" if i == 0 or u < 0.94 else "注销" if u < 0.98 else "吊销"
        area = district.code
        source = "市市场监管局"

        if category == "company":
            industry = industry_by_code["I65"] if i == 0 else industries.pick(rand())
            code_, ind_name, words, scope, _ = industry
            form = "有限责任公司" if i == 0 else forms.pick(rand())
            word = words[int(rand() * len(words))]
            if form == "股份有限公司":
                name = unique_name(lambda n, w=word: f"云川{brand(n)}{w}股份有限公司")
                capital = capitals.pick(rand()) * 5
            elif form == "个人独资企业":
                name = unique_name(lambda n, w=word: f"{CITY_NAME}{brand(n)}{w}中心")
                capital = capitals.pick(rand()) // 10
            elif form == "合伙企业":
                name = unique_name(lambda n, w=word: f"云川{brand(n)}{w}合伙企业（有限合伙）")
                capital = capitals.pick(rand())
            else:
                name = unique_name(lambda n, w=word: f"{CITY_NAME}{brand(n)}{w}有限公司")
                capital = capitals.pick(rand())
            row_kind, authority, org_type = "企业", "9", "1"
            scope = scope + SCOPE_TAIL
        elif category == "sole_trader":
            code_ = shop_industries[int(rand() * len(shop_industries))]
            _, ind_name, _, scope, _ = industry_by_code[code_]
            shops = names.SHOP_WORDS[code_]
            shop = shops[int(rand() * len(shops))]
            name = unique_name(lambda n, s=shop, d=district.name: f"{CITY_NAME}{d}{brand(n)}{s}")
            form, row_kind, authority, org_type = "个体工商户", "个体工商户", "9", "2"
            capital = 0 if rand() < 0.6 else int(rand() * 20 + 1) * 10_000
        elif category == "coop":
            code_, ind_name, _, scope, _ = industry_by_code["A01"]
            product = names.COOP_PRODUCTS[int(rand() * len(names.COOP_PRODUCTS))]
            name = unique_name(lambda n, p=product, d=district.name: f"{CITY_NAME}{d}{brand(n)}{p}专业合作社")
            form, row_kind, authority, org_type = "农民专业合作社", "企业", "9", "3"
            capital = int(rand() * 50 + 5) * 10_000
            scope = (
                f"组织收购、销售成员种植的{product}；引进新技术、新品种，开展技术培训、技术交流和信息咨询服务"
            )
        else:
            org_type, template, form, code_ = names.SOCIAL_ORGS[int(rand() * len(names.SOCIAL_ORGS))]
            field = names.SOCIAL_FIELDS[int(rand() * len(names.SOCIAL_FIELDS))]
            name = unique_name(
                lambda n, t=template, f=field, d=district.name: t.format(brand=brand(n), field=f, district=d)
            )
            ind_name = names.SOCIAL_INDUSTRY_NAMES[code_]
            row_kind, authority = "社会组织", "5"
            capital = 2_000_000 if form == "基金会" else int(rand() * 10 + 3) * 10_000
            scope = {
                "社会团体": "行业交流、业务培训、咨询服务、会员服务",
                "基金会": "资助公益慈善项目，开展公益慈善活动",
            }.get(form, "为社区居民提供养老照护、托育和社会工作服务")
            source = "市民政局"
            if org_type == "1":
                area = CITY_CODE  # associations register with the city's bureau

        rows.append(
            (credit(authority, org_type, area), name, row_kind, form, cid, rep_name, capital * 100,
             fmt_date(established), area, address(district.name), code_, ind_name, scope, status, source,
             updated_at)
        )  # fmt: skip
        if i == 0:
            demo = (rows[0][0], rows[0][1])
        if len(rows) >= chunk:
            write(rows)
            written += len(rows)
            rows = []
            if progress:
                progress("enterprises", written, count)
    if rows:
        write(rows)
        written += len(rows)
        if progress:
            progress("enterprises", written, count)
    return EnterpriseResult(count=written, demo_credit_code=demo[0], demo_name=demo[1])
