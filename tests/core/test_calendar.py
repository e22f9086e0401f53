"""Working days with China's holidays and make-up working days (core.calendar)."""

from __future__ import annotations

import json
import shutil
import warnings
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yiwang.core import calendar as cal
from yiwang.core.calendar import CalendarDataError, CalendarWarning, load_calendar
from yiwang.core.clock import SHANGHAI

D = date.fromisoformat
BUNDLED = Path(str(resources.files("yiwang.core").joinpath("data", "holidays")))
ignore_outside = pytest.mark.filterwarnings("ignore::yiwang.core.calendar.CalendarWarning")


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(cal.ENV_VAR, raising=False)
    cal.clear_cache()
    yield
    cal.clear_cache()


# ------------------------------------------------------------------ an independent reference
def _raw_exceptions() -> tuple[set[date], set[date]]:
    off: set[date] = set()
    on: set[date] = set()
    for path in sorted(BUNDLED.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        off |= {D(d) for h in data["holidays"] for d in h["dates"]}
        on |= {D(w["date"]) for w in data["workdays"]}
    return off, on


RAW_OFF, RAW_ON = _raw_exceptions()


def naive_is_working(d: date) -> bool:
    if d in RAW_OFF:
        return False
    return d in RAW_ON or d.weekday() < 5


def naive_between(a: date, b: date) -> int:
    sign, lo, hi = (1, a, b) if a <= b else (-1, b, a)
    n, d = 0, lo + timedelta(days=1)
    while d <= hi:
        n += naive_is_working(d)
        d += timedelta(days=1)
    return sign * n


def naive_add(start: date, n: int) -> date:
    d = start
    if n == 0:
        while not naive_is_working(d):
            d += timedelta(days=1)
        return d
    step = timedelta(days=1 if n > 0 else -1)
    left = abs(n)
    while left:
        d += step
        left -= naive_is_working(d)
    return d


# ------------------------------------------------------------------ the data files
def test_covered_years_and_status():
    assert cal.covered_years() == range(2025, 2028)
    assert cal.year_info(2025).status == "official"
    assert "国办发明电〔2024〕12号" in cal.year_info(2025).source
    assert cal.year_info(2026).status == "official"
    assert "国办发明电〔2025〕7号" in cal.year_info(2026).source
    info_2027 = cal.year_info(2027)
    assert info_2027.status == "provisional"
    assert cal.ENV_VAR in info_2027.note
    assert cal.year_info(2024) is None


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_each_year_takes_thirteen_working_days_off(year):
    """Since the 2024 revision, 13 statutory days off: make-up days only move days, they add none."""
    data = json.loads((BUNDLED / f"{year}.json").read_text(encoding="utf-8"))
    weekdays_off = {D(d) for h in data["holidays"] for d in h["dates"] if D(d).weekday() < 5}
    makeups = {D(w["date"]) for w in data["workdays"]}
    assert all(d.weekday() >= 5 for d in makeups)
    assert len(weekdays_off) - len(makeups) == 13
    if data["status"] == "provisional":
        assert makeups == set()  # 调休 only ever comes from the State Council notice


# ------------------------------------------------------------------ single days
@pytest.mark.parametrize(
    ("day", "working", "name"),
    [
        ("2025-01-01", False, "元旦"),
        ("2025-01-26", True, None),  # Sunday worked (春节调休)
        ("2025-01-27", True, None),
        ("2025-01-28", False, "春节"),  # 除夕
        ("2025-02-01", False, "春节"),  # Saturday inside the break
        ("2025-02-04", False, "春节"),
        ("2025-02-05", True, None),
        ("2025-02-08", True, None),  # Saturday worked
        ("2025-04-27", True, None),  # Sunday worked (劳动节调休)
        ("2025-05-05", False, "劳动节"),
        ("2025-06-02", False, "端午节"),
        ("2025-09-28", True, None),  # Sunday worked
        ("2025-10-01", False, "国庆节、中秋节"),
        ("2025-10-08", False, "国庆节、中秋节"),
        ("2025-10-09", True, None),
        ("2025-10-11", True, None),  # Saturday worked
        ("2025-10-12", False, None),  # plain Sunday
        ("2026-01-02", False, "元旦"),
        ("2026-01-04", True, None),  # Sunday worked
        ("2026-02-14", True, None),  # Saturday worked
        ("2026-02-15", False, "春节"),
        ("2026-02-16", False, "春节"),  # 除夕
        ("2026-02-23", False, "春节"),
        ("2026-02-24", True, None),
        ("2026-02-28", True, None),  # Saturday worked
        ("2026-05-09", True, None),
        ("2026-09-20", True, None),
        ("2026-09-25", False, "中秋节"),
        ("2026-10-07", False, "国庆节"),
        ("2026-10-08", True, None),
        ("2026-10-10", True, None),
        ("2027-02-08", False, "春节"),  # provisional: 初三, a Monday
        ("2027-02-10", False, "春节"),  # provisional: 补假 for 初一/初二 on the weekend
        ("2027-02-11", True, None),
    ],
)
def test_known_days(day, working, name):
    assert cal.is_working_day(D(day)) is working
    assert cal.holiday_name(D(day)) == name


def test_makeup_workday_name():
    assert cal.makeup_workday_name(D("2026-02-14")) == "春节调休"
    assert cal.makeup_workday_name(D("2025-10-11")) == "国庆节、中秋节调休"
    assert cal.makeup_workday_name(D("2026-02-13")) is None


def test_datetime_counts_by_its_own_date():
    assert cal.is_working_day(datetime(2025, 1, 26, 9, tzinfo=SHANGHAI)) is True


# ------------------------------------------------------------------ counting
def test_spring_festival_2025_counts():
    # (Fri 1/24, Mon 2/10]: Sun 1/26, Mon 1/27, Wed–Fri 2/5–2/7, Sat 2/8, Mon 2/10
    assert cal.working_days_between(D("2025-01-24"), D("2025-02-10")) == 7
    assert cal.working_days_between(D("2025-02-10"), D("2025-01-24")) == -7
    assert cal.add_working_days(D("2025-01-24"), 1) == D("2025-01-26")
    assert cal.add_working_days(D("2025-01-27"), 1) == D("2025-02-05")
    assert cal.add_working_days(D("2025-02-05"), -1) == D("2025-01-27")
    assert cal.add_working_days(D("2025-01-27"), 5) == D("2025-02-10")


def test_spring_festival_2026_counts():
    assert cal.add_working_days(D("2026-02-13"), 1) == D("2026-02-14")  # make-up Saturday
    assert cal.add_working_days(D("2026-02-14"), 1) == D("2026-02-24")
    assert cal.working_days_between(D("2026-02-13"), D("2026-02-27")) == 5  # 2/14, 2/24–2/27
    assert cal.working_days_between(D("2026-02-13"), D("2026-03-01")) == 6  # + Saturday 2/28


def test_national_day_counts():
    assert cal.next_working_day(D("2025-09-30")) == D("2025-10-09")
    assert cal.add_working_days(D("2025-10-09"), 2) == D("2025-10-11")  # Saturday worked
    assert cal.working_days_between(D("2025-09-26"), D("2025-10-12")) == 6  # 9/28, 9/29, 9/30, 10/9–10/11
    assert cal.next_working_day(D("2026-09-30")) == D("2026-10-08")


def test_zero_and_negative():
    assert cal.add_working_days(D("2025-09-30"), 0) == D("2025-09-30")
    assert cal.add_working_days(D("2025-10-01"), 0) == D("2025-10-09")
    assert cal.add_working_days(D("2025-10-11"), 0) == D("2025-10-11")
    assert cal.add_working_days(D("2025-10-09"), -1) == D("2025-09-30")
    assert cal.add_working_days(D("2025-10-05"), -3) == D("2025-09-28")
    assert cal.working_days_between(D("2025-03-03"), D("2025-03-03")) == 0


dates = st.dates(min_value=D("2024-06-01"), max_value=D("2028-06-30"))


@ignore_outside
@settings(max_examples=300, deadline=None)
@given(a=dates, b=dates)
def test_between_matches_day_by_day(a, b):
    assert cal.working_days_between(a, b) == naive_between(a, b)
    assert cal.working_days_between(b, a) == -cal.working_days_between(a, b)


@ignore_outside
@settings(max_examples=300, deadline=None)
@given(start=dates, n=st.integers(-300, 300))
def test_add_matches_day_by_day(start, n):
    result = cal.add_working_days(start, n)
    assert result == naive_add(start, n)
    assert naive_is_working(result)
    if n > 0:
        assert cal.working_days_between(start, result) == n
        assert cal.working_days_between(start, result - timedelta(days=1)) == n - 1
    elif n < 0:
        # |n| working days in [result, start)
        assert cal.working_days_between(result - timedelta(days=1), start - timedelta(days=1)) == -n


def test_decade_is_arithmetic_not_a_loop():
    """A span of centuries costs the same as a week: the answer matches the closed form."""
    with pytest.warns(CalendarWarning):
        assert (
            cal.working_days_between(D("1901-01-01"), D("2400-12-31"))
            == _plain_weekdays(D("1901-01-01"), D("2400-12-31")) - 13 * 3
        )  # 2025–2027 each take 13 working days off net


def _plain_weekdays(a: date, b: date) -> int:
    # 1901-01-02 .. 2400-12-31; 400-year blocks have a whole number of weeks
    days = (b - a).days
    weeks, rest = divmod(days, 7)
    return weeks * 5 + sum((a + timedelta(days=i)).weekday() < 5 for i in range(1, rest + 1))


# ------------------------------------------------------------------ deadlines
def test_deadline_is_end_of_local_day_in_utc():
    accepted = datetime(2025, 9, 30, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai, the eve of 国庆
    due = cal.deadline(accepted, 1)
    assert due == datetime(2025, 10, 9, 15, 59, 59, 999999, tzinfo=UTC)
    assert due.utcoffset() == timedelta(0)
    assert due.astimezone(SHANGHAI).time().isoformat() == "23:59:59.999999"


def test_deadline_uses_the_shanghai_date():
    # 17:00 UTC on Friday 2/13 is already 01:00 on Saturday 2/14 in Shanghai, a make-up working day
    accepted = datetime(2026, 2, 13, 17, 0, tzinfo=UTC)
    assert cal.deadline(accepted, 0) == datetime(2026, 2, 14, 15, 59, 59, 999999, tzinfo=UTC)
    assert cal.deadline(accepted, 1) == datetime(2026, 2, 24, 15, 59, 59, 999999, tzinfo=UTC)
    other_zone = accepted.astimezone(timezone(timedelta(hours=-5)))
    assert cal.deadline(other_zone, 1) == cal.deadline(accepted, 1)


def test_deadline_five_working_days_over_a_makeup_saturday():
    accepted = datetime(2025, 2, 3, 9, tzinfo=SHANGHAI)  # inside the Spring Festival break
    # 2/5, 2/6, 2/7, 2/8 (Saturday worked), 2/10
    assert cal.deadline(accepted, 5).astimezone(SHANGHAI).date() == D("2025-02-10")


def test_deadline_refuses_naive_and_negative():
    with pytest.raises(ValueError):
        cal.deadline(datetime(2025, 1, 1, 9), 3)
    with pytest.raises(ValueError):
        cal.deadline(datetime(2025, 1, 1, 9, tzinfo=UTC), -1)


# ------------------------------------------------------------------ outside coverage
def test_outside_coverage_warns_once_per_year():
    with pytest.warns(CalendarWarning, match="2030年") as record:
        assert cal.is_working_day(D("2030-10-01")) is True  # plain Tuesday: no data, Monday–Friday rule
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cal.is_working_day(D("2030-10-02")) is True  # same year: no second warning
        assert cal.is_working_day(D("2026-10-02")) is False  # covered: never warns
    with pytest.warns(CalendarWarning, match="2031年"):
        cal.holiday_name(D("2031-01-01"))


def test_span_over_uncovered_years_names_each_year():
    with pytest.warns(CalendarWarning) as record:
        cal.working_days_between(D("2022-12-31"), D("2025-01-05"))
    assert sorted(str(w.message)[:5] for w in record) == ["2023年", "2024年"]


def test_add_working_days_past_coverage_warns():
    with pytest.warns(CalendarWarning, match="2028年"):
        assert cal.add_working_days(D("2027-12-30"), 3) == D("2028-01-04")


# ------------------------------------------------------------------ operators' own files
def _year_file(folder: Path, year: int, **overrides) -> Path:
    file_year = overrides.pop("file_year", year)
    body = {
        "year": year,
        "source": f"测试用 {year}",
        "status": "official",
        "holidays": [{"name": "元旦", "dates": [f"{year}-01-01"]}],
        "workdays": [],
    }
    body.update(overrides)
    path = folder / f"{file_year}.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


def test_override_directory_adds_and_replaces_years(tmp_path):
    _year_file(tmp_path, 2028)
    _year_file(
        tmp_path,
        2027,
        holidays=[{"name": "春节", "dates": ["2027-02-05", "2027-02-11"]}],
        workdays=[{"name": "春节调休", "date": "2027-02-20"}],
    )
    (tmp_path / "README.txt").write_text("ignored", encoding="utf-8")
    calendar = load_calendar(tmp_path)
    assert calendar.covered_years() == range(2025, 2029)
    assert calendar.year_info(2027).status == "official"
    assert calendar.is_working_day(D("2027-02-11")) is False
    assert calendar.is_working_day(D("2027-02-09")) is True  # the provisional file is gone
    assert calendar.is_working_day(D("2027-02-20")) is True
    assert calendar.holiday_name(D("2028-01-01")) == "元旦"
    assert load_calendar(tmp_path) is calendar  # read once


def test_env_var_names_the_override_directory(tmp_path, monkeypatch):
    _year_file(tmp_path, 2028, holidays=[{"name": "测试假日", "dates": ["2028-03-01"]}])
    monkeypatch.setenv(cal.ENV_VAR, str(tmp_path))
    assert cal.covered_years() == range(2025, 2029)
    assert cal.holiday_name(D("2028-03-01")) == "测试假日"
    assert cal.is_working_day(D("2028-03-01")) is False


def test_whole_directory_copy_is_equivalent(tmp_path):
    for path in BUNDLED.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    assert load_calendar(tmp_path).working_days_between(D("2025-01-01"), D("2027-12-31")) == (
        cal.working_days_between(D("2025-01-01"), D("2027-12-31"))
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"status": "draft"}, "status"),
        ({"source": ""}, "source"),
        ({"file_year": 2028, "year": 2031}, "文件名"),
        ({"workdays": [{"name": "调休", "date": "2028-03-01"}]}, "不是周六或周日"),  # a Wednesday
        ({"holidays": [{"name": "元旦", "dates": ["2028-13-01"]}]}, "格式不正确"),
        ({"holidays": [{"name": "元旦", "dates": ["2031-01-01"]}]}, "前后"),
        (
            {"holidays": [{"name": "X", "dates": ["2028-01-01"]}, {"name": "Y", "dates": ["2028-01-01"]}]},
            "同时属于",
        ),
        ({"holidays": [{"name": "", "dates": ["2028-01-01"]}]}, "名称"),
    ],
)
def test_bad_files_are_refused(tmp_path, overrides, message):
    overrides = dict(overrides)
    _year_file(tmp_path, overrides.pop("year", 2028), **overrides)
    with pytest.raises(CalendarDataError, match=message):
        load_calendar(tmp_path)


def test_gap_and_broken_json_are_refused(tmp_path):
    _year_file(tmp_path, 2030)
    with pytest.raises(CalendarDataError, match="2028, 2029"):
        load_calendar(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "2028.json").write_text("{", encoding="utf-8")
    with pytest.raises(CalendarDataError, match="JSON"):
        load_calendar(broken)
    with pytest.raises(CalendarDataError, match="不存在"):
        load_calendar(tmp_path / "missing")
