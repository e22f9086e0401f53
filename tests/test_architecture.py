"""DESIGN §3 rule 1: modules talk through public faces, and only downwards.

A module may import `yiwang.core.*`, its own internals, and the package `__init__` of modules below it
(`from yiwang.registry import find_person`), never another module's `models`, `service`, … and never a
module above it. Upward needs go through `yiwang.core.events`.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "yiwang"

# Lowest first; modules on one line are peers and may not import each other.
ORDER: list[tuple[str, ...]] = [
    ("core",),
    ("web",),
    ("registry",),
    ("identity",),
    ("audit",),
    ("catalog",),
    ("exchange", "governance"),
    ("seals",),
    ("licenses",),
    ("workflow",),
    ("regulation",),
    ("services", "hotline", "grid", "office"),
    ("opendata", "search", "policy"),
    ("cockpit",),
    ("demo",),
]
RANK = {name: i for i, names in enumerate(ORDER) for name in names}
# The app factory, CLI, settings and migrations sit above every module and may wire them together.
TOP_LEVEL = {"app", "cli", "settings", "migrations", "__init__"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if node.module == "yiwang"]
    return [(line, name) for line, name in found if name == "yiwang" or name.startswith("yiwang.")]


def test_every_module_has_a_rank():
    modules = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert modules - set(RANK) - TOP_LEVEL == set(), "add new modules to ORDER (and DESIGN §3)"


def test_modules_import_only_downwards_through_public_faces():
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        owner = rel.parts[0].removesuffix(".py")
        if owner in TOP_LEVEL:
            continue
        for line, name in _imports(path):
            parts = name.split(".")
            if len(parts) < 2:
                continue
            target = parts[1]
            if target in TOP_LEVEL:
                if target == "settings":
                    continue
                problems.append(f"{rel}:{line} imports {name} (top-level wiring)")
                continue
            if target == owner or target == "core":
                continue
            if RANK.get(target, 99) >= RANK.get(owner, -1):
                problems.append(f"{rel}:{line} imports upward/sideways: {name}")
            elif len(parts) > 2:
                problems.append(f"{rel}:{line} reaches into {name}; import from yiwang.{target} instead")
    assert problems == []
