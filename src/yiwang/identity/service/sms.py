"""The SMS adapter: how one-time codes reach a phone.

The platform's true edge is the operator's SMS gateway (a carrier or 政务短信平台 API). Behind the
`SmsSender` interface the working local implementation, `OutboxSms`, writes each message to the
`identity_sms_outbox` table: the demo prints it (`yiwang sms`), tests read it, and a gateway adapter for
production sends the same rows and stamps `sent_at`. Choose with YIWANG_SMS_BACKEND.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import clock
from yiwang.identity.models import SmsOutbox
from yiwang.settings import get_settings


class SmsSender(Protocol):
    def send(self, session: Session, *, phone: str, body: str, purpose: str) -> None:
        """Queue `body` for `phone` within the caller's transaction (sent only if it commits)."""


class OutboxSms:
    """The local adapter: messages stay in the outbox table."""

    def send(self, session: Session, *, phone: str, body: str, purpose: str) -> None:
        session.add(SmsOutbox(phone=phone, purpose=purpose, body=body[:500], created_at=clock.now()))


_BACKENDS: dict[str, type[OutboxSms]] = {"outbox": OutboxSms}


def sms_sender() -> SmsSender:
    backend = get_settings().sms_backend
    if backend not in _BACKENDS:
        raise ValueError(
            f"YIWANG_SMS_BACKEND={backend!r} 不是已知的短信适配器（可选：{', '.join(_BACKENDS)}）"
        )
    return _BACKENDS[backend]()


def outbox(session: Session, *, phone: str | None = None, limit: int = 20) -> list[SmsOutbox]:
    """The newest messages in the outbox (for the demo and tests), newest first."""
    query = select(SmsOutbox).order_by(SmsOutbox.id.desc()).limit(limit)
    if phone:
        query = query.where(SmsOutbox.phone == phone)
    return list(session.scalars(query))
