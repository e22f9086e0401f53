"""Masking primitives of `yiwang.core.masking`: each rule, odd input, and the dispatcher."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from yiwang.core.crypto import hmac_sm3
from yiwang.core.masking import (
    DROP,
    RULE_NAMES,
    apply_mask,
    date_to_year,
    drop,
    hash_value,
    mask_address,
    mask_id,
    mask_name,
    mask_phone,
)


def test_mask_id_keeps_first_six_and_last_four():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_id("91110000600037341L") == "911100********341L"
    assert mask_id(" 440524188001010014 ") == "440524********0014"


def test_mask_id_short_values_are_starred_whole():
    assert mask_id("1234567890") == "**********"
    assert mask_id("") == ""
    assert mask_id(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳修", "欧阳*"),
        ("司马相如", "司马**"),
        ("欧阳", "欧*"),  # a two-character name is surname + given name, even if it looks compound
        ("李", "*"),
        ("阿依古丽·买买提", "阿***·***"),
        ("John Smith", "J*** *****"),
        ("", ""),
    ],
)
def test_mask_name(value, expected):
    assert mask_name(value) == expected


def test_mask_name_none():
    assert mask_name(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("+86 138-1234-5678", "+86 138****5678"),
        ("008613812345678", "+86 138****5678"),
        ("024-23456789", "024-****6789"),
        ("(024)23456789", "(024)****6789"),
        ("23456789", "****6789"),
        ("12345", "*****"),
    ],
)
def test_mask_phone(value, expected):
    assert mask_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("辽宁省云川市云中区站前街道金桥社区3号楼2单元502室", "辽宁省云川市云中区站前街道****"),
        ("北京市朝阳区建国路街道88号", "北京市朝阳区建国路街道****"),
        ("上海市浦东新区张江镇科苑路1号", "上海市浦东新区张江镇****"),
        ("广东省深圳市南山区粤海街道办事处科技园", "广东省深圳市南山区粤海街道办事处****"),
        # No district: a 社区 or 小区 never passes for one.
        ("辽宁省云川市站前街道金桥社区1号", "辽宁省云川市站前街道****"),
        ("云川市云中区金桥小区3号楼", "云川市云中区****"),
        ("新疆维吾尔自治区乌鲁木齐市天山区燕儿窝街道", "新疆维吾尔自治区乌鲁木齐市天山区燕儿窝街道"),
        ("某小区3号楼", "****"),
        ("", ""),
    ],
)
def test_mask_address_keeps_down_to_the_street(value, expected):
    assert mask_address(value) == expected


def test_mask_address_hides_length_of_the_tail():
    short = mask_address("辽宁省云川市云中区站前街道1号")
    long = mask_address("辽宁省云川市云中区站前街道金桥社区幸福家园小区3号楼2单元502室")
    assert short == long


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1990-05-12", "1990"),
        ("19900512", "1990"),
        ("1990/5/12", "1990"),
        ("1990年5月12日", "1990"),
        (date(1990, 5, 12), "1990"),
        (datetime(2001, 1, 2, 3, 4), "2001"),
        ("不详", "**"),
    ],
)
def test_date_to_year(value, expected):
    assert date_to_year(value) == expected


def test_hash_value_is_keyed_sm3_and_deterministic():
    key = b"k" * 16
    h = hash_value("11010519491231002X", key)
    assert h == hmac_sm3(key, b"11010519491231002X").hex()
    assert len(h) == 64 and h == hash_value(" 11010519491231002X ", key)
    assert h != hash_value("11010519491231002X", b"other-key")
    assert hash_value(date(1990, 5, 12), key) == hash_value("1990-05-12", key)
    assert hash_value(None, key) is None
    with pytest.raises(ValueError):
        hash_value("x", b"")


def test_drop_and_apply_mask():
    assert drop("anything") is DROP
    assert not DROP
    assert apply_mask("none", "原样") == "原样"
    assert apply_mask("id", "11010519491231002X") == "110105********002X"
    assert apply_mask("name", "张三") == "张*"
    assert apply_mask("drop", "x") is DROP
    assert apply_mask("hash", "x", hash_key=b"key") == hash_value("x", b"key")
    # An unknown rule fails closed.
    assert apply_mask("no-such-rule", "x") is DROP
    with pytest.raises(ValueError):
        apply_mask("hash", "x")
    assert set(RULE_NAMES) == {"none", "id", "name", "phone", "address", "date_to_year", "hash", "drop"}
