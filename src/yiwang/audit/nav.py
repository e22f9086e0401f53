"""The audit module's part of the navigation (`yiwang.web.nav`): the auditor's section and tile."""

from __future__ import annotations

from yiwang.audit.service import AUDITOR_ROLE, can_read
from yiwang.web import MenuEntry, Section, Tile

SECTIONS = [Section("audit", "/audit", "审计", visible=can_read, order=70)]

MENU = [
    MenuEntry("audit", "/audit", "审计链状态", visible=can_read, order=10, also=("/audit/runs",)),
    MenuEntry("audit", "/audit/records", "审计记录", visible=can_read, order=20),
]

TILES = [
    Tile(
        "/audit",
        "审计链",
        "审计链是否完整、按需核验，按人员、数据主体、操作和日期查询审计记录",
        visible=can_read,
        order=20,
        fulfils={AUDITOR_ROLE},
    ),
]
