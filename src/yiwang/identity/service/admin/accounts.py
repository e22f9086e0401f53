"""Reading accounts in the console: filters, the paged list, the CSV export and one account's detail.

Every list, export and detail view is an access to personal data (PIPL) and appends an audit record
whose `purpose` names the search terms. Citizens are looked up, never browsed, by platform admins only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.errors import Invalid
from yiwang.core.ids import mask_citizen_id
from yiwang.core.security import Actor
from yiwang.identity.admin_schemas import (
    ACCOUNT_SORTS,
    AccountDetail,
    AccountFilters,
    AccountList,
    AccountRow,
    RoleGrantRead,
)
from yiwang.identity.models import Account, OrgUnit, StaffRole, WebSession
from yiwang.identity.service.accounts import KIND_LABELS as ACCOUNT_KIND_LABELS
from yiwang.identity.service.accounts import require_admin_of
from yiwang.identity.service.admin.common import (
    _admin_paths,
    _administered_account,
    _require_platform_admin,
    _unit_names,
    _within,
    require_console,
)
from yiwang.identity.service.org import ancestors, get_org_unit
from yiwang.identity.service.roles import BUILTIN_ROLES, role_name

EXPORT_MAX_ROWS = 50_000
# A citizen ID prefix this long (area and birth date) names a handful of people, not a district.
CITIZEN_ID_PREFIX = 10


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
    # In Chinese: the purpose is read on the auditor's page.
    terms = [f"类型={ACCOUNT_KIND_LABELS.get(filters.kind, '全部') if filters.kind else '全部'}"]
    if filters.q:
        terms.append(f"关键字={filters.q}")
    if filters.department_id is not None:
        terms.append(f"部门={filters.department_id}")
    if filters.role:
        terms.append(f"角色={role_name(filters.role)}")
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


def _is_locked(account: Account, now: datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


def _grant_read(grant: StaffRole, unit_name: str) -> RoleGrantRead:
    return RoleGrantRead(
        id=grant.id,
        role_code=grant.role_code,
        role_name=role_name(grant.role_code),
        org_unit_id=grant.org_unit_id,
        org_unit_name=unit_name,
        granted_at=grant.granted_at,
        granted_by=grant.granted_by,
    )


def _rows(session: Session, accounts: list[Account]) -> list[AccountRow]:
    """Read models for a page of accounts: two more queries (departments, roles), whatever the size."""
    if not accounts:
        return []
    ids = [a.id for a in accounts]
    dept_ids = {a.department_id for a in accounts if a.department_id is not None}
    dept_names = _unit_names(session, dept_ids)
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
            is_locked=_is_locked(a, now),
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
        is_locked=_is_locked(account, now),
        locked_until=account.locked_until,
        failed_logins=account.failed_logins,
        totp_enabled=account.totp_enabled,
        created_at=account.created_at,
        last_login_at=account.last_login_at,
        active_sessions=sessions or 0,
        roles=[_grant_read(g, unit_name) for g, unit_name in grants],
    )


def get_account_detail(session: Session, actor: Actor, account_id: int) -> AccountDetail:
    """One account with its roles; audited as a personal-data access."""
    account = _administered_account(session, actor, account_id, change=False)
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
