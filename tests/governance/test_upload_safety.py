"""Uploads are safe (issue 7, item 5): who may load is settled before the body is read; size is
limited while the body streams in (413 in Chinese); workbooks are measured before they are unpacked
(zip bombs, row counts); any failure ends the load as failed with a Chinese reason that names no server
path and no English library message; loads a crash left running are marked interrupted at start-up;
temporary files are always removed. The bad files are generated here, small."""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.governance.conftest import API, csv_bytes, people, upload, xlsx_bytes
from tests.helpers import problem
from yiwang.core import clock
from yiwang.governance import api as gov_api
from yiwang.governance.models import Load
from yiwang.governance.service import loads as loads_service
from yiwang.governance.service import reading

ENGLISH = re.compile(r"[A-Za-z]{4,}")
# Words a Chinese message may still carry: formats, encodings, product names, the resource key.
ALLOWED = {"Excel", "UTF-8", "BOM", "CSV", "UTF", "JSON", "Parquet", "XLSX", "population", "upload"}


def chinese_only(text: str) -> None:
    assert "/" not in text.replace("/problems/", ""), text  # no server path
    words = {w for w in ENGLISH.findall(text) if w not in ALLOWED}
    assert not words, f"English in {text!r}: {words}"


def last_load(db) -> Load:
    with db.session() as s:
        row = s.scalars(select(Load).order_by(Load.id.desc())).first()
        s.expunge_all()
        return row


@pytest.fixture
def scratch_root(tmp_path, monkeypatch) -> Path:
    """Every temporary file of an upload or a load lands here, to be counted afterwards."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_body_is_not_read_before_the_caller_is_authorised(client, citizen_h, approver_h, monkeypatch):
    read = []

    async def spy(request, scratch):
        read.append(request.url.path)
        raise AssertionError("the body was read")

    monkeypatch.setattr(gov_api, "receive_upload", spy)
    data = csv_bytes(people(2, seed=90))
    problem(upload(client, {}, data), 401)
    problem(upload(client, citizen_h, data), 403)
    problem(upload(client, approver_h, data), 403)
    assert read == []


def test_an_announced_oversize_body_is_refused_with_413(client, officer_h, db):
    before = last_load(db)
    r = client.post(
        f"{API}/loads",
        headers={
            **officer_h,
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": "1600000000",
        },
        content=b"--x--\r\n",
    )
    body = problem(r, 413)
    assert body["title"] == "文件过大" and body["errors"][0]["field"] == "file"
    chinese_only(body["detail"])
    assert last_load(db) == before or last_load(db).id == before.id  # no load was even begun


def test_a_streamed_body_past_the_limit_is_refused_with_413(client, officer_h, db, monkeypatch, scratch_root):
    monkeypatch.setattr(gov_api, "MAX_UPLOAD_BYTES", 2000)
    data = csv_bytes(people(60, seed=91))
    assert len(data) > 4000
    body = problem(upload(client, officer_h, data), 413)
    assert "MB" in body["detail"] and body["title"] == "文件过大"
    assert list(scratch_root.iterdir()) == []


def workbook(sheet_xml: bytes) -> bytes:
    """A minimal XLSX container whose first sheet is `sheet_xml` (deflated)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buf.getvalue()


def test_a_zip_bomb_workbook_is_refused_before_it_is_unpacked(client, officer_h, db, scratch_root):
    # 20 MB of one repeated row packs into a few kilobytes: the ratio gives it away.
    row = b'<row r="2"><c t="inlineStr"><is><t>x</t></is></c></row>'
    bomb = workbook(b"<worksheet><sheetData>" + row * (20_000_000 // len(row)) + b"</sheetData></worksheet>")
    assert len(bomb) < 200_000
    body = problem(upload(client, officer_h, bomb, filename="bomb.xlsx"), 422)
    assert "压缩" in body["detail"]
    chinese_only(body["detail"])
    load = last_load(db)
    assert load.status == "failed" and "压缩" in load.error
    assert list(scratch_root.iterdir()) == []


def test_a_workbook_with_too_many_rows_is_refused(client, officer_h, db, monkeypatch):
    monkeypatch.setattr(reading, "XLSX_MAX_ROWS", 10)
    body = problem(upload(client, officer_h, xlsx_bytes(people(11, seed=92)), filename="p.xlsx"), 422)
    assert "10 行" in body["detail"]
    assert last_load(db).status == "failed"
    # At the limit it loads.
    r = upload(client, officer_h, xlsx_bytes(people(10, seed=93)), filename="p.xlsx")
    assert r.status_code == 201, r.text


def test_utf16_without_a_bom_fails_the_load_with_a_chinese_reason(client, officer_h, db):
    data = csv_bytes(people(3, seed=94)).decode("utf-8").encode("utf-16-le")
    body = problem(upload(client, officer_h, data), 422)
    assert "UTF-16" in body["detail"]
    chinese_only(body["detail"])
    load = last_load(db)
    assert load.status == "failed" and "UTF-16" in load.error


def test_a_broken_file_names_no_path_and_no_library_message(client, officer_h, db):
    for name, data in (
        ("p.parquet", b"PAR1" + b"\x00garbage" * 20),
        ("p.xlsx", b"PK\x03\x04" + b"\x00garbage" * 20),
        ("p.json", b'[{"citizen_id": '),
    ):
        body = problem(upload(client, officer_h, data, filename=name), 422)
        chinese_only(body["detail"])
        load = last_load(db)
        assert load.status == "failed"
        chinese_only(load.error)


def test_any_failure_while_reading_ends_the_load_as_failed(client, officer_h, db, monkeypatch, scratch_root):
    def explode(*args, **kwargs):
        raise RuntimeError("boom in /srv/yiwang/var/secret.csv")

    monkeypatch.setattr(loads_service, "read_file", explode)
    r = upload(client, officer_h, csv_bytes(people(2, seed=95)))
    body = problem(r, 500)
    assert "boom" not in r.text and "/srv" not in r.text
    chinese_only(body["detail"])
    load = last_load(db)
    assert load.status == "failed" and load.finished_at is not None
    chinese_only(load.error)
    assert body["load_id"] == load.id
    assert list(scratch_root.iterdir()) == []


def test_loads_left_running_by_a_crash_are_marked_interrupted_at_start_up(app, db, city):
    from fastapi.testclient import TestClient

    with db.session() as s:
        orphan = Load(
            resource_key="population",
            department="gongan",
            source_department="gongan",
            filename="big.csv",
            status="running",
            started_at=clock.now(),
        )
        s.add(orphan)
        s.flush()
        orphan_id = orphan.id
    with TestClient(app):  # start-up runs the recovery
        pass
    with db.session() as s:
        load = s.get(Load, orphan_id)
        assert load.status == "interrupted" and "中断" in load.error and load.finished_at is not None


def test_temporary_files_of_a_dead_process_are_removed_at_start_up(scratch_root):
    dead = scratch_root / "yiwang-load-999999999-abc"
    mine = scratch_root / f"yiwang-upload-{os.getpid()}-abc"
    other = scratch_root / "unrelated-dir"
    for d in (dead, mine, other):
        d.mkdir()
    assert reading.remove_stale_scratch() == 1
    assert not dead.exists() and mine.exists() and other.exists()


def test_a_good_upload_leaves_no_temporary_file(client, officer_h, scratch_root):
    r = upload(client, officer_h, csv_bytes(people(3, seed=96)))
    assert r.status_code == 201, r.text
    assert list(scratch_root.iterdir()) == []
