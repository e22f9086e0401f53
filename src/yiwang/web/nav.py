"""The registry of navigation: global sections, each section's own menu, home tiles and the honest
word for work not built yet. Every module contributes its part from its own `nav.py`; nobody edits
another module (DESIGN §2).

A module's `nav.py` defines any of these module-level names (all optional)::

    from yiwang.web.nav import MenuEntry, Section, Tile, roles

    SECTIONS = [Section("licenses", "/licenses", "电子证照", visible=roles("approver"))]
    MENU = [MenuEntry("licenses", "/licenses/types", "证照类型", visible=roles("approver"))]
    TILES = [Tile("/licenses", "电子证照", "签发和核验电子证照", visible=roles("approver"),
                  fulfils={"approver"})]
    PENDING = [PendingWork("approver", "审批待办", "将在这里…。该功能尚未开放。")]
    ROUTERS = ("api", "pages")      # the submodules holding a `router` (this is the default)
    MOUNT_ORDER = 100               # lower mounts first (routes match in order)

The app factory collects them (`yiwang.web.modules`) into one `NavRegistry` per app
(`app.state.nav`) and refuses to start when an entry links to a path no route serves, so a home or
menu never offers a dead link. Pages get the navigation without asking: `page_context` fills the
global navigation and the current section's menu from the registry.

* A **section** is an entry of the one global navigation, shown on every page to whoever may see it.
* A **menu entry** belongs to a section and shows under the global navigation while a page of that
  section is open (it never replaces the global navigation).
* A **tile** is a card on the signed-in home page: the work a role does. `fulfils` names the roles
  whose main work the tile is, which retires those roles' `PendingWork`.
* A **pending work** item is the honest sentence a role's home shows until some module ships a tile
  that fulfils it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from yiwang.core.security import Actor, ActorKind

Visible = Callable[[Actor], bool]


def everyone(actor: Actor) -> bool:
    return True


def signed_in(actor: Actor) -> bool:
    return actor.is_authenticated and actor.account_id is not None


def roles(*codes: str) -> Visible:
    """Visible to staff holding any of the roles (a platform administrator's power is not implied)."""
    wanted = frozenset(codes)

    def check(actor: Actor) -> bool:
        return actor.kind is ActorKind.STAFF and bool(wanted & actor.roles)

    check.__name__ = f"roles({', '.join(sorted(wanted))})"
    return check


def kinds(*values: ActorKind) -> Visible:
    """Visible to signed-in actors of these kinds (citizen, enterprise, staff)."""
    wanted = frozenset(values)

    def check(actor: Actor) -> bool:
        return signed_in(actor) and actor.kind in wanted

    return check


def any_of(*checks: Visible) -> Visible:
    def check(actor: Actor) -> bool:
        return any(c(actor) for c in checks)

    return check


@dataclass(frozen=True)
class Section:
    key: str
    href: str
    label: str
    visible: Visible = signed_in
    order: int = 100
    # Path prefixes that belong to the section (default: its href); the longest match wins.
    paths: tuple[str, ...] = ()

    def owns(self, path: str) -> int:
        """Length of the longest of this section's prefixes that `path` falls under, else -1."""
        best = -1
        for prefix in self.paths or (self.href,):
            if prefix == "/":
                if path == "/":
                    best = max(best, 1)
            elif path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                best = max(best, len(prefix))
        return best


@dataclass(frozen=True)
class MenuEntry:
    section: str
    href: str
    label: str
    visible: Visible = signed_in
    order: int = 100
    # Paths that mark this entry current besides its own (e.g. the detail pages under a list).
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tile:
    href: str
    label: str
    description: str
    visible: Visible = signed_in
    order: int = 100
    fulfils: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fulfils", frozenset(self.fulfils))


@dataclass(frozen=True)
class PendingWork:
    """What a role's home says until the module doing that work exists."""

    role: str
    title: str
    text: str


@dataclass(frozen=True)
class NavLink:
    href: str
    label: str
    current: bool = False


@dataclass
class NavRegistry:
    sections: list[Section] = field(default_factory=list)
    menu: list[MenuEntry] = field(default_factory=list)
    tiles: list[Tile] = field(default_factory=list)
    pending: list[PendingWork] = field(default_factory=list)
    # Which module contributed what, for error messages and the docs.
    origin: dict[int, str] = field(default_factory=dict)

    def contribute(self, module: str, source: Any) -> None:
        """Take `SECTIONS`, `MENU`, `TILES` and `PENDING` from a module's `nav` (any object)."""
        for name, target in (
            ("SECTIONS", self.sections),
            ("MENU", self.menu),
            ("TILES", self.tiles),
            ("PENDING", self.pending),
        ):
            for item in getattr(source, name, ()) or ():
                target.append(item)
                self.origin[id(item)] = module
        keys = [s.key for s in self.sections]
        duplicated = {k for k in keys if keys.count(k) > 1}
        if duplicated:
            raise ValueError(f"navigation section declared twice: {sorted(duplicated)} (module {module})")

    def hrefs(self) -> Iterable[tuple[str, str, str]]:
        """(module, kind, href) of every link in the registry."""
        for kind, items in (("section", self.sections), ("menu", self.menu), ("tile", self.tiles)):
            for item in items:
                yield self.origin.get(id(item), "?"), kind, item.href

    def check(self, route_exists: Callable[[str], bool]) -> None:
        """Refuse a registry with a link no route serves, or a menu entry of an unknown section."""
        dead = [f"{m} {k} {h}" for m, k, h in self.hrefs() if not route_exists(h.split("?")[0])]
        keys = {s.key for s in self.sections}
        orphans = [f"{self.origin.get(id(e), '?')} menu {e.href} → {e.section}" for e in self.menu]
        orphans = [o for o, e in zip(orphans, self.menu, strict=True) if e.section not in keys]
        if dead or orphans:
            raise RuntimeError(
                "navigation links to nothing: "
                + "; ".join(
                    [*(f"{d} (no route)" for d in dead), *(f"{o} (no such section)" for o in orphans)]
                )
            )

    # ---------------------------------------------------------------- per request

    def current_section(self, path: str, actor: Actor) -> Section | None:
        best: tuple[int, Section] | None = None
        for section in self.sections:
            score = section.owns(path)
            if score >= 0 and section.visible(actor) and (best is None or score > best[0]):
                best = (score, section)
        return best[1] if best else None

    def global_nav(self, path: str, actor: Actor) -> list[NavLink]:
        current = self.current_section(path, actor)
        return [
            NavLink(s.href, s.label, current is not None and s.key == current.key)
            for s in sorted(self.sections, key=lambda s: (s.order, s.key))
            if s.visible(actor)
        ]

    def section_menu(self, path: str, query: str, actor: Actor) -> tuple[Section | None, list[NavLink]]:
        section = self.current_section(path, actor)
        if section is None:
            return None, []
        entries = sorted(
            (e for e in self.menu if e.section == section.key and e.visible(actor)), key=lambda e: e.order
        )
        here = path + (f"?{query}" if query else "")

        def score(entry: MenuEntry) -> int:
            if "?" in entry.href:
                return len(entry.href) + 1 if here == entry.href else -1
            best = -1
            for prefix in (entry.href, *entry.also):
                if path == prefix:
                    best = max(best, len(prefix) + 1)
                elif prefix != section.href and path.startswith(prefix.rstrip("/") + "/"):
                    best = max(best, len(prefix))
            return best

        scores = [score(e) for e in entries]
        top = max(scores, default=-1)
        links = [
            NavLink(e.href, e.label, top >= 0 and s == top) for e, s in zip(entries, scores, strict=True)
        ]
        return section, links

    def tiles_for(self, actor: Actor) -> list[Tile]:
        return sorted((t for t in self.tiles if t.visible(actor)), key=lambda t: (t.order, t.href))

    def pending_for(self, actor: Actor) -> list[PendingWork]:
        """The pending work of the actor's roles that no tile it can see fulfils yet."""
        if actor.kind is not ActorKind.STAFF:
            return []
        fulfilled = set().union(*(t.fulfils for t in self.tiles_for(actor)))
        return [p for p in self.pending if p.role in actor.roles and p.role not in fulfilled]
