"""Pages of the administrator's console under `/admin` (Jinja2; every form works without JavaScript).

The same service calls as the REST API (`service/admin/`, the OIDC client service), with the same
route class, so a refused page action is recorded in the audit chain exactly like a refused API call.
Every POST checks the CSRF token first. Anonymous visitors are sent to the login page (the app turns
401 into a redirect); staff without an admin role get the 403 page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from yiwang.core.deps import ActorDep, SessionDep, audit_action
from yiwang.core.errors import FieldError, Invalid, Problem, from_validation_errors
from yiwang.core.security import Actor
from yiwang.identity import admin_schemas as s
from yiwang.identity.service import accounts as account_service
from yiwang.identity.service import admin
from yiwang.identity.service import oidc as clients
from yiwang.identity.service.org import KIND_LABELS
from yiwang.identity.service.roles import BUILTIN_ROLES
from yiwang.web import render, require_csrf

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZES = (20, 50, 100)
GRANT_TYPES = [
    ("authorization_code", "授权码（单点登录，含 PKCE）"),
    ("refresh_token", "刷新令牌"),
    ("client_credentials", "客户端凭据（系统间调用）"),
]
# Flash messages after a redirect (POST → 303 → GET): a fixed vocabulary, never text from the URL.
DONE = {
    "unit-created": "机构已创建。",
    "unit-updated": "机构信息已保存。",
    "unit-deactivated": "机构已停用。",
    "unit-activated": "机构已启用。",
    "deactivated": "账号已停用，其全部会话和访问令牌已失效。",
    "activated": "账号已启用。",
    "unlocked": "账号已解除锁定。",
    "granted": "角色已授予。",
    "revoked": "角色已撤销。",
    "client-updated": "接入系统信息已保存。",
    "client-deactivated": "接入系统已停用，其令牌不再有效。",
    "client-pre-consented": "已设为免确认：用户登录该系统时不再询问。",
    "client-consent-asked": "已恢复为登录时请用户确认。",
}


# ================================================================= helpers


def _render(
    request: Request,
    actor: Actor,
    template: str,
    title: str,
    *,
    status_code: int = 200,
    no_store: bool = False,
    **ctx: Any,
) -> HTMLResponse:
    """A console page (`identity/admin/<template>`) in the kit's layout (pages are never cached)."""
    return render(
        request,
        f"identity/admin/{template}",
        title,
        status_code=status_code,
        done=DONE,
        wide=True,
        actor=actor,
        **ctx,
    )


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """Build an input schema from form fields; its errors become one `Invalid` with Chinese messages."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_errors(list(exc.errors())) from None


def _int_or_none(value: str | None, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid.on(field, "请选择列表中的一项") from None


def _bool_or_none(value: str | None) -> bool | None:
    return {"true": True, "1": True, "false": False, "0": False}.get((value or "").strip().lower())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _unit_options(units: list[s.OrgUnitRead]) -> list[dict[str, Any]]:
    """Units for a <select>, indented by depth so the tree shows in a flat list."""
    if not units:
        return []
    base = min(u.level for u in units)
    return [
        {"value": u.id, "label": "　" * (u.level - base) + f"{u.name} · {u.kind_label}", "kind": u.kind}
        for u in units
    ]


# ================================================================= dashboard


@router.get("", response_class=HTMLResponse)
@audit_action("identity.admin.overview")
def dashboard(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    data = admin.overview(session, actor)
    return _render(request, actor, "dashboard.html", "管理后台", overview=data)


# ================================================================= organisation


def _org_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    form: dict[str, Any] | None = None,
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    tree = admin.org_tree(session, actor)
    units = admin.administrable_units(session, actor)
    highlight = _int_or_none(request.query_params.get("unit"), "unit") if form is None else None
    parent = request.query_params.get("parent_id", "")
    kinds = [(k, label) for k, label in KIND_LABELS.items() if actor.is_platform_admin or k != "province"]
    return _render(
        request,
        actor,
        "org.html",
        "组织机构",
        status_code=status_code,
        tree=tree,
        unit_options=_unit_options(units),
        kinds=kinds,
        open_ids=_open_ids(tree, highlight),
        highlight=highlight,
        form=form or {"parent_id": parent, "kind": "unit", "sort": "0"},
        errors=errors,
    )


def _open_ids(tree: s.OrgTree, highlight: int | None) -> set[int]:
    """Nodes shown expanded: the first two levels, and the way down to a highlighted unit."""
    opened: set[int] = set()

    def walk(nodes: list[s.OrgNode], depth: int, trail: list[int]) -> bool:
        found = False
        for n in nodes:
            if depth < 2:
                opened.add(n.id)
            if n.id == highlight or walk(n.children, depth + 1, [*trail, n.id]):
                opened.update([*trail, n.id])
                found = True
        return found

    walk(tree.roots, 0, [])
    return opened


@router.get("/org", response_class=HTMLResponse)
@audit_action("identity.org.list")
def org_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _org_page(request, session, actor)


@router.post("/org", response_class=HTMLResponse)
@audit_action("identity.org.create")
def org_create(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
    parent_id: str = Form(""),
    kind: str = Form(""),
    code: str = Form(""),
    name: str = Form(""),
    short_name: str = Form(""),
    region_code: str = Form(""),
    sort: str = Form("0"),
) -> Response:
    require_csrf(request, csrf_token)
    form = {
        "parent_id": parent_id,
        "kind": kind,
        "code": code,
        "name": name,
        "short_name": short_name,
        "region_code": region_code,
        "sort": sort,
    }
    try:
        data = _parse(
            s.OrgUnitCreate,
            {
                **form,
                "parent_id": _int_or_none(parent_id, "parent_id"),
                "sort": sort.strip() or "0",
                "kind": kind or None,
            },
        )
        if not data.name:
            raise Invalid.on("name", "名称不能为空")
        unit = admin.create_org_unit(session, actor, data)
    except Problem as problem:
        if problem.status in (403, 401):
            raise
        session.rollback()
        return _org_page(request, session, actor, form=form, errors=problem, status_code=problem.status)
    return _redirect(f"/admin/org?done=unit-created&unit={unit.id}#unit-{unit.id}")


@router.get("/org/{unit_id}", response_class=HTMLResponse)
@audit_action("identity.org.view")
def org_unit_page(request: Request, unit_id: int, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    unit = admin.get_org_unit_read(session, actor, unit_id)
    return _render(request, actor, "org_unit.html", unit.name, unit=unit, form=unit.model_dump())


@router.post("/org/{unit_id}", response_class=HTMLResponse)
@audit_action("identity.org.update")
def org_unit_update(
    request: Request,
    unit_id: int,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
    name: str = Form(""),
    short_name: str = Form(""),
    sort: str = Form("0"),
) -> Response:
    require_csrf(request, csrf_token)
    form = {"name": name, "short_name": short_name, "sort": sort}
    try:
        data = _parse(s.OrgUnitUpdate, {**form, "sort": sort.strip() or "0"})
        admin.update_org_unit(session, actor, unit_id, data)
    except Problem as problem:
        if problem.status in (403, 401, 404):
            raise
        session.rollback()
        unit = admin.get_org_unit_read(session, actor, unit_id)
        return _render(
            request, actor, "org_unit.html", unit.name, unit=unit, form=form, errors=problem,
            status_code=problem.status,
        )  # fmt: skip
    return _redirect(f"/admin/org/{unit_id}?done=unit-updated")


@router.post("/org/{unit_id}/status", response_class=HTMLResponse)
@audit_action("identity.org.update")
def org_unit_status(
    request: Request,
    unit_id: int,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
    active: str = Form(""),
) -> Response:
    require_csrf(request, csrf_token)
    want = _bool_or_none(active)
    try:
        if want is None:
            raise Invalid.on("active", "请选择启用或停用")
        admin.update_org_unit(session, actor, unit_id, s.OrgUnitUpdate(is_active=want))
    except Problem as problem:
        if problem.status in (403, 401, 404):
            raise
        session.rollback()
        unit = admin.get_org_unit_read(session, actor, unit_id)
        return _render(
            request, actor, "org_unit.html", unit.name, unit=unit, form=unit.model_dump(), errors=problem,
            status_code=problem.status,
        )  # fmt: skip
    return _redirect(f"/admin/org/{unit_id}?done={'unit-activated' if want else 'unit-deactivated'}")


# ================================================================= accounts


@router.get("/accounts", response_class=HTMLResponse)
@audit_action("identity.account.list")
def accounts_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    q: str = Query("", max_length=64),
    kind: str = Query("staff"),
    department_id: str = Query(""),
    role: str = Query(""),
    active: str = Query(""),
    locked: str = Query(""),
    sort: str = Query("username", max_length=20),
    page_: str = Query("1", alias="page", max_length=8),
    size_: str = Query("50", alias="size", max_length=8),
) -> HTMLResponse:
    admin.require_console(actor)
    # Hand-edited or stale links fall back to the defaults instead of failing the page.
    size = int(size_) if size_.isdigit() and int(size_) in PAGE_SIZES else 50
    page = max(1, int(page_)) if page_.isdigit() else 1
    form = {
        "q": q,
        "kind": kind if kind in ("staff", "citizen") else "staff",
        "department_id": department_id,
        "role": role,
        "active": active,
        "locked": locked,
        "sort": sort,
        "size": size,
    }
    errors: Problem | None = None
    result: s.AccountList | None = None
    prompt = ""
    if form["kind"] == "citizen" and not q.strip() and actor.is_platform_admin:
        # Citizens are found by a search, never browsed: ask for the search term first.
        prompt = "请输入个人用户的姓名或用户名（身份证号码）进行查询。每次查询都会写入审计链。"
    try:
        if not prompt:
            result = admin.list_accounts(
                session,
                actor,
                q=q,
                kind=form["kind"],
                department_id=_int_or_none(department_id, "department_id"),
                role=role or None,
                active=_bool_or_none(active),
                locked=_bool_or_none(locked),
                sort=sort,
                offset=(page - 1) * size,
                limit=size,
            )
    except Invalid as problem:
        errors = problem
    query = {k: v for k, v in form.items() if v not in ("", None) and not (k == "size" and v == 50)}
    if query.get("kind") == "staff":
        query.pop("kind")
    if query.get("sort") == "username":
        query.pop("sort")
    pages = max(1, -(-result.total // size)) if result else 1
    return _render(
        request,
        actor,
        "accounts.html",
        "个人账号" if form["kind"] == "citizen" else "工作人员账号",
        result=result,
        form=form,
        errors=errors,
        notices=[{"kind": "info", "text": prompt}] if prompt else [],
        status_code=errors.status if errors else 200,
        query=query,
        page=page,
        pages=pages,
        page_sizes=[(n, f"{n} 条") for n in PAGE_SIZES],
        roles=[(code, name) for code, (name, _d) in BUILTIN_ROLES.items()],
        unit_options=_unit_options(admin.administrable_units(session, actor)),
        export_href=_export_href(query),
        urlencode=urlencode,
    )


def _export_href(query: dict[str, Any]) -> str:
    """The CSV export of the list as filtered and sorted (every row, not just this page)."""
    params = {k: v for k, v in query.items() if k not in ("size", "page")}
    return "/api/v1/admin/accounts.csv" + (f"?{urlencode(params)}" if params else "")


def _new_account_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    form: dict[str, Any],
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _render(
        request,
        actor,
        "account_new.html",
        "新建工作人员账号",
        status_code=status_code,
        form=form,
        errors=errors,
        unit_options=_unit_options(admin.administrable_units(session, actor)),
        roles=admin.grantable_roles(actor),
    )


@router.get("/accounts/new", response_class=HTMLResponse)
@audit_action("identity.staff.create")
def account_new_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    admin.require_console(actor)
    form = {"department_id": request.query_params.get("department_id", ""), "roles": []}
    return _new_account_page(request, session, actor, form=form)


@router.post("/accounts/new", response_class=HTMLResponse)
@audit_action("identity.staff.create")
def account_create(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
    username: str = Form(""),
    display_name: str = Form(""),
    citizen_id: str = Form(""),
    department_id: str = Form(""),
    title: str = Form(""),
    phone: str = Form(""),
    password: str = Form(""),
    roles: list[str] = Form([]),
) -> Response:
    require_csrf(request, csrf_token)
    form = {
        "username": username,
        "display_name": display_name,
        "citizen_id": citizen_id,
        "department_id": department_id,
        "title": title,
        "phone": phone,
        "roles": roles,
    }
    try:
        dept = _int_or_none(department_id, "department_id")
        if dept is None:
            raise Invalid.on("department_id", "请选择所属部门")
        errors = [
            (field, message)
            for field, message, blank in (
                ("username", "请填写用户名", not username.strip()),
                ("display_name", "请填写姓名", not display_name.strip()),
            )
            if blank
        ]
        if errors:
            raise Invalid(detail=errors[0][1], errors=[FieldError(f, m) for f, m in errors])
        data = _parse(
            s.StaffAccountCreate,
            {
                **{k: v for k, v in form.items() if k != "roles"},
                "department_id": dept,
                "password": password or None,
                "phone": phone or None,
                "roles": [{"role_code": r, "org_unit_id": dept} for r in roles if r],
            },
        )
        created = admin.create_staff_account(session, actor, data)
    except Problem as problem:
        if problem.status in (403, 401):
            raise
        session.rollback()
        return _new_account_page(
            request, session, actor, form=form, errors=problem, status_code=problem.status
        )
    return _render(
        request,
        actor,
        "secret_once.html",
        "账号已创建",
        no_store=True,
        heading="工作人员账号已创建",
        subject=f"{created.account.display_name}（{created.account.username}）",
        secret_label="临时密码",
        secret=created.temporary_password,
        warning="临时密码只显示这一次。请复制后通过安全渠道交给本人，并提醒其登录后立即修改密码。",
        next_href=f"/admin/accounts/{created.account.id}",
        next_label="查看账号",
    )


def _account_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    account_id: int,
    *,
    grant_form: dict[str, Any] | None = None,
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    account = admin.get_account_detail(session, actor, account_id)
    return _render(
        request,
        actor,
        "account_detail.html",
        account.display_name,
        status_code=status_code,
        account=account,
        roles=admin.grantable_roles(actor),
        unit_options=_unit_options(admin.administrable_units(session, actor)),
        grant_form=grant_form or {"org_unit_id": account.department_id or ""},
        errors=errors,
    )


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
@audit_action("identity.account.view")
def account_page(request: Request, account_id: int, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _account_page(request, session, actor, account_id)


@router.post("/accounts/{account_id}/deactivate", response_class=HTMLResponse)
@audit_action("identity.account.deactivate")
def account_deactivate(
    request: Request,
    account_id: int,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
    reason: str = Form(""),
) -> Response:
    require_csrf(request, csrf_token)
    admin.set_account_active(session, actor, account_id, False, reason=reason)
    return _redirect(f"/admin/accounts/{account_id}?done=deactivated")


@router.post("/accounts/{account_id}/activate", response_class=HTMLResponse)
@audit_action("identity.account.activate")
def account_activate(
    request: Request, account_id: int, session: SessionDep, actor: ActorDep, csrf_token: str = Form("")
) -> Response:
    require_csrf(request, csrf_token)
    admin.set_account_active(session, actor, account_id, True)
    return _redirect(f"/admin/accounts/{account_id}?done=activated")


@router.post("/accounts/{account_id}/unlock", response_class=HTMLResponse)
@audit_action("identity.account.unlock")
def account_unlock(
    request: Request, account_id: int, session: SessionDep, actor: ActorDep, csrf_token: str = Form("")
) -> Response:
    require_csrf(request, csrf_token)
    admin.unlock_account(session, actor, account_id)
    return _redirect(f"/admin/accounts/{account_id}?done=unlocked")


@router.post("/accounts/{account_id}/reset-password", response_class=HTMLResponse)
@audit_action("identity.account.reset_password")
def account_reset_password(
    request: Request, account_id: int, session: SessionDep, actor: ActorDep, csrf_token: str = Form("")
) -> Response:
    require_csrf(request, csrf_token)
    result = admin.reset_password(session, actor, account_id)
    account = admin.get_account_detail(session, actor, account_id)
    return _render(
        request,
        actor,
        "secret_once.html",
        "密码已重置",
        no_store=True,
        heading="密码已重置",
        subject=f"{account.display_name}（{account.username}）",
        secret_label="临时密码",
        secret=result.temporary_password,
        warning=result.note,
        extra_note=f"该账号原有的 {result.sessions_revoked} 个登录会话已全部结束。",
        next_href=f"/admin/accounts/{account_id}",
        next_label="返回账号",
    )


@router.post("/accounts/{account_id}/roles", response_class=HTMLResponse)
@audit_action("identity.role.grant")
def account_grant_role(
    request: Request,
    account_id: int,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
    role_code: str = Form(""),
    org_unit_id: str = Form(""),
) -> Response:
    require_csrf(request, csrf_token)
    form = {"role_code": role_code, "org_unit_id": org_unit_id}
    try:
        if not role_code:
            raise Invalid.on("role_code", "请选择角色")
        unit = _int_or_none(org_unit_id, "org_unit_id")
        if unit is None:
            raise Invalid.on("org_unit_id", "请选择角色的有效范围")
        account_service.grant_role(session, actor, account_id, role_code, unit)
    except Problem as problem:
        if problem.status in (403, 401, 404):
            raise
        session.rollback()
        return _account_page(
            request, session, actor, account_id, grant_form=form, errors=problem, status_code=problem.status
        )
    return _redirect(f"/admin/accounts/{account_id}?done=granted#roles")


@router.post("/accounts/{account_id}/roles/{grant_id}/revoke", response_class=HTMLResponse)
@audit_action("identity.role.revoke")
def account_revoke_role(
    request: Request,
    account_id: int,
    grant_id: int,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
) -> Response:
    require_csrf(request, csrf_token)
    admin.revoke_account_role(session, actor, account_id, grant_id)
    return _redirect(f"/admin/accounts/{account_id}?done=revoked#roles")


# ================================================================= roles


@router.get("/roles", response_class=HTMLResponse)
@audit_action("identity.role.list")
def roles_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    roles = admin.list_roles(session, actor)
    return _render(request, actor, "roles.html", "角色", roles=roles)


# ================================================================= OIDC clients (A5)


def _client_form_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    form: dict[str, Any],
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _render(
        request,
        actor,
        "client_new.html",
        "登记接入系统",
        status_code=status_code,
        form=form,
        errors=_list_field_errors(errors),
        unit_options=_unit_options(admin.administrable_units(session, actor)),
        grant_types=GRANT_TYPES,
    )


def _list_field_errors(errors: Any) -> Any:
    """`redirect_uris.2` → `redirect_uris`: the form has one text area per list, so the error summary
    links to it (the message says which line)."""
    if not isinstance(errors, Problem) or not errors.errors:
        return errors
    fixed = []
    for e in errors.errors:
        name, _, index = e.field.partition(".")
        if name in ("redirect_uris", "post_logout_redirect_uris") and index.isdigit():
            fixed.append(FieldError(name, f"第 {int(index) + 1} 行：{e.message}"))
        else:
            fixed.append(e)
    return Invalid(detail=errors.detail, errors=fixed, status=errors.status)


@router.get("/clients", response_class=HTMLResponse)
@audit_action("identity.client.list")
def clients_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    items = admin.client_reads(session, clients.list_clients(session, actor))
    return _render(request, actor, "clients.html", "接入系统", clients=items, grant_labels=dict(GRANT_TYPES))


@router.get("/clients/new", response_class=HTMLResponse)
@audit_action("identity.client.register")
def client_new_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    admin.require_console(actor)
    form = {
        "grant_types": ["authorization_code"],
        "allowed_scopes": "openid profile",
        "is_confidential": "true",
    }
    return _client_form_page(request, session, actor, form=form)


@router.post("/clients/new", response_class=HTMLResponse)
@audit_action("identity.client.register")
def client_register(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
    name: str = Form(""),
    owner_unit_id: str = Form(""),
    redirect_uris: str = Form(""),
    post_logout_redirect_uris: str = Form(""),
    grant_types: list[str] = Form([]),
    allowed_scopes: str = Form(""),
    is_confidential: str = Form("true"),
) -> Response:
    require_csrf(request, csrf_token)
    form = {
        "name": name,
        "owner_unit_id": owner_unit_id,
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": post_logout_redirect_uris,
        "grant_types": grant_types,
        "allowed_scopes": allowed_scopes,
        "is_confidential": is_confidential,
    }
    try:
        owner = _int_or_none(owner_unit_id, "owner_unit_id")
        if owner is None:
            raise Invalid.on("owner_unit_id", "请选择所属单位")
        data = _parse(
            s.ClientCreate,
            {
                "name": name,
                "owner_unit_id": owner,
                "redirect_uris": _lines(redirect_uris),
                "post_logout_redirect_uris": _lines(post_logout_redirect_uris),
                "grant_types": grant_types,
                "allowed_scopes": allowed_scopes,
                "is_confidential": _bool_or_none(is_confidential) is not False,
            },
        )
        client, secret = clients.register_client(session, actor, **data.model_dump())
        read = admin.client_reads(session, [client])[0]
    except Problem as problem:
        if problem.status in (403, 401):
            raise
        session.rollback()
        return _client_form_page(
            request, session, actor, form=form, errors=problem, status_code=problem.status
        )
    return _render(
        request,
        actor,
        "secret_once.html",
        "接入系统已登记",
        no_store=True,
        heading="接入系统已登记",
        subject=f"{read.name}（client_id：{read.client_id}）",
        secret_label="客户端密钥（client_secret）",
        secret=secret,
        warning="客户端密钥只显示这一次，平台只保存其摘要。请立即复制并交给该系统的管理员妥善保存；遗失后只能重新生成。",
        client_id=read.client_id,
        next_href=f"/admin/clients/{read.client_id}",
        next_label="查看接入系统",
    )


def _client_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    client_id: str,
    *,
    form: dict[str, Any] | None = None,
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    client = admin.client_reads(session, [clients.get_client(session, actor, client_id)])[0]
    return _render(
        request,
        actor,
        "client_detail.html",
        client.name,
        status_code=status_code,
        client=client,
        is_platform_admin=actor.is_platform_admin,
        grant_types=GRANT_TYPES,
        grant_labels=dict(GRANT_TYPES),
        form=form
        or {
            "name": client.name,
            "redirect_uris": "\n".join(client.redirect_uris),
            "post_logout_redirect_uris": "\n".join(client.post_logout_redirect_uris),
            "grant_types": client.grant_types,
            "allowed_scopes": client.allowed_scopes,
        },
        errors=_list_field_errors(errors),
    )


@router.get("/clients/{client_id}", response_class=HTMLResponse)
@audit_action("identity.client.view")
def client_page(request: Request, client_id: str, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _client_page(request, session, actor, client_id)


@router.post("/clients/{client_id}", response_class=HTMLResponse)
@audit_action("identity.client.update")
def client_update(
    request: Request,
    client_id: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: str = Form(""),
    name: str = Form(""),
    redirect_uris: str = Form(""),
    post_logout_redirect_uris: str = Form(""),
    grant_types: list[str] = Form([]),
    allowed_scopes: str = Form(""),
) -> Response:
    require_csrf(request, csrf_token)
    form = {
        "name": name,
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": post_logout_redirect_uris,
        "grant_types": grant_types,
        "allowed_scopes": allowed_scopes,
    }
    try:
        data = _parse(
            s.ClientUpdate,
            {
                "name": name,
                "redirect_uris": _lines(redirect_uris),
                "post_logout_redirect_uris": _lines(post_logout_redirect_uris),
                "grant_types": grant_types,
                "allowed_scopes": allowed_scopes,
            },
        )
        clients.update_client(session, actor, client_id, **data.model_dump())
    except Problem as problem:
        if problem.status in (403, 401, 404):
            raise
        session.rollback()
        return _client_page(
            request, session, actor, client_id, form=form, errors=problem, status_code=problem.status
        )
    return _redirect(f"/admin/clients/{client_id}?done=client-updated")


@router.post("/clients/{client_id}/rotate-secret", response_class=HTMLResponse)
@audit_action("identity.client.rotate_secret")
def client_rotate_secret(
    request: Request, client_id: str, session: SessionDep, actor: ActorDep, csrf_token: str = Form("")
) -> Response:
    require_csrf(request, csrf_token)
    secret = clients.rotate_client_secret(session, actor, client_id)
    client = admin.client_reads(session, [clients.get_client(session, actor, client_id)])[0]
    return _render(
        request,
        actor,
        "secret_once.html",
        "客户端密钥已重新生成",
        no_store=True,
        heading="客户端密钥已重新生成",
        subject=f"{client.name}（client_id：{client.client_id}）",
        secret_label="新的客户端密钥（client_secret）",
        secret=secret,
        warning="新密钥只显示这一次，旧密钥已立即失效。请马上复制并更新到该系统的配置中。",
        client_id=client.client_id,
        next_href=f"/admin/clients/{client.client_id}",
        next_label="返回接入系统",
    )


@router.post("/clients/{client_id}/pre-consent", response_class=HTMLResponse)
@audit_action("identity.client.pre_consent")
def client_pre_consent(
    request: Request,
    client_id: str,
    session: SessionDep,
    actor: ActorDep,
    pre_consented: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    require_csrf(request, csrf_token)
    on = pre_consented == "1"
    clients.set_client_pre_consent(session, actor, client_id, on)
    return _redirect(
        f"/admin/clients/{client_id}?done={'client-pre-consented' if on else 'client-consent-asked'}"
    )


@router.post("/clients/{client_id}/deactivate", response_class=HTMLResponse)
@audit_action("identity.client.deactivate")
def client_deactivate(
    request: Request, client_id: str, session: SessionDep, actor: ActorDep, csrf_token: str = Form("")
) -> Response:
    require_csrf(request, csrf_token)
    clients.deactivate_client(session, actor, client_id)
    return _redirect(f"/admin/clients/{client_id}?done=client-deactivated")
