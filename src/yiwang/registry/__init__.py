"""基础库: the base registries as data (population, legal persons, department registries).

Public face: other modules use only what is imported here.
"""

from yiwang.registry.schemas import LegalPersonRecord, PersonRecord
from yiwang.registry.service import (
    find_legal_person,
    find_person,
    household_members,
    legal_persons_represented_by,
)

__all__ = [
    "LegalPersonRecord",
    "PersonRecord",
    "find_legal_person",
    "find_person",
    "household_members",
    "legal_persons_represented_by",
]
