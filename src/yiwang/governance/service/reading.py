"""Reading a department's file into a polars DataFrame of text columns (B3).

Formats: CSV (and TSV), XLSX/XLS, JSON (an array of objects or one object per line) and Parquet. The
format comes from the caller, else from the file's first bytes (Parquet's ``PAR1``, a ZIP container for
XLSX, the OLE container of old XLS, ``[``/``{`` for JSON), else from the extension. DuckDB reads CSV,
JSON and Parquet; polars (fastexcel) reads spreadsheets. Every column comes back as text, so nothing
is coerced before the quality rules have seen it.

Encodings (CSV and JSON): the whole file is decoded as UTF-8 (a BOM is noted and skipped); when that
fails it is decoded as GBK, then GB18030, and transcoded to UTF-8 for DuckDB; UTF-16 with a BOM is
transcoded too. A file none of these decode is refused with the byte offset of the first bad byte.

Values: every value is trimmed (Unicode white space) and an empty value is null, whatever the format.

Row numbers: ``__row`` is the row's line in the file as a spreadsheet shows it — the header is row 1,
the first record row 2 (for CSV it counts records: a line break inside quotes or a blank line is not
a row).
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from yiwang.core.errors import FieldError, Invalid

log = logging.getLogger(__name__)

ROW = "__row"
FORMATS = ("csv", "xlsx", "json", "parquet")
FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel（XLSX/XLS）", "json": "JSON", "parquet": "Parquet"}
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_CHUNK = 1 << 20
_DELIMITERS = (",", "\t", ";", "|")
MAX_BAD_LINES = 10


class FileRefused(Invalid):
    """The file as a whole cannot be loaded: nothing is written. `title` says why in one line."""

    default_slug = "governance-file-refused"
    default_title = "文件无法装载"


@dataclass
class ReadResult:
    frame: pl.DataFrame  # text columns named as in the file's header, plus ROW
    format: str
    encoding: str | None  # None for binary formats (XLSX, Parquet)
    columns: list[str]  # the header as read, in order


# ------------------------------------------------------------------ format


def detect_format(head: bytes, filename: str, declared: str | None = None) -> str:
    """The file's format: `declared` if given, else from its first bytes, else from its extension."""
    if declared and declared != "auto":
        if declared not in FORMATS:
            raise Invalid.on("format", f"不支持的文件格式“{declared}”，可选：{'、'.join(FORMATS)}")
        return declared
    by_ext = _EXTENSIONS.get(Path(filename or "").suffix.lower())
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xlsx"
    if by_ext in ("parquet", "xlsx"):
        label = FORMAT_LABELS[by_ext]
        raise FileRefused(detail=f"文件扩展名表明是 {label}，但内容不是有效的 {label} 文件。")
    if by_ext:
        return by_ext
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"[", b"{"):
        return "json"
    return "csv"


# ------------------------------------------------------------------ encodings


def _decodes(path: Path, encoding: str, skip: int = 0) -> int | None:
    """None if the whole file decodes strictly as `encoding`, else the offset of the first bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = skip
    with path.open("rb") as fh:
        fh.seek(skip)
        while True:
            chunk = fh.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return offset + exc.start
            if not chunk:
                return None
            offset += len(chunk)


def _refuse_encoding(bad_utf8: int | None, bad_gb: int | None, where: str = "") -> FileRefused:
    at = []
    if bad_utf8 is not None:
        at.append(f"按 UTF-8 第 {bad_utf8 + 1} 个字节")
    if bad_gb is not None:
        at.append(f"按 GB18030 第 {bad_gb + 1} 个字节")
    position = f"（{'、'.join(at)}起无法解码{where}）" if at else ""
    return FileRefused(
        detail=(
            f"文件编码无法识别：既不是 UTF-8，也不是 GBK/GB18030{position}。"
            "请用 Excel 或 WPS 另存为“CSV UTF-8”后重新上传。"
        ),
        errors=[FieldError("file", "文件编码无法识别")],
    )


def _sample_decodes(sample: bytes, encoding: str) -> int | None:
    """None if `sample` (the start of a file, possibly cut inside a character) decodes strictly."""
    try:
        codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample, final=False)
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def sniff_encoding(path: Path, sample_size: int = _CHUNK) -> str:
    """The encoding of a text file judged from its BOM and its first `sample_size` bytes:
    UTF-8-BOM / UTF-16LE / UTF-16BE / UTF-8 / GBK / GB18030, else a `FileRefused`.

    A sample can be fooled by a file that turns into another encoding later; `read_file` notices
    that when DuckDB meets the first undecodable line and then checks the whole file."""
    with path.open("rb") as fh:
        sample = fh.read(sample_size)
    if sample.startswith(codecs.BOM_UTF8):
        return "UTF-8-BOM"
    if sample.startswith(codecs.BOM_UTF16_LE):
        return "UTF-16LE"
    if sample.startswith(codecs.BOM_UTF16_BE):
        return "UTF-16BE"
    if b"\x00" in sample:
        raise _refuse_nul(sample)
    bad_utf8 = _sample_decodes(sample, "utf-8")
    if bad_utf8 is None:
        return "UTF-8"
    if _sample_decodes(sample, "gbk") is None:
        return "GBK"
    bad_gb = _sample_decodes(sample, "gb18030")
    if bad_gb is None:
        return "GB18030"
    raise _refuse_encoding(bad_utf8, bad_gb)


def _refuse_nul(sample: bytes) -> FileRefused:
    """A text file with NUL bytes: UTF-16 without its byte-order mark (every other byte is NUL in
    Latin text), or not a text file at all. Neither can be read safely, and no database stores NUL."""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if max(even, odd) > len(sample) // 8 and min(even, odd) * 4 < max(even, odd):
        detail = (
            "文件像是没有字节顺序标记（BOM）的 UTF-16 编码，无法可靠识别。"
            "请用 Excel 或 WPS 另存为“CSV UTF-8”后重新上传。"
        )
    else:
        detail = "文件中含有空字符（NUL），不是可以装载的文本文件。请检查文件是否选错或已损坏。"
    return FileRefused(detail=detail, errors=[FieldError("file", "文件编码无法识别")])


def detect_encoding(path: Path) -> str:
    """Like `sniff_encoding`, but every byte of the file must decode."""
    guess = sniff_encoding(path)
    if not guess.startswith("UTF-16") and _has_nul(path):
        with path.open("rb") as fh:
            raise _refuse_nul(fh.read(_CHUNK))
    if guess == "UTF-8-BOM":
        bad = _decodes(path, "utf-8", skip=3)
        if bad is None:
            return guess
        raise _refuse_encoding(bad, None, "，文件以 UTF-8 标记开头")
    if guess.startswith("UTF-16"):
        if _decodes(path, _PY_CODECS[guess], skip=2) is None:
            return guess
        raise FileRefused(detail="文件编码无法识别：文件以 UTF-16 标记开头，但内容不是有效的 UTF-16。")
    bad_utf8 = _decodes(path, "utf-8")
    if bad_utf8 is None:
        return "UTF-8"
    if _decodes(path, "gbk") is None:
        return "GBK"
    bad_gb = _decodes(path, "gb18030")
    if bad_gb is None:
        return "GB18030"
    raise _refuse_encoding(bad_utf8, bad_gb)


def _has_nul(path: Path) -> bool:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            if b"\x00" in chunk:
                return True
    return False


_PY_CODECS = {"GBK": "gbk", "GB18030": "gb18030", "UTF-16LE": "utf-16-le", "UTF-16BE": "utf-16-be"}


def _transcode(path: Path, encoding: str, target: Path) -> None:
    """Write `path` decoded from `encoding` to `target` as UTF-8, chunk by chunk (no whole-file copy)."""
    decoder = codecs.getincrementaldecoder(_PY_CODECS[encoding])(errors="strict")
    skip = _bom_length(encoding)
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        src.seek(skip)
        while True:
            chunk = src.read(_CHUNK)
            dst.write(decoder.decode(chunk, final=not chunk))
            if not chunk:
                break


# ------------------------------------------------------------------ reading


SCRATCH_PREFIX = "yiwang-"


def scratch_dir(kind: str) -> Path:
    """A private temporary directory named after this process (`yiwang-<kind>-<pid>-…`), so the
    start-up sweep (`remove_stale_scratch`) can tell a crashed process's leftovers from a live one's."""
    return Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{kind}-{os.getpid()}-"))


def remove_stale_scratch() -> int:
    """Remove the scratch directories of loads and uploads whose process is gone (killed mid-load);
    returns how many were removed."""
    removed = 0
    for entry in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*-*"):
        parts = entry.name.split("-")
        if len(parts) < 4 or parts[1] not in ("load", "upload") or not parts[2].isdigit():
            continue
        pid = int(parts[2])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # alive (or not ours to signal): leave it
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


@contextmanager
def materialised(source: bytes | str | os.PathLike[str]) -> Iterator[tuple[Path, Path]]:
    """(file path, scratch directory): `bytes` are written to a temporary file first."""
    scratch = scratch_dir("load")
    try:
        if isinstance(source, bytes | bytearray | memoryview):
            path = scratch / "upload.bin"
            path.write_bytes(bytes(source))
        else:
            path = Path(source)
            if not path.is_file():
                raise Invalid.on("file", f"文件不存在：{path.name}")
        yield path, scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _duckdb(scratch: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills, if it must, into the load's own scratch directory (removed
    with it) rather than a `.tmp` in the server's working directory."""
    con = duckdb.connect()
    con.execute(f"SET temp_directory = {_sql_literal(str(scratch / 'duckdb'))}")
    return con


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sniff_delimiter(path: Path) -> str:
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        first = fh.readline()
    counts = {d: first.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _frame_from(rel: duckdb.DuckDBPyRelation) -> pl.DataFrame:
    # DuckDB hands the result over through the Arrow C stream interface: no pyarrow needed.
    return pl.DataFrame(rel)


def _all_text(con: duckdb.DuckDBPyConnection, source_sql: str) -> pl.DataFrame:
    """SELECT every column of `source_sql` cast to VARCHAR, in file order."""
    con.execute(f"CREATE TEMP VIEW src AS SELECT * FROM {source_sql}")
    names = [row[0] for row in con.execute("SELECT column_name FROM (DESCRIBE src)").fetchall()]
    if not names:
        raise FileRefused(detail="文件中没有任何列。")
    quoted = ['"' + n.replace('"', '""') + '"' for n in names]
    return _frame_from(
        con.sql(f"SELECT {', '.join(f'CAST({q} AS VARCHAR) AS {q}' for q in quoted)} FROM src")
    )


def _csv_header(path: Path, delim: str) -> list[str]:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        try:
            return [_clean_name(n) for n in next(csv.reader(fh, delimiter=delim))]
        except (StopIteration, csv.Error):
            return []


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    """The records, and the (line, error type) of malformed lines (at most MAX_BAD_LINES + 1)."""
    delim = _sniff_delimiter(path)
    header = _csv_header(path, delim)
    dupes = sorted({n for n in header if header.count(n) > 1})
    if dupes:
        raise FileRefused(
            detail=f"表头中有重复的列：{'、'.join(dupes)}。每一列只能出现一次。",
            errors=[FieldError("file", f"重复的列：{n}") for n in dupes],
        )
    options = (
        f"header=true, all_varchar=true, delim={_sql_literal(delim)}, quote='\"', escape='\"', "
        "store_rejects=true, ignore_errors=true, null_padding=false"
    )
    try:
        frame = _frame_from(con.sql(f"SELECT * FROM read_csv({_sql_literal(str(path))}, {options})"))
        bad = con.execute(
            "SELECT line, error_type FROM reject_errors ORDER BY line LIMIT ?", [MAX_BAD_LINES + 1]
        ).fetchall()
    except duckdb.Error as exc:
        raise _duckdb_refusal("CSV", exc) from None
    return frame, [(int(line), str(kind)) for line, kind in bad]


def _refuse_bad_lines(bad: list[tuple[int, str]]) -> FileRefused:
    lines = [f"第 {line} 行：{_CSV_ERRORS.get(kind, '格式不正确')}" for line, kind in bad[:MAX_BAD_LINES]]
    more = "，等" if len(bad) > MAX_BAD_LINES else ""
    return FileRefused(
        detail="CSV 文件有格式错误的行，整个文件未装载：" + "；".join(lines) + more + "。",
        errors=[FieldError("file", text) for text in lines],
    )


_CSV_ERRORS = {
    "TOO MANY COLUMNS": "列数多于表头",
    "MISSING COLUMNS": "列数少于表头",
    "UNQUOTED VALUE": "引号使用不正确",
    "INVALID UNICODE": "含有无法解码的字符",
    "INVALID ENCODING": "含有无法解码的字符",
    "LINE SIZE OVER MAXIMUM": "行过长",
    "CAST ERROR": "格式不正确",
}


def _duckdb_refusal(kind: str, exc: Exception) -> FileRefused:
    # The reader's own message is English and may name server paths: it goes to the log, not the user.
    log.info("%s file refused by the reader: %s", kind, exc)
    return FileRefused(
        detail=f"无法读取 {kind} 文件：文件内容不符合 {kind} 格式，或文件已损坏。请检查后重新导出再上传。",
        errors=[FieldError("file", f"不是有效的 {kind} 文件")],
    )


def _read_json(con: duckdb.DuckDBPyConnection, path: Path) -> pl.DataFrame:
    try:
        return _all_text(con, f"read_json({_sql_literal(str(path))}, format='auto', records=true)")
    except FileRefused:
        raise
    except duckdb.Error as exc:
        raise _duckdb_refusal("JSON", exc) from None


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> pl.DataFrame:
    try:
        return _all_text(con, f"read_parquet({_sql_literal(str(path))})")
    except FileRefused:
        raise
    except duckdb.Error as exc:
        raise _duckdb_refusal("Parquet", exc) from None


def _read_excel(path: Path) -> pl.DataFrame:
    check_xlsx(path)
    try:
        frame = pl.read_excel(path, infer_schema_length=0, drop_empty_rows=False, raise_if_empty=False)
    except Exception as exc:  # fastexcel raises its own types for broken workbooks
        log.info("Excel file refused by the reader: %s", exc)
        raise FileRefused(
            detail=(
                "无法读取 Excel 文件：文件已损坏、受密码保护或不是 Excel 工作簿。"
                "请用 Excel 或 WPS 打开后另存再上传。"
            ),
            errors=[FieldError("file", "不是有效的 Excel 文件")],
        ) from None
    assert isinstance(frame, pl.DataFrame)
    # Excel shows dates as dates; calamine hands them over as "YYYY-MM-DD 00:00:00".
    return frame.with_columns(pl.all().cast(pl.String))


# Spreadsheets are unpacked whole into memory by the reader (a 118 MB workbook took 8.5 GB), so a
# workbook is measured before it is read: its unpacked size, its packing ratio (a "zip bomb" packs
# gigabytes of repeated bytes into kilobytes) and its rows. Bigger data belongs in a CSV file, which is
# read in a streaming fashion. Module constants, so the tests can make them small.
XLSX_MAX_UNPACKED_BYTES = 256 << 20
XLSX_MAX_RATIO = 200
XLSX_MAX_ROWS = 200_000
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>]")


def check_xlsx(path: Path) -> None:
    """Refuse a workbook that would unpack past the limits, reading it as a stream (bounded memory)."""
    if not zipfile.is_zipfile(path):
        return  # an old binary XLS: bounded by the upload's size; the reader refuses anything else
    too_big = FileRefused(
        detail=(
            f"Excel 文件解压后超过 {XLSX_MAX_UNPACKED_BYTES >> 20} MB，或压缩比异常（可能是“压缩炸弹”），"
            "未装载。数据量大时请另存为 CSV 文件后上传。"
        ),
        errors=[FieldError("file", "Excel 文件过大或压缩比异常")],
    )
    try:
        with zipfile.ZipFile(path) as workbook:
            packed = max(path.stat().st_size, 1)
            unpacked = rows = 0
            for info in workbook.infolist():
                if info.file_size > XLSX_MAX_UNPACKED_BYTES or info.file_size > packed * XLSX_MAX_RATIO:
                    raise too_big  # declared sizes first: the cheap check
                sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
                tail = b""
                with workbook.open(info) as member:
                    # Declared sizes can lie; count what actually comes out.
                    while chunk := member.read(_CHUNK):
                        unpacked += len(chunk)
                        if unpacked > XLSX_MAX_UNPACKED_BYTES or unpacked > packed * XLSX_MAX_RATIO:
                            raise too_big
                        if sheet:
                            # Tags cut between chunks: the tail's own tags were counted already.
                            window = tail + chunk
                            rows += len(_ROW_TAG.findall(window)) - len(_ROW_TAG.findall(tail))
                            tail = window[-8:]
                if rows > XLSX_MAX_ROWS + 1:  # + the header row
                    raise FileRefused(
                        detail=(
                            f"Excel 文件超过 {XLSX_MAX_ROWS} 行，未装载。"
                            "数据量大时请另存为 CSV 文件后上传，或分批装载。"
                        ),
                        errors=[FieldError("file", "Excel 文件行数过多")],
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        log.info("Excel container refused: %s", exc)
        raise FileRefused(
            detail="无法读取 Excel 文件：文件已损坏或不是 Excel 工作簿。请用 Excel 或 WPS 打开后另存再上传。",
            errors=[FieldError("file", "不是有效的 Excel 文件")],
        ) from None


def _cleaned(frame: pl.DataFrame) -> pl.DataFrame:
    """Every value trimmed (Unicode white space, so the ideographic space too), and an empty value as
    null — so the rules see "" and "   " alike as missing."""
    exprs = []
    for name in frame.columns:
        text = pl.col(name).str.strip_chars()
        exprs.append(pl.when(text.str.len_bytes() == 0).then(None).otherwise(text).alias(name))
    return frame.with_columns(exprs)


def _to_utf8(path: Path, encoding: str, scratch: Path) -> tuple[Path, str]:
    """Transcode to UTF-8 for DuckDB; a GBK guess that fails later in the file is retried as GB18030."""
    target = scratch / "utf8.txt"
    try:
        _transcode(path, encoding, target)
        return target, encoding
    except UnicodeDecodeError:
        pass
    actual = detect_encoding(path)  # refuses when nothing fits
    if actual in _PY_CODECS:
        _transcode(path, actual, target)
        return target, actual
    return path, actual


_ENCODING_TROUBLE = frozenset({"INVALID ENCODING", "INVALID UNICODE"})


def read_file(
    source: bytes | str | os.PathLike[str],
    filename: str,
    *,
    format: str | None = None,
    encoding: str | None = None,
) -> ReadResult:
    """Read a whole file into text columns plus `ROW`; refuses a file that cannot be read as a whole."""
    declared = _declared_encoding(encoding) if encoding and encoding != "auto" else None
    with materialised(source) as (path, scratch):
        with path.open("rb") as fh:
            head = fh.read(16)
        if not head:
            raise FileRefused(detail="文件是空的。", errors=[FieldError("file", "文件是空的")])
        fmt = detect_format(head, filename, format)
        used_encoding: str | None = None
        readable = path
        if fmt in ("csv", "json"):
            if declared:
                used_encoding = declared
                bad = _decodes(path, _PY_CODECS.get(declared, "utf-8"), skip=_bom_length(declared))
                if bad is not None:
                    raise FileRefused(
                        detail=f"文件不是声明的 {declared} 编码：第 {bad + 1} 个字节起无法解码。",
                        errors=[FieldError("encoding", "文件与声明的编码不符")],
                    )
            else:
                # JSON files are small: check every byte. CSV: a sample, and DuckDB checks the rest.
                used_encoding = sniff_encoding(path) if fmt == "csv" else detect_encoding(path)
            if used_encoding in _PY_CODECS:
                readable, used_encoding = _to_utf8(path, used_encoding, scratch)
        con = _duckdb(scratch)
        try:
            if fmt == "csv":
                frame, bad_lines = _read_csv(con, readable)
                if bad_lines and bad_lines[0][1] in _ENCODING_TROUBLE and readable is path and not declared:
                    # The sample looked like UTF-8 but a later line is not: judge the whole file.
                    used_encoding = detect_encoding(path)
                    if used_encoding in _PY_CODECS:
                        readable, used_encoding = _to_utf8(path, used_encoding, scratch)
                        con.close()
                        con = _duckdb(scratch)
                        frame, bad_lines = _read_csv(con, readable)
                if bad_lines:
                    raise _refuse_bad_lines(bad_lines)
            elif fmt == "json":
                frame = _read_json(con, readable)
            elif fmt == "parquet":
                frame = _read_parquet(con, readable)
            else:
                frame = _read_excel(readable)
        finally:
            with suppress(Exception):
                con.close()
    columns = [_clean_name(c) for c in frame.columns]
    frame.columns = _unique_names(columns)
    frame = _cleaned(frame).with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    if fmt == "xlsx" and frame.width > 1:
        # Keep the numbering of the sheet but drop rows that are entirely empty.
        frame = frame.filter(~pl.all_horizontal(pl.exclude(ROW).is_null()))
    return ReadResult(frame=frame, format=fmt, encoding=used_encoding, columns=columns)


def _bom_length(encoding: str) -> int:
    return {"UTF-8-BOM": 3, "UTF-16LE": 2, "UTF-16BE": 2}.get(encoding, 0)


def _declared_encoding(value: str) -> str:
    v = value.strip().upper().replace("_", "-")
    aliases = {
        "UTF8": "UTF-8",
        "UTF-8-SIG": "UTF-8-BOM",
        "GB2312": "GBK",
        "CP936": "GBK",
        "UTF-16": "UTF-16LE",
    }
    v = aliases.get(v, v)
    if v not in ("UTF-8", "UTF-8-BOM", "GBK", "GB18030", "UTF-16LE", "UTF-16BE"):
        raise Invalid.on("encoding", "不支持的编码，可选：auto、UTF-8、GBK、GB18030")
    return v


def _clean_name(name: str) -> str:
    return str(name).replace("\ufeff", "").strip()


def _unique_names(names: list[str]) -> list[str]:
    """Make names unique for polars (a duplicated header is refused later, by the header check)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}\u0000{seen[n]}")
        else:
            seen[n] = 0
            out.append(n)
    return out


def column_template(spec: Any, loader_fields: frozenset[str] = frozenset({"source", "updated_at"})) -> bytes:
    """An empty CSV with the resource's columns, headed by their Chinese names (the loader reads
    Chinese names and field names alike), in UTF-8 with a BOM so Excel opens it without garbling."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f.label for f in spec.fields if f.name not in loader_fields])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
