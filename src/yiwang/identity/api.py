"""REST API of 统一身份认证 (`/api/v1/identity`): parse, call the service with the Actor, return.

Refusals are `Problem`s raised by the services; the app renders them as problem+json.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from yiwang.core import edge
from yiwang.core.deps import ActorDep, DatabaseDep, SessionDep, client_ip
from yiwang.core.security import require_authenticated
from yiwang.identity import schemas
from yiwang.identity.service import accounts, auth, enterprise, recovery, registration
from yiwang.identity.service import oidc as oidc_svc

router = APIRouter(prefix="/api/v1/identity")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

PROBLEMS = {
    401: {"description": "未登录、令牌无效或凭据错误（problem+json）"},
    403: {"description": "无权进行此操作（problem+json）"},
    422: {"description": "提交的内容有误（problem+json，errors 列出字段）"},
}


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


# ---- login ---------------------------------------------------------------------------------------


@router.post(
    "/login",
    response_model=schemas.TokenRead,
    tags=["identity: login"],
    summary="用户名密码登录，取得访问令牌",
    responses={
        **PROBLEMS,
        401: {"description": "用户名或密码错误（remaining_attempts 为剩余次数），或 otp-required"},
        403: {"description": "无权代表该企业，或 password-change-required（须在 new_password 提交新密码）"},
        423: {"description": "在该来源地址上密码错误次数过多，账号在该来源临时锁定"},
        429: {"description": "来源地址或账号的失败次数过多（Retry-After 头）"},
    },
)
@edge.open_to_anonymous
def login(
    body: schemas.LoginCreate, request: Request, database: DatabaseDep, response: Response
) -> schemas.TokenRead:
    result = auth.api_login(
        database,
        username=body.username,
        password=body.password,
        otp=body.otp,
        on_behalf_of=body.on_behalf_of,
        new_password=body.new_password,
        ip=client_ip(request),
    )
    response.headers.update(NO_STORE)
    return schemas.TokenRead(access_token=result.access_token or "", expires_in=result.expires_in)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["identity: login"],
    summary="退出登录：吊销本次请求所用的访问令牌",
    responses=PROBLEMS,
)
def logout(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require_authenticated(actor)
    auth.logout(session, actor, token=_bearer(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/register",
    response_model=schemas.RegistrationStartedRead,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["identity: login"],
    summary="个人实名注册第 1 步：提交姓名和身份证号码，向人口库登记的手机发送验证码",
    description="无论姓名与身份证号码是否与人口库一致、是否已注册，回答都相同，以免被用来核对他人信息。",
    responses={**PROBLEMS, 429: {"description": "注册尝试过于频繁（Retry-After 头）"}},
)
@edge.open_to_anonymous
def register(
    body: schemas.RegisterCreate, request: Request, database: DatabaseDep
) -> schemas.RegistrationStartedRead:
    started = registration.start_registration(
        database, citizen_id=body.citizen_id, name=body.name, ip=client_ip(request)
    )
    return schemas.RegistrationStartedRead(
        registration_id=started.token, expires_in=started.expires_in, detail=started.message
    )


@router.post(
    "/register/confirm",
    response_model=schemas.AccountRead,
    status_code=status.HTTP_201_CREATED,
    tags=["identity: login"],
    summary="个人实名注册第 2 步：提交短信验证码和密码，建立账号",
    responses={**PROBLEMS, 409: {"description": "该身份证号码已注册"}},
)
@edge.open_to_anonymous
def register_confirm(
    body: schemas.RegisterConfirm, request: Request, database: DatabaseDep
) -> schemas.AccountRead:
    done = registration.confirm_registration(
        database, token=body.registration_id, code=body.code, password=body.password, ip=client_ip(request)
    )
    return schemas.AccountRead(
        id=done.account_id,
        username=done.username,
        name=done.name,
        kind=done.kind,
        citizen_id_masked=done.citizen_id_masked,
    )


# ---- my account ----------------------------------------------------------------------------------


@router.get(
    "/me", response_model=schemas.ProfileRead, tags=["identity: me"], summary="我的资料", responses=PROBLEMS
)
def me(session: SessionDep, actor: ActorDep) -> schemas.ProfileRead:
    p = accounts.my_profile(session, actor)
    return schemas.ProfileRead(
        id=p.account_id,
        username=p.username,
        name=p.name,
        kind=p.kind,
        kind_label=p.kind_label,
        citizen_id_masked=p.citizen_id_masked,
        phone_masked=p.phone_masked,
        title=p.title,
        roles=[schemas.RoleRead(**vars(r)) for r in p.roles],
        department=schemas.DepartmentRead(id=p.department_id, name=p.department_name)
        if p.department_id
        else None,
        acting_for=schemas.ActingForRead(**vars(p.acting_for)) if p.acting_for else None,
        totp_enabled=p.totp_enabled,
        created_at=p.created_at,
        last_login_at=p.last_login_at,
    )


@router.get(
    "/me/sessions",
    response_model=list[schemas.SessionRead],
    tags=["identity: me"],
    summary="我的登录会话（网页）",
    responses=PROBLEMS,
)
def my_sessions(session: SessionDep, actor: ActorDep) -> list[schemas.SessionRead]:
    return [
        schemas.SessionRead(
            id=ws.id[:16],
            current=ws.id == actor.session_id,
            on_behalf_of=ws.on_behalf_of,
            auth_methods=ws.auth_methods,
            created_at=ws.created_at,
            last_seen_at=ws.last_seen_at,
            expires_at=ws.expires_at,
            ip=ws.ip,
            user_agent=ws.user_agent,
        )
        for ws in auth.list_sessions(session, actor)
    ]


@router.delete(
    "/me/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["identity: me"],
    summary="退出某个会话",
    responses={**PROBLEMS, 404: {"description": "会话不存在"}},
)
def revoke_my_session(session_id: str, session: SessionDep, actor: ActorDep) -> Response:
    auth.revoke_session(session, actor, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["identity: me"],
    summary="修改密码",
    description="修改成功后，该账号的其他网页会话和全部访问令牌（包括本次所用令牌）一律失效，需重新登录。",
    responses=PROBLEMS,
)
def change_password(body: schemas.PasswordChange, session: SessionDep, actor: ActorDep) -> Response:
    auth.change_password(session, actor, body.old_password, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/totp",
    response_model=schemas.TotpEnrolmentRead,
    tags=["identity: me"],
    summary="开始设置双因素认证：取得密钥和二维码",
    responses=PROBLEMS,
)
def begin_totp(session: SessionDep, actor: ActorDep, response: Response) -> schemas.TotpEnrolmentRead:
    enrolment = auth.begin_totp(session, actor)
    response.headers.update(NO_STORE)
    return schemas.TotpEnrolmentRead(
        secret=enrolment.secret, otpauth_uri=enrolment.uri, qr_svg=enrolment.qr_svg
    )


@router.post(
    "/me/totp/confirm",
    response_model=schemas.TotpEnabledRead,
    tags=["identity: me"],
    summary="输入动态验证码，确认开启双因素认证；返回恢复码（只返回这一次）",
    responses=PROBLEMS,
)
def confirm_totp(
    body: schemas.TotpConfirm, session: SessionDep, actor: ActorDep, response: Response
) -> schemas.TotpEnabledRead:
    codes = auth.confirm_totp(session, actor, body.otp)
    response.headers.update(NO_STORE)
    return schemas.TotpEnabledRead(totp_enabled=True, recovery_codes=codes)


@router.post(
    "/me/recovery-codes",
    response_model=schemas.RecoveryCodesRead,
    tags=["identity: me"],
    summary="重新生成恢复码（需当前密码；旧恢复码全部作废）",
    responses=PROBLEMS,
)
def regenerate_recovery_codes(
    body: schemas.RecoveryCodesCreate, session: SessionDep, actor: ActorDep, response: Response
) -> schemas.RecoveryCodesRead:
    codes = recovery.regenerate_recovery_codes(session, actor, body.password)
    response.headers.update(NO_STORE)
    return schemas.RecoveryCodesRead(recovery_codes=codes)


def _consent_read(c: oidc_svc.ConsentRead) -> schemas.ConsentRead:
    return schemas.ConsentRead(
        client_id=c.client_id,
        client_name=c.client_name,
        scopes=[
            schemas.ScopeRead(scope=i.scope, label=i.label, description=i.description, sensitive=i.sensitive)
            for i in c.items
        ],
        updated_at=c.updated_at,
    )


@router.get(
    "/me/consents",
    response_model=list[schemas.ConsentRead],
    tags=["identity: me"],
    summary="我授权过的接入系统（记住的授权同意）",
    responses=PROBLEMS,
)
def my_consents(session: SessionDep, actor: ActorDep) -> list[schemas.ConsentRead]:
    return [_consent_read(c) for c in oidc_svc.list_consents(session, actor)]


@router.delete(
    "/me/consents/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["identity: me"],
    summary="撤销对一个接入系统的授权（其持有的本人令牌一并吊销）",
    responses={**PROBLEMS, 404: {"description": "没有对该系统的授权"}},
)
def revoke_my_consent(client_id: str, session: SessionDep, actor: ActorDep) -> Response:
    oidc_svc.revoke_consent(session, actor, client_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/totp/disable",
    response_model=schemas.TotpStatusRead,
    tags=["identity: me"],
    summary="关闭双因素认证（需密码和动态验证码）",
    responses=PROBLEMS,
)
def disable_totp(body: schemas.TotpDisable, session: SessionDep, actor: ActorDep) -> schemas.TotpStatusRead:
    auth.disable_totp(session, actor, body.password, body.otp)
    return schemas.TotpStatusRead(totp_enabled=False)


@router.get(
    "/me/enterprises",
    response_model=list[schemas.EnterpriseRead],
    tags=["identity: enterprise"],
    summary="我可以代表办事的企业",
    responses=PROBLEMS,
)
def my_enterprises(session: SessionDep, actor: ActorDep) -> list[schemas.EnterpriseRead]:
    return [schemas.EnterpriseRead(**vars(link)) for link in enterprise.my_enterprises(session, actor)]


# ---- enterprise agents ---------------------------------------------------------------------------


def _agent_read(view: enterprise.AgentView) -> schemas.AgentRead:
    return schemas.AgentRead(**vars(view), status_label=view.status_label)


@router.get(
    "/enterprises/{credit_code}/agents",
    response_model=list[schemas.AgentRead],
    tags=["identity: enterprise"],
    summary="企业授权的办事人（法定代表人以企业身份查看）",
    responses={**PROBLEMS, 404: {"description": "企业不在法人库中"}},
)
def list_agents(credit_code: str, session: SessionDep, actor: ActorDep) -> list[schemas.AgentRead]:
    return [_agent_read(v) for v in enterprise.agent_views(session, actor, credit_code.strip().upper())]


@router.post(
    "/enterprises/{credit_code}/agents",
    response_model=schemas.AgentRead,
    status_code=status.HTTP_201_CREATED,
    tags=["identity: enterprise"],
    summary="授权一名已实名注册的个人代表企业办事",
    responses={**PROBLEMS, 404: {"description": "企业不在法人库中"}, 409: {"description": "已有有效授权"}},
)
def authorise_agent(
    credit_code: str, body: schemas.AgentCreate, session: SessionDep, actor: ActorDep
) -> schemas.AgentRead:
    grant = enterprise.authorise_agent(
        session,
        actor,
        credit_code=credit_code,
        agent_citizen_id=body.agent_citizen_id,
        agent_name=body.agent_name,
        valid_until=schemas.end_of_local_day(body.valid_until),
        scope=body.scope,
    )
    view = next(v for v in enterprise.agent_views(session, actor, grant.credit_code) if v.id == grant.id)
    return _agent_read(view)


@router.delete(
    "/enterprises/{credit_code}/agents/{agent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["identity: enterprise"],
    summary="撤销授权",
    responses={**PROBLEMS, 404: {"description": "授权记录不存在"}},
)
def revoke_agent(credit_code: str, agent_id: edge.DbId, session: SessionDep, actor: ActorDep) -> Response:
    enterprise.revoke_agent(session, actor, agent_id, credit_code=credit_code.strip().upper())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
