"""基础库: the base registries as data (population, legal persons, department registries).

Public face: other modules use only what is imported here.

* lookups of the two base registries: `find_person`, `find_legal_person`, `household_members`,
  `legal_persons_represented_by` (pydantic read models `PersonRecord`, `LegalPersonRecord`);
* registry resources described as data: `resources()`, `resource(key)` → `ResourceSpec` / `FieldSpec`;
* reads as plain dicts: `fetch_by_subject` (its subject rule: `normalise_subject`), `fetch_slice`,
  `count_rows`, `subject_keys`, `storage_of`;
* the bulk write path for loads and the demo: `bulk_write`;
* department systems reached live: `register_external_source`, `external_adapter` →
  `ExternalResourceAdapter` (`HttpResourceAdapter`), problems `UpstreamError` (502) and
  `UpstreamTimeout` (504).
"""

from yiwang.registry.bulk import bulk_write
from yiwang.registry.external import (
    ExternalResourceAdapter,
    ExternalSourceRecord,
    HttpResourceAdapter,
    UpstreamError,
    UpstreamTimeout,
    external_adapter,
    external_source,
    external_sources,
    register_external_source,
    set_external_source_active,
)
from yiwang.registry.queries import (
    count_rows,
    fetch_by_subject,
    fetch_slice,
    normalise_subject,
    storage_of,
    subject_keys,
)
from yiwang.registry.resources import (
    FIELD_TYPES,
    RESOURCE_KEYS,
    STORAGE_KINDS,
    FieldSpec,
    FieldType,
    ResourceSpec,
    StorageKind,
    SubjectKind,
    resource,
    resources,
)
from yiwang.registry.schemas import LegalPersonRecord, PersonRecord
from yiwang.registry.service import (
    find_legal_person,
    find_person,
    household_members,
    legal_persons_represented_by,
)

__all__ = [
    "FIELD_TYPES",
    "RESOURCE_KEYS",
    "STORAGE_KINDS",
    "ExternalResourceAdapter",
    "ExternalSourceRecord",
    "FieldSpec",
    "FieldType",
    "HttpResourceAdapter",
    "LegalPersonRecord",
    "PersonRecord",
    "ResourceSpec",
    "StorageKind",
    "SubjectKind",
    "UpstreamError",
    "UpstreamTimeout",
    "bulk_write",
    "count_rows",
    "external_adapter",
    "external_source",
    "external_sources",
    "fetch_by_subject",
    "normalise_subject",
    "fetch_slice",
    "find_legal_person",
    "find_person",
    "household_members",
    "legal_persons_represented_by",
    "register_external_source",
    "resource",
    "resources",
    "set_external_source_active",
    "storage_of",
    "subject_keys",
]
