"""The organisation tree (A4): province → city → district → street → community, departments, units."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core.errors import Conflict, Invalid, NotFound
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


def add_org_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent_id: int | None,
    region_code: str = "",
    short_name: str = "",
    credit_code: str | None = None,
    sort: int = 0,
) -> OrgUnit:
    """Insert a node after checking its place in the tree. Permission is checked by the caller."""
    if kind not in ORG_KINDS:
        raise Invalid.on("kind", "组织类型不正确")
    if not name.strip():
        raise Invalid.on("name", "名称不能为空")
    if not code.strip():
        raise Invalid.on("code", "编码不能为空")
    parent = get_org_unit(session, parent_id) if parent_id is not None else None
    if (parent.kind if parent else None) not in ALLOWED_PARENTS[kind]:
        where = KIND_LABELS.get(parent.kind, parent.kind) if parent else "顶层"
        raise Invalid.on("parent_id", f"{KIND_LABELS[kind]}不能建在{where}之下")
    if find_org_unit_by_code(session, code) is not None:
        raise Conflict(detail=f"组织编码 {code} 已存在")
    if credit_code:
        from yiwang.core.ids import validate_credit_code

        validate_credit_code(credit_code, "credit_code")
        if session.scalars(select(OrgUnit.id).where(OrgUnit.credit_code == credit_code)).first():
            raise Conflict(detail=f"统一社会信用代码 {credit_code} 已被其他机构使用")
    unit = OrgUnit(
        code=code.strip(),
        name=name.strip(),
        short_name=short_name or name.strip(),
        kind=kind,
        parent_id=parent.id if parent else None,
        level=(parent.level + 1) if parent else 0,
        region_code=region_code or (parent.region_code if parent else ""),
        credit_code=credit_code or None,
        sort=sort,
        path="/",
    )
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    return unit


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
