"""Reads over many entries: the entry list and search, the derived lists (共享目录, 开放目录, 责任清单;
the demand list is in `demands.py`), the figures (挂接率, 编目率) and the public face's bulk read.

Every list runs a fixed number of queries whatever its page size (the tests pin them): the page, its
total, and at most one query per kind of child (item names, mounts) for the whole page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from yiwang.catalog import vocab
from yiwang.catalog.models import CatalogDemand, CatalogEntry, CatalogItem, CatalogMount
from yiwang.catalog.resources import list_resources
from yiwang.catalog.schemas import (
    DepartmentRates,
    EntryList,
    EntryRead,
    EntryRow,
    FormRates,
    RatesRead,
    ResponsibilityList,
    ResponsibilityRow,
    SharingList,
    SharingRow,
)
from yiwang.catalog.service import search
from yiwang.catalog.service.common import entry_values, own_units, require_reader, to_read
from yiwang.core.errors import Invalid
from yiwang.core.security import Actor

SORTS: dict[str, Any] = {
    "code": CatalogEntry.code,
    "name": CatalogEntry.name,
    "provider": CatalogEntry.provider_name,
    "form": CatalogEntry.form,
    "sharing_type": CatalogEntry.sharing_type,
    "open_type": CatalogEntry.open_type,
    "status": CatalogEntry.status,
    "published_at": CatalogEntry.published_at,
    "updated_at": CatalogEntry.updated_at,
}
SORT_LABELS = {
    "code": "资源代码",
    "name": "资源名称",
    "provider": "提供方",
    "published_at": "发布日期",
    "updated_at": "更新时间",
}


@dataclass
class EntryFilters:
    """Filters shared by the entry list, search and the derived lists (all optional)."""

    q: str = ""
    status: str = ""
    department_id: int | None = None
    form: str = ""
    sharing_type: str = ""
    open_type: str = ""
    update_cycle: str = ""
    category: str = ""  # a classification code prefix: 1, 101, 101001 …
    mounted: bool | None = None
    sort: str = ""

    def check(self) -> None:
        errors = []
        for name, table in (
            ("status", vocab.STATUSES),
            ("form", vocab.FORMS),
            ("sharing_type", vocab.SHARING_TYPES),
            ("open_type", vocab.OPEN_TYPES),
            ("update_cycle", vocab.UPDATE_CYCLES),
        ):
            value = getattr(self, name)
            if value and value not in table:
                errors.append((name, f"{value} 不是允许的取值（{'、'.join(table)}）"))
        if self.category and not (self.category.isdigit() and len(self.category) <= 9):
            errors.append(("category", "分类代码只能是数字"))
        if self.sort and self.sort.lstrip("-") not in SORTS and self.sort not in ("rank",):
            errors.append(("sort", f"不能按 {self.sort} 排序（可用：{'、'.join(SORTS)}）"))
        if errors:
            from yiwang.catalog.service.common import invalid

            raise invalid(errors)


def _mounted_expr() -> ColumnElement[bool]:
    return exists().where(CatalogMount.entry_id == CatalogEntry.id, CatalogMount.active.is_(True))


def _visible(session: Session, actor: Actor) -> ColumnElement[bool]:
    units = own_units(session, actor)
    if units is None:
        return CatalogEntry.id.is_not(None)
    published = CatalogEntry.status == "published"
    if not units:
        return published
    return or_(published, CatalogEntry.department_id.in_(sorted(units)))


def _filtered(stmt: Select[Any], f: EntryFilters) -> Select[Any]:
    if f.status:
        stmt = stmt.where(CatalogEntry.status == f.status)
    if f.department_id:
        stmt = stmt.where(CatalogEntry.department_id == f.department_id)
    if f.form:
        stmt = stmt.where(CatalogEntry.form == f.form)
    if f.sharing_type:
        stmt = stmt.where(CatalogEntry.sharing_type == f.sharing_type)
    if f.open_type:
        stmt = stmt.where(CatalogEntry.open_type == f.open_type)
    if f.update_cycle:
        stmt = stmt.where(CatalogEntry.update_cycle == f.update_cycle)
    if f.category:
        stmt = stmt.where(CatalogEntry.category_code.startswith(f.category))
    if f.mounted is True:
        stmt = stmt.where(_mounted_expr())
    elif f.mounted is False:
        stmt = stmt.where(~_mounted_expr())
    return stmt


def _order(f: EntryFilters, rank: ColumnElement[Any] | None, default: str = "code") -> list[Any]:
    sort = f.sort or ("rank" if rank is not None else default)
    if sort == "rank":
        if rank is None:
            return [CatalogEntry.code]
        # Entries whose name holds the query as typed come first, then by relevance.
        in_name = case((CatalogEntry.name.contains(f.q.strip(), autoescape=True), 0), else_=1)
        return [in_name, rank, CatalogEntry.code]
    column = SORTS[sort.lstrip("-")]
    if sort.startswith("-"):
        return [column.desc().nulls_last(), CatalogEntry.code]
    return [column.asc().nulls_last(), CatalogEntry.code]


def _page(
    session: Session,
    actor: Actor,
    f: EntryFilters,
    base_where: list[ColumnElement[bool]],
    offset: int,
    limit: int | None,
    default_sort: str = "code",
) -> tuple[int, list[tuple[CatalogEntry, bool, int]]]:
    """The total and one page of (entry, mounted, item count) for the filters, as `actor` may see."""
    f.check()
    item_count = (
        select(func.count(CatalogItem.id)).where(CatalogItem.entry_id == CatalogEntry.id).scalar_subquery()
    )
    stmt = select(CatalogEntry, _mounted_expr().label("mounted"), item_count.label("item_count"))
    count = select(func.count(CatalogEntry.id)).select_from(CatalogEntry)
    where = [_visible(session, actor), *base_where]
    stmt, count = stmt.where(*where), count.where(*where)
    stmt, count = _filtered(stmt, f), _filtered(count, f)
    rank = None
    if f.q.strip():
        clauses = search.query_clauses(f.q)
        if not clauses:
            return 0, []
        stmt, rank = search.apply_search(session, stmt, clauses)
        count, _ = search.apply_search(session, count, clauses)
    total = session.scalar(count) or 0
    stmt = stmt.order_by(*_order(f, rank, default_sort)).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [(e, bool(m), int(n or 0)) for e, m, n in session.execute(stmt).all()]
    return total, rows


def _row(model: type[EntryRow], entry: CatalogEntry, mounted: bool, item_count: int, **extra: Any) -> Any:
    return model.model_validate(
        {**entry_values(entry), "mounted": mounted, "item_count": item_count, **extra}
    )


def list_entries(
    session: Session, actor: Actor, filters: EntryFilters | None = None, *, offset: int = 0, limit: int = 50
) -> EntryList:
    """Entries `actor` may see (published ones, plus their own department's in every status)."""
    require_reader(actor)
    f = filters or EntryFilters()
    total, rows = _page(session, actor, f, [], offset, limit)
    return EntryList(total=total, offset=offset, limit=limit, items=[_row(EntryRow, *r) for r in rows])


def search_entries(
    session: Session,
    actor: Actor,
    q: str,
    filters: EntryFilters | None = None,
    *,
    offset: int = 0,
    limit: int = 20,
) -> EntryList:
    """Chinese full-text search (rjieba; FTS5 / tsvector), best match first."""
    require_reader(actor)
    if not (q or "").strip():
        raise Invalid.on("q", "请输入要查找的内容")
    if len(q) > 200:
        raise Invalid.on("q", "查询内容不能超过 200 字")
    f = filters or EntryFilters()
    f.q = q
    total, rows = _page(session, actor, f, [], offset, limit)
    return EntryList(total=total, offset=offset, limit=limit, items=[_row(EntryRow, *r) for r in rows])


def review_queue(session: Session, actor: Actor, *, offset: int = 0, limit: int = 50) -> EntryList:
    """Submitted entries, oldest first (the operator's queue)."""
    from yiwang.catalog.service.common import require_reviewer

    require_reviewer(actor, "catalog.entry.review")
    f = EntryFilters(status="submitted")
    total, rows = _page(session, actor, f, [], offset, limit, default_sort="updated_at")
    return EntryList(total=total, offset=offset, limit=limit, items=[_row(EntryRow, *r) for r in rows])


def _item_names(session: Session, entry_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    if not entry_ids:
        return names
    for entry_id, name in session.execute(
        select(CatalogItem.entry_id, CatalogItem.name)
        .where(CatalogItem.entry_id.in_(entry_ids))
        .order_by(CatalogItem.entry_id, CatalogItem.position)
    ):
        names[entry_id].append(name)
    return names


def _derived(
    session: Session,
    actor: Actor,
    f: EntryFilters,
    where: list[ColumnElement[bool]],
    offset: int,
    limit: int | None,
) -> SharingList:
    f.status = "published"
    total, rows = _page(session, actor, f, where, offset, limit)
    names = _item_names(session, [e.id for e, _, _ in rows])
    items = [_row(SharingRow, e, m, n, item_names=names.get(e.id, [])) for e, m, n in rows]
    return SharingList(total=total, offset=offset, limit=limit if limit is not None else total, items=items)


def sharing_list(
    session: Session,
    actor: Actor,
    filters: EntryFilters | None = None,
    *,
    offset: int = 0,
    limit: int | None = 50,
) -> SharingList:
    """共享目录: published entries whose sharing type is 无条件共享 or 有条件共享."""
    require_reader(actor)
    f = filters or EntryFilters()
    if f.sharing_type == "none":
        return SharingList(total=0, offset=offset, limit=limit or 0, items=[])
    return _derived(session, actor, f, [CatalogEntry.sharing_type != "none"], offset, limit)


def open_list(
    session: Session,
    actor: Actor,
    filters: EntryFilters | None = None,
    *,
    offset: int = 0,
    limit: int | None = 50,
) -> SharingList:
    """开放目录: published entries open to the public (有条件开放 or 无条件开放)."""
    require_reader(actor)
    f = filters or EntryFilters()
    if f.open_type == "none":
        return SharingList(total=0, offset=offset, limit=limit or 0, items=[])
    return _derived(session, actor, f, [CatalogEntry.open_type != "none"], offset, limit)


def published_entries(
    session: Session,
    *,
    department_id: int | None = None,
    form: str | None = None,
    sharing_type: str | None = None,
    codes: list[str] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[EntryRead]:
    """Published entries with their items and live mounts, by code (for exchange, governance and
    open data). Three queries whatever the number of entries."""
    stmt = (
        select(CatalogEntry)
        .where(CatalogEntry.status == "published")
        .options(selectinload(CatalogEntry.items))
        .order_by(CatalogEntry.code)
        .offset(offset)
    )
    if department_id is not None:
        stmt = stmt.where(CatalogEntry.department_id == department_id)
    if form:
        stmt = stmt.where(CatalogEntry.form == form)
    if sharing_type:
        stmt = stmt.where(CatalogEntry.sharing_type == sharing_type)
    if codes is not None:
        stmt = stmt.where(CatalogEntry.code.in_(codes)) if codes else stmt.where(false())
    if limit is not None:
        stmt = stmt.limit(limit)
    entries = list(session.scalars(stmt))
    mounts: dict[int, CatalogMount] = {}
    if entries:
        for m in session.scalars(
            select(CatalogMount).where(
                CatalogMount.entry_id.in_([e.id for e in entries]), CatalogMount.active.is_(True)
            )
        ):
            mounts[m.entry_id] = m
    return [to_read(e, mounts.get(e.id)) for e in entries]


# ================================================================= responsibility list and rates


def _counts_by_department(session: Session) -> list[Any]:
    mounted = (
        select(CatalogMount.entry_id).where(CatalogMount.active.is_(True)).distinct().subquery("live_mounts")
    )
    is_mounted = mounted.c.entry_id.is_not(None)
    return list(
        session.execute(
            select(
                CatalogEntry.department_id,
                func.max(CatalogEntry.provider_name),
                func.max(CatalogEntry.provider_code),
                CatalogEntry.form,
                CatalogEntry.status,
                is_mounted.label("mounted"),
                func.count(CatalogEntry.id),
            )
            .outerjoin(mounted, mounted.c.entry_id == CatalogEntry.id)
            .group_by(
                CatalogEntry.department_id,
                CatalogEntry.form,
                CatalogEntry.status,
                is_mounted,
            )
        ).all()
    )


def responsibility_list(
    session: Session, actor: Actor, *, department_id: int | None = None
) -> ResponsibilityList:
    """责任清单: per provider department, its entries by status, mounted entries, open demands and
    the contact of its latest entry (the person answerable for its catalog)."""
    require_reader(actor)
    depts: dict[int, dict[str, Any]] = {}
    for dept, name, code, _form, status, mounted, n in _counts_by_department(session):
        if department_id is not None and dept != department_id:
            continue
        d = depts.setdefault(
            dept,
            {
                "department_id": dept,
                "provider_name": name,
                "provider_code": code,
                "entries": 0,
                "drafts": 0,
                "submitted": 0,
                "published": 0,
                "mounted": 0,
                "retired": 0,
                "demands_open": 0,
                "contact_name": "",
                "contact_phone": "",
            },
        )
        d["entries"] += n
        key = {
            "draft": "drafts",
            "returned": "drafts",
            "submitted": "submitted",
            "published": "published",
            "retired": "retired",
        }[status]
        d[key] += n
        if mounted and status == "published":
            d["mounted"] += n
    latest = (
        select(func.max(CatalogEntry.id))
        .where(CatalogEntry.contact_name != "", CatalogEntry.status != "retired")
        .group_by(CatalogEntry.department_id)
    )
    for dept, contact, phone in session.execute(
        select(CatalogEntry.department_id, CatalogEntry.contact_name, CatalogEntry.contact_phone).where(
            CatalogEntry.id.in_(latest)
        )
    ):
        if dept in depts:
            depts[dept]["contact_name"], depts[dept]["contact_phone"] = contact, phone
    for dept, n in session.execute(
        select(CatalogDemand.provider_department_id, func.count(CatalogDemand.id))
        .where(
            CatalogDemand.status.in_(("open", "planned")), CatalogDemand.provider_department_id.is_not(None)
        )
        .group_by(CatalogDemand.provider_department_id)
    ):
        if dept in depts:
            depts[dept]["demands_open"] = n
    rows = sorted(depts.values(), key=lambda d: (-d["published"], d["provider_name"]))
    return ResponsibilityList(total=len(rows), items=[ResponsibilityRow(**r) for r in rows])


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def catalog_rates(session: Session, actor: Actor) -> RatesRead:
    """The catalog's figures, computed from rows: entries, published, mounted, 挂接率 by form and by
    department, 编目率 (registry resources with a published, mounted entry) and department coverage."""
    require_reader(actor)
    forms = {k: {"published": 0, "mounted": 0} for k in vocab.FORMS}
    depts: dict[int, dict[str, Any]] = {}
    entries = published = mounted_total = 0
    for dept, name, _code, form, status, mounted, n in _counts_by_department(session):
        d = depts.setdefault(
            dept,
            {
                "name": name,
                "entries": 0,
                "published": 0,
                "mounted": 0,
                "forms": {k: {"published": 0, "mounted": 0} for k in vocab.FORMS},
            },
        )
        if status == "retired":
            continue
        entries += n
        d["entries"] += n
        if status != "published":
            continue
        published += n
        d["published"] += n
        forms[form]["published"] += n
        d["forms"][form]["published"] += n
        if mounted:
            mounted_total += n
            d["mounted"] += n
            forms[form]["mounted"] += n
            d["forms"][form]["mounted"] += n
    keys = [r.key for r in list_resources()]
    catalogued = 0
    if keys:
        catalogued = (
            session.scalar(
                select(func.count(func.distinct(CatalogMount.resource_key)))
                .join(CatalogEntry, CatalogEntry.id == CatalogMount.entry_id)
                .where(
                    and_(
                        CatalogMount.active.is_(True),
                        CatalogMount.resource_key.in_(keys),
                        CatalogEntry.status == "published",
                    )
                )
            )
            or 0
        )

    def form_rates(counts: dict[str, dict[str, int]]) -> list[FormRates]:
        return [
            FormRates(
                form=k,
                label=vocab.FORMS[k],
                published=v["published"],
                mounted=v["mounted"],
                mount_rate=_rate(v["mounted"], v["published"]),
            )
            for k, v in counts.items()
        ]

    by_department = sorted(
        (
            DepartmentRates(
                department_id=dept,
                provider_name=d["name"],
                entries=d["entries"],
                published=d["published"],
                mounted=d["mounted"],
                mount_rate=_rate(d["mounted"], d["published"]),
                by_form=form_rates(d["forms"]),
            )
            for dept, d in depts.items()
            if d["entries"]
        ),
        key=lambda r: (-r.published, r.provider_name),
    )
    publishing = sum(1 for r in by_department if r.published)
    return RatesRead(
        entries=entries,
        published=published,
        mounted=mounted_total,
        mount_rate=_rate(mounted_total, published),
        registry_resources=len(keys),
        catalogued_resources=catalogued,
        catalog_rate=_rate(catalogued, len(keys)),
        departments=len(by_department),
        departments_publishing=publishing,
        department_coverage=_rate(publishing, len(by_department)),
        by_form=form_rates(forms),
        by_department=by_department,
    )


def catalog_departments(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """(org unit id, name) of every department with an entry, for filters and choices."""
    require_reader(actor)
    rows = session.execute(
        select(CatalogEntry.department_id, func.max(CatalogEntry.provider_name))
        .group_by(CatalogEntry.department_id)
        .order_by(func.max(CatalogEntry.provider_name))
    ).all()
    return [(d, n) for d, n in rows]
