"""GB 11643 citizen IDs, GB 32100 credit codes and GB 11714 organisation codes (core.ids)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from yiwang.core import clock, ids
from yiwang.core.errors import Invalid

CITIZEN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ALPHABET = ids.CREDIT_ALPHABET


def refusal(func, value, field=None):
    """The one field error of the Invalid raised by func(value)."""
    with pytest.raises(Invalid) as caught:
        func(value) if field is None else func(value, field)
    problem = caught.value
    assert problem.status == 422
    assert len(problem.errors) == 1
    return problem.errors[0]


def textbook_citizen_check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, CITIZEN_WEIGHTS, strict=True)) % 11]


def textbook_credit_check(first17: str) -> str:
    s = sum(ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return ALPHABET[(31 - s % 31) % 31]


# ================================================================== citizen ID
@pytest.mark.parametrize("value", ["11010519491231002X", "440524188001010014"])
def test_known_valid_citizen_ids(value):
    assert ids.is_valid_citizen_id(value)
    assert ids.validate_citizen_id(value).value == value


def test_citizen_id_parts():
    cid = ids.validate_citizen_id("11010519491231002X")
    assert cid.area_code == "110105"
    assert cid.birth_date == date(1949, 12, 31)
    assert cid.sequence == "002"
    assert cid.gender == "女"
    assert cid.check == "X"
    assert cid.province == "北京市"
    assert cid.age_on(date(2025, 12, 30)) == 75
    assert cid.age_on(date(2025, 12, 31)) == 76
    assert str(cid) == cid.value
    assert ids.validate_citizen_id("440524188001010014").gender == "男"


@pytest.mark.parametrize(
    "raw",
    [
        " 11010519491231002x ",
        "110105 19491231 002X",
        "１１０１０５１９４９１２３１００２Ｘ",
        "11010519491231002X\n",
    ],
)
def test_citizen_id_normalisation(raw):
    assert ids.validate_citizen_id(raw).value == "11010519491231002X"
    assert ids.is_valid_citizen_id(raw)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "请填写身份证号码"),
        ("11010519491231002", "身份证号码应为18位，当前为17位"),
        ("11010519491231002X1", "身份证号码应为18位，当前为19位"),
        ("110105491231002", "身份证号码应为18位，当前为15位（15位的旧号码请先升级为18位）"),
        ("1101051949123100AX", "身份证号码第17位“A”不是数字（前17位只能是数字）"),
        ("11010519491231002Y", "身份证号码第18位“Y”不正确（只能是数字或X）"),
        ("00010519491231002X", "身份证号码地址码前两位“00”不是有效的省级行政区划代码"),
        ("99010519491231002X", "身份证号码地址码前两位“99”不是有效的省级行政区划代码"),
        ("110105194902300021", "身份证号码中的出生日期“19490230”不是有效日期"),
        ("110105190002290021", "身份证号码中的出生日期“19000229”不是有效日期"),  # 1900 is not a leap year
        ("110105179912310021", "身份证号码中的出生日期“17991231”过早，不是有效的出生日期"),
        ("110105194912310021", "身份证号码校验位不正确，请核对号码"),
    ],
)
def test_citizen_id_refusals(value, message):
    error = refusal(ids.validate_citizen_id, value)
    assert error.field == "citizen_id"
    assert error.message == message
    assert not ids.is_valid_citizen_id(value)


def test_wrong_check_digit_does_not_reveal_the_right_one():
    for wrong in "0123456789":
        error = refusal(ids.validate_citizen_id, "11010519491231002" + wrong)
        assert "X" not in error.message


def test_refusal_names_the_callers_field():
    error = refusal(ids.validate_citizen_id, "123", "applicant.id_number")
    assert error.field == "applicant.id_number"
    assert not ids.is_valid_citizen_id(None)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        ids.validate_citizen_id(None)  # type: ignore[arg-type]


def test_birth_date_in_the_future_is_refused():
    rng = random.Random(7)
    tomorrow = ids.generate_citizen_id(rng, "310101", date(2020, 6, 2), male=True)
    today = ids.generate_citizen_id(rng, "310101", date(2020, 6, 1), male=True)
    # 2020-06-01 00:30 in Shanghai is still 2020-05-31 in UTC: "today" is the Shanghai date
    with clock.freeze(datetime(2020, 5, 31, 16, 30, tzinfo=UTC)) as frozen:
        assert ids.is_valid_citizen_id(today)
        assert not ids.is_valid_citizen_id(tomorrow)
        assert (
            refusal(ids.validate_citizen_id, tomorrow).message == "身份证号码中的出生日期“20200602”晚于今天"
        )
        frozen.tick(datetime(2020, 6, 2, 0, 0, tzinfo=clock.SHANGHAI) - frozen.at)
        assert ids.is_valid_citizen_id(tomorrow)
    assert ids.is_valid_citizen_id(tomorrow)


def test_check_char_and_generation():
    assert ids.citizen_id_check_char("11010519491231002") == "X"
    assert ids.citizen_id_check_char("44052418800101001") == "4"
    with pytest.raises(ValueError):
        ids.citizen_id_check_char("1101051949123100")
    rng = random.Random(1)
    value = ids.generate_citizen_id(rng, "440305", date(1990, 2, 28), male=False, seq=124)
    assert value[:17] == "44030519900228124"
    assert ids.validate_citizen_id(value).gender == "女"
    with pytest.raises(ValueError):
        ids.generate_citizen_id(rng, "440305", date(1990, 2, 28), male=True, seq=124)
    with pytest.raises(ValueError):
        ids.generate_citizen_id(rng, "990305", date(1990, 2, 28), male=True)


def test_upgrade_15_to_18():
    assert ids.upgrade_15_to_18("110105491231002") == "11010519491231002X"
    assert ids.is_valid_citizen_id(ids.upgrade_15_to_18("440524800101001"))
    assert refusal(ids.upgrade_15_to_18, "11010549123100").message == "15位身份证号码应为15位数字"
    assert (
        refusal(ids.upgrade_15_to_18, "110105490230002").message
        == "身份证号码中的出生日期“19490230”不是有效日期"
    )


def test_mask():
    assert ids.mask_citizen_id("11010519491231002X") == "110105********002X"
    assert ids.mask_citizen_id("11010519491231002x ") == "110105********002X"
    assert ids.validate_citizen_id("440524188001010014").masked() == "440524********0014"
    assert ids.mask_citizen_id("110105491231002") == "110105*****1002"
    assert ids.mask_citizen_id("12345") == "*****"


births = st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31))
areas = st.sampled_from(["110105", "310101", "440305", "510104", "650102", "820000"])


@st.composite
def citizen_ids(draw):
    rng = random.Random(draw(st.integers(0, 2**32)))
    return ids.generate_citizen_id(rng, draw(areas), draw(births), draw(st.booleans()))


@settings(max_examples=400)
@given(value=citizen_ids())
def test_generated_citizen_ids_validate(value):
    assert ids.is_valid_citizen_id(value)
    cid = ids.validate_citizen_id(value)
    assert cid.gender == ("男" if int(value[16]) % 2 else "女")
    assert ids.citizen_id_check_char(value[:17]) == textbook_citizen_check(value[:17])


@settings(max_examples=400)
@given(value=citizen_ids(), pos=st.integers(0, 17), char=st.sampled_from("0123456789X"))
def test_any_single_substitution_in_a_citizen_id_is_caught(value, pos, char):
    assume(value[pos] != char)
    changed = value[:pos] + char + value[pos + 1 :]
    assert not ids.is_valid_citizen_id(changed)
    with pytest.raises(Invalid):
        ids.validate_citizen_id(changed)


@settings(max_examples=300)
@given(value=citizen_ids(), pos=st.integers(0, 15))
def test_any_adjacent_transposition_in_a_citizen_id_is_caught(value, pos):
    assume(value[pos] != value[pos + 1])
    swapped = value[:pos] + value[pos + 1] + value[pos] + value[pos + 2 :]
    assert not ids.is_valid_citizen_id(swapped)


@settings(max_examples=300)
@given(digits=st.text("0123456789", min_size=17, max_size=17))
def test_fast_citizen_check_equals_the_textbook_formula(digits):
    assert ids.citizen_id_check_char(digits) == textbook_citizen_check(digits)


@st.composite
def edited(draw, valid, symbols):
    """A valid value, then a few random edits: insert, delete, replace, case and width changes."""
    value = list(draw(valid))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "lower", "wide"]))
        pos = draw(st.integers(0, len(value) - 1)) if value else 0
        if kind == "insert":
            value.insert(pos, draw(st.sampled_from(symbols + " \t\u3000")))
        elif value and kind == "delete":
            del value[pos]
        elif value and kind == "replace":
            value[pos] = draw(st.sampled_from(symbols))
        elif value and kind == "lower":
            value[pos] = value[pos].lower()
        elif value and kind == "wide" and "!" <= value[pos] <= "~":
            value[pos] = chr(ord(value[pos]) + 0xFEE0)  # the full-width form
    return "".join(value)


def accepted_by(validate, raw) -> bool:
    try:
        validate(raw)
    except Invalid:
        return False
    return True


@settings(max_examples=600)
@given(raw=edited(citizen_ids(), "0123456789XxA"))
def test_is_valid_agrees_with_validate(raw):
    assert ids.is_valid_citizen_id(raw) is accepted_by(ids.validate_citizen_id, raw)


# ================================================================== organisation code (GB 11714)
def test_org_codes():
    assert ids.is_valid_org_code("600037341")
    assert ids.is_valid_org_code("60003734-1")
    assert not ids.is_valid_org_code("600037342")
    assert not ids.is_valid_org_code("60003734")
    assert ids.org_code_check_char("60003734") == "1"
    assert ids.org_code_check_char("00000006") == "X"  # Σ = 12, 11 - 1 = 10 -> X
    assert ids.org_code_check_char("00000000") == "0"  # Σ = 0, 11 - 0 = 11 -> 0
    for body in ("00000001", "00000005", "D2143569", "ZZZZZZZZ"):
        s = sum(int(c, 36) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
        c = 11 - s % 11
        assert ids.org_code_check_char(body) == {10: "X", 11: "0"}.get(c, str(c))


# ================================================================== credit code (GB 32100)
def test_known_valid_credit_code():
    code = ids.validate_credit_code("91110000600037341L")
    assert code.authority == "9"
    assert code.authority_name == "工商"
    assert code.org_type == "1"
    assert code.org_type_name == "企业"
    assert code.area_code == "110000"
    assert code.org_code == "600037341"
    assert code.check == "L"
    assert ids.is_valid_credit_code("91110000600037341L")
    assert ids.is_valid_credit_code(" 91110000600037341l ")
    assert ids.validate_credit_code("９１１１００００６０００３７３４１ｌ").value == "91110000600037341L"


def _with_checks(first16: str) -> str:
    """Complete 16 symbols with a valid org-code check and a valid credit-code check."""
    first17 = first16 + ids.org_code_check_char(first16[8:16])
    return first17 + textbook_credit_check(first17)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "请填写统一社会信用代码"),
        ("91110000600037341", "统一社会信用代码应为18位，当前为17位"),
        ("91110000600O37341L", "统一社会信用代码第12位“O”不是有效字符（不使用字母 I、O、Z、S、V）"),
        ("91110000600037341I", "统一社会信用代码第18位“I”不是有效字符（不使用字母 I、O、Z、S、V）"),
        ("9111000060003734-L", "统一社会信用代码第17位“-”不是有效字符（只能是数字或大写字母）"),
        (_with_checks("B1110000" + "60003734"), "统一社会信用代码第1位“B”不是有效的登记管理部门代码"),
        (_with_checks("94110000" + "60003734"), "统一社会信用代码第2位“4”不是工商部门登记的有效机构类别代码"),
        (_with_checks("911A0000" + "60003734"), "统一社会信用代码第3–8位“1A0000”不是有效的行政区划代码"),
        (_with_checks("91990000" + "60003734"), "统一社会信用代码第3–8位“990000”不是有效的行政区划代码"),
        ("91110000600037341M", "统一社会信用代码校验位不正确，请核对代码"),
        ("91110000600037342L", "统一社会信用代码校验位不正确，请核对代码"),
    ],
)
def test_credit_code_refusals(value, message):
    error = refusal(ids.validate_credit_code, value)
    assert error.field == "credit_code"
    assert error.message == message
    assert not ids.is_valid_credit_code(value)


def test_embedded_org_code_check():
    first17 = "9111000060003734" + "2"  # org code 600037342: wrong GB 11714 check
    value = first17 + textbook_credit_check(first17)
    error = refusal(ids.validate_credit_code, value, "org.credit_code")
    assert error.field == "org.credit_code"
    assert error.message == "统一社会信用代码第9–17位的组织机构代码校验位不正确，请核对代码"
    assert not ids.is_valid_credit_code(value)
    # registries with legacy codes can skip the embedded check
    assert ids.validate_credit_code(value, check_org_code=False).org_code == "600037342"
    assert ids.is_valid_credit_code(value, check_org_code=False)


def test_national_level_and_other_authorities():
    rng = random.Random(3)
    for authority, org_type, area in [("1", "1", "100000"), ("5", "3", "440300"), ("Y", "1", "310000")]:
        value = ids.generate_credit_code(rng, authority, org_type, area)
        code = ids.validate_credit_code(value)
        assert (code.authority, code.org_type, code.area_code) == (authority, org_type, area)
    assert ids.validate_credit_code(ids.generate_credit_code(rng, "5", "3")).org_type_name == "基金会"
    with pytest.raises(ValueError):
        ids.generate_credit_code(rng, "9", "9")
    with pytest.raises(ValueError):
        ids.generate_credit_code(rng, area_code="99")


def test_credit_check_char_helper():
    assert ids.credit_code_check_char("91110000600037341") == "L"
    with pytest.raises(ValueError):
        ids.credit_code_check_char("9111000060003734I")


@st.composite
def credit_codes(draw):
    rng = random.Random(draw(st.integers(0, 2**32)))
    authority, org_type = draw(
        st.sampled_from([("9", "1"), ("9", "2"), ("9", "3"), ("1", "2"), ("5", "1"), ("N", "2")])
    )
    area = draw(st.sampled_from(["110105", "100000", "440305", "820000"]))
    return ids.generate_credit_code(rng, authority, org_type, area)


@settings(max_examples=400)
@given(value=credit_codes())
def test_generated_credit_codes_validate(value):
    assert ids.is_valid_credit_code(value)
    code = ids.validate_credit_code(value)
    assert ids.is_valid_org_code(code.org_code)
    assert ids.credit_code_check_char(value[:17]) == textbook_credit_check(value[:17]) == value[17]


@settings(max_examples=400)
@given(value=credit_codes(), pos=st.integers(0, 17), char=st.sampled_from(ALPHABET))
def test_any_single_substitution_in_a_credit_code_is_caught(value, pos, char):
    """MOD 31 with weights 3^k (31 prime, no weight 0): every substitution inside the alphabet is caught
    by the final check alone, even with the embedded GB 11714 check switched off."""
    assume(value[pos] != char)
    changed = value[:pos] + char + value[pos + 1 :]
    assert not ids.is_valid_credit_code(changed, check_org_code=False)
    with pytest.raises(Invalid):
        ids.validate_credit_code(changed)


@settings(max_examples=300)
@given(value=credit_codes(), pos=st.integers(0, 15))
def test_any_adjacent_transposition_in_a_credit_code_is_caught(value, pos):
    assume(value[pos] != value[pos + 1])
    swapped = value[:pos] + value[pos + 1] + value[pos] + value[pos + 2 :]
    assert not ids.is_valid_credit_code(swapped, check_org_code=False)


@settings(max_examples=300)
@given(first17=st.text(st.sampled_from(ALPHABET), min_size=17, max_size=17))
def test_fast_credit_check_equals_the_textbook_formula(first17):
    assert ids.credit_code_check_char(first17) == textbook_credit_check(first17)


@settings(max_examples=600)
@given(raw=edited(credit_codes(), ALPHABET + "IOZSVl-"))
def test_credit_is_valid_agrees_with_validate(raw):
    assert ids.is_valid_credit_code(raw) is accepted_by(ids.validate_credit_code, raw)
