"""Built-in roles. Staff roles are held per organisation unit (valid in its subtree)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.identity.models import Role

# code → (name, description)
BUILTIN_ROLES: dict[str, tuple[str, str]] = {
    "window_clerk": ("综合窗口人员", "在综合窗口代办理、受理各类事项并发放结果"),
    "approver": ("审批人员", "处理审批任务，签署审批意见并加盖部门印章"),
    "data_officer": ("部门数据管理员", "维护本部门数据资源目录，审核共享申请，装载数据"),
    "dispatcher": ("派单员", "受理 12345 诉求与城市事件并按责派单"),
    "grid_worker": ("网格员", "在所属网格发现、上报并处置事件"),
    "handler": ("承办人员", "办理转派给本单位的诉求与事件"),
    "leader": ("领导", "查看驾驶舱、预警并下达督办任务"),
    "dept_admin": ("部门管理员", "管理本部门及下属单位的组织、工作人员账号和角色"),
    "platform_admin": ("平台管理员", "大数据局运营：组织机构、账号、角色、接入系统、审计"),
    "auditor": ("安全审计员", "查看并核验审计链，不能修改业务数据"),
}

STAFF_ROLES = frozenset(BUILTIN_ROLES)
# Roles that confer administration of the org subtree they are held in.
ADMIN_ROLES = frozenset({"dept_admin", "platform_admin"})
# Operator roles look across departments (the audit chain, the call log, every department's sharing):
# only a platform administrator grants them, and each reaches the subtree of the unit it is held in
# (the whole platform when held at a top-level unit).
OPERATOR_ROLES = frozenset({"platform_admin", "auditor", "leader"})
# What a department administrator may grant, within its own subtree.
DEPARTMENT_ROLES = STAFF_ROLES - OPERATOR_ROLES


def ensure_builtin_roles(session: Session) -> None:
    existing = set(session.scalars(select(Role.code)))
    for code, (name, description) in BUILTIN_ROLES.items():
        if code not in existing:
            session.add(Role(code=code, name=name, description=description, builtin=True))
    session.flush()


def role_name(code: str) -> str:
    return BUILTIN_ROLES.get(code, (code, ""))[0]
