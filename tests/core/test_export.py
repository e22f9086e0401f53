"""core.export: CSV (BOM, CRLF, formula neutralisation) and XLSX bytes."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from yiwang.core.export import csv_bytes, neutralise, xlsx_bytes


def test_csv_has_bom_crlf_and_chinese():
    body = csv_bytes(["名称", "数量"], [["张三", 1], ["李四", None]])
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text == "名称,数量\r\n张三,1\r\n李四,\r\n"


@pytest.mark.parametrize("cell", ["=1+1", "+86", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_neutralises_formula_cells(cell):
    text = csv_bytes(["值"], [[cell]]).decode("utf-8-sig")
    row = list(csv.reader(io.StringIO(text)))[1]
    assert row == ["'" + cell]


def test_neutralise_leaves_numbers_and_plain_text():
    assert neutralise(-3) == -3
    assert neutralise("a=b") == "a=b"
    assert neutralise(None) == ""


def test_csv_quotes_commas_and_newlines():
    text = csv_bytes(["a"], [["x,y"], ['say "hi"\nbye']]).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [["a"], ["x,y"], ['say "hi"\nbye']]


def test_csv_header_only():
    assert csv_bytes(["甲", "乙"], []) == "\ufeff甲,乙\r\n".encode()


def test_xlsx_is_a_workbook_with_text_not_formulas():
    body = xlsx_bytes("一个很长很长的工作表名称" * 4, ["名称", "数量"], [["=1+1", 2], ["李四", None]])
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        workbook = book.read("xl/workbook.xml").decode()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "一个很长很长的工作表名称一个很长很长的工作表名称一个很长很长" in workbook
    assert "<f>" not in sheet
    assert "=1+1" in strings and "名称" in strings
    assert 'autoFilter ref="A1:B3"' in sheet
