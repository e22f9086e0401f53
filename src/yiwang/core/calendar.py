"""Working days with China's public holidays and make-up working days (调休), held as data (DESIGN §3 rule 4).

Each year is one JSON file, ``<year>.json``::

    {"year": 2026,
     "source": "国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）…",
     "status": "official" | "provisional",
     "note": "…",                                         (optional)
     "holidays": [{"name": "春节", "dates": ["2026-02-15", …]}],
     "workdays": [{"name": "春节调休", "date": "2026-02-14"}]}

``holidays`` lists every day off of each break, weekends inside it included; ``workdays`` lists the
weekend days that are worked instead. The files shipped in ``yiwang/core/data/holidays`` are read
first; a directory given to :func:`load_calendar` or named by the environment variable
``YIWANG_HOLIDAYS_DIR`` is read after them, and a year found there replaces the shipped one. So a city
adds next year's notice, or replaces a provisional year, by dropping one file in — no code change.

Dates outside the covered years follow the plain Monday–Friday rule, and a :class:`CalendarWarning`
says so, once per year per calendar.

Counting is arithmetic: the number of Monday–Friday days up to a date is closed-form, and the days off
on weekdays and the worked weekend days are sorted ordinals searched with ``bisect``, so
:func:`working_days_between` and :func:`add_working_days` cost O(log n) whatever the span.
"""

from __future__ import annotations

import json
import os
import warnings
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from yiwang.core.clock import SHANGHAI

__all__ = [
    "ENV_VAR",
    "CalendarDataError",
    "CalendarWarning",
    "WorkCalendar",
    "YearInfo",
    "add_working_days",
    "clear_cache",
    "covered_years",
    "deadline",
    "default_calendar",
    "holiday_name",
    "is_working_day",
    "load_calendar",
    "makeup_workday_name",
    "next_working_day",
    "working_days_between",
    "year_info",
]

ENV_VAR = "YIWANG_HOLIDAYS_DIR"
STATUSES = ("official", "provisional")
END_OF_DAY = time(23, 59, 59, 999999)


class CalendarWarning(UserWarning):
    """A date fell outside the years the holiday data covers; the plain Monday–Friday rule was used."""


class CalendarDataError(ValueError):
    """A holiday file is malformed or contradicts another one."""


@dataclass(frozen=True, slots=True)
class YearInfo:
    year: int
    source: str
    status: str  # "official" | "provisional"
    note: str
    path: str


def _weekdays_upto(ordinal: int) -> int:
    """Monday–Friday days among ordinals 1..ordinal (ordinal 1 = 0001-01-01, a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + (rest if rest < 5 else 5)


class WorkCalendar:
    """An immutable working-day calendar built from year files. Use :func:`load_calendar` to get one."""

    def __init__(self, years: Iterable[tuple[YearInfo, dict[str, Any]]]) -> None:
        off_names: dict[int, str] = {}  # every listed day off (weekends too), for names
        on_names: dict[int, str] = {}  # worked weekend days
        infos: dict[int, YearInfo] = {}
        for info, raw in sorted(years, key=lambda item: item[0].year):
            infos[info.year] = info
            _parse_year(info, raw, off_names, on_names)
        if not infos:
            raise CalendarDataError("没有任何节假日数据文件")
        first, last = min(infos), max(infos)
        missing = [y for y in range(first, last + 1) if y not in infos]
        if missing:
            raise CalendarDataError(
                f"节假日数据缺少年份：{', '.join(map(str, missing))}（覆盖的年份必须连续）"
            )
        self._infos = infos
        self._first = first
        self._last = last
        self._first_ordinal = date(first, 1, 1).toordinal()
        self._last_ordinal = date(last, 12, 31).toordinal()
        self._holiday_names = off_names
        self._workday_names = on_names
        # Exceptions to the Monday–Friday rule: weekdays off and weekend days worked.
        off = sorted(o for o in off_names if (o + 6) % 7 < 5)
        on = sorted(on_names)
        self._off = frozenset(off)
        self._on = frozenset(on)
        self._off_sorted = tuple(off)
        self._on_sorted = tuple(on)
        self._warned: set[int] = set()

    # ---------------------------------------------------------------- coverage
    def covered_years(self) -> range:
        return range(self._first, self._last + 1)

    def year_info(self, year: int) -> YearInfo | None:
        return self._infos.get(year)

    def _warn_outside(self, lo_ordinal: int, hi_ordinal: int) -> None:
        """Warn once per uncovered year touched by the ordinal span [lo, hi]."""
        if lo_ordinal >= self._first_ordinal and hi_ordinal <= self._last_ordinal:
            return
        lo_year = date.fromordinal(lo_ordinal).year
        hi_year = date.fromordinal(hi_ordinal).year
        years = [*range(lo_year, min(hi_year, self._first - 1) + 1)]
        years += range(max(lo_year, self._last + 1), hi_year + 1)
        for year in years:
            if year not in self._warned:
                self._warned.add(year)
                warnings.warn(
                    f"{year}年不在节假日数据覆盖范围（{self._first}–{self._last}年）内，"
                    f"按周一至周五为工作日计算；请在 {ENV_VAR} 目录中补充 {year}.json",
                    CalendarWarning,
                    stacklevel=4,
                )

    # ---------------------------------------------------------------- single days
    def is_working_day(self, d: date) -> bool:
        o = d.toordinal()
        if o < self._first_ordinal or o > self._last_ordinal:
            self._warn_outside(o, o)
        if o in self._off:
            return False
        if o in self._on:
            return True
        return (o + 6) % 7 < 5

    def holiday_name(self, d: date) -> str | None:
        """The holiday a day off belongs to (weekends inside a break included), else None."""
        o = d.toordinal()
        if o < self._first_ordinal or o > self._last_ordinal:
            self._warn_outside(o, o)
        return self._holiday_names.get(o)

    def makeup_workday_name(self, d: date) -> str | None:
        """For a weekend day worked instead of a holiday (调休上班), its name, e.g. ``春节调休``."""
        o = d.toordinal()
        if o < self._first_ordinal or o > self._last_ordinal:
            self._warn_outside(o, o)
        return self._workday_names.get(o)

    # ---------------------------------------------------------------- counting
    def _count_upto(self, ordinal: int) -> int:
        """Working days among ordinals 1..ordinal (a monotone step function, +1 on each working day)."""
        return (
            _weekdays_upto(ordinal)
            - bisect_right(self._off_sorted, ordinal)
            + bisect_right(self._on_sorted, ordinal)
        )

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative (minus the working days in (b, a]) when b < a."""
        oa, ob = a.toordinal(), b.toordinal()
        lo, hi = (oa, ob) if oa <= ob else (ob, oa)
        if lo + 1 <= hi:
            self._warn_outside(lo + 1, hi)
        return self._count_upto(ob) - self._count_upto(oa)

    def _first_reaching(self, target: int, guess: int) -> int:
        """The smallest ordinal whose running count reaches `target`."""
        count = self._count_upto
        step = 16
        lo = hi = guess
        while count(lo) >= target:  # make count(lo) < target
            lo -= step
            step *= 2
        step = 16
        while count(hi) < target:  # make count(hi) >= target
            hi += step
            step *= 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if count(mid) >= target:
                hi = mid
            else:
                lo = mid
        return hi

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start itself not counted).

        n = 0 gives `start` if it is a working day, else the next working day; n < 0 gives the |n|-th
        working day before `start`.
        """
        s = start.toordinal()
        target = self._count_upto(s) + n if n > 0 else self._count_upto(s - 1) + n + 1
        result = self._first_reaching(target, s + (n * 7) // 5)
        self._warn_outside(min(s, result), max(s, result))
        return date.fromordinal(result)

    def next_working_day(self, d: date) -> date:
        """The first working day after `d`."""
        return self.add_working_days(d, 1)

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """End of the `working_days`-th working day after the day of `start` (Asia/Shanghai), in UTC.

        Time limits in Chinese administration run from the day after acceptance: a case accepted on
        any day with a 5-working-day limit is due at 23:59:59.999999 local time on the fifth working
        day after it. 0 means the end of the acceptance day itself (or of the next working day).
        """
        if not isinstance(start, datetime):
            raise TypeError("deadline() 需要 datetime")
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("deadline() 需要带时区的时间")
        if working_days < 0:
            raise ValueError("工作日数不能为负数")
        local_day = start.astimezone(SHANGHAI).date()
        due = self.add_working_days(local_day, working_days)
        return datetime.combine(due, END_OF_DAY, SHANGHAI).astimezone(UTC)


# -------------------------------------------------------------------- loading
def _parse_date(value: Any, where: str) -> date:
    if not isinstance(value, str):
        raise CalendarDataError(f"{where}：日期应为 YYYY-MM-DD 文本")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CalendarDataError(f"{where}：日期“{value}”格式不正确（应为 YYYY-MM-DD）") from None


def _parse_year(info: YearInfo, raw: dict[str, Any], off: dict[int, str], on: dict[int, str]) -> None:
    where = info.path
    near = (info.year - 1, info.year, info.year + 1)  # 元旦 make-up days may fall in the previous December

    def check_name(value: Any, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise CalendarDataError(f"{where}：{what}缺少名称")
        return value.strip()

    holidays = raw.get("holidays", [])
    workdays = raw.get("workdays", [])
    if not isinstance(holidays, list) or not isinstance(workdays, list):
        raise CalendarDataError(f"{where}：holidays 和 workdays 应为列表")
    for entry in holidays:
        if not isinstance(entry, dict) or not isinstance(entry.get("dates"), list) or not entry["dates"]:
            raise CalendarDataError(f"{where}：每个假日应有 name 和非空的 dates 列表")
        name = check_name(entry.get("name"), "假日")
        for value in entry["dates"]:
            d = _parse_date(value, f"{where}（{name}）")
            if d.year not in near:
                raise CalendarDataError(f"{where}：{name}的日期 {d} 不在 {info.year} 年前后")
            o = d.toordinal()
            if o in off and off[o] != name:
                raise CalendarDataError(f"{where}：{d} 同时属于“{off[o]}”和“{name}”")
            if o in on:
                raise CalendarDataError(f"{where}：{d} 既是假日又是调休上班日")
            off[o] = name
    for entry in workdays:
        if not isinstance(entry, dict):
            raise CalendarDataError(f"{where}：每个调休上班日应有 name 和 date")
        name = check_name(entry.get("name"), "调休上班日")
        d = _parse_date(entry.get("date"), f"{where}（{name}）")
        if d.year not in near:
            raise CalendarDataError(f"{where}：{name}的日期 {d} 不在 {info.year} 年前后")
        if d.weekday() < 5:
            raise CalendarDataError(f"{where}：调休上班日 {d} 不是周六或周日")
        o = d.toordinal()
        if o in off:
            raise CalendarDataError(f"{where}：{d} 既是假日又是调休上班日")
        on[o] = name


def _read_year_file(text: str, path: str, expect_year: int) -> tuple[YearInfo, dict[str, Any]]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CalendarDataError(f"{path}：不是有效的 JSON（{exc.msg}，第{exc.lineno}行）") from None
    if not isinstance(raw, dict):
        raise CalendarDataError(f"{path}：顶层应为对象")
    year = raw.get("year")
    if year != expect_year:
        raise CalendarDataError(f"{path}：year 字段（{year}）与文件名不一致")
    status = raw.get("status")
    if status not in STATUSES:
        raise CalendarDataError(f"{path}：status 应为 official 或 provisional")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CalendarDataError(f"{path}：缺少 source（数据来源，例如国务院办公厅通知的文号）")
    note = raw.get("note", "")
    return YearInfo(year, source, status, note if isinstance(note, str) else "", path), raw


def _year_of(name: str) -> int | None:
    stem, dot, ext = name.partition(".")
    if ext == "json" and dot and len(stem) == 4 and stem.isascii() and stem.isdigit():
        return int(stem)
    return None


@lru_cache(maxsize=8)
def _load(directory: str | None) -> WorkCalendar:
    files: dict[int, tuple[YearInfo, dict[str, Any]]] = {}
    bundled = resources.files("yiwang.core").joinpath("data", "holidays")
    for entry in bundled.iterdir():
        year = _year_of(entry.name)
        if year is not None:
            text = entry.read_text(encoding="utf-8")
            files[year] = _read_year_file(text, f"yiwang/core/data/holidays/{entry.name}", year)
    if directory:
        folder = Path(directory)
        if not folder.is_dir():
            raise CalendarDataError(f"节假日数据目录不存在：{folder}")
        for path in sorted(folder.iterdir()):
            year = _year_of(path.name)
            if year is not None and path.is_file():
                files[year] = _read_year_file(path.read_text(encoding="utf-8"), str(path), year)
    return WorkCalendar(files.values())


def load_calendar(directory: str | os.PathLike[str] | None = None) -> WorkCalendar:
    """The calendar from the shipped files plus `directory` (default: ``$YIWANG_HOLIDAYS_DIR``), cached.

    Files in the directory add years or replace shipped ones. Each distinct directory is read once.
    """
    if directory is None:
        directory = os.environ.get(ENV_VAR) or None
    return _load(os.fspath(directory) if directory else None)


def default_calendar() -> WorkCalendar:
    return load_calendar()


def clear_cache() -> None:
    """Forget loaded calendars (after replacing files in a running process, and in tests)."""
    _load.cache_clear()


# -------------------------------------------------------------------- module-level API
def is_working_day(d: date) -> bool:
    return load_calendar().is_working_day(d)


def holiday_name(d: date) -> str | None:
    return load_calendar().holiday_name(d)


def makeup_workday_name(d: date) -> str | None:
    return load_calendar().makeup_workday_name(d)


def add_working_days(start: date, n: int) -> date:
    return load_calendar().add_working_days(start, n)


def working_days_between(a: date, b: date) -> int:
    return load_calendar().working_days_between(a, b)


def next_working_day(d: date) -> date:
    return load_calendar().next_working_day(d)


def deadline(start: datetime, working_days: int) -> datetime:
    return load_calendar().deadline(start, working_days)


def covered_years() -> range:
    return load_calendar().covered_years()


def year_info(year: int) -> YearInfo | None:
    return load_calendar().year_info(year)
