"""The one Jinja2 environment every module's pages render through.

`templates()` searches `yiwang/web/templates` first (the shared layout `base.html` and `macros.html`),
then every other `yiwang/<module>/templates` directory, found on the package path — a new module's
templates are picked up without editing this file. By convention a module keeps its templates under
`templates/<module>/…` so names never collide (`licenses/wallet.html`).

Filters: `cn_date`, `cn_datetime`, `iso_local`, `yuan`, `mask_id`.
Globals: `static_url(path)`, `app_name`, `error_list(errors)`, `error_for(errors, field)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi.templating import Jinja2Templates

import yiwang
from yiwang.core.clock import SHANGHAI

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
WEB_TEMPLATES_DIR = WEB_DIR / "templates"
APP_NAME = "一网"
STATIC_PREFIX = "/static/"


def template_dirs() -> list[Path]:
    """`web/templates` first, then each module's `templates` directory in name order."""
    dirs: list[Path] = [WEB_TEMPLATES_DIR]
    seen = {WEB_TEMPLATES_DIR.resolve()}
    for root in yiwang.__path__:
        for candidate in sorted(Path(root).glob("*/templates")):
            resolved = candidate.resolve()
            if candidate.is_dir() and resolved not in seen:
                seen.add(resolved)
                dirs.append(candidate)
    return dirs


# ---------------------------------------------------------------- filters


def _local(value: datetime) -> datetime:
    # Times are stored UTC; SQLite hands them back naive, so a naive value is taken as UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def cn_date(value: datetime | date | None) -> str:
    """2026年11月21日 — the date in Asia/Shanghai (an aware datetime is converted first)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = _local(value)
    return f"{value.year}年{value.month}月{value.day}日"


def cn_datetime(value: datetime | date | None) -> str:
    """2026年11月21日 14:05 in Asia/Shanghai; a plain date shows as cn_date."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        return cn_date(value)
    local = _local(value)
    return f"{cn_date(local)} {local:%H:%M}"


def iso_local(value: datetime | date | None) -> str:
    """ISO 8601 in Asia/Shanghai, to the second (2026-11-21T14:05:00+08:00), for staff exports."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return _local(value).isoformat(timespec="seconds")
    return value.isoformat()


def yuan(fen: int | None) -> str:
    """Integer fen (分) → "1,234.50 元". Money is never a float in Yiwang, so a float is refused."""
    if fen is None or fen == "":
        return ""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"yuan expects integer fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d} 元"


def mask_id(value: str | None) -> str:
    """110101********1234: keep the first 6 and last 4 characters of an ID, stars between.

    Works for 18-character citizen IDs and credit codes; anything of 10 characters or fewer is
    starred out whole, since keeping 10 would show it all.
    """
    if value is None:
        return ""
    text = str(value).strip()
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


# ---------------------------------------------------------------- globals


@cache
def _static_version(path: str) -> str:
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR.resolve()) or not target.is_file():
        raise FileNotFoundError(f"no static file {path!r} under {STATIC_DIR}")
    digest = hashlib.sha256()
    with target.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()[:10]


def static_url(path: str) -> str:
    """`/static/<path>?v=<hash of the file>`: the hash busts browser caches when the file changes.

    Computed once per file per process. A missing file raises, so a typo fails the page's test.
    """
    path = path.lstrip("/")
    return f"{STATIC_PREFIX}{path}?v={_static_version(path)}"


def error_list(errors: Any) -> list[dict[str, str]]:
    """Normalise errors for the error summary: a `Problem` (its `.errors`, else its detail), a mapping
    field → message, or an iterable of `FieldError`s / {field, message} dicts / (field, message) pairs.
    Returns [{"field": …, "message": …}]; `field` is "" for an error not tied to an input."""
    if not errors:
        return []
    if hasattr(errors, "errors") and not isinstance(errors, Mapping):
        items = list(errors.errors or [])
        if not items:
            detail = getattr(errors, "detail", "") or getattr(errors, "title", "")
            return [{"field": "", "message": str(detail)}] if detail else []
        errors = items
    if isinstance(errors, Mapping):
        pairs: Iterable[tuple[Any, Any]] = errors.items()
    elif isinstance(errors, str):
        pairs = [("", errors)]
    else:
        pairs = []
        for item in errors:
            if isinstance(item, Mapping):
                pairs.append((item.get("field", ""), item.get("message", "")))
            elif isinstance(item, tuple | list) and len(item) == 2:
                pairs.append((item[0], item[1]))
            elif hasattr(item, "message"):
                pairs.append((getattr(item, "field", ""), item.message))
            else:
                pairs.append(("", item))
    out = []
    for name, message in pairs:
        name = "" if name in (None, "body") else str(name)
        out.append({"field": name, "message": str(message)})
    return out


def error_for(errors: Any, name: str) -> str:
    """The first error message for field `name`, or ""."""
    for err in error_list(errors):
        if err["field"] == name:
            return err["message"]
    return ""


def build_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs()]),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        cn_date=cn_date, cn_datetime=cn_datetime, iso_local=iso_local, yuan=yuan, mask_id=mask_id
    )
    env.globals.update(
        static_url=static_url,
        app_name=APP_NAME,
        error_list=error_list,
        error_for=error_for,
        urlencode=urlencode,
    )
    return env


@cache
def templates() -> Jinja2Templates:
    """The shared `Jinja2Templates` (cached): `templates().TemplateResponse(request, name, ctx)`."""
    return Jinja2Templates(env=build_environment())
