"""Reading files: formats by magic and extension, encodings (UTF-8 with and without BOM, GBK, GB18030,
UTF-16), undecodable bytes, malformed CSV lines, duplicate headers — no database needed."""

from __future__ import annotations

import io
import json
from datetime import date

import polars as pl
import pytest

from yiwang.core.errors import Invalid
from yiwang.governance.service.reading import ROW, FileRefused, detect_format, read_file, sniff_encoding

from .conftest import csv_bytes, json_bytes, parquet_bytes, people, xlsx_bytes

ROWS = people(5)


def values(result, column: str = "name") -> list[str]:
    return result.frame.get_column(column).to_list()


def test_utf8_csv_is_read_as_text_with_row_numbers():
    r = read_file(csv_bytes(ROWS), "people.csv")
    assert (r.format, r.encoding) == ("csv", "UTF-8")
    assert r.columns[0] == "citizen_id"
    assert values(r) == [x["name"] for x in ROWS]
    assert r.frame.get_column(ROW).to_list() == [2, 3, 4, 5, 6]  # the header is row 1
    assert all(dtype == pl.String for name, dtype in r.frame.schema.items() if name != ROW)


def test_utf8_with_bom():
    r = read_file(csv_bytes(ROWS, bom=True), "people.csv")
    assert r.encoding == "UTF-8-BOM"
    assert r.columns[0] == "citizen_id"  # the BOM is not part of the first column's name
    assert values(r) == [x["name"] for x in ROWS]


@pytest.mark.parametrize("encoding, detected", [("gbk", "GBK"), ("gb18030", "GB18030")])
def test_gbk_and_gb18030_are_transcoded(encoding, detected):
    rows = [dict(r) for r in ROWS]
    if encoding == "gb18030":
        rows[0]["name"] = "张𠀀"  # outside GBK: only GB18030 encodes it
    r = read_file(csv_bytes(rows, encoding=encoding), "people.csv")
    assert r.encoding == detected
    assert values(r) == [x["name"] for x in rows]


def test_utf16_with_bom():
    data = "\ufeff".encode("utf-16-le") + csv_bytes(ROWS).decode().encode("utf-16-le")
    r = read_file(data, "people.csv")
    assert r.encoding == "UTF-16LE"
    assert values(r) == [x["name"] for x in ROWS]


def test_undecodable_bytes_are_refused_with_the_offset():
    data = csv_bytes(ROWS) + b"11010519800101001X,\xff\xfe\xfa\xff\n"
    with pytest.raises(FileRefused) as exc:
        read_file(data, "people.csv")
    assert "文件编码无法识别" in exc.value.detail
    assert "第" in exc.value.detail and "字节" in exc.value.detail
    assert exc.value.status == 422


def test_gbk_after_a_utf8_looking_start_is_still_recognised():
    # The first megabyte is plain ASCII; the Chinese comes later, in GBK.
    head = "a,b\n" + "1,x\n" * 300_000
    data = head.encode() + "2,张三\n".encode("gbk")
    r = read_file(data, "late.csv")
    assert r.encoding == "GBK"
    assert r.frame.get_column("b").to_list()[-1] == "张三"


def test_bytes_broken_after_the_sample_are_refused():
    data = b"a,b\n" + b"1,x\n" * 300_000 + b"2,\xff\xff\n"
    with pytest.raises(FileRefused, match="文件编码无法识别"):
        read_file(data, "late.csv")


def test_declared_encoding_is_checked():
    data = csv_bytes(ROWS, encoding="gbk")
    with pytest.raises(FileRefused, match="不是声明的 UTF-8 编码"):
        read_file(data, "people.csv", encoding="utf-8")
    assert read_file(data, "people.csv", encoding="GBK").encoding == "GBK"
    with pytest.raises(Invalid):
        read_file(data, "people.csv", encoding="latin-1")


def test_sniff_encoding_on_a_sample(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("名字\n张三\n".encode("gbk"))
    assert sniff_encoding(path) == "GBK"
    path.write_bytes("名字\n张三\n".encode())
    assert sniff_encoding(path) == "UTF-8"


def test_values_are_trimmed_and_blank_is_null():
    data = 'citizen_id,name,phone\n 1 ,\u3000张三\u3000,   \n2,李四,""\n'.encode()
    r = read_file(data, "x.csv")
    assert r.frame.get_column("citizen_id").to_list() == ["1", "2"]
    assert values(r) == ["张三", "李四"]
    assert r.frame.get_column("phone").to_list() == [None, None]


def test_tab_and_semicolon_delimiters():
    tsv = "citizen_id\tname\n1\t张三\n".encode()
    assert values(read_file(tsv, "x.tsv")) == ["张三"]
    semi = "citizen_id;name\n1;张三\n".encode()
    assert values(read_file(semi, "x.csv")) == ["张三"]


def test_malformed_lines_refuse_the_whole_file_naming_them():
    data = b"a,b\n1,2\n3,4,5\n6\n7,8\n"
    with pytest.raises(FileRefused) as exc:
        read_file(data, "x.csv")
    assert "第 3 行：列数多于表头" in exc.value.detail
    assert "第 4 行：列数少于表头" in exc.value.detail


def test_duplicate_header_is_refused():
    with pytest.raises(FileRefused, match="重复的列：name"):
        read_file(b"citizen_id,name,name\n1,a,b\n", "x.csv")


def test_empty_file_and_header_only():
    with pytest.raises(FileRefused, match="文件是空的"):
        read_file(b"", "x.csv")
    r = read_file(b"citizen_id,name\n", "x.csv")
    assert r.frame.height == 0 and r.columns == ["citizen_id", "name"]


def test_xlsx_is_read_as_text_and_dates_lose_their_midnight():
    frame = pl.DataFrame({"citizen_id": ["1", "2"], "birth_date": [date(2020, 1, 2), None], "n": [1, 2]})
    buf = io.BytesIO()
    frame.write_excel(buf)
    r = read_file(buf.getvalue(), "people.xlsx")
    assert r.format == "xlsx" and r.encoding is None
    assert r.frame.get_column("birth_date").to_list()[0].startswith("2020-01-02")
    assert r.frame.get_column("n").to_list() == ["1", "2"]
    assert r.frame.get_column(ROW).to_list() == [2, 3]
    assert values(read_file(xlsx_bytes(ROWS), "p.xlsx")) == [x["name"] for x in ROWS]


def test_json_array_and_lines():
    r = read_file(json_bytes(ROWS), "people.json")
    assert r.format == "json" and values(r) == [x["name"] for x in ROWS]
    r = read_file(json_bytes(ROWS, lines=True), "people.jsonl")
    assert values(r) == [x["name"] for x in ROWS]
    nums = json.dumps([{"citizen_id": "1", "n": 5}]).encode()
    assert read_file(nums, "x.json").frame.get_column("n").to_list() == ["5"]


def test_parquet_types_become_text():
    r = read_file(parquet_bytes(ROWS), "people.parquet")
    assert r.format == "parquet"
    assert r.frame.get_column("birth_date").to_list() == [x["birth_date"] for x in ROWS]


def test_format_by_magic_wins_and_lies_are_refused():
    assert detect_format(b"PAR1....", "data.csv") == "parquet"
    assert detect_format(b"PK\x03\x04", "data.bin") == "xlsx"
    assert detect_format(b'[{"a":1}]', "data") == "json"
    assert detect_format(b"a,b\n", "data") == "csv"
    with pytest.raises(FileRefused, match="不是有效的 Parquet"):
        read_file(b"not parquet at all", "x.parquet")
    with pytest.raises(FileRefused, match="不是有效的 Excel"):
        read_file(b"a,b\n1,2\n", "x.xlsx")
    with pytest.raises(Invalid):
        detect_format(b"a", "x.csv", "xml")


def test_broken_json_is_refused():
    with pytest.raises(FileRefused, match="无法读取 JSON"):
        read_file(b'[{"a": 1}, {"a": ', "x.json")
