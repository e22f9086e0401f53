"""Resource codes (GB/T 21063 / the 2017 compilation guide): classification 类1+项2+目3(+细目3) and a
six-digit sequence, `101001/000001`; generated per classification, validated on input."""

from __future__ import annotations

import pytest

from yiwang.catalog import code_problem
from yiwang.catalog.service import next_code
from yiwang.catalog.vocab import category_path, category_problem, normalise_code, url_code

from .conftest import draft


@pytest.mark.parametrize("code", ["101001/000001", "317001/000123", "203001002/999999", "101001-000001"])
def test_valid_codes(code):
    assert code_problem(normalise_code(code)) is None


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("101001000001", "格式"),
        ("101001/00001", "格式"),
        ("10100/000001", "格式"),
        ("1010011/000001", "格式"),
        ("401001/000001", "类代码"),
        ("120001/000001", "项代码"),
        ("101000/000001", "目代码"),
        ("101001000/000001", "细目代码"),
        ("101001/000000", "顺序码"),
        ("", "格式"),
    ],
)
def test_invalid_codes_say_why(code, words):
    assert words in code_problem(code)


def test_category_paths():
    assert category_path("101001") == ["基础信息资源", "人口信息", "目 001"]
    assert category_path("317002003") == ["部门信息资源", "民政与社区", "目 002", "细目 003"]
    assert category_path("999") == []
    assert category_problem("203001") is None


def test_url_form_of_codes():
    assert url_code("101001/000001") == "101001-000001"
    assert normalise_code(" 101001-000001 ") == "101001/000001"


def test_next_code_counts_per_classification(client, db, officer_h):
    with db.session() as s:
        first = next_code(s, "318007")
    assert first == "318007/000001"
    draft(client, officer_h, category_code="318007")
    draft(client, officer_h, code="318007/000010", category_code="318007")
    with db.session() as s:
        assert next_code(s, "318007") == "318007/000011"
        assert next_code(s, "318007001") == "318007001/000001"
