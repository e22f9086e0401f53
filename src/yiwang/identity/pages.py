"""统一身份认证 pages: login (个人 / 法人 / 工作人员), second factor, registration, home, 个人中心,
enterprise identity and its agents. Same service calls as the API (DESIGN §3 rule 2).

CSRF — the contract for every module's pages
--------------------------------------------
Every POST form carries a hidden ``csrf_token`` field (``base.html`` gets the value as ``csrf_token``
through ``page_context``; htmx requests send it as the ``X-CSRF-Token`` header). The handler calls
``require_csrf(request, csrf_token)`` before doing anything, *after* the actor is resolved (declare
``ActorDep`` in the route's parameters): with a browser session the token must equal the session's
``csrf_token``; without one (a form shown to an anonymous visitor) it must match the signed
double-submit cookie that ``render``/``csrf_token`` set when the form was shown. On mismatch it
raises ``Forbidden`` (slug ``csrf``, 403), which the app shows as the error page.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Match

from yiwang import registry
from yiwang.core.crypto import hmac_sm3
from yiwang.core.db import Database
from yiwang.core.deps import ActorDep, DatabaseDep, SessionDep, client_ip
from yiwang.core.errors import FieldError, Forbidden, Invalid, Locked, Problem, Unauthenticated
from yiwang.core.security import ANONYMOUS, Actor, ActorKind, require_authenticated
from yiwang.identity.schemas import end_of_local_day
from yiwang.identity.service import accounts, auth, enterprise
from yiwang.identity.service.tokens import new_secret
from yiwang.settings import get_settings
from yiwang.web import page_context, safe_next, templates

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "yiwang_csrf"
PENDING_COOKIE = "yiwang_pending_login"
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")

__all__ = ["csrf_token", "render", "require_csrf", "router"]


# ---- CSRF ----------------------------------------------------------------------------------------


class CsrfFailed(Forbidden):
    default_slug = "csrf"
    default_title = "页面已过期"


def _csrf_key() -> bytes:
    return hmac_sm3(get_settings().resolved_master_key(), b"yiwang/identity/form-csrf/v1")


def _sign(nonce: str) -> str:
    return hmac_sm3(_csrf_key(), nonce.encode()).hex()


def _anonymous_token(request: Request) -> str:
    """The double-submit token for a visitor without a session: HMAC of a random cookie value."""
    nonce = getattr(request.state, "csrf_nonce", None) or request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not _NONCE.fullmatch(nonce):
        nonce = new_secret(24)
        request.state.csrf_nonce_new = True
    request.state.csrf_nonce = nonce
    return _sign(nonce)


def _anonymous_ok(request: Request, token: str) -> bool:
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(token and _NONCE.fullmatch(nonce) and hmac.compare_digest(token, _sign(nonce)))


def csrf_token(request: Request) -> str:
    """The token to put in this page's forms: the session's, else the anonymous double-submit one
    (whose cookie `render` — or `set_csrf_cookie` — sets on the response)."""
    token = getattr(request.state, "csrf_token", None)
    if token and getattr(request.state, "web_session", None) is not None:
        return token
    token = _anonymous_token(request)
    request.state.csrf_token = token
    return token


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Set the anonymous CSRF cookie if `csrf_token` had to make a new one for this page."""
    if getattr(request.state, "csrf_nonce_new", False):
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            request.state.csrf_nonce,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
            path="/",
        )


def require_csrf(request: Request, form_token: str | None) -> None:
    """Refuse a POST that did not come from one of our own forms (see the module docstring).

    `form_token` is the submitted `csrf_token` field; when empty, the `X-CSRF-Token` header is used."""
    if not hasattr(request.state, "actor"):
        raise RuntimeError("require_csrf: resolve the actor first (add ActorDep to the route)")
    token = (form_token or request.headers.get("x-csrf-token") or "").strip()
    ws = getattr(request.state, "web_session", None)
    if ws is not None:
        ok = bool(token) and hmac.compare_digest(token, ws.csrf_token)
    else:
        ok = _anonymous_ok(request, token)
    if not ok:
        raise CsrfFailed(detail="页面已过期或不是从本站提交的。请返回上一页，刷新后重新提交。")


def _secure(request: Request) -> bool:
    return get_settings().secure_cookies or request.url.scheme == "https"


# ---- rendering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    current: bool = False


DONE_MESSAGES = {
    "logged-out": "您已安全退出。",
    "registered": "注册成功，已为您登录。",
    "session-revoked": "已退出该会话。",
    "password-changed": "密码已修改。其他设备上的登录已全部退出。",
    "totp-enabled": "双因素认证已开启。以后登录时，输入密码后还需输入手机上的动态验证码。",
    "totp-disabled": "双因素认证已关闭。",
    "acting-self": "已切换为以个人身份办事。",
    "acting-enterprise": "已切换为代表企业办事。",
    "agent-authorised": "授权成功。被授权人下次登录时即可选择代表本企业办事。",
    "agent-revoked": "已撤销该授权。",
}

# Staff workbenches by role: each shows on the home page only once its route exists, so nobody is
# offered a page that is not there yet. Modules add their workbench here when they ship it.
WORKBENCHES: list[tuple[frozenset[str], str, str, str]] = [
    (
        frozenset({"platform_admin", "dept_admin"}),
        "/admin",
        "管理控制台",
        "组织机构、工作人员账号、角色和接入系统",
    ),
    (frozenset({"auditor", "platform_admin"}), "/audit", "审计链", "审计链状态、按需核验和审计记录查询"),
    (frozenset({"window_clerk"}), "/window", "综合窗口", "代办理、受理事项并发放结果"),
    (frozenset({"approver"}), "/workbench/tasks", "审批待办", "按紧急程度和期限处理审批任务"),
    (frozenset({"data_officer"}), "/catalog/manage", "数据资源目录", "维护本部门目录，审核共享申请"),
    (frozenset({"platform_admin"}), "/catalog/review", "目录审核", "审核各部门提交的目录"),
    (
        frozenset({"data_officer", "platform_admin"}),
        "/exchange",
        "共享交换",
        "共享申请审核、授权、调用统计和数据使用异议",
    ),
    (
        frozenset({"data_officer", "platform_admin"}),
        "/governance",
        "数据治理",
        "装载数据、质量报告、一数一源冲突和分级",
    ),
    (
        frozenset({"window_clerk", "approver", "data_officer", "leader", "dept_admin", "platform_admin"}),
        "/catalog",
        "资源目录查询",
        "查找全市政务信息资源及其共享条件",
    ),
    (frozenset({"dispatcher", "handler"}), "/hotline/workbench", "12345 诉求办理", "受理、派单和办理诉求"),
    (frozenset({"grid_worker"}), "/grid/my", "我的网格", "上报和处置网格事件"),
    (frozenset({"leader"}), "/cockpit", "领导驾驶舱", "实时指标、预警和督办"),
]


def _route_exists(request: Request, path: str) -> bool:
    """True when a GET of `path` reaches a route of this app (so a link to it does not 404)."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    for route in request.app.router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return True
    return False


def _data_use_url(request: Request, actor: Actor) -> str | None:
    """A person's (or their enterprise's) own data-use log, once the exchange serves it."""
    if actor.kind not in (ActorKind.CITIZEN, ActorKind.ENTERPRISE):
        return None
    return "/me/data-use" if _route_exists(request, "/me/data-use") else None


def workbenches_for(request: Request, actor: Actor) -> list[dict[str, str]]:
    seen: set[str] = set()
    out = []
    for roles, href, label, description in WORKBENCHES:
        if actor.has_role(*roles) and href not in seen and _route_exists(request, href):
            seen.add(href)
            out.append({"href": href, "label": label, "description": description})
    return out


def _is_legal_rep(request: Request, actor: Actor) -> bool:
    """Whether an enterprise login is the enterprise's legal representative: only they manage its
    agents, so only they are shown the link (an agent would meet a refusal behind it)."""
    if not actor.on_behalf_of:
        return False
    with request.app.state.db.session() as s:
        lp = registry.find_legal_person(s, actor.on_behalf_of)
        return lp is not None and lp.legal_rep_citizen_id == actor.subject_id


def _nav(request: Request, actor: Actor) -> list[NavItem]:
    if not actor.is_authenticated or actor.account_id is None:
        return []
    path = request.url.path
    items = [
        NavItem("/", "首页", path == "/"),
        NavItem("/me", "个人中心", path.startswith("/me") and path != "/me/enterprise/agents"),
    ]
    if actor.kind is ActorKind.ENTERPRISE and _is_legal_rep(request, actor):
        items.append(NavItem("/me/enterprise/agents", "企业授权", path == "/me/enterprise/agents"))
    for bench in workbenches_for(request, actor):
        items.append(NavItem(bench["href"], bench["label"], path == bench["href"]))
    return items


def render(request: Request, name: str, *, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """Render an identity page (or any page with forms): fills the CSRF token (setting the anonymous
    cookie when needed), the navigation for the signed-in actor, and `done` notices."""
    actor: Actor = getattr(request.state, "actor", ANONYMOUS)
    token = csrf_token(request)
    notices = list(ctx.pop("notices", []))
    done = DONE_MESSAGES.get(request.query_params.get("done", ""))
    if done:
        notices.insert(0, {"kind": "success", "text": done})
    context = page_context(request, csrf_token=token, nav=_nav(request, actor), notices=notices, **ctx)
    response = templates().TemplateResponse(request, name, context, status_code=status_code)
    set_csrf_cookie(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        get_settings().session_cookie, token, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )


def _page_errors(problem: Problem, default_field: str = "") -> list[FieldError]:
    """A service's refusal as error-summary entries (the field ones link to their input)."""
    if problem.errors:
        return list(problem.errors)
    return [FieldError(default_field, problem.detail or problem.title)]


# ---- login ---------------------------------------------------------------------------------------

LOGIN_TABS = {
    "citizen": "个人",
    "enterprise": "法人",
    "staff": "工作人员",
}


def _login_page(
    request: Request,
    *,
    login_as: str,
    next_url: str,
    form: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
    signed_in_as: str = "",
) -> HTMLResponse:
    tabs = [
        {
            "key": key,
            "label": label,
            "href": "/login?" + urlencode({"as": key, **({"next": next_url} if next_url != "/" else {})}),
            "current": key == login_as,
        }
        for key, label in LOGIN_TABS.items()
    ]
    return render(
        request,
        "identity/login.html",
        login_csrf=_anonymous_token(request),
        status_code=status_code,
        page_title="登录",
        login_as=login_as,
        tabs=tabs,
        next_url=next_url,
        form=form or {},
        errors=errors,
        signed_in_as=signed_in_as,
        can_register=_route_exists(request, "/register"),
        max_failures=get_settings().login_max_failures,
        lock_minutes=get_settings().login_lock_minutes,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    actor: ActorDep,
    next_: Annotated[str, Query(alias="next")] = "/",
    as_: Annotated[str, Query(alias="as")] = "citizen",
) -> HTMLResponse:
    login_as = as_ if as_ in LOGIN_TABS else "citizen"
    signed_in_as = actor.label() if actor.is_authenticated else ""
    return _login_page(request, login_as=login_as, next_url=safe_next(next_), signed_in_as=signed_in_as)


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    database: DatabaseDep,
    login_as: Annotated[str, Form()] = "citizen",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    on_behalf_of: Annotated[str, Form(max_length=32)] = "",
    next_: Annotated[str, Form(alias="next")] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    # No ActorDep here: login opens its own transactions (failures must be counted even when the
    # request ends in a refusal), and an open request transaction could hold SQLite's write lock.
    login_as = login_as if login_as in LOGIN_TABS else "citizen"
    next_url = safe_next(next_)
    on_behalf_of = on_behalf_of.strip() if login_as == "enterprise" else ""
    form = {"username": username.strip(), "on_behalf_of": on_behalf_of}

    def again(errors: list[FieldError], status_code: int) -> HTMLResponse:
        return _login_page(
            request, login_as=login_as, next_url=next_url, form=form, errors=errors, status_code=status_code
        )

    if not _anonymous_ok(request, csrf_token):
        return again([FieldError("", "页面已过期，请重新输入密码后再登录。")], 403)
    errors = []
    if login_as == "enterprise" and not on_behalf_of:
        errors.append(FieldError("on_behalf_of", "请输入企业的统一社会信用代码"))
    if not username.strip():
        errors.append(
            FieldError("username", "请输入" + ("工作账号" if login_as == "staff" else "身份证号码或用户名"))
        )
    if not password:
        errors.append(FieldError("password", "请输入密码"))
    if errors:
        return again(errors, 422)
    ip = client_ip(request)
    try:
        result = auth.begin_login(
            database,
            username=username,
            password=password,
            on_behalf_of=on_behalf_of or None,
            next_url=next_url,
            ip=ip,
            user_agent=request.headers.get("user-agent"),
        )
    except Problem as problem:
        field = "" if isinstance(problem, Locked) else "username"
        return again(_page_errors(problem, field), problem.status)
    if result.pending_token:
        response = _redirect("/login/otp")
        response.set_cookie(
            PENDING_COOKIE,
            result.pending_token,
            max_age=int(auth.PENDING_LOGIN_TTL.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=_secure(request),
            path="/login",
        )
        return response
    return _signed_in(request, database, result, next_url)


def _signed_in(request: Request, database: Database, result: auth.LoginResult, next_url: str) -> Response:
    old = request.cookies.get(get_settings().session_cookie, "")
    if old:
        with database.session() as s:
            auth.end_web_session(s, old, client_ip(request))
    response = _redirect(next_url)
    _set_session_cookie(request, response, result.session_token or "")
    response.delete_cookie(PENDING_COOKIE, path="/login")
    return response


@router.get("/login/otp", response_class=HTMLResponse)
def otp_form(request: Request) -> Response:
    if not request.cookies.get(PENDING_COOKIE):
        return _redirect("/login")
    return render(
        request, "identity/login_otp.html", page_title="输入动态验证码", login_csrf=_anonymous_token(request)
    )


@router.post("/login/otp", response_class=HTMLResponse)
def otp_submit(
    request: Request,
    database: DatabaseDep,
    otp: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    pending = request.cookies.get(PENDING_COOKIE, "")
    if not pending:
        return _redirect("/login")

    def again(errors: list[FieldError], status_code: int, expired: bool = False) -> HTMLResponse:
        return render(
            request,
            "identity/login_otp.html",
            status_code=status_code,
            page_title="输入动态验证码",
            login_csrf=_anonymous_token(request),
            errors=errors,
            expired=expired,
        )

    if not _anonymous_ok(request, csrf_token):
        return again([FieldError("", "页面已过期，请重新输入动态验证码。")], 403)
    code = otp.strip().replace(" ", "")
    if not code:
        return again([FieldError("otp", "请输入动态验证码")], 422)
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return again([FieldError("otp", "动态验证码是 6 位数字")], 422)
    next_url = safe_next(auth.pending_login_next(database, pending))
    try:
        result = auth.complete_second_factor(
            database,
            pending_token=pending,
            code=code,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except Locked as problem:
        return again(_page_errors(problem), problem.status, expired=True)
    except Unauthenticated as problem:
        expired = "超时" in problem.detail
        return again(_page_errors(problem, "" if expired else "otp"), problem.status, expired=expired)
    return _signed_in(request, database, result, next_url)


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if actor.is_authenticated:
        require_csrf(request, csrf_token)
        auth.logout(session, actor)
    response = _redirect("/?done=logged-out")
    response.delete_cookie(get_settings().session_cookie, path="/")
    return response


# ---- registration --------------------------------------------------------------------------------


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request, actor: ActorDep) -> HTMLResponse:
    return render(
        request,
        "identity/register.html",
        page_title="实名注册",
        form={},
        signed_in=actor.is_authenticated,
        login_csrf=_anonymous_token(request),
    )


@router.post("/register", response_class=HTMLResponse)
def register_submit(
    request: Request,
    database: DatabaseDep,
    name: Annotated[str, Form(max_length=64)] = "",
    citizen_id: Annotated[str, Form(max_length=32)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    password_confirm: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    # The new account is committed before the login that follows, in its own transaction.
    form = {"name": name.strip(), "citizen_id": citizen_id.strip(), "phone": phone.strip()}

    def again(errors: list[FieldError], status_code: int) -> HTMLResponse:
        return render(
            request,
            "identity/register.html",
            status_code=status_code,
            page_title="实名注册",
            login_csrf=_anonymous_token(request),
            form=form,
            errors=errors,
        )

    if not _anonymous_ok(request, csrf_token):
        return again([FieldError("", "页面已过期，请重新输入密码后提交。")], 403)
    errors = []
    if not name.strip():
        errors.append(FieldError("name", "请输入姓名"))
    if not citizen_id.strip():
        errors.append(FieldError("citizen_id", "请输入身份证号码"))
    if not password:
        errors.append(FieldError("password", "请设置密码"))
    elif password != password_confirm:
        errors.append(FieldError("password_confirm", "两次输入的密码不一致"))
    if errors:
        return again(errors, 422)
    ip = client_ip(request)
    try:
        with database.session() as s:
            account = accounts.register_citizen(
                s,
                ANONYMOUS.with_request(ip),
                citizen_id=citizen_id,
                name=name,
                password=password,
                phone=phone,
            )
            username = account.username
    except Problem as problem:
        return again(_page_errors(problem, "citizen_id"), problem.status)
    result = auth.begin_login(
        database, username=username, password=password, ip=ip, user_agent=request.headers.get("user-agent")
    )
    return _signed_in(request, database, result, "/?done=registered")


# ---- home ----------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    if not actor.is_authenticated or actor.account_id is None:
        return render(
            request,
            "identity/home_public.html",
            page_title="首页",
            can_register=_route_exists(request, "/register"),
            has_oidc=_route_exists(request, "/.well-known/openid-configuration"),
        )
    profile = accounts.my_profile(session, actor)
    enterprises = enterprise.my_enterprises(session, actor)
    return render(
        request,
        "identity/home.html",
        page_title="首页",
        profile=profile,
        enterprises=enterprises,
        workbenches=workbenches_for(request, actor) if actor.kind is ActorKind.STAFF else [],
        sessions_count=len(auth.list_sessions(session, actor)),
        data_use_url=_data_use_url(request, actor),
    )


# ---- 个人中心 ------------------------------------------------------------------------------------


def _device(ua: str | None) -> str:
    """A person-readable name for a User-Agent string: 'Chrome 浏览器，Android'."""
    ua = ua or ""
    if not ua:
        return "未知设备"
    browser = next(
        (
            name
            for key, name in (
                ("MicroMessenger", "微信"),
                ("Edg/", "Edge"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
                ("python-httpx", "程序接口"),
                ("testclient", "测试客户端"),
            )
            if key in ua
        ),
        "浏览器",
    )
    system = next(
        (
            name
            for key, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS", "macOS"),
                ("HarmonyOS", "鸿蒙"),
                ("Linux", "Linux"),
            )
            if key in ua
        ),
        "",
    )
    return f"{browser}（{system}）" if system else browser


def _sessions_view(session: Any, actor: Actor) -> list[dict[str, Any]]:
    return [
        {
            "id": ws.id[:16],
            "current": ws.id == actor.session_id,
            "created_at": ws.created_at,
            "last_seen_at": ws.last_seen_at,
            "ip": ws.ip or "",
            "device": _device(ws.user_agent),
            "methods": "密码 + 动态验证码" if ws.auth_methods == "pwd+otp" else "密码",
        }
        for ws in auth.list_sessions(session, actor)
    ]


@router.get("/me", response_class=HTMLResponse)
def me(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    profile = accounts.my_profile(session, actor)
    return render(
        request,
        "identity/me.html",
        page_title="个人中心",
        profile=profile,
        enterprises=enterprise.my_enterprises(session, actor),
        sessions=_sessions_view(session, actor),
        data_use_url=_data_use_url(request, actor),
    )


@router.post("/me/sessions/{session_id}/revoke")
def revoke_session(
    request: Request,
    session_id: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_authenticated(actor)
    require_csrf(request, csrf_token)
    auth.revoke_session(session, actor, session_id)
    if actor.session_id and actor.session_id.startswith(session_id):
        response = _redirect("/?done=logged-out")
        response.delete_cookie(get_settings().session_cookie, path="/")
        return response
    return _redirect("/me?done=session-revoked#sessions")


@router.post("/me/act-as")
def act_as(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    credit_code: Annotated[str, Form(max_length=32)] = "",
    next_: Annotated[str, Form(alias="next")] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_authenticated(actor)
    require_csrf(request, csrf_token)
    code = credit_code.strip().upper() or None
    auth.switch_enterprise(session, actor, code)
    target = safe_next(next_)
    sep = "&" if "?" in target else "?"
    return _redirect(f"{target}{sep}done={'acting-enterprise' if code else 'acting-self'}")


# ---- password ------------------------------------------------------------------------------------


@router.get("/me/password", response_class=HTMLResponse)
def password_form(request: Request, actor: ActorDep) -> HTMLResponse:
    require_authenticated(actor)
    return render(request, "identity/password.html", page_title="修改密码")


@router.post("/me/password", response_class=HTMLResponse)
def password_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    old_password: Annotated[str, Form(max_length=128)] = "",
    new_password: Annotated[str, Form(max_length=128)] = "",
    new_password_confirm: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_authenticated(actor)
    require_csrf(request, csrf_token)
    errors = []
    if not old_password:
        errors.append(FieldError("old_password", "请输入当前密码"))
    if not new_password:
        errors.append(FieldError("new_password", "请输入新密码"))
    elif new_password != new_password_confirm:
        errors.append(FieldError("new_password_confirm", "两次输入的新密码不一致"))
    try:
        if errors:
            raise Invalid(errors=errors)
        auth.change_password(session, actor, old_password, new_password)
    except Problem as problem:
        session.rollback()
        return render(
            request,
            "identity/password.html",
            status_code=problem.status,
            page_title="修改密码",
            errors=_page_errors(problem, "old_password"),
        )
    return _redirect("/me?done=password-changed")


# ---- second factor -------------------------------------------------------------------------------


def _totp_page(
    request: Request,
    session: Any,
    actor: Actor,
    *,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    profile = accounts.my_profile(session, actor)
    enrolment = None if profile.totp_enabled else auth.current_totp_enrolment(session, actor)
    secret_groups = (
        " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4)) if enrolment else ""
    )
    return render(
        request,
        "identity/totp.html",
        status_code=status_code,
        page_title="双因素认证",
        profile=profile,
        enrolment=enrolment,
        secret_groups=secret_groups,
        errors=errors,
    )


@router.get("/me/totp", response_class=HTMLResponse)
def totp_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    require_authenticated(actor)
    return _totp_page(request, session, actor)


@router.post("/me/totp")
def totp_begin(
    request: Request, session: SessionDep, actor: ActorDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    require_authenticated(actor)
    require_csrf(request, csrf_token)
    auth.begin_totp(session, actor)
    return _redirect("/me/totp#confirm")


@router.post("/me/totp/confirm", response_class=HTMLResponse)
def totp_confirm(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    otp: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_authenticated(actor)
    require_csrf(request, csrf_token)
    if not otp.strip():
        return _totp_page(
            request,
            session,
            actor,
            errors=[FieldError("otp", "请输入手机上显示的 6 位动态验证码")],
            status_code=422,
        )
    try:
        auth.confirm_totp(session, actor, otp)
    except Problem as problem:
        return _totp_page(
            request, session, actor, errors=_page_errors(problem, "otp"), status_code=problem.status
        )
    return _redirect("/me?done=totp-enabled")


@router.post("/me/totp/disable", response_class=HTMLResponse)
def totp_disable(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    password: Annotated[str, Form(max_length=128)] = "",
    otp: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_authenticated(actor)
    require_csrf(request, csrf_token)
    errors = []
    if not password:
        errors.append(FieldError("password", "请输入密码"))
    if not otp.strip():
        errors.append(FieldError("otp", "请输入动态验证码"))
    try:
        if errors:
            raise Invalid(errors=errors)
        auth.disable_totp(session, actor, password, otp)
    except Problem as problem:
        return _totp_page(
            request, session, actor, errors=_page_errors(problem, "otp"), status_code=problem.status
        )
    return _redirect("/me?done=totp-disabled")


# ---- enterprise agents ---------------------------------------------------------------------------


def _agents_page(
    request: Request,
    session: Any,
    actor: Actor,
    *,
    form: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    require_authenticated(actor)
    if not actor.on_behalf_of:
        raise Forbidden(
            detail="请先在个人中心切换为代表企业办事，再管理企业授权。只有企业的法定代表人可以管理授权。"
        )
    agents = enterprise.agent_views(session, actor, actor.on_behalf_of)
    profile = accounts.my_profile(session, actor)
    return render(
        request,
        "identity/agents.html",
        status_code=status_code,
        page_title="企业授权办事人",
        profile=profile,
        agents=agents,
        form=form or {},
        errors=errors,
    )


@router.get("/me/enterprise/agents", response_class=HTMLResponse)
def agents_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _agents_page(request, session, actor)


@router.post("/me/enterprise/agents", response_class=HTMLResponse)
def agents_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    agent_name: Annotated[str, Form(max_length=64)] = "",
    agent_citizen_id: Annotated[str, Form(max_length=32)] = "",
    valid_until: Annotated[str, Form(max_length=32)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_authenticated(actor)
    require_csrf(request, csrf_token)
    form = {
        "agent_name": agent_name.strip(),
        "agent_citizen_id": agent_citizen_id.strip(),
        "valid_until": valid_until.strip(),
    }
    errors = []
    if not agent_name.strip():
        errors.append(FieldError("agent_name", "请输入被授权人姓名"))
    if not agent_citizen_id.strip():
        errors.append(FieldError("agent_citizen_id", "请输入被授权人身份证号码"))
    until = None
    if not valid_until.strip():
        errors.append(FieldError("valid_until", "请选择授权截止日期"))
    else:
        until = _parse_date(valid_until)
        if until is None:
            errors.append(FieldError("valid_until", "日期格式应为 年-月-日，例如 2027-06-30"))
    try:
        if errors or until is None:
            raise Invalid(errors=errors)
        enterprise.authorise_agent(
            session,
            actor,
            credit_code=actor.on_behalf_of or "",
            agent_citizen_id=agent_citizen_id,
            agent_name=agent_name,
            valid_until=end_of_local_day(until),
        )
    except Problem as problem:
        session.rollback()
        return _agents_page(
            request,
            session,
            actor,
            form=form,
            errors=_page_errors(problem, "agent_citizen_id"),
            status_code=problem.status,
        )
    return _redirect("/me/enterprise/agents?done=agent-authorised")


def _parse_date(text: str) -> date | None:
    m = re.fullmatch(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*", text)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


@router.post("/me/enterprise/agents/{agent_id}/revoke")
def agents_revoke(
    request: Request,
    agent_id: int,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_authenticated(actor)
    require_csrf(request, csrf_token)
    enterprise.revoke_agent(session, actor, agent_id, credit_code=actor.on_behalf_of or "")
    return _redirect("/me/enterprise/agents?done=agent-revoked")
