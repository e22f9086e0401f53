"""RFC 9457 problem details with Chinese titles (DESIGN §3 rule 5).

Every refusal in the platform is a `Problem`: services raise them, the web layer renders them as
`application/problem+json` (API) or as the error summary of a page. `type` is a stable relative URI,
`/problems/<slug>`, that clients may switch on; `title` is for people and is in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Problem(Exception):
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    title: str = ""
    slug: str = ""
    status: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # Set by `audited()`: the refusal record the web layer appends to the audit chain after the
    # request's own transaction has rolled back (so the record survives and no lock is held).
    refusal: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    default_status: ClassVar[int] = 400
    default_slug: ClassVar[str] = "bad-request"
    default_title: ClassVar[str] = "请求有误"

    def __post_init__(self) -> None:
        self.status = self.status or self.default_status
        self.slug = self.slug or self.default_slug
        self.title = self.title or self.default_title
        Exception.__init__(self, self.detail or self.title)

    def audited(
        self,
        actor: Any,
        action: str,
        *,
        subject: str = "",
        object_type: str = "",
        object_id: str = "",
        purpose: str = "",
        detail: dict[str, Any] | None = None,
    ) -> Problem:
        """Mark this refusal for the audit chain; `raise Forbidden(...).audited(actor, "x.y")`."""
        self.refusal = {
            "actor": actor,
            "action": action,
            "subject": subject,
            "object_type": object_type,
            "object_id": object_id,
            "purpose": purpose or self.detail or self.title,
            "detail": {"status": self.status, "type": self.type, **(detail or {})},
        }
        return self

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"

    def as_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extra)
        return body


class Invalid(Problem):
    default_status = 422
    default_slug = "invalid"
    default_title = "提交的内容有误"

    @classmethod
    def on(cls, field_name: str, message: str, detail: str = "") -> Invalid:
        return cls(detail=detail or message, errors=[FieldError(field_name, message)])


class Unauthenticated(Problem):
    default_status = 401
    default_slug = "unauthenticated"
    default_title = "请先登录"


class Forbidden(Problem):
    default_status = 403
    default_slug = "forbidden"
    default_title = "无权进行此操作"


def refuse(
    actor: Any,
    action: str,
    detail: str,
    *,
    object_type: str = "",
    object_id: Any = "",
    subject: str = "",
    title: str = "",
    slug: str = "",
) -> Forbidden:
    """A 403 marked for the audit chain: `raise refuse(actor, "catalog.entry.edit", "只有…")`.

    The web layer records it (with the refused action and its object) after the request's own
    transaction has rolled back, so the record survives the refusal; a caller outside the web layer
    (CLI, job) records `problem.refusal` itself. Returned, not raised, so the raise shows at the call."""
    exc = Forbidden(detail=detail, title=title, slug=slug)
    exc.audited(actor, action, subject=subject, object_type=object_type, object_id=str(object_id))
    return exc


class NotFound(Problem):
    default_status = 404
    default_slug = "not-found"
    default_title = "找不到该对象"


class Conflict(Problem):
    default_status = 409
    default_slug = "conflict"
    default_title = "与现有数据冲突"


class Locked(Problem):
    default_status = 423
    default_slug = "locked"
    default_title = "账号已临时锁定"


class TooManyRequests(Problem):
    default_status = 429
    default_slug = "too-many-requests"
    default_title = "请求过于频繁"


# ---------------------------------------------------------------- a module's problem types


@dataclass(frozen=True)
class ProblemType:
    """One problem type a module answers with: a stable slug (its URI is `/problems/<slug>`), a
    Chinese title and an HTTP status. Calling it makes the `Problem` to raise:
    `raise PROBLEMS["no-grant"]("没有调用「户籍」的有效授权")`."""

    slug: str
    title: str
    status: int = 400
    base: type[Problem] = Problem

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"

    def __call__(self, detail: str = "", **kw: Any) -> Problem:
        return self.base(detail=detail, title=self.title, slug=self.slug, status=self.status, **kw)


_STATUS_BASES: dict[int, type[Problem]] = {}


class ProblemTypes(dict[str, ProblemType]):
    """A module's problem types, declared in one place (its `problems.py`) with their Chinese titles::

        PROBLEMS = ProblemTypes(
            "exchange",
            {"no-grant": (403, "没有共享授权"), "rate-limited": (429, "请求过于频繁")},
        )
        raise PROBLEMS["no-grant"](detail)   # type /problems/exchange-no-grant

    Keys are the short names; each slug is `<module>-<name>`, so two modules never share a type.
    The status picks the base class (403 → `Forbidden`, 404 → `NotFound`, …), so `except Forbidden`
    still catches a module's refusals."""

    def __init__(self, module: str, types: dict[str, tuple[int, str]]) -> None:
        super().__init__()
        self.module = module
        for name, (status, title) in types.items():
            self[name] = ProblemType(f"{module}-{name}", title, status, _STATUS_BASES.get(status, Problem))

    def titles(self) -> dict[str, str]:
        """Problem type URI → Chinese title, for pages that show a stored problem type."""
        return {p.type: p.title for p in self.values()}


# Pydantic's English messages, in the words a clerk or citizen would use.
PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "必填项未填写",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长",
    "string_pattern_mismatch": "格式不正确",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是或否",
    "date_parsing": "日期格式不正确（应为 YYYY-MM-DD）",
    "date_from_datetime_parsing": "日期格式不正确（应为 YYYY-MM-DD）",
    "datetime_parsing": "时间格式不正确",
    "enum": "不是允许的取值",
    "literal_error": "不是允许的取值",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "greater_than": "数值太小",
    "less_than": "数值太大",
    "too_short": "条目太少",
    "too_long": "条目太多",
    "url_parsing": "网址格式不正确",
    "url_scheme": "网址协议不正确",
    "json_invalid": "JSON 格式不正确",
    "model_attributes_type": "请求体格式不正确",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "extra_forbidden": "不允许的字段",
}


_STATUS_BASES.update(
    {
        401: Unauthenticated,
        403: Forbidden,
        404: NotFound,
        409: Conflict,
        422: Invalid,
        423: Locked,
        429: TooManyRequests,
    }
)


# Messages that say how much was wanted, from pydantic's context ({min_length}, {ge}, …).
PYDANTIC_MESSAGES_WITH_LIMIT: dict[str, str] = {
    "string_too_short": "至少填写 {min_length} 个字",
    "string_too_long": "最多 {max_length} 个字",
    "too_short": "至少选择 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "应大于 {gt}",
    "less_than": "应小于 {lt}",
}


def field_labels(model: Any) -> dict[str, str]:
    """Field name → the words people know it by, from a pydantic model: each field's `title`, else
    its `description` up to the first comma or bracket ("用途，如“婚姻登记办理”" → "用途")."""
    import re

    out: dict[str, str] = {}
    for name, info in getattr(model, "model_fields", {}).items():
        text = info.title or info.description or ""
        label = re.split(r"[，,；;（(：:]", text, maxsplit=1)[0].strip()
        if label and not label.isascii():
            out[name] = label
    return out


def from_validation_errors(raw: list[dict[str, Any]], labels: dict[str, str] | None = None) -> Invalid:
    """Turn pydantic/FastAPI validation errors into one Invalid problem with Chinese messages.

    With `labels` (field name → Chinese name, see `field_labels`) each message names its field
    ("用途：至少填写 2 个字"), so an error summary read on its own still says what to fix."""
    errors: list[FieldError] = []
    for err in raw:
        loc = [str(p) for p in err.get("loc", ())]
        # Only the first part says where the value came from; a field may itself be named "form".
        if loc and loc[0] in ("body", "query", "path", "form", "header", "cookie"):
            loc = loc[1:]
        name = ".".join(loc) or "body"
        kind = str(err.get("type", ""))
        ctx = err.get("ctx") or {}
        message = None
        if kind in PYDANTIC_MESSAGES_WITH_LIMIT:
            try:
                message = PYDANTIC_MESSAGES_WITH_LIMIT[kind].format(**ctx)
            except (KeyError, IndexError):
                message = None
        message = message or PYDANTIC_MESSAGES.get(kind)
        if message is None:
            ctx_error = ctx.get("error")
            # ValueErrors raised by our own validators already carry Chinese text.
            message = str(ctx_error) if ctx_error else "格式不正确"
        label = (labels or {}).get(loc[0]) if loc else None
        if label and kind == "missing":
            message = f"请填写{label}"
        elif label:
            message = f"{label}：{message}"
        errors.append(FieldError(name, message))
    summary = "；".join(e.message if labels else f"{e.field}：{e.message}" for e in errors)
    return Invalid(detail=summary, errors=errors)
