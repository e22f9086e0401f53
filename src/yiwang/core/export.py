"""Spreadsheet exports: CSV and XLSX bytes from a header row and data rows.

CSV is UTF-8 with a BOM (so Excel opens Chinese text correctly) and CRLF line ends. Every text cell
that starts with = + - @ (or a tab / carriage return) is prefixed with a quote, so a spreadsheet
reads it as text, not as a formula (CSV injection). `None` is written as an empty cell.
XLSX never turns strings into formulas or links; the header row is bold, frozen and filterable.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import xlsxwriter

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell value safe for a spreadsheet: `None` → "", text starting like a formula gets a quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def csv_bytes(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """The rows as CSV: UTF-8 with BOM, CRLF line ends, formula-like cells neutralised."""
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in headers])
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return buf.getvalue().encode("utf-8")


def xlsx_bytes(sheet_name: str, headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """The rows as one XLSX sheet (name cut to Excel's 31 characters); columns sized to their text."""
    body = [list(row) for row in rows]
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    ws = book.add_worksheet(sheet_name[:31])
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True})
    ws.write_row(0, 0, list(headers), bold)
    widths = [max(6, len(str(h)) * 2 + 2) for h in headers]
    for r, row in enumerate(body, start=1):
        for c, value in enumerate(row):
            if value is None:
                value = ""
            ws.write(r, c, value)
            widths[c] = min(60, max(widths[c], len(str(value)) * 2 if isinstance(value, str) else 10))
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    ws.freeze_panes(1, 0)
    if body:
        ws.autofilter(0, 0, len(body), len(headers) - 1)
    book.close()
    return buf.getvalue()
