"""Finding the modules and mounting them: nothing is registered by hand.

Every package under `yiwang` (except the kernel, the migrations and the demo builder) is a module. Its
routers come from the submodules named in its `nav.ROUTERS` (default: `api` and `pages`, when they
exist), each exposing `router`; its navigation from its `nav` (see `yiwang.web.nav`). A module that
fails to import, or a router submodule without a `router`, stops the start with the module's name in
the message — never a half-mounted platform.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import Match

from yiwang.web.nav import NavRegistry

# Packages that are not modules: the kernel, the schema history, the demo city builder.
NOT_MODULES = frozenset({"core", "migrations", "demo"})
DEFAULT_ROUTERS = ("api", "pages")
DEFAULT_ORDER = 100


class ModuleMountError(RuntimeError):
    """A module could not be loaded or mounted; the app must not start half-built."""


@dataclass
class ModuleInfo:
    name: str
    nav: ModuleType | None
    routers: list[tuple[str, APIRouter]] = field(default_factory=list)
    order: int = DEFAULT_ORDER


def module_names(package: ModuleType) -> list[str]:
    """The module packages directly under `package` (found on its `__path__`), in name order."""
    found = {
        info.name
        for info in pkgutil.iter_modules(list(package.__path__))
        if info.ispkg and info.name not in NOT_MODULES and not info.name.startswith("_")
    }
    return sorted(found)


def _has(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def load_module(package: str, name: str) -> ModuleInfo:
    base = f"{package}.{name}"
    try:
        nav = importlib.import_module(f"{base}.nav") if _has(f"{base}.nav") else None
        info = ModuleInfo(name, nav, order=int(getattr(nav, "MOUNT_ORDER", DEFAULT_ORDER)))
        for sub in getattr(nav, "ROUTERS", DEFAULT_ROUTERS):
            target = f"{base}.{sub}"
            if not _has(target):
                if nav is not None and hasattr(nav, "ROUTERS"):
                    raise ModuleMountError(f"module {name!r}: nav.ROUTERS names {sub!r}, which is missing")
                continue
            router = getattr(importlib.import_module(target), "router", None)
            if not isinstance(router, APIRouter):
                raise ModuleMountError(f"module {name!r}: {target} has no APIRouter named `router`")
            info.routers.append((sub, router))
    except ModuleMountError:
        raise
    except Exception as exc:
        raise ModuleMountError(f"module {name!r} failed to load: {type(exc).__name__}: {exc}") from exc
    return info


def discover(package: ModuleType) -> list[ModuleInfo]:
    """Every module of `package`, in mount order (`nav.MOUNT_ORDER`, then name)."""
    infos = [load_module(package.__name__, name) for name in module_names(package)]
    return sorted(infos, key=lambda m: (m.order, m.name))


def route_exists(app: FastAPI, path: str) -> bool:
    """True when a GET of `path` reaches a route of `app` (so a link to it does not 404)."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


def mount_modules(app: FastAPI, modules: Iterable[ModuleInfo]) -> NavRegistry:
    """Include every module's routers and collect its navigation into the app's registry."""
    registry = NavRegistry()
    for info in modules:
        for sub, router in info.routers:
            try:
                app.include_router(router)
            except Exception as exc:
                raise ModuleMountError(f"module {info.name!r}: mounting {sub} failed: {exc}") from exc
        if info.nav is not None:
            registry.contribute(info.name, info.nav)
    app.state.nav = registry
    app.state.modules = [m.name for m in modules]
    return registry


def check_navigation(app: FastAPI) -> None:
    """Stop the start when a section, menu entry or tile links to a path no route serves."""
    app.state.nav.check(lambda path: route_exists(app, path))
