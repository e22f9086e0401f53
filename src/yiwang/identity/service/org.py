"""The organisation tree (A4): province → city → district → street → community, departments, units."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core.errors import NotFound
from yiwang.identity.models import OrgUnit

REGION_KINDS = ("province", "city", "district", "street", "community")
ORG_KINDS = (*REGION_KINDS, "department", "unit")
KIND_LABELS = {
    "province": "省",
    "city": "市",
    "district": "区（县）",
    "street": "街道（乡镇）",
    "community": "社区（村）",
    "department": "部门",
    "unit": "单位",
}
# Which kinds of node may sit under which: regions nest in order; departments hang off a region,
# units off a department or unit.
ALLOWED_PARENTS: dict[str, tuple[str | None, ...]] = {
    "province": (None,),
    "city": ("province",),
    "district": ("city",),
    "street": ("district",),
    "community": ("street",),
    "department": ("province", "city", "district", "street"),
    "unit": ("department", "unit"),
}


def get_org_unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound(detail=f"组织机构 {unit_id} 不存在")
    return unit


def find_org_unit_by_code(session: Session, code: str) -> OrgUnit | None:
    return session.scalars(select(OrgUnit).where(OrgUnit.code == code)).first()


def is_within(unit: OrgUnit, ancestor_ids: frozenset[int]) -> bool:
    """True when `unit` is one of `ancestor_ids` or lies in one of their subtrees."""
    return any(f"/{a}/" in unit.path for a in ancestor_ids)


def subtree_ids(session: Session, unit_id: int) -> list[int]:
    unit = get_org_unit(session, unit_id)
    return list(session.scalars(select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path))))


def ancestors(session: Session, unit: OrgUnit) -> list[OrgUnit]:
    ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    rows = {u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]
