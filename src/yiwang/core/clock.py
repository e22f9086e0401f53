"""Injected time (DESIGN §3 rule 4): every `now` in the platform comes from here, so tests can freeze it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_frozen: ContextVar[datetime | None] = ContextVar("yiwang_frozen_now", default=None)
# A process-wide override as well, because TestClient runs the app in another thread where the
# context variable set by the test is not visible.
_global_frozen: list[datetime] = []


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    frozen = _frozen.get()
    if frozen is not None:
        return frozen
    if _global_frozen:
        return _global_frozen[-1]
    return datetime.now(UTC)


def today_local() -> datetime:
    return now().astimezone(SHANGHAI)


@contextmanager
def freeze(at: datetime) -> Iterator[FrozenClock]:
    """Freeze `now()` at `at` (aware) for the block; the yielded handle can move time forward."""
    if at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    clock = FrozenClock(at.astimezone(UTC))
    token = _frozen.set(clock.at)
    _global_frozen.append(clock.at)
    clock._token = token
    try:
        yield clock
    finally:
        _global_frozen.pop()
        _frozen.reset(token)


class FrozenClock:
    def __init__(self, at: datetime) -> None:
        self.at = at
        self._token: object = None

    def tick(self, delta: timedelta) -> datetime:
        self.at = self.at + delta
        _frozen.set(self.at)
        _global_frozen[-1] = self.at
        return self.at


def to_local(value: datetime) -> datetime:
    return value.astimezone(SHANGHAI)
