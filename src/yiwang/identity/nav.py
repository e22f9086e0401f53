"""Identity's part of the navigation (`yiwang.web.nav`): the home page, 个人中心, the admin console,
and the honest word on each role's home for the work whose module does not exist yet."""

from __future__ import annotations

from yiwang.core.security import Actor, ActorKind
from yiwang.web import MenuEntry, PendingWork, Section, Tile, roles, signed_in

# identity has more router files than the usual api/pages (to be folded together, issue 6 item 3).
ROUTERS = ("api", "oidc", "pages", "admin_pages", "admin_api")
ADMINS = roles("platform_admin", "dept_admin")


def _everyone(actor: Actor) -> bool:
    return True


def _legal_rep(actor: Actor) -> bool:
    """Acting for an enterprise as its legal representative (the resolver notes it in `extra`)."""
    return signed_in(actor) and actor.kind is ActorKind.ENTERPRISE and actor.extra.get("legal_rep") == "1"


SECTIONS = [
    Section("home", "/", "首页", visible=_everyone, order=0, paths=("/",)),
    Section("me", "/me", "个人中心", visible=signed_in, order=10),
    Section("admin", "/admin", "管理控制台", visible=ADMINS, order=80),
]

MENU = [
    MenuEntry("me", "/me", "账号与会话", order=10),
    MenuEntry("me", "/me/password", "修改密码", order=20),
    MenuEntry("me", "/me/totp", "双因素认证", order=30),
    MenuEntry("me", "/me/enterprise/agents", "企业授权", visible=_legal_rep, order=40),
    MenuEntry("admin", "/admin", "管理概览", visible=ADMINS, order=10),
    MenuEntry("admin", "/admin/org", "组织机构", visible=ADMINS, order=20),
    MenuEntry("admin", "/admin/accounts", "账号", visible=ADMINS, order=30),
    MenuEntry("admin", "/admin/roles", "角色", visible=ADMINS, order=40),
    MenuEntry("admin", "/admin/clients", "接入系统", visible=ADMINS, order=50),
]

TILES = [
    Tile(
        "/admin",
        "管理控制台",
        "组织机构、工作人员账号、角色和接入系统",
        visible=ADMINS,
        order=10,
        fulfils={"platform_admin", "dept_admin"},
    ),
    Tile(
        "/me/enterprise/agents",
        "企业授权办事人",
        "授权员工代表本企业办事，随时撤销。",
        visible=_legal_rep,
        order=20,
    ),
]

# Roles whose work lives in modules still to come. Each disappears from the home page by itself once
# a module registers a tile that `fulfils` the role.
_NOT_YET = "该功能尚未开放，开放后会出现在这里。"
PENDING = [
    PendingWork(
        "window_clerk",
        "综合窗口",
        f"将在这里代群众和企业受理各类政务服务事项、核对材料并发放办理结果。{_NOT_YET}",
    ),
    PendingWork(
        "approver",
        "审批待办",
        f"将在这里按紧急程度和办理期限处理审批任务，签署意见并加盖部门印章。{_NOT_YET}",
    ),
    PendingWork(
        "dispatcher",
        "12345 诉求派单",
        f"将在这里受理 12345 热线诉求和城市事件，并按职责派给承办单位。{_NOT_YET}",
    ),
    PendingWork(
        "grid_worker", "我的网格", f"将在这里上报和处置所属网格内发现的事件，手机上也能使用。{_NOT_YET}"
    ),
    PendingWork(
        "handler", "诉求与事件办理", f"将在这里办理派给本单位的诉求和事件，按时限答复并反馈结果。{_NOT_YET}"
    ),
    PendingWork(
        "leader", "领导驾驶舱", f"将在这里查看全市实时指标和预警，逐级查看明细并下达督办任务。{_NOT_YET}"
    ),
    PendingWork(
        "auditor",
        "审计链",
        f"将在这里查看审计链状态、按需核验，并按操作人、对象、操作和时间查找审计记录。{_NOT_YET}",
    ),
]
