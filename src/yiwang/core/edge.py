"""Validation at the edge: what every request must satisfy before a service sees it.

A fuzz run over the OpenAPI once produced hundreds of 500s from two kinds of input that no service
should ever have to think about: integers the database cannot hold (above 2^63 on SQLite, 2^31 on
PostgreSQL's INTEGER columns) and NUL or other control characters (PostgreSQL refuses NUL in text).
Both are refused here, at the edge, with a problem+json 422 that names the field:

- `DbId`, `OptionalDbId`, `Int32` and `Offset`: bounded integer types for path, query and body fields
  (`account_id: DbId`, `department_id: OptionalDbId = None`, in pydantic models too). They use
  `annotated_types` so FastAPI treats them like plain `int` and still shows the bounds in the OpenAPI.
- `reject_control_characters`: an app-wide dependency that refuses control characters (NUL and the
  other C0 controls except tab, LF and CR; DEL) in the path, the query string, JSON bodies and
  urlencoded forms.
- `open_to_anonymous`: marks an API route that anonymous callers may reach (login, registration) or
  that authenticates its caller by itself before loading anything (the shared-data API). Every other
  `/api/` route refuses an anonymous caller with 401 as soon as the actor is resolved — before any
  object is loaded, so an anonymous caller cannot tell which IDs exist (see `core.deps.get_actor`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any, TypeVar

import annotated_types as at
from fastapi import Request

from yiwang.core.errors import FieldError, Invalid, Problem

# PostgreSQL INTEGER is the narrowest integer column the platform uses; SQLite's is 64-bit.
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)

DbId = Annotated[int, at.Ge(1), at.Le(INT32_MAX)]
OptionalDbId = Annotated[int, at.Ge(1), at.Le(INT32_MAX)] | None
Int32 = Annotated[int, at.Ge(INT32_MIN), at.Le(INT32_MAX)]
# A list never pages past the largest table a city holds; 10 million keeps OFFSET arithmetic sane.
OFFSET_MAX = 10_000_000
Offset = Annotated[int, at.Ge(0), at.Le(OFFSET_MAX)]

OPEN_ATTR = "__open_to_anonymous__"
F = TypeVar("F", bound=Callable[..., Any])


def open_to_anonymous(fn: F) -> F:
    """Mark an `/api/` route that anonymous callers may reach, or that authenticates by itself."""
    setattr(fn, OPEN_ATTR, True)
    return fn


def requires_caller(request: Request) -> bool:
    """True for an `/api/` route not marked `open_to_anonymous`: an anonymous caller gets 401."""
    if not request.url.path.startswith("/api/"):
        return False
    endpoint = request.scope.get("endpoint")
    return endpoint is not None and not getattr(endpoint, OPEN_ATTR, False)


# ---------------------------------------------------------------- control characters

# C0 controls and DEL, except tab, LF and CR: a text area sends those, and a URL carrying them is
# answered by the page's own checks (`safe_next`) rather than refused.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORM = "application/x-www-form-urlencoded"
MESSAGE = "含有不允许的控制字符"
SCANNED_BODY_MAX = 1 << 20


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(field path, text) for every string in a parsed JSON value, keys included."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            yield name, str(key)
            yield from _strings(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}.{index}" if where else str(index))


def control_character_errors(
    request: Request, json_body: bytes | None = None, form: Iterable[tuple[str, Any]] = ()
) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, value in request.path_params.items():
        if isinstance(value, str) and _CONTROL.search(value):
            errors.append(FieldError(name, MESSAGE))
    for name, value in request.query_params.multi_items():
        if _CONTROL.search(name) or _CONTROL.search(value):
            errors.append(FieldError(name, MESSAGE))
    if json_body:
        try:
            parsed = json.loads(json_body)
        except ValueError:
            parsed = None  # FastAPI answers malformed JSON with its own 422
        for name, value in _strings(parsed, ""):
            if _CONTROL.search(value):
                errors.append(FieldError(name or "body", MESSAGE))
    for name, value in form:
        if _CONTROL.search(name) or isinstance(value, str) and _CONTROL.search(value):
            errors.append(FieldError(name, MESSAGE))
    # One entry per field is enough to fix the input.
    unique = {e.field: e for e in errors}
    return list(unique.values())


async def reject_control_characters(request: Request) -> None:
    """App-wide dependency: refuse control characters in path, query, JSON and urlencoded bodies.

    Reads only what Starlette caches on the request (a JSON body, an urlencoded form), so a streamed
    upload (multipart) is never consumed here, and only bodies of a declared, modest length: this
    runs before authentication, and must not make an anonymous caller's large body buffered. What
    it skips still cannot cause a 500 (see `database_refusal`)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    json_body = None
    form: Iterable[tuple[str, Any]] = ()
    length = request.headers.get("content-length", "")
    if not (length.isdigit() and int(length) <= SCANNED_BODY_MAX):
        pass
    elif content_type == "application/json" or content_type.endswith("+json"):
        json_body = await request.body()
    elif content_type == _FORM:
        form = (await request.form()).multi_items()
    errors = control_character_errors(request, json_body, form)
    if errors:
        summary = "；".join(f"{e.field}：{e.message}" for e in errors)
        raise Invalid(detail=summary, errors=errors)


# ---------------------------------------------------------------- framework errors, in Chinese

HTTP_PROBLEMS: dict[int, tuple[str, str, str]] = {
    400: ("bad-request", "请求有误", "请求无法解析"),
    405: ("method-not-allowed", "不支持该请求方法", "该地址不接受此请求方法，可用的方法见 Allow 头"),
    406: ("not-acceptable", "无法提供所需的格式", "该地址不能以所请求的格式作答"),
    413: ("too-large", "请求内容过大", "请求内容超过了允许的大小"),
    415: ("unsupported-media-type", "不支持的内容类型", "请求体的内容类型不受支持"),
}


def http_problem(status: int) -> Problem:
    """A Starlette/FastAPI `HTTPException` (405 from routing, 400 for an unreadable body, …) as a
    problem in Chinese; their own `detail` is English and is not shown."""
    slug, title, detail = HTTP_PROBLEMS.get(status, (f"http-{status}", "请求无法处理", ""))
    return Problem(status=status, slug=slug, title=title, detail=detail)


def database_refusal(exc: BaseException) -> Problem | None:
    """A value the database refused (an integer out of its range, NUL in text on PostgreSQL) that
    slipped past the edge types — a 422, not a 500. None for any other error."""
    from sqlalchemy.exc import DataError, StatementError

    cause = exc.orig if isinstance(exc, StatementError) else exc
    if isinstance(exc, OverflowError) or isinstance(cause, OverflowError):
        return Invalid(detail="数值超出允许的范围")
    if isinstance(exc, DataError) or isinstance(cause, ValueError) and "NUL" in str(cause):
        return Invalid(detail="提交的值超出允许的范围或含有不允许的字符")
    return None
