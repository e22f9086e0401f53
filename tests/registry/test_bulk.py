"""bulk_write: inserts and upserts from dicts, tuples, streams and polars DataFrames; defaults, index
rebuilds and the problems it turns database refusals into — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone

import polars as pl
import pytest
from sqlalchemy import func, inspect, select

import yiwang.registry as registry
from yiwang.core import clock
from yiwang.core.db import Base
from yiwang.core.errors import Conflict, Invalid
from yiwang.core.ids import generate_citizen_id, generate_credit_code

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
LOCAL = timezone(timedelta(hours=8))


def _ids(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        cid = generate_citizen_id(
            rng, "219502", date(1960, 1, 1) + timedelta(days=rng.randrange(20_000)), rng.random() < 0.5
        )
        if cid not in out:
            out.append(cid)
    return out


def _records(ids: list[str], summary: str | None = None) -> list[dict]:
    return [
        {
            "citizen_id": cid,
            "name": f"测试{i}",
            "has_record": summary is not None,
            "record_summary": summary,
            "checked_at": T0,
        }
        for i, cid in enumerate(ids)
    ]


def _count(session, key: str) -> int:
    return registry.count_rows(session, key)


def test_insert_dicts_fills_source_and_updated_at(session):
    ids = _ids(3)
    before = _count(session, "no_criminal_record")
    with clock.freeze(T0):
        assert registry.bulk_write(session, "no_criminal_record", _records(ids)) == 3
    assert _count(session, "no_criminal_record") == before + 3
    [row] = registry.fetch_by_subject(session, "no_criminal_record", ids[0])
    assert row == {
        "citizen_id": ids[0],
        "name": "测试0",
        "has_record": False,
        "record_summary": None,
        "checked_at": T0,
        "source": "市公安局",
        "updated_at": T0,
    }


def test_upsert_updates_rather_than_duplicates(session):
    ids = _ids(4)
    registry.bulk_write(session, "no_criminal_record", _records(ids[:3]))
    before = _count(session, "no_criminal_record")
    changed = _records(ids[1:], summary="2019年犯危险驾驶罪")  # two existing, one new
    assert registry.bulk_write(session, "no_criminal_record", changed, mode="upsert") == 3
    assert _count(session, "no_criminal_record") == before + 1
    rows = {cid: registry.fetch_by_subject(session, "no_criminal_record", cid)[0] for cid in ids}
    assert rows[ids[0]]["has_record"] is False
    assert all(rows[c]["has_record"] and rows[c]["record_summary"] == "2019年犯危险驾驶罪" for c in ids[1:])


def test_upsert_on_a_composite_key_and_last_row_wins(session):
    cid = _ids(1, seed=9)[0]
    base = {
        "citizen_id": cid,
        "name": "测试",
        "insurance_type": "养老",
        "employer_credit_code": None,
        "base_fen": 500_000,
        "personal_fen": 40_000,
        "status": "已缴",
        "area_code": "219502",
    }
    rows = [{**base, "month": m, "amount_fen": 120_000} for m in ("202510", "202511", "202512")]
    registry.bulk_write(session, "social_insurance", rows)
    again = [
        {**base, "month": "202512", "amount_fen": 1, "status": "欠缴"},
        {**base, "month": "202512", "amount_fen": 130_000, "status": "补缴"},  # same key: this one wins
        {**base, "month": "202601", "amount_fen": 120_000},
    ]
    assert registry.bulk_write(session, "social_insurance", again, mode="upsert") == 2
    got = {r["month"]: r for r in registry.fetch_by_subject(session, "social_insurance", cid)}
    assert sorted(got) == ["202510", "202511", "202512", "202601"]
    assert (got["202512"]["amount_fen"], got["202512"]["status"]) == (130_000, "补缴")


def test_tuples_with_columns_and_a_stream(session):
    ids = _ids(5, seed=11)
    columns = ("citizen_id", "name", "has_record", "checked_at")
    tuples = [(cid, "元组", False, T0) for cid in ids[:2]]
    assert registry.bulk_write(session, "no_criminal_record", tuples, columns=columns) == 2
    stream = ((cid, "流", False, T0) for cid in ids[2:])
    assert registry.bulk_write(session, "no_criminal_record", stream, columns=columns) == 3
    assert registry.subject_keys(session, "no_criminal_record", ids) == set(ids)
    upsert_stream = ((cid, "流改", True, T0) for cid in ids)
    assert (
        registry.bulk_write(session, "no_criminal_record", upsert_stream, columns=columns, mode="upsert") == 5
    )
    names = {r["name"] for cid in ids for r in registry.fetch_by_subject(session, "no_criminal_record", cid)}
    assert names == {"流改"}


def test_dates_as_iso_text_and_times_with_any_offset(session):
    code = generate_credit_code(random.Random(3), "9", "1", "219503")
    row = {
        "credit_code": code,
        "taxpayer_name": "云川测试有限公司",
        "taxpayer_type": "小规模纳税人",
        "credit_grade": "B",
        "last_period": "202511",
        "tax_authority": "国家税务总局云川市河东区税务局",
        "area_code": "219503",
        "updated_at": "2026-03-01T16:30:00+08:00",
    }
    registry.bulk_write(session, "tax_status", [row])
    [got] = registry.fetch_by_subject(session, "tax_status", code)
    assert got["updated_at"] == T0 and got["has_arrears"] is False and got["arrears_fen"] == 0
    assert got["source"] == "市税务局"


def _frame(ids: list[str], name: str, checked: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "citizen_id": ids,
            "name": [name] * len(ids),
            "household_no": [f"219504{i:09d}" for i in range(len(ids))],
            "head_citizen_id": ids,
            "head_name": [name] * len(ids),
            "relation": ["户主"] * len(ids),
            "address": [""] * len(ids),  # empty text stays empty, not NULL
            "area_code": ["219504"] * len(ids),
            "community_code": [None] * len(ids),
            "police_station": ["云川市公安局望海区分局测试派出所"] * len(ids),
            "registered_on": [date(2020, 5, 17)] * len(ids),
            "reason": ["立户"] * len(ids),
            "updated_at": [checked] * len(ids),
        },
        schema_overrides={"community_code": pl.String},
    )


def test_polars_frames_insert_and_upsert(session):
    ids = _ids(6, seed=21)
    frame = _frame(ids, "帧", T0)
    assert registry.bulk_write(session, "household", frame) == 6
    [row] = registry.fetch_by_subject(session, "household", ids[0])
    assert row["registered_on"] == date(2020, 5, 17) and row["updated_at"] == T0
    assert row["address"] == "" and row["community_code"] is None and row["status"] == "正常"
    later = T0 + timedelta(days=1)
    changed = _frame(ids, "帧改", later.astimezone(LOCAL)).with_columns(pl.lit("迁出").alias("status"))
    assert registry.bulk_write(session, "household", changed, mode="upsert") == 6
    rows = [registry.fetch_by_subject(session, "household", cid)[0] for cid in ids]
    assert {(r["name"], r["status"], r["updated_at"]) for r in rows} == {("帧改", "迁出", later)}


def test_a_large_load_rebuilds_the_secondary_indexes(session):
    ids = _ids(40, seed=31)
    columns = ("citizen_id", "name", "has_record", "checked_at")
    rows = [(cid, "重建", False, T0) for cid in ids]
    registry.bulk_write(session, "no_criminal_record", rows, columns=columns, rebuild_indexes=True)
    # Every index of the table is there again, and the rows are found through them.
    connection = session.connection()
    names = {ix["name"] for ix in inspect(connection).get_indexes("registry_person")}
    assert "ix_registry_person_name" in names
    table = Base.metadata.tables["registry_household"]
    household = [(cid, "户", f"219505{i:09d}", cid, "户", "户主", "地址", "219505", None, "派出所",
                  date(2020, 1, 1), "立户") for i, cid in enumerate(ids)]  # fmt: skip
    cols = ("citizen_id", "name", "household_no", "head_citizen_id", "head_name", "relation", "address",
            "area_code", "community_code", "police_station", "registered_on", "reason")  # fmt: skip
    registry.bulk_write(session, "household", household, columns=cols, rebuild_indexes=True)
    indexes = {ix["name"] for ix in inspect(connection).get_indexes("registry_household")}
    assert {ix.name for ix in table.indexes} <= indexes
    found = session.execute(
        select(func.count()).select_from(table).where(table.c.household_no == "219505000000007")
    )
    assert found.scalar_one() == 1


def test_insert_of_an_existing_key_is_a_conflict_and_changes_nothing(session):
    ids = _ids(2, seed=41)
    registry.bulk_write(session, "no_criminal_record", _records(ids[:1]))
    before = _count(session, "no_criminal_record")
    with pytest.raises(Conflict) as caught, session.begin_nested():
        registry.bulk_write(session, "no_criminal_record", _records(ids))
    assert caught.value.status == 409 and "upsert" in caught.value.detail
    assert _count(session, "no_criminal_record") == before


def test_duplicates_within_an_insert_after_an_index_rebuild_are_a_conflict(session):
    ids = _ids(3, seed=43)
    rows = [(cid, "重复", False, T0) for cid in [*ids, ids[0]]]
    columns = ("citizen_id", "name", "has_record", "checked_at")
    before = _count(session, "no_criminal_record")
    with pytest.raises(Conflict), session.begin_nested():
        registry.bulk_write(session, "no_criminal_record", rows, columns=columns, rebuild_indexes=True)
    assert _count(session, "no_criminal_record") == before
    # The unique constraint dropped for the load is back, whichever way the database reports it.
    inspector = inspect(session.connection())
    names = {ix["name"] for ix in inspector.get_indexes("registry_no_criminal_record")}
    names |= {uq["name"] for uq in inspector.get_unique_constraints("registry_no_criminal_record")}
    assert "uq_registry_no_criminal_record_citizen_id" in names


@pytest.mark.parametrize(
    ("rows", "kwargs", "field", "words"),
    [
        ([{"citizen_id": "x", "salary": 1}], {}, "columns", "salary"),
        ([{"citizen_id": "x"}], {}, "columns", "缺少必填字段"),
        ([{"citizen_id": "x", "name": "a", "checked_at": T0}], {"mode": "replace"}, "mode", "upsert"),
        ([("x", "a")], {}, "rows", "columns"),
        ("not rows", {}, "rows", "字典列表"),
        (
            [{"citizen_id": "x", "name": "a", "checked_at": T0}, {"citizen_id": "y", "name": "b"}],
            {},
            "rows",
            "第 2 行",
        ),
        ([{"citizen_id": "x", "name": "a", "checked_at": datetime(2026, 1, 1)}], {}, "rows", "时区"),
        ([{"citizen_id": "x", "name": "a", "checked_at": "yesterday"}], {}, "rows", "数据格式不正确"),
    ],
)
def test_bad_input_is_invalid_in_chinese(session, rows, kwargs, field, words):
    before = _count(session, "no_criminal_record")
    with pytest.raises(Invalid) as caught, session.begin_nested():
        registry.bulk_write(session, "no_criminal_record", rows, **kwargs)
    assert caught.value.errors[0].field == field
    assert words in caught.value.errors[0].message
    assert _count(session, "no_criminal_record") == before


def test_upsert_needs_the_natural_key_and_nothing_is_nothing(session):
    key = registry.resource("social_insurance").key_fields
    row = {"citizen_id": "x", "name": "a", "insurance_type": "养老", "base_fen": 1, "amount_fen": 1,
           "personal_fen": 0, "area_code": "219502"}  # fmt: skip
    with pytest.raises(Invalid) as caught:
        registry.bulk_write(session, "social_insurance", [row], mode="upsert")  # no month
    assert "month" in caught.value.errors[0].message and "month" in key
    assert registry.bulk_write(session, "no_criminal_record", [], mode="upsert") == 0


def test_a_connection_works_as_well_as_a_session(connection):
    ids = _ids(2, seed=51)
    written = registry.bulk_write(connection, "no_criminal_record", _records(ids))
    assert written == 2
    table = Base.metadata.tables["registry_no_criminal_record"]
    assert connection.execute(select(func.count()).where(table.c.citizen_id.in_(ids))).scalar_one() == 2
