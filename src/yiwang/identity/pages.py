"""统一身份认证 pages: login (个人 / 法人 / 工作人员), second factor, registration, home, 个人中心,
enterprise identity and its agents. Same service calls as the API (DESIGN §3 rule 2).

CSRF is the kit's (`yiwang.web.csrf`): every state-changing request of a signed-in browser is checked
before its route runs; the forms a visitor without a session posts (login, second factor,
registration) carry the signed double-submit token and call `anonymous_ok` themselves.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.core.db import Database
from yiwang.core.deps import ActorDep, DatabaseDep, SessionDep, client_ip
from yiwang.core.errors import (
    FieldError,
    Forbidden,
    Invalid,
    Locked,
    Problem,
    TooManyRequests,
    Unauthenticated,
)
from yiwang.core.security import Actor, ActorKind, require_authenticated
from yiwang.identity.schemas import end_of_local_day
from yiwang.identity.service import accounts, auth, enterprise, recovery, registration
from yiwang.identity.service import oidc as oidc_svc
from yiwang.settings import get_settings
from yiwang.web import csrf as web_csrf
from yiwang.web import csrf_token, require_csrf, route_exists, safe_next
from yiwang.web import render as web_render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "yiwang_csrf"
PENDING_COOKIE = "yiwang_pending_login"
REGISTRATION_COOKIE = "yiwang_registration"
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")

__all__ = ["csrf_token", "render", "require_csrf", "router"]


# ---- CSRF (the kit's; kept under these names for the pages below) ---------------------------------

_anonymous_token = web_csrf.anonymous_token
_anonymous_ok = web_csrf.anonymous_ok


def _secure(request: Request) -> bool:
    return get_settings().secure_cookies or request.url.scheme == "https"


# ---- rendering -----------------------------------------------------------------------------------


DONE_MESSAGES = {
    "logged-out": "您已安全退出。",
    "registered": "注册成功，已为您登录。",
    "password-set": "新密码已设置，已为您登录。",
    "consent-revoked": "已撤销对该系统的授权，它持有的登录凭证已全部作废。",
    "session-revoked": "已退出该会话。",
    "password-changed": "密码已修改。其他设备上的登录已全部退出。",
    "totp-enabled": "双因素认证已开启。以后登录时，输入密码后还需输入手机上的动态验证码。",
    "totp-disabled": "双因素认证已关闭。",
    "acting-self": "已切换为以个人身份办事。",
    "acting-enterprise": "已切换为代表企业办事。",
    "agent-authorised": "授权成功。被授权人下次登录时即可选择代表本企业办事。",
    "agent-revoked": "已撤销该授权。",
}


def _route_exists(request: Request, path: str) -> bool:
    """True when a GET of `path` reaches a route of this app (so a link to it does not 404)."""
    return route_exists(request.app, path)


def _data_use_url(request: Request, actor: Actor) -> str | None:
    """A person's (or their enterprise's) own data-use log, once the exchange serves it."""
    if actor.kind not in (ActorKind.CITIZEN, ActorKind.ENTERPRISE):
        return None
    return "/me/data-use" if _route_exists(request, "/me/data-use") else None


def render(request: Request, name: str, *, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """Render an identity page in the kit's layout, with the `done` notice of a redirect."""
    title = ctx.pop("page_title", "")
    return web_render(request, name, title, status_code=status_code, done=DONE_MESSAGES, **ctx)


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
    asking_system: dict[str, Any] | None = None,
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
        asking_system=asking_system,
        can_register=_route_exists(request, "/register"),
        max_failures=get_settings().login_max_failures,
        lock_minutes=get_settings().login_lock_minutes,
    )


def _asking_system(database: Database, next_url: str) -> dict[str, Any] | None:
    """The system whose sign-in brought the person here (from /oidc/authorize): its name and whether
    the person will be asked for consent; None otherwise."""
    parts = urlsplit(next_url)
    if parts.path != "/oidc/authorize":
        return None
    client_id = (parse_qs(parts.query).get("client_id") or [""])[0]
    with database.session() as s:
        found = oidc_svc.asking_client(s, client_id)
    return {"name": found[0], "asks_consent": not found[1]} if found else None


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    actor: ActorDep,
    database: DatabaseDep,
    next_: Annotated[str, Query(alias="next")] = "/",
    as_: Annotated[str, Query(alias="as")] = "citizen",
) -> HTMLResponse:
    login_as = as_ if as_ in LOGIN_TABS else "citizen"
    signed_in_as = actor.label() if actor.is_authenticated else ""
    next_url = safe_next(next_)
    return _login_page(
        request,
        login_as=login_as,
        next_url=next_url,
        signed_in_as=signed_in_as,
        asking_system=_asking_system(database, next_url),
    )


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
            request,
            login_as=login_as,
            next_url=next_url,
            form=form,
            errors=errors,
            status_code=status_code,
            asking_system=_asking_system(database, next_url),
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
        field = "" if isinstance(problem, Locked | TooManyRequests) else "username"
        return again(_page_errors(problem, field), problem.status)
    if result.pending_token:
        response = _redirect("/login/otp" if result.stage == "otp" else "/login/password")
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
    recovery_code: Annotated[str, Form(max_length=32)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The second factor: a TOTP code (`otp`), or a recovery code (`recovery_code`, its own form so
    the TOTP field can keep a numeric keyboard on phones)."""
    pending = request.cookies.get(PENDING_COOKIE, "")
    if not pending:
        return _redirect("/login")
    field = "recovery_code" if recovery_code.strip() and not otp.strip() else "otp"

    def again(errors: list[FieldError], status_code: int, expired: bool = False) -> HTMLResponse:
        return render(
            request,
            "identity/login_otp.html",
            status_code=status_code,
            page_title="输入动态验证码",
            login_csrf=_anonymous_token(request),
            errors=errors,
            recovery_errors=errors if field == "recovery_code" else None,
            expired=expired,
        )

    if not _anonymous_ok(request, csrf_token):
        return again([FieldError("", "页面已过期，请重新输入动态验证码。")], 403)
    code = (otp if field == "otp" else recovery_code).strip().replace(" ", "")
    if not code:
        return again([FieldError("otp", "请输入动态验证码")], 422)
    if field == "recovery_code" and not recovery.looks_like_recovery_code(code):
        return again([FieldError("recovery_code", "恢复码是 10 位字母和数字，例如 ab3de-fg7hk")], 422)
    # (A recovery code typed into the TOTP field is accepted too.)
    is_totp = code.isascii() and code.isdigit() and len(code) == 6
    if field == "otp" and not is_totp and not recovery.looks_like_recovery_code(code):
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
    except (Locked, TooManyRequests) as problem:
        return again(_page_errors(problem), problem.status, expired=True)
    except Unauthenticated as problem:
        expired = "超时" in problem.detail
        return again(_page_errors(problem, "" if expired else field), problem.status, expired=expired)
    if result.stage == "password":
        return _redirect("/login/password")
    return _signed_in(request, database, result, next_url)


@router.get("/login/password", response_class=HTMLResponse)
def new_password_form(request: Request, database: DatabaseDep) -> Response:
    """After an administrator's reset: the person chooses their own password before any session."""
    pending = request.cookies.get(PENDING_COOKIE, "")
    if auth.pending_login_stage(database, pending) != "password":
        return _redirect("/login")
    return render(
        request, "identity/login_password.html", page_title="设置新密码", login_csrf=_anonymous_token(request)
    )


@router.post("/login/password", response_class=HTMLResponse)
def new_password_submit(
    request: Request,
    database: DatabaseDep,
    new_password: Annotated[str, Form(max_length=128)] = "",
    new_password_confirm: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    pending = request.cookies.get(PENDING_COOKIE, "")
    if not pending:
        return _redirect("/login")

    def again(errors: list[FieldError], status_code: int, expired: bool = False) -> HTMLResponse:
        return render(
            request,
            "identity/login_password.html",
            status_code=status_code,
            page_title="设置新密码",
            login_csrf=_anonymous_token(request),
            errors=errors,
            expired=expired,
        )

    if not _anonymous_ok(request, csrf_token):
        return again([FieldError("", "页面已过期，请重新输入新密码。")], 403)
    if not new_password:
        return again([FieldError("new_password", "请输入新密码")], 422)
    if new_password != new_password_confirm:
        return again([FieldError("new_password_confirm", "两次输入的新密码不一致")], 422)
    next_url = safe_next(auth.pending_login_next(database, pending))
    try:
        result = auth.complete_password_change(
            database,
            pending_token=pending,
            new_password=new_password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except Unauthenticated as problem:
        return again(_page_errors(problem), problem.status, expired=True)
    except Problem as problem:
        return again(_page_errors(problem, "new_password"), problem.status)
    sep = "&" if "?" in next_url else "?"
    return _signed_in(request, database, result, next_url if next_url != "/" else f"/{sep}done=password-set")


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
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Step 1: name and citizen ID. The answer is the same whether they match the registry or not."""
    form = {"name": name.strip(), "citizen_id": citizen_id.strip()}

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
        return again([FieldError("", "页面已过期，请重新提交。")], 403)
    errors = []
    if not name.strip():
        errors.append(FieldError("name", "请输入姓名"))
    if not citizen_id.strip():
        errors.append(FieldError("citizen_id", "请输入身份证号码"))
    if errors:
        return again(errors, 422)
    try:
        started = registration.start_registration(
            database, citizen_id=citizen_id, name=name, ip=client_ip(request)
        )
    except Problem as problem:
        return again(
            _page_errors(problem, "" if isinstance(problem, TooManyRequests) else "citizen_id"),
            problem.status,
        )
    response = _redirect("/register/verify")
    response.set_cookie(
        REGISTRATION_COOKIE,
        started.token,
        max_age=started.expires_in,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/register",
    )
    return response


def _verify_page(
    request: Request, *, errors: list[FieldError] | None = None, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "identity/register_verify.html",
        status_code=status_code,
        page_title="输入短信验证码",
        login_csrf=_anonymous_token(request),
        sent=registration.CODE_SENT,
        errors=errors,
    )


@router.get("/register/verify", response_class=HTMLResponse)
def register_verify_form(request: Request) -> Response:
    if not request.cookies.get(REGISTRATION_COOKIE):
        return _redirect("/register")
    return _verify_page(request)


@router.post("/register/verify", response_class=HTMLResponse)
def register_verify_submit(
    request: Request,
    database: DatabaseDep,
    code: Annotated[str, Form(max_length=16)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    password_confirm: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Step 2: the code sent to the phone on record, and the password; then the person is signed in."""
    token = request.cookies.get(REGISTRATION_COOKIE, "")
    if not token:
        return _redirect("/register")
    if not _anonymous_ok(request, csrf_token):
        return _verify_page(request, errors=[FieldError("", "页面已过期，请重新提交。")], status_code=403)
    errors = []
    if not code.strip():
        errors.append(FieldError("code", "请输入短信验证码"))
    if not password:
        errors.append(FieldError("password", "请设置密码"))
    elif password != password_confirm:
        errors.append(FieldError("password_confirm", "两次输入的密码不一致"))
    if errors:
        return _verify_page(request, errors=errors, status_code=422)
    ip = client_ip(request)
    try:
        done = registration.confirm_registration(database, token=token, code=code, password=password, ip=ip)
    except Problem as problem:
        return _verify_page(request, errors=_page_errors(problem, "code"), status_code=problem.status)
    result = auth.begin_login(
        database,
        username=done.username,
        password=password,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
    )
    response = _signed_in(request, database, result, "/?done=registered")
    response.delete_cookie(REGISTRATION_COOKIE, path="/register")
    return response


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
        # What each module offers this actor (its nav.py), and the honest word for work not built yet.
        tiles=request.app.state.nav.tiles_for(actor),
        pending=request.app.state.nav.pending_for(actor),
        sessions_count=len(auth.list_sessions(session, actor)),
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
        consents=oidc_svc.list_consents(session, actor),
        recovery_left=recovery.recovery_codes_left(session, actor.account_id or 0),
    )


@router.post("/me/authorised/{client_id}/revoke")
def revoke_consent(
    request: Request,
    client_id: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_authenticated(actor)
    require_csrf(request, csrf_token)
    oidc_svc.revoke_consent(session, actor, client_id)
    return _redirect("/me?done=consent-revoked#authorised")


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
        codes = auth.confirm_totp(session, actor, otp)
    except Problem as problem:
        return _totp_page(
            request, session, actor, errors=_page_errors(problem, "otp"), status_code=problem.status
        )
    if not codes:
        return _redirect("/me?done=totp-enabled")
    return _recovery_page(request, session, actor, codes=codes, just_enabled=True)


def _recovery_page(
    request: Request,
    session: Any,
    actor: Actor,
    *,
    codes: list[str] | None = None,
    just_enabled: bool = False,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "identity/recovery_codes.html",
        status_code=status_code,
        page_title="恢复码",
        profile=accounts.my_profile(session, actor),
        codes=codes or [],
        just_enabled=just_enabled,
        left=recovery.recovery_codes_left(session, actor.account_id or 0),
        errors=errors,
    )


@router.get("/me/recovery-codes", response_class=HTMLResponse)
def recovery_codes_page(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    require_authenticated(actor)
    return _recovery_page(request, session, actor)


@router.post("/me/recovery-codes", response_class=HTMLResponse)
def recovery_codes_regenerate(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    password: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    require_authenticated(actor)
    require_csrf(request, csrf_token)
    if not password:
        return _recovery_page(
            request, session, actor, errors=[FieldError("password", "请输入密码")], status_code=422
        )
    try:
        codes = recovery.regenerate_recovery_codes(session, actor, password)
    except Problem as problem:
        session.rollback()
        return _recovery_page(
            request, session, actor, errors=_page_errors(problem, "password"), status_code=problem.status
        )
    return _recovery_page(request, session, actor, codes=codes)


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
