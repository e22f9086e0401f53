"""What this module adds to the navigation (found by the app; nothing to register elsewhere)."""

from yiwang.core.security import ActorKind
from yiwang.web import MenuEntry, Section, Tile, kinds

STAFF = kinds(ActorKind.STAFF)

SECTIONS = [Section("example", "/example", "示例模块", visible=STAFF, order=90)]
MENU = [MenuEntry("example", "/example", "概览", visible=STAFF)]
TILES = [Tile("/example", "示例模块", "这个模块为工作人员做什么", visible=STAFF, order=90)]
