"""The exchange's part of the navigation (`yiwang.web.nav`) and its mount order."""

from __future__ import annotations

from yiwang.core.security import Actor, ActorKind
from yiwang.web import MenuEntry, Section, Tile, kinds

# Mounted first: routes match in order and the shared-data API is the platform's hottest path (+20 %
# req/s on SQLite measured with bench/bench_exchange.py); no other module's paths overlap it.
MOUNT_ORDER = 0


def is_officer(actor: Actor) -> bool:
    return actor.is_platform_admin or (actor.kind is ActorKind.STAFF and "data_officer" in actor.roles)


def sees_stats(actor: Actor) -> bool:
    return is_officer(actor) or (actor.kind is ActorKind.STAFF and actor.has_role("auditor", "leader"))


PEOPLE = kinds(ActorKind.CITIZEN, ActorKind.ENTERPRISE)

SECTIONS = [Section("exchange", "/exchange", "共享交换", visible=sees_stats, order=40)]

MENU = [
    MenuEntry("exchange", "/exchange", "概览", visible=sees_stats, order=10),
    MenuEntry("exchange", "/exchange/requests?box=incoming", "待我审批", visible=is_officer, order=20),
    MenuEntry("exchange", "/exchange/requests?box=outgoing", "本部门申请", visible=is_officer, order=30),
    MenuEntry("exchange", "/exchange/grants", "共享授权", visible=is_officer, order=40),
    MenuEntry("exchange", "/exchange/objections", "数据使用异议", visible=is_officer, order=50),
    MenuEntry("exchange", "/exchange/delegations", "审批委托", visible=is_officer, order=55),
    MenuEntry("exchange", "/exchange/stats", "调用统计", visible=sees_stats, order=60),
    MenuEntry("exchange", "/exchange/calls", "调用日志", visible=sees_stats, order=70),
    MenuEntry("me", "/me/data-use", "数据使用记录", visible=PEOPLE, order=50),
]

TILES = [
    Tile("/exchange", "共享交换", "共享申请审核、授权、调用统计和数据使用异议", visible=is_officer, order=40),
    Tile(
        "/exchange/stats",
        "共享调用统计",
        "各部门共享数据接口的调用量、拒绝情况和调用日志",
        visible=lambda a: sees_stats(a) and not is_officer(a),
        order=41,
    ),
    Tile(
        "/me/data-use",
        "数据使用记录",
        "哪个部门、哪个系统、为了什么用途查询了您的数据，一目了然；有疑问可以提出异议。",
        visible=PEOPLE,
        order=10,
    ),
]
