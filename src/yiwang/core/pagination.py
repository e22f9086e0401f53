"""Page parameters and envelopes shared by every list endpoint."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class PageParams(BaseModel):
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=50, ge=1, le=500)


class Page(BaseModel, Generic[T]):
    total: int
    offset: int
    limit: int
    items: list[T]
