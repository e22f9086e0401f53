"""The audit pages' one table: runs of the audit-chain verification started from `/audit`.

A run's state lives here, not in a process's memory, so every worker of a scaled-out deployment shows
the same progress and the same last result.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class VerificationRun(Base):
    __tablename__ = "audit_verification_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    # running / intact / broken / failed (the verification itself could not run)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Refreshed with every progress report: a "running" run that stops being refreshed was abandoned
    # by a worker that went away, and may be started again.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("identity_account.id"))
    started_by_name: Mapped[str] = mapped_column(String(64), default="")
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    chains: Mapped[int] = mapped_column(Integer, default=0)
    anchors: Mapped[int] = mapped_column(BigInteger, default=0)
    root_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    root_hash: Mapped[str] = mapped_column(String(64), default="")
    # The first broken link, for people (Chinese), and where it is.
    broken_chain: Mapped[int | None] = mapped_column(Integer)
    broken_seq: Mapped[int | None] = mapped_column(BigInteger)
    broken_reason: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
