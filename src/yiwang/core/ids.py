"""Identifiers people read (DESIGN §3 rule 6): citizen ID numbers and unified social credit codes.

* GB 11643-1999 citizen identity number, 18 characters: 6-digit address code (GB/T 2260), birth date
  YYYYMMDD, 3-digit sequence (odd = male, even = female) and a MOD 11-2 check character:
  S = Σ aᵢ·Wᵢ with W = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, S mod 11 → ``1 0 X 9 8 7 6 5 4 3 2``.
* GB 32100-2015 unified social credit code, 18 characters over the 31 symbols ``0-9 A-H J-N P-R T U W-Y``:
  registering authority, organisation type, GB/T 2260 area code, the 9-character GB 11714
  organisation code (with its own MOD 11 check) and a MOD 31 check character.

``validate_*`` return a parsed value or raise :class:`~yiwang.core.errors.Invalid` with a precise
Chinese message; ``is_valid_*`` are the exception-free fast paths used in bulk loads.

Both checksums are evaluated by ``int(…, base)`` in C: the citizen-ID weights are 2^k mod 11 and
13 ≡ 2 (mod 11), so Σ aᵢ·Wᵢ ≡ 2·int(first17, 13); the credit-code weights are 3^k mod 31 and
34 ≡ 3 (mod 31), so Σ aᵢ·Wᵢ ≡ int(reversed first17, 34) once the symbols are mapped to base-36 digits.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from yiwang.core import clock
from yiwang.core.errors import Invalid

__all__ = [
    "AUTHORITIES",
    "CREDIT_ALPHABET",
    "PROVINCES",
    "CitizenId",
    "CreditCode",
    "citizen_id_check_char",
    "credit_code_check_char",
    "generate_citizen_id",
    "generate_credit_code",
    "generate_org_code",
    "is_valid_citizen_id",
    "is_valid_credit_code",
    "is_valid_org_code",
    "mask_citizen_id",
    "org_code_check_char",
    "upgrade_15_to_18",
    "validate_citizen_id",
    "validate_credit_code",
]

# Province-level codes of GB/T 2260 (first two digits of an address code). 81/82/83 are also the
# prefixes of the residence-permit numbers of Hong Kong, Macao and Taiwan residents, which follow
# GB 11643 too.
PROVINCES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
    "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区", "83": "台湾居民居住证",
}  # fmt: skip
_PROVINCE_SET = frozenset(PROVINCES)

_ASCII_DIGITS = frozenset("0123456789")
_CITIZEN_CHECK = "10X98765432"  # indexed by S mod 11
_CITIZEN_CHECK_LOWER = "10x98765432"
_MIN_BIRTH_YEAR = 1800  # GB 11643's own example, 440524188001010014, was born in 1880
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Every valid MMDD (0229 included; leap years are checked separately).
_VALID_MMDD = frozenset(
    f"{m:02d}{d:02d}" for m in range(1, 13) for d in range(1, _DAYS_IN_MONTH[m - 1] + (m == 2) + 1)
)


def _normalise(value: str) -> str:
    """Drop every kind of whitespace, fold full-width forms (NFKC) and upper-case."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    return "".join(value.split()).upper()


# ------------------------------------------------------------------ today, cheaply
class _Today:
    """The local (Asia/Shanghai) date as YYYYMMDD, recomputed only when clock.now() leaves its day."""

    __slots__ = ("lo", "hi", "text")

    def __init__(self) -> None:
        self.lo = self.hi = datetime(1970, 1, 1, tzinfo=UTC)
        self.text = ""

    def get(self) -> str:
        now = clock.now()
        if not (self.lo <= now < self.hi):
            local = now.astimezone(clock.SHANGHAI)
            start = local.replace(hour=0, minute=0, second=0, microsecond=0)
            # Kept in UTC: comparing datetimes that share the UTC tzinfo is fast, across zones it is not.
            self.lo = start.astimezone(UTC)
            self.hi = (start + timedelta(days=1)).astimezone(UTC)
            self.text = local.strftime("%Y%m%d")
        return self.text


_today = _Today()


# ------------------------------------------------------------------ citizen ID
@dataclass(frozen=True, slots=True)
class CitizenId:
    value: str  # the normalised 18 characters
    area_code: str
    birth_date: date
    sequence: str
    gender: str  # "男" | "女"
    check: str

    @property
    def province(self) -> str:
        return PROVINCES[self.area_code[:2]]

    def age_on(self, day: date) -> int:
        """Whole years of age on `day`."""
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    def masked(self) -> str:
        return mask_citizen_id(self.value)

    def __str__(self) -> str:
        return self.value


def citizen_id_check_char(first17: str) -> str:
    """The GB 11643 MOD 11-2 check character for 17 digits."""
    if len(first17) != 17 or not _ASCII_DIGITS.issuperset(first17):
        raise ValueError("first17 must be 17 ASCII digits")
    return _CITIZEN_CHECK[(2 * int(first17, 13)) % 11]


def is_valid_citizen_id(value: str) -> bool:
    """True for a valid 18-character citizen ID (what :func:`validate_citizen_id` accepts). Never raises."""
    if type(value) is not str:
        return False
    if len(value) != 18 or not value.isascii():
        value = _normalise(value)
        if len(value) != 18:
            return False
    head = value[:17]
    if not (head.isdigit() and head.isascii()) or head[:2] not in _PROVINCE_SET:
        return False
    r = (2 * int(head, 13)) % 11
    check = value[17]
    if check != _CITIZEN_CHECK[r] and check != _CITIZEN_CHECK_LOWER[r]:
        return False
    mmdd = head[10:14]
    if mmdd not in _VALID_MMDD:
        return False
    ymd = head[6:14]
    if ymd < "18000101":
        return False
    if mmdd == "0229":
        y = int(head[6:10])
        if y % 4 or (y % 100 == 0 and y % 400):
            return False
    return ymd <= _today.get()


def validate_citizen_id(value: str, field: str = "citizen_id") -> CitizenId:
    """Parse a GB 11643-1999 citizen ID or raise ``Invalid.on(field, …)`` saying exactly what is wrong."""
    if not isinstance(value, str):
        raise Invalid.on(field, "身份证号码应为文本")
    v = _normalise(value)
    if not v:
        raise Invalid.on(field, "请填写身份证号码")
    if len(v) != 18:
        hint = "（15位的旧号码请先升级为18位）" if len(v) == 15 and v.isdigit() else ""
        raise Invalid.on(field, f"身份证号码应为18位，当前为{len(v)}位{hint}")
    for i, ch in enumerate(v[:17], start=1):
        if ch not in _ASCII_DIGITS:
            raise Invalid.on(field, f"身份证号码第{i}位“{ch}”不是数字（前17位只能是数字）")
    if v[17] not in _ASCII_DIGITS and v[17] != "X":
        raise Invalid.on(field, f"身份证号码第18位“{v[17]}”不正确（只能是数字或X）")
    if v[:2] not in _PROVINCE_SET:
        raise Invalid.on(field, f"身份证号码地址码前两位“{v[:2]}”不是有效的省级行政区划代码")
    ymd = v[6:14]
    try:
        birth = date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:]))
    except ValueError:
        raise Invalid.on(field, f"身份证号码中的出生日期“{ymd}”不是有效日期") from None
    if birth.year < _MIN_BIRTH_YEAR:
        raise Invalid.on(field, f"身份证号码中的出生日期“{ymd}”过早，不是有效的出生日期")
    if ymd > _today.get():
        raise Invalid.on(field, f"身份证号码中的出生日期“{ymd}”晚于今天")
    if v[17] != _CITIZEN_CHECK[(2 * int(v[:17], 13)) % 11]:
        raise Invalid.on(field, "身份证号码校验位不正确，请核对号码")
    seq = v[14:17]
    return CitizenId(
        value=v,
        area_code=v[:6],
        birth_date=birth,
        sequence=seq,
        gender="男" if int(seq[2]) % 2 else "女",
        check=v[17],
    )


def generate_citizen_id(
    rng: random.Random, area_code: str, birth: date, male: bool, seq: int | None = None
) -> str:
    """A valid citizen ID for synthetic data. `seq` (0–999) must have the parity of the gender."""
    if len(area_code) != 6 or not _ASCII_DIGITS.issuperset(area_code) or area_code[:2] not in _PROVINCE_SET:
        raise ValueError(f"area_code must be 6 digits starting with a province code, got {area_code!r}")
    if not _MIN_BIRTH_YEAR <= birth.year <= 9999:
        raise ValueError("birth year out of range")
    if seq is None:
        seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    elif not 0 <= seq <= 999:
        raise ValueError("seq must be between 0 and 999")
    elif seq % 2 != (1 if male else 0):
        raise ValueError("seq must be odd for a male and even for a female")
    first17 = f"{area_code}{birth:%Y%m%d}{seq:03d}"
    return first17 + _CITIZEN_CHECK[(2 * int(first17, 13)) % 11]


def upgrade_15_to_18(old15: str, field: str = "citizen_id") -> str:
    """Turn a legacy 15-digit ID (area, YYMMDD, sequence) into the 18-character form (births 19YY)."""
    v = _normalise(old15) if isinstance(old15, str) else ""
    if len(v) != 15 or not _ASCII_DIGITS.issuperset(v):
        raise Invalid.on(field, "15位身份证号码应为15位数字")
    if v[:2] not in _PROVINCE_SET:
        raise Invalid.on(field, f"身份证号码地址码前两位“{v[:2]}”不是有效的省级行政区划代码")
    ymd = "19" + v[6:12]
    try:
        date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:]))
    except ValueError:
        raise Invalid.on(field, f"身份证号码中的出生日期“{ymd}”不是有效日期") from None
    first17 = v[:6] + ymd + v[12:]
    return first17 + _CITIZEN_CHECK[(2 * int(first17, 13)) % 11]


def mask_citizen_id(value: str) -> str:
    """Keep the first 6 and last 4 characters: ``110105********002X``. Short values are masked whole."""
    v = _normalise(value)
    if len(v) <= 10:
        return "*" * len(v)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


# ------------------------------------------------------------------ GB 11714 organisation code
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ORG_VALUES = {c: int(c, 36) for c in _ORG_BODY_CHARS}
_ORG_CHECK = "0X987654321"  # indexed by Σ mod 11: C = 11 − r, 10 → X, 11 → 0


def org_code_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    if len(body8) != 8 or not _ORG_BODY_CHARS.issuperset(body8):
        raise ValueError("body8 must be 8 digits or upper-case letters")
    c = 11 - sum(_ORG_VALUES[ch] * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def is_valid_org_code(code9: str) -> bool:
    """True for a 9-character GB 11714 organisation code (a separating hyphen is allowed). Never raises."""
    if type(code9) is not str:
        return False
    v = _normalise(code9).replace("-", "")
    if len(v) != 9 or not _ORG_BODY_CHARS.issuperset(v[:8]):
        return False
    return v[8] == org_code_check_char(v[:8])


def generate_org_code(rng: random.Random, alphabet: str = "0123456789") -> str:
    """A valid 9-character organisation code whose body is drawn from `alphabet`."""
    body = "".join(rng.choice(alphabet) for _ in range(8))
    return body + org_code_check_char(body)


# ------------------------------------------------------------------ unified social credit code
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 symbols, value = index
_CREDIT_SET = frozenset(CREDIT_ALPHABET)
# Map the 31 symbols onto the base-36 digits of the same value, so int(..., 34) can do the sum.
_CREDIT_TO_BASE36 = str.maketrans(CREDIT_ALPHABET[10:], "abcdefghijklmnopqrstu")

# Registering authorities (position 1) and their organisation types (position 2), GB 32100-2015.
AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
                     "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构",
                 "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}  # fmt: skip
_AUTH_TYPES = frozenset(a + t for a, (_, types) in AUTHORITIES.items() for t in types)
# Area codes: a province-level prefix, or "10" for registrations at national level (100000).
_CREDIT_AREA_PREFIXES = _PROVINCE_SET | {"10"}


@dataclass(frozen=True, slots=True)
class CreditCode:
    value: str
    authority: str
    authority_name: str
    org_type: str
    area_code: str
    org_code: str  # GB 11714, 9 characters
    check: str

    @property
    def org_type_name(self) -> str:
        return AUTHORITIES[self.authority][1][self.org_type]

    def __str__(self) -> str:
        return self.value


def _credit_sum_check(first17: str) -> str:
    """Check char for 17 symbols already known to be in the alphabet."""
    s = int(first17.translate(_CREDIT_TO_BASE36)[::-1], 34) % 31
    return CREDIT_ALPHABET[(31 - s) % 31]


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 MOD 31 check character for the first 17 symbols."""
    if len(first17) != 17 or not _CREDIT_SET.issuperset(first17):
        raise ValueError("first17 must be 17 symbols of the credit-code alphabet")
    return _credit_sum_check(first17)


def is_valid_credit_code(value: str, check_org_code: bool = True) -> bool:
    """True for a valid credit code (what :func:`validate_credit_code` accepts). Never raises."""
    if type(value) is not str:
        return False
    if len(value) != 18 or not value.isascii():
        value = _normalise(value)
        if len(value) != 18:
            return False
    else:
        value = value.upper()
    if not _CREDIT_SET.issuperset(value) or value[:2] not in _AUTH_TYPES:
        return False
    if not (value[2:8].isdigit() and value[2:8].isascii()) or value[2:4] not in _CREDIT_AREA_PREFIXES:
        return False
    if value[17] != _credit_sum_check(value[:17]):
        return False
    # No Z in the alphabet, so the GB 11714 values (A=10 … Y=34) are base-35 digits; 35 ≡ 2 (mod 11).
    return not check_org_code or value[16] == _ORG_CHECK[(2 * int(value[8:16], 35)) % 11]


def validate_credit_code(value: str, field: str = "credit_code", check_org_code: bool = True) -> CreditCode:
    """Parse a GB 32100-2015 unified social credit code or raise ``Invalid.on(field, …)``.

    `check_org_code=False` skips the embedded GB 11714 check, for loading registries whose legacy
    codes are known to break it.
    """
    if not isinstance(value, str):
        raise Invalid.on(field, "统一社会信用代码应为文本")
    v = _normalise(value)
    if not v:
        raise Invalid.on(field, "请填写统一社会信用代码")
    if len(v) != 18:
        raise Invalid.on(field, f"统一社会信用代码应为18位，当前为{len(v)}位")
    for i, ch in enumerate(v, start=1):
        if ch not in _CREDIT_SET:
            why = "（不使用字母 I、O、Z、S、V）" if ch in "IOZSV" else "（只能是数字或大写字母）"
            raise Invalid.on(field, f"统一社会信用代码第{i}位“{ch}”不是有效字符{why}")
    authority = AUTHORITIES.get(v[0])
    if authority is None:
        raise Invalid.on(field, f"统一社会信用代码第1位“{v[0]}”不是有效的登记管理部门代码")
    if v[1] not in authority[1]:
        raise Invalid.on(field, f"统一社会信用代码第2位“{v[1]}”不是{authority[0]}部门登记的有效机构类别代码")
    area = v[2:8]
    if not _ASCII_DIGITS.issuperset(area) or area[:2] not in _CREDIT_AREA_PREFIXES:
        raise Invalid.on(field, f"统一社会信用代码第3–8位“{area}”不是有效的行政区划代码")
    if v[17] != _credit_sum_check(v[:17]):
        raise Invalid.on(field, "统一社会信用代码校验位不正确，请核对代码")
    if check_org_code and v[16] != org_code_check_char(v[8:16]):
        raise Invalid.on(field, "统一社会信用代码第9–17位的组织机构代码校验位不正确，请核对代码")
    return CreditCode(
        value=v,
        authority=v[0],
        authority_name=authority[0],
        org_type=v[1],
        area_code=area,
        org_code=v[8:17],
        check=v[17],
    )


def generate_credit_code(
    rng: random.Random, authority: str = "9", org_type: str = "1", area_code: str = "110105"
) -> str:
    """A valid credit code for synthetic data; its embedded organisation code is valid too."""
    if authority + org_type not in _AUTH_TYPES:
        raise ValueError(f"unknown authority/org_type {authority!r}/{org_type!r}")
    if (
        len(area_code) != 6
        or not _ASCII_DIGITS.issuperset(area_code)
        or area_code[:2] not in _CREDIT_AREA_PREFIXES
    ):
        raise ValueError(f"area_code must be 6 digits starting with a province code, got {area_code!r}")
    org = generate_org_code(rng, CREDIT_ALPHABET)  # body and check stay inside the 31 symbols
    first17 = authority + org_type + area_code + org
    return first17 + _credit_sum_check(first17)
