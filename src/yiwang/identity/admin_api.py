"""REST API of the administrator's console (`/api/v1/admin`): organisation tree, accounts, roles, clients.

Parse, call `service/admin/` (or the OIDC client service) with the Actor, return. A `Forbidden`
raised anywhere beneath a route is recorded in the audit chain (`result="refused"`) by the app's problem
handler, after the request's transaction has rolled back, under the action named by `@audit_action`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from yiwang.core import edge
from yiwang.core.clock import to_local
from yiwang.core.deps import ActorDep, SessionDep, audit_action
from yiwang.core.export import csv_bytes
from yiwang.identity import admin_schemas as s
from yiwang.identity.service import accounts as account_service
from yiwang.identity.service import admin
from yiwang.identity.service import oidc as clients

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/admin")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录或令牌无效（problem+json）"},
    403: {"description": "无权进行此操作；拒绝记录写入审计链（problem+json）"},
    404: {"description": "对象不存在（problem+json）"},
    422: {"description": "提交的内容有误（problem+json，errors 列出字段）"},
}
CONFLICT = {409: {"description": "与现有数据冲突（problem+json）"}}


class ReasonBody(BaseModel):
    reason: str = Field(default="", max_length=200, description="原因，写入审计记录")


# ================================================================= dashboard


@router.get(
    "/overview", response_model=s.AdminOverview, tags=["admin"], summary="管理概览", responses=PROBLEMS
)
@audit_action("identity.admin.overview")
def overview(session: SessionDep, actor: ActorDep) -> s.AdminOverview:
    return admin.overview(session, actor)


# ================================================================= organisation tree


@router.get(
    "/org-units",
    response_model=s.OrgTree,
    tags=["admin: organisation"],
    summary="组织机构树（平台管理员：全部；部门管理员：所管理的子树）",
    responses=PROBLEMS,
)
@audit_action("identity.org.list")
def org_tree(session: SessionDep, actor: ActorDep) -> s.OrgTree:
    return admin.org_tree(session, actor)


@router.get(
    "/org-units/{unit_id}",
    response_model=s.OrgUnitRead,
    tags=["admin: organisation"],
    summary="一个组织机构",
    responses=PROBLEMS,
)
@audit_action("identity.org.view")
def get_org_unit(unit_id: edge.DbId, session: SessionDep, actor: ActorDep) -> s.OrgUnitRead:
    return admin.get_org_unit_read(session, actor, unit_id)


@router.post(
    "/org-units",
    response_model=s.OrgUnitRead,
    status_code=status.HTTP_201_CREATED,
    tags=["admin: organisation"],
    summary="新建组织机构（须管理其上级机构）",
    responses={**PROBLEMS, **CONFLICT},
)
@audit_action("identity.org.create")
def create_org_unit(body: s.OrgUnitCreate, session: SessionDep, actor: ActorDep) -> s.OrgUnitRead:
    return admin.create_org_unit(session, actor, body)


@router.patch(
    "/org-units/{unit_id}",
    response_model=s.OrgUnitRead,
    tags=["admin: organisation"],
    summary="修改名称、排序，停用或启用机构",
    description="有在用工作人员或在用下级机构的机构不能停用（409）。",
    responses={**PROBLEMS, **CONFLICT},
)
@audit_action("identity.org.update")
def update_org_unit(
    unit_id: edge.DbId, body: s.OrgUnitUpdate, session: SessionDep, actor: ActorDep
) -> s.OrgUnitRead:
    return admin.update_org_unit(session, actor, unit_id, body)


# ================================================================= accounts


def _filters(
    q: str = Query(
        "", max_length=64, description="用户名、姓名或职务中包含的文字；个人账号为姓名或用户名前缀"
    ),
    kind: s.AccountKind = Query(
        "staff", description="staff 工作人员（默认）；citizen 个人（仅平台管理员，须输入关键字）"
    ),
    department_id: edge.OptionalDbId = Query(None, description="部门（含下属单位）"),
    role: str | None = Query(None, max_length=32, description="持有该角色"),
    active: bool | None = Query(None, description="true 在用；false 已停用"),
    locked: bool | None = Query(None, description="true 已锁定"),
    sort: str = Query(
        "username",
        max_length=20,
        description="username、display_name、department、created_at、last_login_at；前加 - 为倒序",
    ),
) -> s.AccountFilters:
    return admin.account_filters(
        q=q, kind=kind, department_id=department_id, role=role, active=active, locked=locked, sort=sort
    )


FiltersDep = Annotated[s.AccountFilters, Depends(_filters)]


@router.get(
    "/accounts",
    response_model=s.AccountList,
    tags=["admin: accounts"],
    summary="账号列表（筛选、排序、分页）",
    description="查询账号属于访问个人信息，每次查询都以查询条件为目的写入审计链。身份证号码一律脱敏。",
    responses=PROBLEMS,
)
@audit_action("identity.account.list")
def list_accounts(
    session: SessionDep,
    actor: ActorDep,
    filters: FiltersDep,
    offset: Annotated[edge.Offset, Query()] = 0,
    limit: int = Query(50, ge=1, le=500),
) -> s.AccountList:
    return admin.list_accounts(session, actor, **filters.model_dump(), offset=offset, limit=limit)


CSV_COLUMNS: list[tuple[str, Callable[[s.AccountRow], Any]]] = [
    ("编号", lambda r: r.id),
    ("用户名", lambda r: r.username),
    ("姓名", lambda r: r.display_name),
    ("账号类型", lambda r: r.kind_label),
    ("身份证号码（脱敏）", lambda r: r.citizen_id_masked),
    ("所属部门", lambda r: r.department_name),
    ("职务", lambda r: r.title),
    ("角色", lambda r: "、".join(r.role_names)),
    ("状态", lambda r: "在用" if r.is_active else "已停用"),
    ("锁定", lambda r: "是" if r.is_locked else "否"),
    ("最近登录", lambda r: _iso(r.last_login_at)),
    ("创建时间", lambda r: _iso(r.created_at)),
]


def _iso(value: datetime | None) -> str:
    return to_local(value).isoformat(timespec="seconds") if value else ""


def accounts_csv(rows: list[s.AccountRow]) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Chinese headers and names correctly; CRLF line ends."""
    return csv_bytes(
        [name for name, _ in CSV_COLUMNS], ([get(row) for _, get in CSV_COLUMNS] for row in rows)
    )


@router.get(
    "/accounts.csv",
    tags=["admin: accounts"],
    summary="导出账号列表（CSV，UTF-8 带 BOM，可用 Excel 直接打开）",
    description="条件与账号列表相同，不分页（最多 50000 行）。导出写入审计链。",
    response_class=Response,
    responses={**PROBLEMS, 200: {"content": {"text/csv": {}}, "description": "CSV 文件"}},
)
@audit_action("identity.account.export")
def export_accounts(session: SessionDep, actor: ActorDep, filters: FiltersDep) -> Response:
    rows = admin.export_accounts(session, actor, filters)
    name = quote(("个人账号" if filters.kind == "citizen" else "工作人员账号") + ".csv")
    return Response(
        accounts_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename=\"accounts.csv\"; filename*=UTF-8''{name}",
            **NO_STORE,
        },
    )


@router.get(
    "/accounts/{account_id}",
    response_model=s.AccountDetail,
    tags=["admin: accounts"],
    summary="账号详情（含角色）",
    responses=PROBLEMS,
)
@audit_action("identity.account.view")
def get_account(account_id: edge.DbId, session: SessionDep, actor: ActorDep) -> s.AccountDetail:
    return admin.get_account_detail(session, actor, account_id)


@router.post(
    "/accounts",
    response_model=s.StaffAccountCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["admin: accounts"],
    summary="新建工作人员账号",
    description="不填 password 时生成临时密码，只在本次响应中返回一次。",
    responses={**PROBLEMS, **CONFLICT},
)
@audit_action("identity.staff.create")
def create_staff_account(
    body: s.StaffAccountCreate, session: SessionDep, actor: ActorDep, response: Response
) -> s.StaffAccountCreated:
    response.headers.update(NO_STORE)
    return admin.create_staff_account(session, actor, body)


@router.post(
    "/accounts/{account_id}/deactivate",
    response_model=s.AccountStatusChange,
    tags=["admin: accounts"],
    summary="停用账号（立即结束其全部会话和访问令牌）",
    responses=PROBLEMS,
)
@audit_action("identity.account.deactivate")
def deactivate_account(
    account_id: edge.DbId, session: SessionDep, actor: ActorDep, body: ReasonBody | None = None
) -> s.AccountStatusChange:
    return admin.set_account_active(session, actor, account_id, False, reason=body.reason if body else "")


@router.post(
    "/accounts/{account_id}/activate",
    response_model=s.AccountStatusChange,
    tags=["admin: accounts"],
    summary="启用账号",
    responses=PROBLEMS,
)
@audit_action("identity.account.activate")
def activate_account(
    account_id: edge.DbId, session: SessionDep, actor: ActorDep, body: ReasonBody | None = None
) -> s.AccountStatusChange:
    return admin.set_account_active(session, actor, account_id, True, reason=body.reason if body else "")


@router.post(
    "/accounts/{account_id}/unlock",
    response_model=s.AccountDetail,
    tags=["admin: accounts"],
    summary="解除锁定（清除密码错误次数）",
    responses=PROBLEMS,
)
@audit_action("identity.account.unlock")
def unlock_account(account_id: edge.DbId, session: SessionDep, actor: ActorDep) -> s.AccountDetail:
    return admin.unlock_account(session, actor, account_id)


@router.post(
    "/accounts/{account_id}/reset-password",
    response_model=s.TemporaryPassword,
    tags=["admin: accounts"],
    summary="重置密码：生成临时密码（只返回这一次），并结束该账号的全部会话",
    responses=PROBLEMS,
)
@audit_action("identity.account.reset_password")
def reset_password(
    account_id: edge.DbId, session: SessionDep, actor: ActorDep, response: Response
) -> s.TemporaryPassword:
    response.headers.update(NO_STORE)
    return admin.reset_password(session, actor, account_id)


@router.post(
    "/accounts/{account_id}/roles",
    response_model=s.RoleGrantRead,
    status_code=status.HTTP_201_CREATED,
    tags=["admin: accounts"],
    summary="授予角色（在某机构及其下属范围内有效）",
    responses=PROBLEMS,
)
@audit_action("identity.role.grant")
def grant_role(
    account_id: edge.DbId, body: s.RoleGrantCreate, session: SessionDep, actor: ActorDep
) -> s.RoleGrantRead:
    grant = account_service.grant_role(session, actor, account_id, body.role_code, body.org_unit_id)
    return admin.role_grant_read(session, grant)


@router.delete(
    "/accounts/{account_id}/roles/{grant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["admin: accounts"],
    summary="撤销角色",
    responses=PROBLEMS,
)
@audit_action("identity.role.revoke")
def revoke_role(account_id: edge.DbId, grant_id: edge.DbId, session: SessionDep, actor: ActorDep) -> Response:
    admin.revoke_account_role(session, actor, account_id, grant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ================================================================= roles


@router.get(
    "/roles",
    response_model=list[s.RoleRead],
    tags=["admin: roles"],
    summary="内置角色及其持有人（限于所管理的范围）",
    responses=PROBLEMS,
)
@audit_action("identity.role.list")
def list_roles(session: SessionDep, actor: ActorDep) -> list[s.RoleRead]:
    return admin.list_roles(session, actor)


# ================================================================= OIDC clients (A5)


def _client(session: SessionDep, client: Any) -> s.ClientRead:
    return admin.client_reads(session, [client])[0]


@router.get(
    "/clients",
    response_model=list[s.ClientRead],
    tags=["admin: clients"],
    summary="接入系统（OIDC 客户端）列表",
    responses=PROBLEMS,
)
@audit_action("identity.client.list")
def list_clients(session: SessionDep, actor: ActorDep) -> list[s.ClientRead]:
    return admin.client_reads(session, clients.list_clients(session, actor))


@router.get(
    "/clients/{client_id}",
    response_model=s.ClientRead,
    tags=["admin: clients"],
    summary="一个接入系统",
    responses=PROBLEMS,
)
@audit_action("identity.client.view")
def get_client(client_id: str, session: SessionDep, actor: ActorDep) -> s.ClientRead:
    return _client(session, clients.get_client(session, actor, client_id))


@router.post(
    "/clients",
    response_model=s.ClientCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["admin: clients"],
    summary="登记接入系统；客户端密钥只在本次响应中返回一次",
    responses=PROBLEMS,
)
@audit_action("identity.client.register")
def register_client(
    body: s.ClientCreate, session: SessionDep, actor: ActorDep, response: Response
) -> s.ClientCreated:
    client, secret = clients.register_client(session, actor, **body.model_dump())
    response.headers.update(NO_STORE)
    return s.ClientCreated(client=_client(session, client), client_secret=secret)


@router.patch(
    "/clients/{client_id}",
    response_model=s.ClientRead,
    tags=["admin: clients"],
    summary="修改接入系统的名称、回调地址、授权类型或权限范围",
    responses=PROBLEMS,
)
@audit_action("identity.client.update")
def update_client(client_id: str, body: s.ClientUpdate, session: SessionDep, actor: ActorDep) -> s.ClientRead:
    client = clients.update_client(session, actor, client_id, **body.model_dump(exclude_unset=True))
    return _client(session, client)


@router.post(
    "/clients/{client_id}/rotate-secret",
    response_model=s.ClientCreated,
    tags=["admin: clients"],
    summary="重新生成客户端密钥（旧密钥立即失效；新密钥只返回一次）",
    responses=PROBLEMS,
)
@audit_action("identity.client.rotate_secret")
def rotate_client_secret(
    client_id: str, session: SessionDep, actor: ActorDep, response: Response
) -> s.ClientCreated:
    secret = clients.rotate_client_secret(session, actor, client_id)
    response.headers.update(NO_STORE)
    return s.ClientCreated(
        client=_client(session, clients.get_client(session, actor, client_id)), client_secret=secret
    )


@router.post(
    "/clients/{client_id}/deactivate",
    response_model=s.ClientRead,
    tags=["admin: clients"],
    summary="停用接入系统（其全部令牌立即失效）",
    responses=PROBLEMS,
)
@audit_action("identity.client.deactivate")
def deactivate_client(client_id: str, session: SessionDep, actor: ActorDep) -> s.ClientRead:
    return _client(session, clients.deactivate_client(session, actor, client_id))


@router.post(
    "/clients/{client_id}/activate",
    response_model=s.ClientRead,
    tags=["admin: clients"],
    summary="重新启用接入系统",
    responses=PROBLEMS,
)
@audit_action("identity.client.reactivate")
def activate_client(client_id: str, session: SessionDep, actor: ActorDep) -> s.ClientRead:
    return _client(session, clients.reactivate_client(session, actor, client_id))


@router.put(
    "/clients/{client_id}/pre-consent",
    response_model=s.ClientRead,
    tags=["admin: clients"],
    summary="设置第一方系统免授权确认（仅平台管理员，记入审计）",
    responses=PROBLEMS,
)
@audit_action("identity.client.pre_consent")
def set_client_pre_consent(
    client_id: str, body: s.ClientPreConsent, session: SessionDep, actor: ActorDep
) -> s.ClientRead:
    return _client(session, clients.set_client_pre_consent(session, actor, client_id, body.pre_consented))
