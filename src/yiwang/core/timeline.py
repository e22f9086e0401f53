"""An object's timeline (DESIGN §3 rule 3: nothing legal is lost): one row per state change, with who
did it, when, between which states and why.

A module declares its timeline table with the mixin and the columns that tie a row to its object::

    class LicenceEvent(TimelineMixin, Base):
        __tablename__ = "licence_event"
        licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), index=True)

writes rows with `add_event(session, LicenceEvent, actor, "issued", to_status="valid", licence_id=…)`
and reads them out through `TimelineEvent` (subclass it to add the module's own columns and its
Chinese action labels in `ACTION_LABELS`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from yiwang.core import clock
from yiwang.core.db import UTCDateTime
from yiwang.core.security import Actor


class TimelineMixin:
    """The columns every timeline row has. The sizes are part of the schema of the existing tables
    (`catalog_entry_event`, `exchange_event`): change them only with a migration."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16), default="")
    actor_id: Mapped[str] = mapped_column(String(64), default="")
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    opinion: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def actor_ref(actor: Actor) -> str:
    """Who acted, as stored in a timeline row: the account id, else the client or subject id."""
    if actor.account_id is not None:
        return str(actor.account_id)
    return actor.client_id or actor.subject_id or actor.kind.value


E = TypeVar("E", bound=TimelineMixin)


def add_event(
    session: Session,
    model: type[E],
    actor: Actor,
    action: str,
    *,
    from_status: str = "",
    to_status: str = "",
    opinion: str = "",
    detail: dict[str, Any] | None = None,
    **owner: Any,
) -> E:
    """Append one row to `model`'s timeline, stamped now (`core.clock`) with the actor; `owner` fills
    the columns that tie the row to its object (`entry_id=…`, `object_type=…, object_id=…`)."""
    row = model(
        at=clock.now(),
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor_ref(actor),
        actor_name=actor.label()[:100],
        opinion=opinion,
        detail=detail or {},
        **owner,
    )
    session.add(row)
    return row


class TimelineEvent(BaseModel):
    """A timeline row as read by pages and the API. `action_label` is the Chinese name of the action
    from the subclass's `ACTION_LABELS` (the code itself never reaches a page)."""

    model_config = ConfigDict(from_attributes=True)
    ACTION_LABELS: ClassVar[dict[str, str]] = {}

    at: datetime
    action: str
    from_status: str
    to_status: str
    actor_name: str
    opinion: str
    detail: dict[str, Any]

    @property
    def action_label(self) -> str:
        return self.ACTION_LABELS.get(self.action, self.action)
