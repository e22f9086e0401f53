"""OpenID Connect provider endpoints (A2): a thin FastAPI layer over `service/oidc/`.

Parse the request, call the service, shape the protocol response — nothing else. Protocol errors
follow the RFCs (RFC 6749 §4.1.2.1 redirects and §5.2 JSON, RFC 6750 WWW-Authenticate); a client or
redirect URI that cannot be trusted gets a page (or problem+json), never a redirect.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict

from yiwang.core.deps import DatabaseDep, client_ip
from yiwang.core.errors import PROBLEM_MEDIA_TYPE, Problem
from yiwang.identity.service import oidc as svc

router = APIRouter(tags=["OpenID Connect"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _issuer(request: Request) -> str:
    return svc.issuer_url(request.app.state.settings.base_url)


def _cookie(request: Request) -> str | None:
    return request.cookies.get(request.app.state.settings.session_cookie) or None


def _multi(items: ImmutableMultiDict[str, Any] | Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in items.multi_items():
        out.setdefault(key, []).append(value if isinstance(value, str) else "")
    return out


async def _params(request: Request) -> dict[str, list[str]]:
    if request.method == "POST":
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data"):
            return _multi(await request.form())
        return {}
    return _multi(request.query_params)


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/json" not in accept


def _page(request: Request, template: str, status: int = 200, **extra: Any) -> HTMLResponse:
    from yiwang.web import page_context, templates

    return templates().TemplateResponse(
        request, template, page_context(request, **extra), status_code=status, headers=NO_STORE
    )


def _refusal_page(request: Request, problem: Problem) -> Response:
    if not _wants_html(request):
        return JSONResponse(
            problem.as_dict(instance=request.url.path),
            problem.status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers=NO_STORE,
        )
    return _page(
        request, "identity/oidc_error.html", problem.status, problem=problem, page_title=problem.title
    )


def _with_query(uri: str, params: dict[str, str | None]) -> str:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _oauth_json(error: svc.OAuthError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.as_dict(), error.status, headers={**NO_STORE, **(headers or {})})


# ---- discovery -----------------------------------------------------------------------------------


@router.get("/.well-known/openid-configuration", summary="OpenID Connect 发现文档")
def openid_configuration(request: Request) -> JSONResponse:
    return JSONResponse(
        svc.discovery_document(_issuer(request)), headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get(
    "/oidc/jwks",
    summary="ID 令牌签名公钥（JWKS）",
    responses={200: {"content": {"application/jwk-set+json": {"schema": {"type": "object"}}}}},
)
def jwks(database: DatabaseDep) -> JSONResponse:
    with database.session() as s:
        body = svc.jwks(s)
    return JSONResponse(
        body, media_type="application/jwk-set+json", headers={"Cache-Control": "public, max-age=300"}
    )


# ---- authorization endpoint ----------------------------------------------------------------------


def _authorize(request: Request, database: Any, multi: dict[str, list[str]]) -> Response:
    ip = client_ip(request)
    issuer = _issuer(request)
    try:
        req = svc.check_authorization_request(database, multi, ip=ip)
    except svc.UnsafeRedirect as problem:
        return _refusal_page(request, problem)
    except svc.AuthorizeError as error:
        return _error_redirect(error, issuer)
    cookie = _cookie(request)
    ws = svc.browser_session(database, cookie)
    if svc.needs_login(req, ws):
        if "none" in req.prompt:
            return _error_redirect(svc.login_required_error(req, database, ip), issuer)
        # The login page shows its form even to someone signed in, and a new login replaces the old
        # browser session; it then sends the person back here.
        next_url = "/oidc/authorize?" + urlencode(svc.login_return_params(multi))
        return RedirectResponse("/login?" + urlencode({"next": next_url}), status_code=302, headers=NO_STORE)
    if svc.consent_needed(database, req, cookie or ""):
        if "none" in req.prompt:
            return _error_redirect(svc.consent_required_error(req), issuer)
        return _consent_page(request, database, req, multi, cookie or "")
    return _issue_code(request, database, req, multi, cookie or "")


def _consent_page(
    request: Request, database: Any, req: svc.AuthorizationRequest, multi: dict[str, list[str]], cookie: str
) -> Response:
    """Ask the person before anything is released. The form resends the authorization request (without
    prompt=consent, which this page satisfies) to /oidc/consent with the session's CSRF token."""
    ws = svc.browser_session(database, cookie)
    hidden = [(k, v) for k, vs in multi.items() if k != "prompt" for v in vs]
    prompt = " ".join(p for p in (multi.get("prompt") or [""])[0].split() if p not in ("consent", "none"))
    if prompt:
        hidden.append(("prompt", prompt))
    return _page(
        request,
        "identity/oidc_consent.html",
        view=svc.consent_view(database, req, cookie),
        hidden=hidden,
        csrf_token=ws.csrf_token if ws else "",
        page_title="授权确认",
    )


def _issue_code(
    request: Request, database: Any, req: svc.AuthorizationRequest, multi: dict[str, list[str]], cookie: str
) -> Response:
    ip = client_ip(request)
    try:
        code = svc.issue_authorization_code(database, req, cookie or "", ip=ip)
    except Problem as problem:
        if problem.status == 401:  # the session ended a moment ago: sign in again
            next_url = "/oidc/authorize?" + urlencode(svc.login_return_params(multi))
            return RedirectResponse(
                "/login?" + urlencode({"next": next_url}), status_code=302, headers=NO_STORE
            )
        return _refusal_page(request, problem)
    target = _with_query(req.redirect_uri, {"code": code, "state": req.state, "iss": _issuer(request)})
    return RedirectResponse(target, status_code=302, headers=NO_STORE)


def _consent(request: Request, database: Any, multi: dict[str, list[str]]) -> Response:
    """The consent form's answer: agree (optionally remembered) and get the code, or refuse and send
    `access_denied` back to the client. The request is checked again in full, as on /oidc/authorize."""
    ip = client_ip(request)
    issuer = _issuer(request)
    decision = (multi.pop("decision", None) or [""])[0]
    remember = (multi.pop("remember", None) or [""])[0] == "1"
    csrf = (multi.pop("csrf_token", None) or [""])[0]
    try:
        req = svc.check_authorization_request(database, multi, ip=ip)
    except svc.UnsafeRedirect as problem:
        return _refusal_page(request, problem)
    except svc.AuthorizeError as error:
        return _error_redirect(error, issuer)
    cookie = _cookie(request) or ""
    ws = svc.browser_session(database, cookie)
    if ws is None or svc.needs_login(req, ws):
        next_url = "/oidc/authorize?" + urlencode(svc.login_return_params(multi))
        return RedirectResponse("/login?" + urlencode({"next": next_url}), status_code=303, headers=NO_STORE)
    if decision not in ("allow", "deny") or not svc.check_csrf(database, cookie, csrf):
        # A forged or stale form: ask again rather than act on it.
        return _consent_page(request, database, req, multi, cookie)
    try:
        refused = svc.decide_consent(
            database, req, cookie, allow=decision == "allow", remember=remember, ip=ip
        )
    except Problem as problem:
        return _refusal_page(request, problem)
    if refused is not None:
        target = _with_query(
            refused.redirect_uri,
            {
                "error": refused.error,
                "error_description": refused.description,
                "state": refused.state,
                "iss": issuer,
            },
        )
        return RedirectResponse(target, status_code=303, headers=NO_STORE)
    response = _issue_code(request, database, req, multi, cookie)
    response.status_code = 303 if response.status_code == 302 else response.status_code
    return response


def _error_redirect(error: svc.AuthorizeError, issuer: str) -> RedirectResponse:
    target = _with_query(
        error.redirect_uri,
        {"error": error.error, "error_description": error.description, "state": error.state, "iss": issuer},
    )
    return RedirectResponse(target, status_code=302, headers=NO_STORE)


@router.get("/oidc/authorize", summary="授权端点（授权码 + PKCE）", response_class=HTMLResponse)
def authorize_get(request: Request, database: DatabaseDep) -> Response:
    return _authorize(request, database, _multi(request.query_params))


@router.post("/oidc/authorize", summary="授权端点（表单提交）", response_class=HTMLResponse)
async def authorize_post(request: Request, database: DatabaseDep) -> Response:
    multi = await _params(request)
    return await run_in_threadpool(_authorize, request, database, multi)


@router.post("/oidc/consent", summary="授权确认（同意或拒绝向接入系统提供信息）", response_class=HTMLResponse)
async def consent_post(request: Request, database: DatabaseDep) -> Response:
    multi = await _params(request)
    return await run_in_threadpool(_consent, request, database, multi)


# ---- token endpoint ------------------------------------------------------------------------------


@router.post("/oidc/token", summary="令牌端点")
async def token(request: Request, database: DatabaseDep) -> JSONResponse:
    multi = await _params(request)
    auth = request.headers.get("authorization")
    try:
        params = svc.single_params(multi)
        body = await run_in_threadpool(
            svc.token_request, database, params, auth, issuer=_issuer(request), ip=client_ip(request)
        )
    except svc.OAuthError as error:
        headers = {"WWW-Authenticate": 'Basic realm="yiwang"'} if error.status == 401 else None
        return _oauth_json(error, headers)
    return JSONResponse(body, headers=NO_STORE)


# ---- userinfo ------------------------------------------------------------------------------------


def _bearer_challenge(error: svc.OAuthError | None) -> str:
    if error is None or error.error == "invalid_request" and error.status == 401:
        return 'Bearer realm="yiwang"'
    return f'Bearer realm="yiwang", error="{error.error}"'


async def _userinfo(request: Request, database: Any) -> Response:
    header = request.headers.get("authorization", "")
    token: str | None = None
    malformed = False
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
        else:
            malformed = True
    elif request.method == "POST":
        multi = await _params(request)
        token = (multi.get("access_token") or [None])[0]
    try:
        if malformed:
            raise svc.BearerError("invalid_request", "Authorization 头格式应为 Bearer <令牌>", 400)
        claims = await run_in_threadpool(
            svc.userinfo, database, token, issuer=_issuer(request), ip=client_ip(request)
        )
    except svc.OAuthError as error:
        problem = Problem(
            status=error.status,
            slug=f"oauth-{error.error.replace('_', '-')}",
            title={401: "访问令牌无效", 403: "访问令牌权限不足"}.get(error.status, "请求有误"),
            detail=error.description,
            extra=error.as_dict(),
        )
        return JSONResponse(
            problem.as_dict(instance=request.url.path),
            error.status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers={**NO_STORE, "WWW-Authenticate": _bearer_challenge(error)},
        )
    return JSONResponse(claims, headers=NO_STORE)


@router.get("/oidc/userinfo", summary="用户信息端点")
async def userinfo_get(request: Request, database: DatabaseDep) -> Response:
    return await _userinfo(request, database)


@router.post("/oidc/userinfo", summary="用户信息端点（POST）")
async def userinfo_post(request: Request, database: DatabaseDep) -> Response:
    return await _userinfo(request, database)


# ---- revocation and introspection ----------------------------------------------------------------


@router.post("/oidc/revoke", summary="令牌吊销（RFC 7009）")
async def revoke(request: Request, database: DatabaseDep) -> Response:
    multi = await _params(request)
    try:
        params = svc.single_params(multi)
        await run_in_threadpool(
            svc.revoke, database, params, request.headers.get("authorization"), ip=client_ip(request)
        )
    except svc.OAuthError as error:
        headers = {"WWW-Authenticate": 'Basic realm="yiwang"'} if error.status == 401 else None
        return _oauth_json(error, headers)
    return Response(status_code=200, headers=NO_STORE)


@router.post("/oidc/introspect", summary="令牌内省（RFC 7662）")
async def introspect(request: Request, database: DatabaseDep) -> JSONResponse:
    multi = await _params(request)
    try:
        params = svc.single_params(multi)
        body = await run_in_threadpool(
            svc.introspect,
            database,
            params,
            request.headers.get("authorization"),
            issuer=_issuer(request),
            ip=client_ip(request),
        )
    except svc.OAuthError as error:
        headers = {"WWW-Authenticate": 'Basic realm="yiwang"'} if error.status == 401 else None
        return _oauth_json(error, headers)
    return JSONResponse(body, headers=NO_STORE)


# ---- RP-initiated logout -------------------------------------------------------------------------


LOGOUT_PARAMS = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "logout_hint",
    "ui_locales",
)


def _logout(request: Request, database: Any, multi: dict[str, list[str]]) -> Response:
    ip = client_ip(request)
    cookie = _cookie(request)
    params = {k: v[0] for k, v in multi.items() if v}
    try:
        plan = svc.check_logout_request(
            database, params, issuer=_issuer(request), session_token=cookie, ip=ip
        )
    except svc.UnsafeRedirect as problem:
        return _refusal_page(request, problem)
    live = svc.browser_session(database, cookie) is not None
    confirmed = (
        request.method == "POST"
        and params.get("confirm") == "1"
        and svc.check_csrf(database, cookie, params.get("csrf_token", ""))
    )
    if live and not (plan.hint_matches_session or confirmed):
        # No proof that the client speaks for the person in this browser: ask before signing out
        # (a bare link must not be able to end someone's session).
        ws = svc.browser_session(database, cookie)
        hidden = {k: params[k] for k in LOGOUT_PARAMS if params.get(k)}
        return _page(
            request,
            "identity/oidc_logout_confirm.html",
            plan=plan,
            hidden=hidden,
            csrf_token=ws.csrf_token if ws else "",
            page_title="退出统一身份认证",
        )
    if live:
        svc.end_browser_session(database, cookie, client_id=plan.client_id, ip=ip)
    if plan.post_logout_redirect_uri:
        response: Response = RedirectResponse(
            _with_query(plan.post_logout_redirect_uri, {"state": plan.state}),
            status_code=302,
            headers=NO_STORE,
        )
    else:
        response = _page(
            request, "identity/oidc_logged_out.html", plan=plan, page_title="已退出", csrf_token=""
        )
    response.delete_cookie(request.app.state.settings.session_cookie, path="/")
    return response


@router.get("/oidc/logout", summary="RP 发起的退出登录", response_class=HTMLResponse)
def logout_get(request: Request, database: DatabaseDep) -> Response:
    return _logout(request, database, _multi(request.query_params))


@router.post("/oidc/logout", summary="RP 发起的退出登录（表单提交、确认）", response_class=HTMLResponse)
async def logout_post(request: Request, database: DatabaseDep) -> Response:
    multi = await _params(request)
    return await run_in_threadpool(_logout, request, database, multi)
