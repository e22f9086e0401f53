"""统一身份认证: accounts, organisation tree, roles, login, sessions, tokens and the OIDC provider.

Public face: other modules use only what is imported here.
"""

from yiwang.identity.admin_schemas import OrgUnitCreate, RoleGrantCreate, StaffAccountCreate
from yiwang.identity.service.accounts import (
    build_actor,
    find_account,
    get_account,
    grant_role,
    register_citizen,
    require_admin_of,
)
from yiwang.identity.service.admin import create_org_unit, create_staff_account
from yiwang.identity.service.auth import (
    LoginResult,
    api_login,
    begin_login,
    complete_second_factor,
    issue_token,
    logout,
    resolve_actor,
)
from yiwang.identity.service.enterprise import authorise_agent, can_act_for, enterprises_for
from yiwang.identity.service.oidc import (
    deactivate_client,
    get_client,
    list_clients,
    register_client,
    rotate_client_secret,
)
from yiwang.identity.service.org import find_org_unit_by_code, get_org_unit, subtree_ids
from yiwang.identity.service.roles import BUILTIN_ROLES, ensure_builtin_roles, role_name
from yiwang.identity.service.sms import SmsSender, sms_sender
from yiwang.identity.service.sms import outbox as sms_outbox

# CSRF moved to the page kit (yiwang.web.csrf); these names stay for the modules' pages that used them.
from yiwang.web import csrf_token, require_csrf, set_csrf_cookie  # noqa: E402

__all__ = [
    "deactivate_client",
    "get_client",
    "list_clients",
    "register_client",
    "rotate_client_secret",
    "BUILTIN_ROLES",
    "LoginResult",
    "OrgUnitCreate",
    "RoleGrantCreate",
    "StaffAccountCreate",
    "api_login",
    "authorise_agent",
    "begin_login",
    "build_actor",
    "can_act_for",
    "complete_second_factor",
    "csrf_token",
    "create_org_unit",
    "create_staff_account",
    "ensure_builtin_roles",
    "enterprises_for",
    "find_account",
    "find_org_unit_by_code",
    "get_account",
    "get_org_unit",
    "grant_role",
    "issue_token",
    "logout",
    "register_citizen",
    "require_admin_of",
    "require_csrf",
    "resolve_actor",
    "role_name",
    "set_csrf_cookie",
    "SmsSender",
    "sms_outbox",
    "sms_sender",
    "subtree_ids",
]
