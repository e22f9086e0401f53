"""The shapes a shared-data call passes through: the request (`CallRequest`), the grant terms it is
served under (`GrantTerms`), the state the pipeline builds up (`CallState`), and the `Outcome` the API
answers with. Shared by the reading phase (`pipeline.py`) and the writing phase (`writer.py`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, NamedTuple

from yiwang.core import clock
from yiwang.core.errors import Problem
from yiwang.core.security import Actor
from yiwang.exchange.problems import PROBLEMS
from yiwang.exchange.service.cache import ResourceView

ACTION: Final = "exchange.query"
MAX_SUBJECT_LEN: Final = 32


def refusal(name: str, detail: str) -> Problem:
    """A refusal of the pipeline: problem type `/problems/exchange-<name>`, its Chinese title from
    `exchange.problems.PROBLEMS`."""
    return PROBLEMS[name](detail)


class CallRequest(NamedTuple):
    mode: str  # subject / batch / slice
    resource_key: str
    purpose: str
    subjects: tuple[str, ...] = ()
    fields: str | Sequence[str] | None = None
    region: str | None = None
    offset: int = 0
    limit: int = 100


class GrantTerms(NamedTuple):
    id: int | None  # None: the implicit grant of a 无条件共享 resource
    fields: tuple[str, ...]
    allow_sensitive: bool
    allow_bulk: bool
    region_prefix: str | None
    rate_per_minute: int
    rate_key: str


@dataclass
class Outcome:
    """What the API answers: a JSON body (200) or a problem, and extra headers."""

    status: int
    body: bytes = b""
    problem: Problem | None = None
    headers: dict[str, str] = field(default_factory=dict)
    call_ids: list[int] = field(default_factory=list)


@dataclass
class CallState:
    actor: Actor
    req: CallRequest
    started: int  # perf_counter_ns at the start
    at: int  # µs since the epoch
    subjects: tuple[str, ...] = ()
    purpose: str = ""
    region: str = ""  # the region of a slice, as served
    view: ResourceView | None = None
    grant: GrantTerms | None = None
    consumer_dept_id: int = 0
    returned: tuple[str, ...] = ()
    rows: list[int] = field(default_factory=list)  # row count per subject (one entry for a slice)


def micros(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.to_local(value).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode()
