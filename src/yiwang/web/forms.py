"""Reading forms: a posted form into a pydantic model with Chinese errors per field, small coercions,
every value of a multi-valued form, paging.

    data = parse(LicenceCreate, {**form_dict, "holder": holder})   # raises Invalid (422) per field

Pages catch the `Invalid`, show the form again with `errors=problem` (the layout's error summary links
each message to its field) and keep what the person typed (UX.md: errors).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from yiwang.core.errors import FieldError, Invalid, Problem, field_labels, from_validation_errors

M = TypeVar("M", bound=BaseModel)
PAGE_SIZES = (20, 50, 100)


def parse(model: type[M], data: dict[str, Any]) -> M:
    """`data` as `model`, or one `Invalid` carrying a Chinese message per failing field, each naming
    its field in the words of the model's titles ("用途：至少填写 2 个字")."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_errors(list(exc.errors()), field_labels(model)) from None


def int_or_none(value: str | None, field: str, message: str = "请选择列表中的一项") -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid.on(field, message) from None


def bool_or_none(value: str | None) -> bool | None:
    return {"true": True, "1": True, "false": False, "0": False}.get((value or "").strip().lower())


async def form_fields(request: Request) -> dict[str, list[str]]:
    """Every text field of a posted form, each with all its values (checkbox groups, one input per
    data item)."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


FormFields = Annotated[dict[str, list[str]], Depends(form_fields)]


def one(fields: dict[str, list[str]], key: str, default: str = "") -> str:
    """The first value of `key` in `form_fields`' result, stripped."""
    values = fields.get(key)
    return values[0].strip() if values else default


def page_errors(problem: Problem, default_field: str = "") -> list[FieldError]:
    """The problem's field errors, or its detail as one error (on `default_field`)."""
    return list(problem.errors) or [FieldError(default_field, problem.detail or problem.title)]


def recoverable(problem: Problem) -> bool:
    """Errors shown again on the form (bad input, a state conflict); refusals and missing objects get
    the error page."""
    return problem.status not in (401, 403, 404)


def paging(page: int, size: int, sizes: tuple[int, ...] = PAGE_SIZES) -> tuple[int, int, int]:
    """(page, size, offset): the size one of `sizes`, the page at least 1."""
    size = size if size in sizes else sizes[0]
    page = max(1, page)
    return page, size, (page - 1) * size


def page_count(total: int, size: int) -> int:
    return max(1, math.ceil(total / size)) if size else 1
