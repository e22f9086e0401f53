"""Domain events, published after commit (DESIGN §3 rule 1).

A service calls `publish(session, event)` inside its transaction; handlers run only once that
transaction has committed, so a listener never sees a change that was rolled back. Handlers are
registered at import time by the modules that listen (upward needs), and must be idempotent because a
scaled-out deployment relays the same events through a broker.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainEvent:
    """Base of every event; subclasses are frozen dataclasses named in the past tense."""


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any], None]

_handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)
_PENDING = "yiwang_pending_events"


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def unsubscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    if handler in _handlers[event_type]:
        _handlers[event_type].remove(handler)


def publish(session: Session, event: DomainEvent) -> None:
    session.info.setdefault(_PENDING, []).append(event)


def _dispatch(event: DomainEvent) -> None:
    for cls in type(event).__mro__:
        for handler in list(_handlers.get(cls, ())):  # type: ignore[call-overload]
            try:
                handler(event)
            except Exception:  # a listener's failure must not undo the committed command
                log.exception("event handler %r failed for %r", handler, event)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Savepoint commits (nested transactions) also fire; only deliver on the outermost commit.
    if session.in_nested_transaction():
        session.info[_PENDING] = pending
        return
    for ev in pending:
        _dispatch(ev)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
