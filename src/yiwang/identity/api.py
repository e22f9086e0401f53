"""REST API of 统一身份认证 (`/api/v1/identity`): parse, call the service with the Actor, return.

Refusals are `Problem`s raised by the services; the app renders them as problem+json.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from yiwang.core.deps import ActorDep, DatabaseDep, SessionDep, client_ip
from yiwang.core.ids import mask_citizen_id
from yiwang.core.security import require_authenticated
from yiwang.identity import schemas
from yiwang.identity.service import accounts, auth, enterprise

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
        403: {"description": "无权代表该企业"},
        423: {"description": "密码错误次数过多，账号临时锁定"},
    },
)
def login(
    body: schemas.LoginCreate, request: Request, database: DatabaseDep, response: Response
) -> schemas.TokenRead:
    result = auth.api_login(
        database,
        username=body.username,
        password=body.password,
        otp=body.otp,
        on_behalf_of=body.on_behalf_of,
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
    response_model=schemas.AccountRead,
    status_code=status.HTTP_201_CREATED,
    tags=["identity: login"],
    summary="个人用户实名注册（与人口库核验姓名和身份证号码）",
    responses={**PROBLEMS, 409: {"description": "该身份证号码已注册"}},
)
def register(body: schemas.RegisterCreate, session: SessionDep, actor: ActorDep) -> schemas.AccountRead:
    account = accounts.register_citizen(
        session, actor, citizen_id=body.citizen_id, name=body.name, password=body.password, phone=body.phone
    )
    return schemas.AccountRead(
        id=account.id,
        username=account.username,
        name=account.display_name,
        kind=account.kind,
        citizen_id_masked=mask_citizen_id(account.citizen_id or ""),
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
    response_model=schemas.TotpStatusRead,
    tags=["identity: me"],
    summary="输入动态验证码，确认开启双因素认证",
    responses=PROBLEMS,
)
def confirm_totp(body: schemas.TotpConfirm, session: SessionDep, actor: ActorDep) -> schemas.TotpStatusRead:
    auth.confirm_totp(session, actor, body.otp)
    return schemas.TotpStatusRead(totp_enabled=True)


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
def revoke_agent(credit_code: str, agent_id: int, session: SessionDep, actor: ActorDep) -> Response:
    enterprise.revoke_agent(session, actor, agent_id, credit_code=credit_code.strip().upper())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
