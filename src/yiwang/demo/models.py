"""The one table of the demo: which synthetic city a database holds, so `yiwang demo` can print the
demo accounts of a city it built earlier without building it again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class DemoCity(Base):
    __tablename__ = "demo_city"

    id: Mapped[int] = mapped_column(primary_key=True)
    seed: Mapped[int] = mapped_column(Integer)
    people: Mapped[int] = mapped_column(Integer)
    enterprises: Mapped[int] = mapped_column(Integer)
    # Derived from the seed (not the wall clock), like every other row of the city.
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    build_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # city_unit_id, departments, enterprise_credit_code, accounts (without passwords), client id and
    # redirect URI. The client secret is not stored: it is derived from the seed again.
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
