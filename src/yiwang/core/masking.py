"""Masking primitives (脱敏): generic functions that hide part of a value, and a dispatcher by rule name.

No policy lives here: *which* field is masked *when* is decided by the caller (the catalog's
`mask_record` applies grades and purposes). Every primitive takes the value as given, returns ``None``
for ``None`` and never raises on odd input: a value it cannot parse is masked whole (fail closed).

Rules (the names stored with a data item):

=============  ===============================================  ==================================
rule           what it does                                      example
=============  ===============================================  ==================================
none           passes the value unchanged                        13812345678 → 13812345678
id             keeps the first 6 and last 4 characters           11010519491231002X → 110105********002X
name           keeps the surname (two characters for 复姓)       张三丰 → 张**, 欧阳娜娜 → 欧阳**
phone          mobile: first 3 and last 4; others: last 4        13812345678 → 138****5678
address        keeps the address down to the street (街道/镇/乡)  …和平区太原街道中山路12号
                                                                 → …和平区太原街道****
date_to_year   keeps the year of a date                          1990-05-12 → 1990
hash           keyed SM3 (HMAC-SM3) in hex: same input, same     张三 → 64 hex characters
               output under one key, so records still join
drop           the field is removed                              (absent)
=============  ===============================================  ==================================
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final

from yiwang.core.crypto import hmac_sm3

__all__ = [
    "DROP",
    "MASK",
    "RULES",
    "apply_mask",
    "date_to_year",
    "drop",
    "hash_value",
    "mask_address",
    "mask_id",
    "mask_name",
    "mask_phone",
]

MASK: Final = "*"
# Fixed-length filler for the tail of an address: its length must not leak the length of what it hides.
_ADDRESS_FILL: Final = "****"


class _Drop:
    """The marker `apply_mask` returns for a value that must be left out of the output."""

    _instance: _Drop | None = None

    def __new__(cls) -> _Drop:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DROP"

    def __bool__(self) -> bool:
        return False


DROP: Final = _Drop()


def _text(value: Any) -> str:
    return str(value).strip()


# ---------------------------------------------------------------- identifiers


def mask_id(value: Any) -> str | None:
    """Keep the first 6 and last 4 characters, stars between: ``110105********002X``.

    For citizen IDs (GB 11643), credit codes (GB 32100) and other long identifiers. A value of 10
    characters or fewer is starred out whole: keeping 10 would show all of it."""
    if value is None:
        return None
    text = _text(value)
    if len(text) <= 10:
        return MASK * len(text)
    return text[:6] + MASK * (len(text) - 10) + text[-4:]


# ---------------------------------------------------------------- names

# Two-character surnames (复姓) in use today; a name starting with one keeps both characters.
_COMPOUND = (
    "欧阳司马上官诸葛东方皇甫尉迟公孙慕容令狐长孙宇文司徒司空夏侯轩辕端木独孤南宫西门百里呼延澹台"
    "公冶太史申屠钟离闻人赫连万俟濮阳第五拓跋东郭公羊淳于单于仲孙乐正梁丘左丘东门巫马鲜于闾丘谷梁"
    "宰父子车颛孙羊舌微生公西漆雕壤驷"
)
COMPOUND_SURNAMES: Final = frozenset(_COMPOUND[i : i + 2] for i in range(0, len(_COMPOUND), 2))


def mask_name(value: Any) -> str | None:
    """Keep the surname, star the given name: 张三 → 张*, 张三丰 → 张**, 欧阳娜娜 → 欧阳**.

    A one-character value becomes ``*``. Names with a middle dot (阿依古丽·买买提) keep the first
    character and the dots. Latin names keep their first letter: ``John Smith`` → ``J*** *****``."""
    if value is None:
        return None
    text = _text(value)
    if not text:
        return ""
    if len(text) == 1:
        return MASK
    keep = 2 if len(text) > 2 and text[:2] in COMPOUND_SURNAMES else 1
    out = [text[:keep]]
    for ch in text[keep:]:
        out.append(ch if ch in "·• " else MASK)
    return "".join(out)


# ---------------------------------------------------------------- phone numbers

_MOBILE = re.compile(r"1[3-9]\d{9}")


def mask_phone(value: Any) -> str | None:
    """138****5678 for an 11-digit mainland mobile (a +86/0086 prefix is kept); for any other number
    of seven digits or more every digit but the last four is starred, keeping the area code of a
    ``024-12345678`` or ``(024)12345678`` landline; a shorter number is starred whole."""
    if value is None:
        return None
    text = _text(value)
    digits = re.sub(r"\D", "", text)
    prefix = ""
    if digits.startswith("86") and len(digits) == 13:
        prefix, digits = "+86 ", digits[2:]
    elif digits.startswith("0086") and len(digits) == 15:
        prefix, digits = "+86 ", digits[4:]
    if _MOBILE.fullmatch(digits):
        return f"{prefix}{digits[:3]}****{digits[-4:]}"
    head = ""
    body = text
    area = re.match(r"^(?:\(0\d{2,3}\)\s?|0\d{2,3}[-\s])", text)
    if area:
        head = text[: area.end()]
        body = text[area.end() :]
    count = sum(ch.isdigit() for ch in body)
    # Short numbers (service numbers, extensions) would be nearly all shown by keeping four digits.
    keep_from = count - 4 if count >= 7 else count
    seen = 0
    out = []
    for ch in body:
        if ch.isdigit():
            out.append(ch if seen >= keep_from else MASK)
            seen += 1
        else:
            out.append(ch)
    return head + "".join(out)


# ---------------------------------------------------------------- addresses

# The administrative levels of a Chinese address, outermost first, each with the words that end it.
# An address is kept up to the end of the deepest level found in order; the rest is starred.
_LEVELS: Final = (
    ("特别行政区", "自治区", "省"),
    ("自治州", "地区", "盟", "市"),
    ("自治县", "自治旗", "区", "县", "旗", "市"),
    ("街道办事处", "街道", "镇", "乡", "苏木"),
)
# How far past the previous level the end word of the next may lie (level names are short).
_LEVEL_SPAN: Final = 12
# Characters before 区 that make it no district: 社区, 小区, 校区, 景区, 营区, 园区 (a park, not 开发区).
_NOT_DISTRICT: Final = "社小校景营"


def _level_end(text: str, pos: int, words: tuple[str, ...]) -> tuple[int, int] | None:
    """(start, end) of the earliest end word of one level after `pos`, within the level span."""
    best: tuple[int, int] | None = None
    for word in words:
        # A level's name needs at least one character before its end word (市 alone is no city).
        at = text.find(word, pos + 1, pos + _LEVEL_SPAN + len(word))
        while at != -1 and word == "区" and text[at - 1] in _NOT_DISTRICT:
            at = text.find(word, at + 1, pos + _LEVEL_SPAN + len(word))
        if at == -1:
            continue
        # The earliest start wins; at one start, the longer word (街道办事处 over 街道).
        if best is None or at < best[0] or (at == best[0] and at + len(word) > best[1]):
            best = (at, at + len(word))
    return best


def mask_address(value: Any) -> str | None:
    """Keep an address down to the street (街道/镇/乡), hide the rest behind ``****``:

    ``辽宁省云川市云中区站前街道金桥社区3号楼2单元502室`` → ``辽宁省云川市云中区站前街道****``.

    Levels missing from the address are skipped (``北京市朝阳区…`` keeps ``北京市朝阳区``); a level
    whose end word only appears after a deeper level's is taken as missing, so a 社区 or 小区 never
    passes for a district. An address without a recognisable level keeps nothing (``****``)."""
    if value is None:
        return None
    text = _text(value)
    if not text:
        return ""
    pos = 0
    for index, words in enumerate(_LEVELS):
        found = _level_end(text, pos, words)
        if found is None:
            continue
        deeper = [m for w in _LEVELS[index + 1 :] if (m := _level_end(text, pos, w)) is not None]
        if any(m[1] <= found[0] for m in deeper):
            continue
        pos = found[1]
    if pos == 0:
        return _ADDRESS_FILL
    if pos >= len(text):
        return text
    return text[:pos] + _ADDRESS_FILL


# ---------------------------------------------------------------- dates

_DATE_PREFIX = re.compile(r"^\s*(\d{4})(?:[-/.年]?\d{1,2})?")


def date_to_year(value: Any) -> str | None:
    """The year of a date as four digits: ``1990-05-12``, ``19900512``, ``1990年5月12日``, a `date` or
    a `datetime` → ``"1990"``. A value with no leading year is starred out whole."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return f"{value.year:04d}"
    text = _text(value)
    m = _DATE_PREFIX.match(text)
    if not m:
        return MASK * len(text)
    return m.group(1)


# ---------------------------------------------------------------- hashing and dropping


def hash_value(value: Any, key: bytes) -> str | None:
    """HMAC-SM3 of the value's text under `key`, in lowercase hex (64 characters).

    Keyed so that a guessable value (an ID number, a phone number) cannot be found again by hashing
    candidates without the key; deterministic so that hashed records from one source still join."""
    if value is None:
        return None
    if not isinstance(key, bytes | bytearray) or not key:
        raise ValueError("hash_value needs a non-empty key")
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return hmac_sm3(bytes(key), _text(value).encode("utf-8")).hex()


def drop(value: Any) -> _Drop:  # noqa: ARG001 - same signature as the other rules
    """The value is left out of the output entirely."""
    return DROP


def _none(value: Any) -> Any:
    return value


RULES: Final[dict[str, Callable[[Any], Any]]] = {
    "none": _none,
    "id": mask_id,
    "name": mask_name,
    "phone": mask_phone,
    "address": mask_address,
    "date_to_year": date_to_year,
    "drop": drop,
}
RULE_NAMES: Final = (*RULES, "hash")


def apply_mask(rule: str, value: Any, *, hash_key: bytes | None = None) -> Any:
    """Apply the rule named `rule` to `value`; returns `DROP` when the value must be left out.

    `hash_key` is required for ``hash``. An unknown rule drops the value (fail closed)."""
    if rule == "hash":
        if not hash_key:
            raise ValueError("the hash rule needs hash_key")
        return hash_value(value, hash_key)
    fn = RULES.get(rule)
    if fn is None:
        return DROP
    return fn(value)
