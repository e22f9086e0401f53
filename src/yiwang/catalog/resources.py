"""The registry resources a catalog entry can be mounted on, seen through `yiwang.registry`'s public face.

A `ResourceSpec` (registry) has a key, a Chinese name, its department's short code and its fields
(`FieldSpec`: name, label, type). This module is the only place the catalog reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yiwang.registry as registry
from yiwang.core.errors import NotFound

# Registry field types → catalog data types (money is integer fen, 分).
DATA_TYPES = {
    "string": "string",
    "int": "integer",
    "money_fen": "integer",
    "date": "date",
    "datetime": "datetime",
    "bool": "boolean",
}


@dataclass(frozen=True)
class ResourceField:
    name: str
    label: str
    data_type: str
    unit: str = ""


@dataclass(frozen=True)
class Resource:
    key: str
    name: str
    department: str  # the owning department's org-unit code (short code), e.g. "gongan"
    department_name: str
    summary: str
    update_cycle: str  # Chinese label as the registry states it (实时, 每日, …)
    fields: tuple[ResourceField, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _field(spec: Any) -> ResourceField:
    if isinstance(spec, str):
        return ResourceField(spec, spec, "string")
    kind = str(getattr(spec, "type", "string"))
    unit = str(getattr(spec, "unit", "") or "")
    if kind == "money_fen":
        unit = unit or "分"
    return ResourceField(
        name=str(spec.name),
        label=str(getattr(spec, "label", spec.name)),
        data_type=DATA_TYPES.get(kind, "string"),
        unit=unit,
    )


def _adapt(spec: Any) -> Resource:
    return Resource(
        key=str(spec.key),
        name=str(spec.name),
        department=str(getattr(spec, "department", "") or ""),
        department_name=str(getattr(spec, "department_name", "") or ""),
        summary=str(getattr(spec, "summary", "") or ""),
        update_cycle=str(getattr(spec, "update_cycle", "") or ""),
        fields=tuple(_field(f) for f in spec.fields),
    )


def list_resources() -> list[Resource]:
    """Every registry resource (base registries first)."""
    return [_adapt(s) for s in registry.resources()]


def find_resource(key: str) -> Resource | None:
    try:
        spec = registry.resource(key)
    except (NotFound, KeyError, LookupError):
        return None
    return _adapt(spec) if spec is not None else None
