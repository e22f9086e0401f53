"""Events the catalog publishes after commit (`yiwang.core.events`), for the modules above it:
exchange and open data react to publication and retirement, governance and exchange to a changed
grade (their masking), search to every change of a published entry."""

from __future__ import annotations

from dataclasses import dataclass

from yiwang.core.events import DomainEvent


@dataclass(frozen=True)
class EntrySubmitted(DomainEvent):
    code: str
    department_id: int


@dataclass(frozen=True)
class EntryReturned(DomainEvent):
    code: str
    department_id: int


@dataclass(frozen=True)
class EntryPublished(DomainEvent):
    code: str
    department_id: int


@dataclass(frozen=True)
class EntryRetired(DomainEvent):
    code: str
    department_id: int


@dataclass(frozen=True)
class EntryMounted(DomainEvent):
    code: str
    resource_key: str | None
    kind: str


@dataclass(frozen=True)
class EntryUnmounted(DomainEvent):
    code: str
    resource_key: str | None
    kind: str


@dataclass(frozen=True)
class ItemGradeChanged(DomainEvent):
    code: str
    field_name: str
    grade: str
    sensitive_personal: bool
    masking: str
