"""Governance's part of the navigation (`yiwang.web.nav`)."""

from __future__ import annotations

from yiwang.core.security import Actor, ActorKind
from yiwang.web import MenuEntry, Section, Tile


def is_governor(actor: Actor) -> bool:
    """Data officers (of a department) and the platform administrator run governance."""
    if actor.kind is not ActorKind.STAFF:
        return False
    return actor.is_platform_admin or ("data_officer" in actor.roles and actor.department_id is not None)


SECTIONS = [Section("governance", "/governance", "数据治理", visible=is_governor, order=50)]

MENU = [
    MenuEntry(
        "governance", "/governance", "数据装载", visible=is_governor, order=10, also=("/governance/loads",)
    ),
    MenuEntry("governance", "/governance/rules", "质量规则", visible=is_governor, order=20),
    MenuEntry("governance", "/governance/conflicts", "一数一源冲突", visible=is_governor, order=30),
    MenuEntry("governance", "/governance/grading", "分类分级", visible=is_governor, order=40),
]

TILES = [
    Tile("/governance", "数据治理", "装载数据、质量报告、一数一源冲突和分级", visible=is_governor, order=50),
]
