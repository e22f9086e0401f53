"""The catalog's part of the navigation (`yiwang.web.nav`): its section, its menu and its home tiles."""

from __future__ import annotations

from yiwang.core.security import Actor, ActorKind
from yiwang.web import MenuEntry, Section, Tile, kinds

EDITOR_ROLE = "data_officer"
STAFF = kinds(ActorKind.STAFF)


def is_editor(actor: Actor) -> bool:
    """Maintains catalog entries: a department's data officer, or the platform administrator."""
    return actor.kind is ActorKind.STAFF and (EDITOR_ROLE in actor.roles or actor.is_platform_admin)


def is_reviewer(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF and actor.is_platform_admin


SECTIONS = [Section("catalog", "/catalog", "资源目录", visible=STAFF, order=30)]

MENU = [
    MenuEntry("catalog", "/catalog", "目录查询", visible=STAFF, order=10, also=("/catalog/entries",)),
    MenuEntry("catalog", "/catalog/lists/sharing", "共享目录", visible=STAFF, order=20),
    MenuEntry("catalog", "/catalog/lists/open", "开放目录", visible=STAFF, order=30),
    MenuEntry("catalog", "/catalog/lists/demand", "需求目录", visible=STAFF, order=40),
    MenuEntry("catalog", "/catalog/lists/responsibility", "责任清单", visible=STAFF, order=50),
    MenuEntry("catalog", "/catalog/rates", "编目统计", visible=STAFF, order=60),
    MenuEntry("catalog", "/catalog/manage", "本部门目录", visible=is_editor, order=70),
    MenuEntry("catalog", "/catalog/review", "目录审核", visible=is_reviewer, order=80),
]

TILES = [
    Tile(
        "/catalog/manage",
        "本部门数据资源目录",
        "编制和维护本部门的目录，挂接数据资源，答复数据需求",
        visible=lambda a: is_editor(a) and not a.is_platform_admin,
        order=30,
        fulfils={EDITOR_ROLE},
    ),
    Tile("/catalog/review", "目录审核", "审核各部门提交的目录", visible=is_reviewer, order=31),
    Tile("/catalog", "资源目录查询", "查找全市政务信息资源及其共享条件", visible=STAFF, order=60),
]
