"""The rule DSL and the vectorised validator: every rule type, the reasons it gives, the check digits
against the scalar reference implementation in `yiwang.core.ids`, and the quality score."""

from __future__ import annotations

import json
import random
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yiwang import registry
from yiwang.core.errors import Invalid
from yiwang.core.ids import (
    generate_citizen_id,
    generate_credit_code,
    is_valid_citizen_id,
    is_valid_credit_code,
)
from yiwang.governance.service.reading import ROW
from yiwang.governance.service.rules import compile_rules, default_rules, default_rules_json, rules_as_json
from yiwang.governance.service.validate import citizen_id_ok, credit_code_ok, quality_score, validate

from .conftest import bad_check_digit, people

POP = registry.resource("population")
TODAY = date(2026, 11, 22)


def text_frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    return pl.DataFrame(
        [{**{c: r.get(c) for c in cols}, ROW: i + 2} for i, r in enumerate(rows)],
        schema={**{c: pl.String for c in cols}, ROW: pl.Int64},
    )


def run(rows, rules=None, *, spec=POP, mode="insert", known=()):
    rules = rules if rules is not None else default_rules(spec)
    return validate(
        spec, rules, text_frame(rows), mode=mode, lookup=lambda key, values: set(known) & set(values)
    )


def reasons(outcome) -> dict[int, list[dict]]:
    return {r[ROW]: json.loads(r["reasons"]) for r in outcome.rejected.iter_rows(named=True)}


# ================================================================= the DSL


def test_default_rules_compile_for_every_resource():
    for spec in registry.resources():
        rules = default_rules(spec)
        assert rules, spec.key
        # What is stored round-trips through the DSL.
        assert compile_rules(spec, rules_as_json(rules)) == rules


def test_population_defaults_cover_the_rule_types():
    kinds = {(r["type"], r.get("field")) for r in default_rules_json(POP)}
    assert ("citizen_id", "citizen_id") in kinds
    assert ("unique", "citizen_id") in kinds
    assert ("required", "name") in kinds
    assert ("date_sane", "birth_date") in kinds
    assert ("enum", "gender") in kinds
    assert ("pattern", "phone") in kinds
    legal = {(r["type"], r.get("field")) for r in default_rules_json(registry.resource("legal_person"))}
    assert ("credit_code", "credit_code") in legal
    assert ("reference", "legal_rep_citizen_id") in legal
    assert ("range", "registered_capital_fen") in legal


@pytest.mark.parametrize(
    "rule, where, words",
    [
        ({"type": "required", "field": "nope"}, "rules.0.field", "没有字段"),
        ({"type": "pattern", "field": "phone"}, "rules.0", "正则表达式"),
        ({"type": "pattern", "field": "phone", "regex": "(?<=1)2"}, "rules.0.regex", "正则表达式无效"),
        ({"type": "enum", "field": "gender", "values": []}, "rules.0", "允许的取值"),
        ({"type": "range", "field": "name", "min": 1}, "rules.0.min", "数值或日期"),
        (
            {"type": "range", "field": "birth_date", "min": "2000-01-01", "max": "1990-01-01"},
            "rules.0.max",
            "不能小于",
        ),
        ({"type": "range", "field": "birth_date", "min": "yesterday"}, "rules.0.min", "年-月-日"),
        ({"type": "reference", "field": "citizen_id", "resource": "nowhere"}, "rules.0.resource", "没有名为"),
        ({"type": "date_sane", "field": "name"}, "rules.0.field", "日期字段"),
        ({"type": "frobnicate", "field": "name"}, "rules.0.type", ""),
        ({"type": "required", "field": "name", "colour": "red"}, "rules.0.colour", ""),
        ({"type": "required", "field": "name", "weight": 2}, "rules.0.weight", ""),
    ],
)
def test_bad_rules_are_refused_with_their_position(rule, where, words):
    with pytest.raises(Invalid) as exc:
        compile_rules(POP, [rule])
    fields = [e.field for e in exc.value.errors]
    assert any(f.startswith(where) for f in fields), fields
    assert words in exc.value.detail


def test_rule_set_must_be_a_list_and_not_repeat_itself():
    with pytest.raises(Invalid, match="JSON 数组"):
        compile_rules(POP, {"type": "required"})
    with pytest.raises(Invalid, match="重复"):
        compile_rules(POP, [{"type": "required", "field": "name"}, {"type": "required", "field": "name"}])
    assert len(compile_rules(POP, {"rules": [{"type": "required", "field": "name"}]})) == 1


# ================================================================= check digits, vectorised == scalar


def _vector(fn, values: list[str]) -> list[bool]:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(fn(pl.col("v"))).to_series().to_list()


def test_citizen_id_vector_matches_scalar_on_valid_and_broken_ids():
    rng = random.Random(11)
    ids = [
        generate_citizen_id(rng, "219502", date(1930 + i % 90, 1 + i % 12, 1 + i % 28), i % 2 == 0)
        for i in range(300)
    ]
    broken = [bad_check_digit(x) for x in ids[:100]] + [x[:10] + "9999" + x[14:] for x in ids[100:150]]
    odd = ["", "12345", "99" + ids[0][2:], ids[0][:17] + "x", "２１" + ids[0][2:], "20000000000000000X"]
    values = ids + broken + odd
    got = _vector(lambda c: citizen_id_ok(c, TODAY), values)
    from yiwang.core import clock

    with clock.freeze(clock.now().replace(year=2026, month=11, day=22)):
        want = [is_valid_citizen_id(v) and v == v.upper() and v.isascii() for v in values]
    assert got == want


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789X", min_size=18, max_size=18))
def test_citizen_id_vector_matches_scalar_on_random_strings(value):
    assert _vector(lambda c: citizen_id_ok(c, date.today()), [value]) == [is_valid_citizen_id(value)]


def test_credit_code_vector_matches_scalar():
    rng = random.Random(3)
    codes = [generate_credit_code(rng, "9", "1", "219502") for _ in range(200)]
    codes += [generate_credit_code(rng, "1", "1", "219500") for _ in range(50)]
    broken = [c[:17] + ("0" if c[17] != "0" else "1") for c in codes[:80]]
    broken += [c[:16] + ("0" if c[16] != "0" else "1") + c[17] for c in codes[80:120]]
    odd = ["", "91219502MA0000000", "I1219502MA00000000", "ZZ" + codes[0][2:]]
    values = codes + broken + odd
    assert _vector(credit_code_ok, values) == [is_valid_credit_code(v) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=18, max_size=18))
def test_credit_code_vector_matches_scalar_on_random_strings(value):
    assert _vector(credit_code_ok, [value]) == [is_valid_credit_code(value)]


# ================================================================= the validator


def test_good_rows_pass_and_come_out_typed():
    rows = people(10)
    out = run(rows)
    assert out.rejected.height == 0
    assert out.good.height == 10
    assert out.good.schema["birth_date"] == pl.Date
    assert quality_score(out.rows_read, out.penalty) == 100.0


def test_every_failing_rule_is_a_reason_of_its_row():
    rows = people(12)
    rows[0]["citizen_id"] = bad_check_digit(rows[0]["citizen_id"])
    rows[1]["name"] = None
    rows[2]["gender"] = "未知"
    rows[3]["birth_date"] = "2099-01-01"
    rows[4]["phone"] = "12345"
    rows[5]["status"] = "失踪"
    rows[6]["birth_date"] = "1990-13-45"
    rows[7]["citizen_id"] = rows[8]["citizen_id"]
    rows[9]["citizen_id"] = "12345"
    out = run(rows)
    got = reasons(out)
    assert set(got) == {2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert got[2] == [
        {
            "field": "citizen_id",
            "rule": "citizen_id.citizen_id",
            "message": "身份证号码校验位不正确，请核对号码",
        }
    ]
    assert got[3][0]["message"] == "姓名为必填项，不能为空"
    assert any("“未知”不是允许的取值" in r["message"] for r in got[4])
    assert any(r["rule"] == "birth_date.date_sane" and "晚于今天" in r["message"] for r in got[5])
    assert any(r["rule"] == "phone.pattern" for r in got[6])
    assert any(r["rule"] == "status.enum" for r in got[7])
    assert any(r["rule"] == "birth_date.type" and "YYYY-MM-DD" in r["message"] for r in got[8])
    dup = [r for r in got[9] if r["rule"] == "citizen_id.unique"]
    assert dup and "文件中有 2 行" in dup[0]["message"] and "第 9 行" in dup[0]["message"]
    assert got[11][0]["message"] == "身份证号码应为18位，当前为5位"
    assert out.hits["citizen_id.unique"] == 2
    assert out.hits["citizen_id.citizen_id"] == 2
    assert out.good.height == 2


def test_id_and_attribute_consistency():
    rows = people(2)
    cid = rows[0]["citizen_id"]
    rows[0]["birth_date"] = "1900-01-02"
    rows[0]["gender"] = "女" if int(cid[16]) % 2 else "男"
    got = reasons(run(rows))[2]
    rules = {r["rule"] for r in got}
    assert {"birth_date.citizen_id_match", "gender.citizen_id_match"} <= rules


def test_ids_are_normalised_before_checking():
    rows = people(3)
    rows[0]["citizen_id"] = rows[0]["citizen_id"].lower()
    rows[1]["citizen_id"] = "".join(chr(ord(c) + 0xFEE0) for c in rows[1]["citizen_id"])  # full-width
    out = run(rows)
    assert out.rejected.height == 0
    assert out.good.get_column("citizen_id").to_list()[:2] == [
        r.upper() for r in (people(3)[0]["citizen_id"], people(3)[1]["citizen_id"])
    ]


def test_existing_subjects_are_rejected_in_insert_mode_only():
    rows = people(3)
    known = [rows[1]["citizen_id"]]
    out = run(rows, known=known)
    got = reasons(out)
    assert list(got) == [3] and "基础库中已有" in got[3][0]["message"]
    assert run(rows, mode="upsert", known=known).rejected.height == 0


def test_reference_rule():
    spec = registry.resource("legal_person")
    rng = random.Random(1)
    base = {
        "name": "云川测试有限公司",
        "kind": "企业",
        "org_form": "有限责任公司",
        "legal_rep_name": "张三",
        "registered_capital_fen": "100000",
        "established_on": "2020-01-01",
        "area_code": "219502",
        "address": "云川市",
        "industry_code": "I65",
        "industry_name": "软件",
        "business_scope": "软件开发",
        "status": "存续",
    }
    known_rep = people(1)[0]["citizen_id"]
    unknown_rep = people(2, seed=99)[1]["citizen_id"]
    rows = [
        {
            **base,
            "credit_code": generate_credit_code(rng, area_code="219502"),
            "legal_rep_citizen_id": known_rep,
        },
        {
            **base,
            "credit_code": generate_credit_code(rng, area_code="219502"),
            "legal_rep_citizen_id": unknown_rep,
        },
    ]
    out = run(rows, spec=spec, known=[known_rep])
    got = reasons(out)
    assert list(got) == [3]
    assert got[3][0]["rule"] == "legal_rep_citizen_id.reference"
    assert "人口基础信息" in got[3][0]["message"]


def test_range_custom_message_and_weight():
    rules = compile_rules(
        POP,
        [
            {
                "type": "range",
                "field": "birth_date",
                "min": "1950-01-01",
                "message": "太老了",
                "weight": 0.25,
            },
            {"type": "required", "field": "citizen_id"},
        ],
    )
    rows = people(4)
    rows[0]["birth_date"] = "1949-12-31"
    out = run(rows, rules)
    assert reasons(out)[2] == [{"field": "birth_date", "rule": "birth_date.range", "message": "太老了"}]
    assert out.penalty == 0.25
    assert quality_score(4, out.penalty) == 93.8


def test_composite_unique():
    spec = registry.resource("social_insurance")
    cid = people(1)[0]["citizen_id"]
    row = {
        "citizen_id": cid,
        "name": "张三",
        "insurance_type": "养老",
        "month": "202601",
        "base_fen": "500000",
        "amount_fen": "80000",
        "personal_fen": "40000",
        "status": "已缴",
        "area_code": "219502",
    }
    rules = compile_rules(spec, [{"type": "unique", "fields": ["citizen_id", "insurance_type", "month"]}])
    out = run([row, {**row, "month": "202602"}, row], rules, spec=spec)
    assert sorted(reasons(out)) == [2, 4]
    assert out.good.schema["base_fen"] == pl.Int64


def test_quality_score_weights():
    assert quality_score(0, 0) is None
    assert quality_score(200, 0) == 100.0
    assert quality_score(200, 2.5) == 98.8


def test_accepted_forms_of_dates_integers_and_booleans():
    rows = people(6)
    forms = [
        "1990/01/02",
        "19900102",
        "1990年1月2日",
        "1990-01-02 00:00:00",
        "1990.01.02",
        "1990-01-02T00:00:00",
    ]
    for row, text in zip(rows, forms, strict=True):
        row["birth_date"] = text
    rules = compile_rules(POP, [{"type": "required", "field": "birth_date"}])
    out = run(rows, rules)
    assert out.rejected.height == 0
    assert set(out.good.get_column("birth_date").to_list()) == {date(1990, 1, 2)}

    spec = registry.resource("property")
    base = {"certificate_no": "辽(2026)云川市不动产权第0000001号", "area_cm2": "8000000.0", "mortgaged": "是",
            "seized": "否", "registered_on": "2020-05-01"}  # fmt: skip
    rules = compile_rules(spec, [{"type": "required", "field": "certificate_no"}])
    out = run(
        [base, {**base, "certificate_no": "2", "mortgaged": "maybe", "area_cm2": "12.5"}], rules, spec=spec
    )
    assert out.good.row(0, named=True)["area_cm2"] == 8_000_000
    assert out.good.row(0, named=True)["mortgaged"] is True and out.good.row(0, named=True)["seized"] is False
    bad = {r["rule"] for r in reasons(out)[3]}
    assert bad == {"mortgaged.type", "area_cm2.type"}


def test_datetimes_without_a_zone_are_beijing_time():
    spec = registry.resource("no_criminal_record")
    cid = people(1)[0]["citizen_id"]
    rows = [{"citizen_id": cid, "name": "张三", "has_record": "否", "checked_at": "2026-01-02 08:30:00"}]
    rules = compile_rules(spec, [{"type": "date_sane", "field": "checked_at"}])
    out = run(rows, rules, spec=spec)
    value = out.good.get_column("checked_at").to_list()[0]
    assert value.isoformat() == "2026-01-02T00:30:00+00:00"
