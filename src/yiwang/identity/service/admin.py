"""The administrator's console (A4, A5): organisation tree, staff accounts, roles, OIDC clients.

Every function takes `(session, actor, …)`, checks permission first, validates, writes, and appends an
audit record for each change (DESIGN §3 rules 2 and 3). REST (`identity/admin_api.py`), pages
(`identity/admin_pages.py`), the CLI and tests all call these functions, so they reach one decision.

Who may do what
    * A platform admin (平台管理员) administers the whole tree, every staff account and every client,
      and may search citizen accounts (by name or username; citizen IDs come back masked).
    * A department admin (部门管理员) administers the subtrees of the units where they hold the role:
      units below them, the staff whose department lies there, and roles valid there. They never see
      citizen accounts, and never touch an account that holds 平台管理员.
    * Everyone else is refused with 403.

Viewing accounts is an access to personal data (PIPL): every list, export and detail view appends
an audit record whose `purpose` names the search terms (who looked for whom, and how).

Refusals are audited too, by the platform's one mechanism. A 403 rolls back the command's
transaction, and any audit record written inside it with it, so the refusal is recorded *after* that
transaction has ended, in a transaction of its own:

    * API and pages: the app's problem handler (`yiwang.app`) records every `Forbidden` raised under
      any route — by these services, the OIDC client service, or a failed CSRF check — with the action
      named on the endpoint by `@audit_action("identity.account.deactivate")` and the target from the
      path. No admin door can forget it, and the services stay free of web code;
    * the CLI and jobs: `with refusals_audited(database, actor, action): …` around their call.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.db import Database
from yiwang.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from yiwang.core.ids import mask_citizen_id
from yiwang.core.security import Actor, require_authenticated
from yiwang.identity.admin_schemas import (
    ACCOUNT_SORTS,
    AccountDetail,
    AccountFilters,
    AccountList,
    AccountRow,
    AccountStatusChange,
    AdminCount,
    AdminOverview,
    ClientRead,
    OrgNode,
    OrgTree,
    OrgUnitCreate,
    OrgUnitRead,
    OrgUnitUpdate,
    RoleGrantCreate,
    RoleGrantRead,
    RoleHolder,
    RoleRead,
    StaffAccountCreate,
    StaffAccountCreated,
    TemporaryPassword,
)
from yiwang.identity.models import (
    AccessToken,
    Account,
    OidcClient,
    OrgUnit,
    PendingLogin,
    StaffRole,
    WebSession,
)
from yiwang.identity.service import oidc
from yiwang.identity.service.accounts import KIND_LABELS as ACCOUNT_KIND_LABELS
from yiwang.identity.service.accounts import (
    create_staff_account,
    find_account,
    get_account,
    grant_role,
    require_admin_of,
    revoke_role,
)
from yiwang.identity.service.org import (
    KIND_LABELS,
    add_org_unit,
    ancestors,
    find_org_unit_by_code,
    get_org_unit,
)
from yiwang.identity.service.passwords import check_password_policy, hash_password
from yiwang.identity.service.roles import BUILTIN_ROLES, role_name

CONSOLE_ROLES = ("platform_admin", "dept_admin")
EXPORT_MAX_ROWS = 50_000
# A citizen ID prefix this long (area and birth date) names a handful of people, not a district.
CITIZEN_ID_PREFIX = 10


# ================================================================= permission helpers


def require_console(actor: Actor) -> None:
    """Only platform admins and department admins (holding the role somewhere) use the console."""
    require_authenticated(actor)
    if actor.is_platform_admin:
        return
    if actor.has_role("dept_admin") and actor.admin_units:
        return
    raise Forbidden(detail="只有平台管理员和部门管理员可以使用管理后台")


def _require_platform_admin(actor: Actor, what: str) -> None:
    require_authenticated(actor)
    if not actor.is_platform_admin:
        raise Forbidden(detail=f"只有平台管理员可以{what}")


def _admin_paths(session: Session, actor: Actor) -> list[str]:
    """Materialised paths of the subtree roots the actor administers (none for a platform admin)."""
    if not actor.admin_units:
        return []
    return list(session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(actor.admin_units))))


def _within(column_path: Any, paths: list[str]) -> ColumnElement[bool]:
    return or_(*[column_path.startswith(p) for p in paths]) if paths else or_(False)


def _holds_platform_admin(session: Session, account_id: int) -> bool:
    return (
        session.scalars(
            select(StaffRole.id).where(
                StaffRole.account_id == account_id, StaffRole.role_code == "platform_admin"
            )
        ).first()
        is not None
    )


def _require_account_admin(session: Session, actor: Actor, account: Account, *, change: bool) -> None:
    """May `actor` see (and, with `change`, modify) `account`?"""
    require_console(actor)
    if actor.is_platform_admin:
        return
    if account.kind != "staff" or account.department_id is None:
        raise Forbidden(detail="只有平台管理员可以查看和管理个人账号")
    require_admin_of(session, actor, account.department_id)
    if change and _holds_platform_admin(session, account.id):
        raise Forbidden(detail="平台管理员账号只能由平台管理员管理")


def record_admin_refusal(
    database: Database,
    actor: Actor,
    action: str,
    exc: Forbidden,
    *,
    object_type: str = "",
    object_id: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append `result="refused"` for `action` to the audit chain, in a transaction of its own."""
    reason = exc.detail or exc.title
    audit.record_refusal(
        database,
        actor,
        action,
        object_type=object_type,
        object_id=object_id,
        purpose=reason,
        detail={**(detail or {}), "reason": reason},
    )


@contextmanager
def refusals_audited(
    database: Database,
    actor: Actor,
    action: str,
    *,
    object_type: str = "",
    object_id: str = "",
    detail: dict[str, Any] | None = None,
) -> Iterator[None]:
    """Record any `Forbidden` raised inside the block in the audit chain, then re-raise it (for the
    CLI and jobs; the admin API and pages get the same from their route class)."""
    try:
        yield
    except Forbidden as exc:
        record_admin_refusal(
            database, actor, action, exc, object_type=object_type, object_id=object_id, detail=detail
        )
        raise


# ================================================================= dashboard


def overview(session: Session, actor: Actor) -> AdminOverview:
    """Counts for the console's front page, each linking to the list behind it."""
    require_console(actor)
    paths = _admin_paths(session, actor)
    units = select(func.count(OrgUnit.id))
    staff = select(func.count(Account.id)).where(Account.kind == "staff")
    if not actor.is_platform_admin:
        units = units.where(_within(OrgUnit.path, paths))
        staff = staff.join(OrgUnit, OrgUnit.id == Account.department_id).where(_within(OrgUnit.path, paths))
    now = clock.now()
    counts = [
        AdminCount(key="org_units", label="组织机构", value=session.scalar(units) or 0, href="/admin/org"),
        AdminCount(
            key="staff_active",
            label="在用工作人员账号",
            value=session.scalar(staff.where(Account.is_active.is_(True))) or 0,
            href="/admin/accounts?active=true",
        ),
        AdminCount(
            key="staff_inactive",
            label="已停用账号",
            value=session.scalar(staff.where(Account.is_active.is_(False))) or 0,
            href="/admin/accounts?active=false",
        ),
        AdminCount(
            key="staff_locked",
            label="已锁定账号",
            value=session.scalar(staff.where(Account.locked_until > now)) or 0,
            href="/admin/accounts?locked=true",
        ),
    ]
    counts.append(
        AdminCount(
            key="clients",
            label="在用接入系统",
            value=sum(1 for c in oidc.list_clients(session, actor) if c.is_active),
            href="/admin/clients",
        )
    )
    if actor.is_platform_admin:
        counts.append(
            AdminCount(
                key="citizens",
                label="个人账号",
                value=session.scalar(select(func.count(Account.id)).where(Account.kind == "citizen")) or 0,
                href="/admin/accounts?kind=citizen",
            )
        )
        scope_names = ["全平台"]
    else:
        scope_names = list(
            session.scalars(
                select(OrgUnit.name).where(OrgUnit.id.in_(actor.admin_units)).order_by(OrgUnit.id)
            )
        )
    return AdminOverview(is_platform_admin=actor.is_platform_admin, scope_names=scope_names, counts=counts)


# ================================================================= organisation tree


def _unit_read(unit: OrgUnit, staff_count: int = 0) -> dict[str, Any]:
    return {
        "id": unit.id,
        "code": unit.code,
        "name": unit.name,
        "short_name": unit.short_name,
        "kind": unit.kind,
        "kind_label": KIND_LABELS.get(unit.kind, unit.kind),
        "parent_id": unit.parent_id,
        "level": unit.level,
        "region_code": unit.region_code,
        "credit_code": unit.credit_code,
        "sort": unit.sort,
        "is_active": unit.is_active,
        "staff_count": staff_count,
    }


def _sibling_order(unit: OrgUnit) -> tuple[int, int, str]:
    """Under a region, its departments (本级部门) come before the regions below it; then by sort, code."""
    return (0 if unit.kind in ("department", "unit") else 1, unit.sort, unit.code)


def org_tree(session: Session, actor: Actor, *, include_inactive: bool = True) -> OrgTree:
    """The tree the actor administers, nested: the whole tree for a platform admin, the subtrees of
    their units for a department admin. Two queries whatever its size."""
    require_console(actor)
    query = select(OrgUnit)
    if not actor.is_platform_admin:
        query = query.where(_within(OrgUnit.path, _admin_paths(session, actor)))
    if not include_inactive:
        query = query.where(OrgUnit.is_active.is_(True))
    units = sorted(session.scalars(query), key=lambda u: (u.level, *_sibling_order(u)))
    ids = [u.id for u in units]
    staff: dict[int, int] = {}
    if ids:
        rows = session.execute(
            select(Account.department_id, func.count(Account.id))
            .where(Account.kind == "staff", Account.is_active.is_(True))
            .group_by(Account.department_id)
        )
        staff = {dept: n for dept, n in rows if dept is not None}
    nodes = {u.id: OrgNode(**_unit_read(u, staff.get(u.id, 0))) for u in units}
    roots: list[OrgNode] = []
    for u in units:  # parents come first: ordered by level
        parent = nodes.get(u.parent_id) if u.parent_id is not None else None
        (parent.children if parent is not None else roots).append(nodes[u.id])
    return OrgTree(roots=roots, total=len(units))


def get_org_unit_read(session: Session, actor: Actor, unit_id: int) -> OrgUnitRead:
    require_console(actor)
    unit = require_admin_of(session, actor, unit_id)
    count = session.scalar(
        select(func.count(Account.id)).where(Account.department_id == unit.id, Account.is_active.is_(True))
    )
    return OrgUnitRead(**_unit_read(unit, count or 0))


def administrable_units(session: Session, actor: Actor) -> list[OrgUnitRead]:
    """Flat list of active units the actor administers, in tree order, for choosers in forms."""
    require_console(actor)
    query = select(OrgUnit).where(OrgUnit.is_active.is_(True)).order_by(OrgUnit.path)
    if not actor.is_platform_admin:
        query = query.where(_within(OrgUnit.path, _admin_paths(session, actor)))
    units = list(session.scalars(query))
    # Order by tree position, siblings by sort then code (paths hold ids, not the display order).
    by_parent: dict[int | None, list[OrgUnit]] = defaultdict(list)
    known = {u.id for u in units}
    for u in units:
        by_parent[u.parent_id if u.parent_id in known else None].append(u)
    out: list[OrgUnitRead] = []

    def walk(parent: int | None) -> None:
        for u in sorted(by_parent.get(parent, []), key=_sibling_order):
            out.append(OrgUnitRead(**_unit_read(u)))
            walk(u.id)

    walk(None)
    return out


def create_org_unit(session: Session, actor: Actor, data: OrgUnitCreate) -> OrgUnitRead:
    """Add a node under a parent the actor administers (a top-level node needs a platform admin)."""
    require_console(actor)
    if data.parent_id is None:
        _require_platform_admin(actor, "创建顶层机构")
    else:
        parent = session.get(OrgUnit, data.parent_id)
        if parent is None:
            raise Invalid.on("parent_id", "上级机构不存在")
        require_admin_of(session, actor, parent.id)
        if not parent.is_active:
            raise Invalid.on("parent_id", "上级机构已停用，不能在其下新建机构")
    if not data.code:
        raise Invalid.on("code", "编码不能为空")
    if not all(c.isalnum() or c in "-_." for c in data.code) or not data.code.isascii():
        raise Invalid.on("code", "编码只能包含字母、数字、连字符、点和下划线")
    if find_org_unit_by_code(session, data.code) is not None:
        message = f"组织编码 {data.code} 已存在"
        raise Conflict(detail=message, errors=[FieldError("code", message)])
    unit = add_org_unit(
        session,
        code=data.code,
        name=data.name,
        kind=data.kind,
        parent_id=data.parent_id,
        region_code=data.region_code,
        short_name=data.short_name,
        credit_code=data.credit_code or None,
        sort=data.sort,
    )
    audit.append(
        session,
        actor,
        "identity.org.create",
        object_type="org_unit",
        object_id=str(unit.id),
        detail={"code": unit.code, "name": unit.name, "kind": unit.kind, "parent_id": unit.parent_id},
    )
    return OrgUnitRead(**_unit_read(unit))


def update_org_unit(session: Session, actor: Actor, unit_id: int, data: OrgUnitUpdate) -> OrgUnitRead:
    """Rename, re-sort, deactivate or reactivate a unit. A unit with active staff or active children
    cannot be deactivated; one under an inactive parent cannot be reactivated."""
    require_console(actor)
    unit = require_admin_of(session, actor, unit_id)
    changes: dict[str, list[Any]] = {}
    if data.name is not None:
        if not data.name:
            raise Invalid.on("name", "名称不能为空")
        if data.name != unit.name:
            changes["name"] = [unit.name, data.name]
            unit.name = data.name
    if data.short_name is not None and data.short_name != unit.short_name:
        changes["short_name"] = [unit.short_name, data.short_name or unit.name]
        unit.short_name = data.short_name or unit.name
    if data.sort is not None and data.sort != unit.sort:
        changes["sort"] = [unit.sort, data.sort]
        unit.sort = data.sort
    if data.is_active is not None and data.is_active != unit.is_active:
        if not data.is_active:
            if unit.id in actor.admin_units and not actor.is_platform_admin:
                raise Forbidden(detail="不能停用您所管理的本级机构，请联系上级管理员")
            staff = session.scalar(
                select(func.count(Account.id)).where(
                    Account.department_id == unit.id, Account.is_active.is_(True)
                )
            )
            if staff:
                raise Conflict(
                    detail=f"该机构还有 {staff} 个在用工作人员账号，请先调出或停用这些账号再停用机构"
                )
            children = session.scalar(
                select(func.count(OrgUnit.id)).where(
                    OrgUnit.parent_id == unit.id, OrgUnit.is_active.is_(True)
                )
            )
            if children:
                raise Conflict(detail=f"该机构还有 {children} 个在用的下级机构，请先停用下级机构")
        elif unit.parent_id is not None:
            parent = get_org_unit(session, unit.parent_id)
            if not parent.is_active:
                raise Invalid.on("is_active", "上级机构已停用，请先启用上级机构")
        changes["is_active"] = [unit.is_active, data.is_active]
        unit.is_active = data.is_active
    if changes:
        session.flush()
        audit.append(
            session,
            actor,
            "identity.org.update",
            object_type="org_unit",
            object_id=str(unit.id),
            detail={"code": unit.code, "changes": changes},
        )
    staff_count = session.scalar(
        select(func.count(Account.id)).where(Account.department_id == unit.id, Account.is_active.is_(True))
    )
    return OrgUnitRead(**_unit_read(unit, staff_count or 0))


# ================================================================= accounts: reading


def _account_scope(session: Session, actor: Actor, filters: AccountFilters) -> Select[Any]:
    """The filtered `select(Account)` the actor may see, without ordering or paging."""
    require_console(actor)
    query = select(Account)
    if filters.kind == "citizen":
        _require_platform_admin(actor, "查询个人账号")
        if len(filters.q) < 2:
            raise Invalid.on("q", "查询个人账号请输入至少 2 个字的姓名或用户名")
        if filters.department_id is not None or filters.role:
            raise Invalid.on("kind", "个人账号没有所属部门和角色，请去掉部门和角色条件")
    query = query.where(Account.kind == filters.kind)
    if filters.kind == "staff" and not actor.is_platform_admin:
        query = query.where(
            Account.department_id.in_(
                select(OrgUnit.id).where(_within(OrgUnit.path, _admin_paths(session, actor)))
            )
        )
    if filters.department_id is not None:
        unit = session.get(OrgUnit, filters.department_id)
        if unit is None:
            raise Invalid.on("department_id", "部门不存在")
        require_admin_of(session, actor, unit.id)
        query = query.where(
            Account.department_id.in_(select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path)))
        )
    if filters.role:
        if filters.role not in BUILTIN_ROLES:
            raise Invalid.on("role", "角色不存在")
        query = query.where(
            Account.id.in_(select(StaffRole.account_id).where(StaffRole.role_code == filters.role))
        )
    if filters.active is not None:
        query = query.where(Account.is_active.is_(filters.active))
    if filters.locked is not None:
        now = clock.now()
        locked = and_(Account.locked_until.is_not(None), Account.locked_until > now)
        query = query.where(locked if filters.locked else ~locked)
    if filters.q:
        q = filters.q
        if filters.kind == "citizen":
            # Citizens are looked up, never browsed: by their exact name, or by at least the first
            # CITIZEN_ID_PREFIX characters of their username (their citizen ID).
            by_name = Account.display_name == q
            if len(q) >= CITIZEN_ID_PREFIX:
                query = query.where(or_(by_name, Account.username.startswith(q.upper(), autoescape=True)))
            else:
                query = query.where(by_name)
        else:
            query = query.where(
                or_(
                    Account.username.icontains(q, autoescape=True),
                    Account.display_name.icontains(q, autoescape=True),
                    Account.title.icontains(q, autoescape=True),
                    Account.citizen_id == q.upper(),
                )
            )
    return query


def _ordered(query: Select[Any], sort: str) -> Select[Any]:
    key = sort.lstrip("-")
    if key not in ACCOUNT_SORTS:
        raise Invalid.on("sort", "不支持的排序方式")
    desc = sort.startswith("-")
    if key == "department":
        query = query.outerjoin(OrgUnit, OrgUnit.id == Account.department_id)
        column: Any = OrgUnit.code
    else:
        column = getattr(Account, key)
    if key == "last_login_at":
        # NULL (never logged in) last in both directions, the same on SQLite and PostgreSQL.
        query = query.order_by(column.is_(None))
    return query.order_by(column.desc() if desc else column.asc(), Account.id.desc() if desc else Account.id)


def _search_purpose(filters: AccountFilters) -> str:
    terms = [f"类型={filters.kind}"]
    if filters.q:
        terms.append(f"关键字={filters.q}")
    if filters.department_id is not None:
        terms.append(f"部门={filters.department_id}")
    if filters.role:
        terms.append(f"角色={filters.role}")
    if filters.active is not None:
        terms.append(f"状态={'在用' if filters.active else '停用'}")
    if filters.locked is not None:
        terms.append(f"锁定={'是' if filters.locked else '否'}")
    return "账号管理查询：" + "，".join(terms)


def _shown_username(account: Account) -> str:
    """A citizen's username is their citizen ID: shown masked like the ID itself."""
    if account.citizen_id and account.username.upper() == account.citizen_id.upper():
        return mask_citizen_id(account.username)
    return account.username


def _rows(session: Session, accounts: list[Account]) -> list[AccountRow]:
    """Read models for a page of accounts: two more queries (departments, roles), whatever the size."""
    if not accounts:
        return []
    ids = [a.id for a in accounts]
    dept_ids = {a.department_id for a in accounts if a.department_id is not None}
    dept_names = (
        {i: n for i, n in session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(dept_ids)))}
        if dept_ids
        else {}
    )
    roles: dict[int, list[str]] = defaultdict(list)
    for account_id, code in session.execute(
        select(StaffRole.account_id, StaffRole.role_code)
        .where(StaffRole.account_id.in_(ids))
        .order_by(StaffRole.account_id, StaffRole.role_code)
    ):
        if code not in roles[account_id]:
            roles[account_id].append(code)
    now = clock.now()
    return [
        AccountRow(
            id=a.id,
            username=_shown_username(a),
            kind=a.kind,
            kind_label=ACCOUNT_KIND_LABELS.get(a.kind, a.kind),
            display_name=a.display_name,
            citizen_id_masked=mask_citizen_id(a.citizen_id) if a.citizen_id else "",
            department_id=a.department_id,
            department_name=dept_names.get(a.department_id, "") if a.department_id else "",
            title=a.title,
            roles=roles.get(a.id, []),
            role_names=[role_name(c) for c in roles.get(a.id, [])],
            is_active=a.is_active,
            is_locked=a.locked_until is not None and a.locked_until > now,
            created_at=a.created_at,
            last_login_at=a.last_login_at,
        )
        for a in accounts
    ]


def account_filters(
    *,
    q: str = "",
    kind: str = "staff",
    department_id: int | None = None,
    role: str | None = None,
    active: bool | None = None,
    locked: bool | None = None,
    sort: str = "username",
) -> AccountFilters:
    if kind not in ("staff", "citizen"):
        raise Invalid.on("kind", "账号类型只能是 staff 或 citizen")
    return AccountFilters(
        q=(q or "").strip()[:64],
        kind=kind,  # type: ignore[arg-type]
        department_id=department_id,
        role=role or None,
        active=active,
        locked=locked,
        sort=sort or "username",
    )


def list_accounts(
    session: Session,
    actor: Actor,
    *,
    q: str = "",
    kind: str = "staff",
    department_id: int | None = None,
    role: str | None = None,
    active: bool | None = None,
    locked: bool | None = None,
    sort: str = "username",
    offset: int = 0,
    limit: int = 50,
) -> AccountList:
    """A page of accounts the actor administers, filtered and sorted. Audited as a personal-data access
    with the search terms as purpose. A fixed number of queries whatever the page size."""
    filters = account_filters(
        q=q, kind=kind, department_id=department_id, role=role, active=active, locked=locked, sort=sort
    )
    if offset < 0:
        raise Invalid.on("offset", "offset 不能为负数")
    if not 1 <= limit <= 500:
        raise Invalid.on("limit", "每页条数应在 1 到 500 之间")
    scoped = _account_scope(session, actor, filters)
    total = session.scalar(select(func.count()).select_from(scoped.subquery())) or 0
    accounts = list(session.scalars(_ordered(scoped, filters.sort).offset(offset).limit(limit)))
    items = _rows(session, accounts)
    purpose = _search_purpose(filters)
    audit.append(
        session,
        actor,
        "identity.account.list",
        object_type="account",
        purpose=purpose,
        detail={"filters": filters.model_dump(mode="json"), "total": total, "ids": [a.id for a in items]},
    )
    if filters.kind == "citizen" and accounts:
        # Citizens found by a search each get a record under their own ID, so "who used my data"
        # shows them the look-up (one batch insert, whatever the page size).
        audit.append_many(
            session,
            actor,
            [
                audit.AuditEntry(
                    "identity.account.search_hit",
                    object_type="account",
                    object_id=str(a.id),
                    subject=a.citizen_id or "",
                    purpose=purpose,
                )
                for a in accounts
            ],
        )
    return AccountList(total=total, offset=offset, limit=limit, filters=filters, items=items)


def export_accounts(session: Session, actor: Actor, filters: AccountFilters) -> list[AccountRow]:
    """Every account matching `filters` (up to EXPORT_MAX_ROWS), for the CSV export; audited."""
    scoped = _account_scope(session, actor, filters)
    accounts = list(session.scalars(_ordered(scoped, filters.sort).limit(EXPORT_MAX_ROWS)))
    rows = _rows(session, accounts)
    audit.append(
        session,
        actor,
        "identity.account.export",
        object_type="account",
        purpose=_search_purpose(filters).replace("查询", "导出"),
        detail={"filters": filters.model_dump(mode="json"), "rows": len(rows)},
    )
    return rows


def _detail(session: Session, account: Account) -> AccountDetail:
    now = clock.now()
    dept_name = ""
    dept_path: list[str] = []
    if account.department_id is not None:
        dept = get_org_unit(session, account.department_id)
        dept_name = dept.name
        dept_path = [u.name for u in ancestors(session, dept)]
    grants = session.execute(
        select(StaffRole, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == StaffRole.org_unit_id)
        .where(StaffRole.account_id == account.id)
        .order_by(StaffRole.granted_at, StaffRole.id)
    ).all()
    sessions = session.scalar(
        select(func.count(WebSession.id)).where(
            WebSession.account_id == account.id, WebSession.revoked_at.is_(None), WebSession.expires_at > now
        )
    )
    phone = account.phone or ""
    return AccountDetail(
        id=account.id,
        username=_shown_username(account),
        kind=account.kind,
        kind_label=ACCOUNT_KIND_LABELS.get(account.kind, account.kind),
        display_name=account.display_name,
        citizen_id_masked=mask_citizen_id(account.citizen_id) if account.citizen_id else "",
        phone_masked=(phone[:3] + "****" + phone[-4:]) if len(phone) >= 11 else ("*" * len(phone)),
        email=account.email,
        department_id=account.department_id,
        department_name=dept_name,
        department_path=dept_path,
        title=account.title,
        is_active=account.is_active,
        is_locked=account.locked_until is not None and account.locked_until > now,
        locked_until=account.locked_until,
        failed_logins=account.failed_logins,
        totp_enabled=account.totp_enabled,
        created_at=account.created_at,
        last_login_at=account.last_login_at,
        active_sessions=sessions or 0,
        roles=[
            RoleGrantRead(
                id=g.id,
                role_code=g.role_code,
                role_name=role_name(g.role_code),
                org_unit_id=g.org_unit_id,
                org_unit_name=unit_name,
                granted_at=g.granted_at,
                granted_by=g.granted_by,
            )
            for g, unit_name in grants
        ],
    )


def get_account_detail(session: Session, actor: Actor, account_id: int) -> AccountDetail:
    """One account with its roles; audited as a personal-data access."""
    require_console(actor)
    account = get_account(session, account_id)
    _require_account_admin(session, actor, account, change=False)
    audit.append(
        session,
        actor,
        "identity.account.view",
        object_type="account",
        object_id=str(account.id),
        subject=account.citizen_id or "",
        purpose="账号管理：查看账号详情",
    )
    return _detail(session, account)


# ================================================================= accounts: changing


def _temporary_password() -> str:
    """12 characters from four classes, without look-alikes (0/O, 1/l/I): readable over the phone."""
    upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    lower = "abcdefghijkmnpqrstuvwxyz"
    digits = "23456789"
    symbols = "@#%+=?"
    chars = [secrets.choice(upper), secrets.choice(lower), secrets.choice(digits), secrets.choice(symbols)]
    pool = upper + lower + digits
    chars += [secrets.choice(pool) for _ in range(8)]
    secrets.SystemRandom().shuffle(chars)
    password = "".join(chars)
    check_password_policy(password)
    return password


def create_staff(session: Session, actor: Actor, data: StaffAccountCreate) -> StaffAccountCreated:
    """A staff account in a department the actor administers, with its first roles. Without a
    password, a temporary one is generated and returned (once)."""
    require_console(actor)
    unit = session.get(OrgUnit, data.department_id)
    if unit is None:
        raise Invalid.on("department_id", "所属部门不存在")
    require_admin_of(session, actor, unit.id)
    if not unit.is_active:
        raise Invalid.on("department_id", "所属部门已停用")
    errors = []
    for i, grant in enumerate(data.roles):
        if grant.role_code not in BUILTIN_ROLES:
            errors.append((f"roles.{i}.role_code", "角色不存在"))
    if errors:
        raise Invalid(detail="角色不存在", errors=[FieldError(f, m) for f, m in errors])
    if data.username and find_account(session, data.username) is not None:
        message = f"用户名 {data.username} 已存在"
        raise Conflict(detail=message, errors=[FieldError("username", message)])
    temporary = None
    password = data.password or ""
    if not password:
        temporary = password = _temporary_password()
    account = create_staff_account(
        session,
        actor,
        username=data.username,
        display_name=data.display_name,
        citizen_id=data.citizen_id,
        department_id=unit.id,
        password=password,
        title=data.title,
        phone=data.phone or None,
        roles=[(g.role_code, g.org_unit_id) for g in data.roles],
    )
    return StaffAccountCreated(account=_detail(session, account), temporary_password=temporary)


def _revoke_credentials(session: Session, account_id: int) -> tuple[int, int]:
    """End every browser session, bearer token and half-finished login of an account."""
    now = clock.now()
    sessions = session.execute(
        update(WebSession)
        .where(WebSession.account_id == account_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    tokens = session.execute(
        update(AccessToken)
        .where(AccessToken.account_id == account_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    session.execute(delete(PendingLogin).where(PendingLogin.account_id == account_id))
    return sessions or 0, tokens or 0


def set_account_active(
    session: Session, actor: Actor, account_id: int, active: bool, *, reason: str = ""
) -> AccountStatusChange:
    """Deactivate (停用) or reactivate an account. Deactivation ends its sessions and tokens at once."""
    require_console(actor)
    account = get_account(session, account_id)
    _require_account_admin(session, actor, account, change=True)
    if not active and account.id == actor.account_id:
        raise Forbidden(detail="不能停用自己的账号")
    reason = (reason or "").strip()[:200]
    sessions = tokens = 0
    if account.is_active != active:
        account.is_active = active
        session.flush()
        if not active:
            sessions, tokens = _revoke_credentials(session, account.id)
        audit.append(
            session,
            actor,
            "identity.account.activate" if active else "identity.account.deactivate",
            object_type="account",
            object_id=str(account.id),
            subject=account.citizen_id or "",
            purpose=reason,
            detail={"username": account.username, "sessions_revoked": sessions, "tokens_revoked": tokens},
        )
    account = get_account(session, account_id)
    return AccountStatusChange(
        account=_detail(session, account), sessions_revoked=sessions, tokens_revoked=tokens
    )


def unlock_account(session: Session, actor: Actor, account_id: int) -> AccountDetail:
    """Lift a lock-out after too many wrong passwords (clears the lock and the failure count)."""
    require_console(actor)
    account = get_account(session, account_id)
    _require_account_admin(session, actor, account, change=True)
    was_locked = account.locked_until is not None and account.locked_until > clock.now()
    account.locked_until = None
    account.failed_logins = 0
    session.flush()
    audit.append(
        session,
        actor,
        "identity.account.unlock",
        object_type="account",
        object_id=str(account.id),
        subject=account.citizen_id or "",
        detail={"username": account.username, "was_locked": was_locked},
    )
    return _detail(session, account)


def reset_password(session: Session, actor: Actor, account_id: int) -> TemporaryPassword:
    """Set a generated temporary password, returned this once (only its Argon2id hash is kept).
    The account is unlocked and every session and token it had is ended."""
    require_console(actor)
    account = get_account(session, account_id)
    _require_account_admin(session, actor, account, change=True)
    if account.id == actor.account_id:
        raise Forbidden(detail="不能在管理后台重置自己的密码，请在个人中心修改")
    temporary = _temporary_password()
    account.password_hash = hash_password(temporary)
    account.locked_until = None
    account.failed_logins = 0
    session.flush()
    account_db_id, username, subject = account.id, account.username, account.citizen_id or ""
    sessions, tokens = _revoke_credentials(session, account_db_id)
    audit.append(
        session,
        actor,
        "identity.account.reset_password",
        object_type="account",
        object_id=str(account_db_id),
        subject=subject,
        detail={"username": username, "sessions_revoked": sessions, "tokens_revoked": tokens},
    )
    return TemporaryPassword(
        account_id=account_db_id, temporary_password=temporary, sessions_revoked=sessions
    )


def grant_account_role(
    session: Session, actor: Actor, account_id: int, data: RoleGrantCreate
) -> RoleGrantRead:
    """Grant a built-in role valid in `org_unit_id`'s subtree (through `accounts.grant_role`)."""
    require_console(actor)
    if data.role_code not in BUILTIN_ROLES:
        raise Invalid.on("role_code", "角色不存在")
    unit = session.get(OrgUnit, data.org_unit_id)
    if unit is None:
        raise Invalid.on("org_unit_id", "机构不存在")
    account = get_account(session, account_id)
    _require_account_admin(session, actor, account, change=True)
    if not unit.is_active:
        raise Invalid.on("org_unit_id", "机构已停用，不能在其中授予角色")
    if not account.is_active:
        raise Invalid.on("account_id", "账号已停用，请先启用再授予角色")
    grant = grant_role(session, actor, account.id, data.role_code, unit.id)
    return RoleGrantRead(
        id=grant.id,
        role_code=grant.role_code,
        role_name=role_name(grant.role_code),
        org_unit_id=grant.org_unit_id,
        org_unit_name=unit.name,
        granted_at=grant.granted_at,
        granted_by=grant.granted_by,
    )


def revoke_account_role(session: Session, actor: Actor, account_id: int, grant_id: int) -> None:
    """Revoke one role grant of the account (through `accounts.revoke_role`)."""
    require_console(actor)
    grant = session.get(StaffRole, grant_id)
    if grant is None or grant.account_id != account_id:
        raise NotFound(detail="该账号没有这项角色授权")
    account = get_account(session, account_id)
    _require_account_admin(session, actor, account, change=True)
    revoke_role(session, actor, grant_id)


# ================================================================= roles


def list_roles(session: Session, actor: Actor, *, holders_per_role: int = 200) -> list[RoleRead]:
    """The built-in roles with their Chinese names and who holds them (within the actor's scope)."""
    require_console(actor)
    query = (
        select(StaffRole, Account.username, Account.display_name, Account.is_active, OrgUnit.name)
        .join(Account, Account.id == StaffRole.account_id)
        .join(OrgUnit, OrgUnit.id == StaffRole.org_unit_id)
        .order_by(StaffRole.role_code, OrgUnit.path, Account.username)
    )
    if not actor.is_platform_admin:
        query = query.where(_within(OrgUnit.path, _admin_paths(session, actor)))
    holders: dict[str, list[RoleHolder]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for grant, username, display_name, is_active, unit_name in session.execute(query):
        counts[grant.role_code] += 1
        if len(holders[grant.role_code]) < holders_per_role:
            holders[grant.role_code].append(
                RoleHolder(
                    grant_id=grant.id,
                    account_id=grant.account_id,
                    username=username,
                    display_name=display_name,
                    org_unit_id=grant.org_unit_id,
                    org_unit_name=unit_name,
                    is_active=is_active,
                )
            )
    return [
        RoleRead(
            code=code,
            name=name,
            description=description,
            builtin=True,
            holders_count=counts.get(code, 0),
            holders=holders.get(code, []),
        )
        for code, (name, description) in BUILTIN_ROLES.items()
    ]


def grantable_roles(actor: Actor) -> list[tuple[str, str]]:
    """(code, name) of the roles the actor may grant: 平台管理员 only by a platform admin."""
    return [
        (code, name)
        for code, (name, _d) in BUILTIN_ROLES.items()
        if code != "platform_admin" or actor.is_platform_admin
    ]


# ================================================================= OIDC clients: read models


def client_reads(session: Session, clients: list[OidcClient]) -> list[ClientRead]:
    """Read models for clients from the OIDC service, with their owners' names (one query)."""
    unit_ids = {c.owner_unit_id for c in clients}
    names = (
        {i: n for i, n in session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(unit_ids)))}
        if unit_ids
        else {}
    )
    return [
        ClientRead(
            id=c.id,
            client_id=c.client_id,
            name=c.name,
            owner_unit_id=c.owner_unit_id,
            owner_unit_name=names.get(c.owner_unit_id, ""),
            redirect_uris=list(c.redirect_uris or []),
            post_logout_redirect_uris=list(c.post_logout_redirect_uris or []),
            grant_types=list(c.grant_types or []),
            allowed_scopes=c.allowed_scopes,
            is_confidential=c.is_confidential,
            is_active=c.is_active,
            created_at=c.created_at,
        )
        for c in clients
    ]
