"""The OpenAPI document says what the API really answers: every refusal as problem+json.

FastAPI documents only the success answer and its own 422 schema. `install(app)` post-processes the
generated document once: each operation lists the problem+json answers it can give — 400 and 413
where a body is read, 401 and 403 where a caller is required, 404, 409 on writes, 422 everywhere
(the edge guard reads every query string), 429 where a rate limit applies — with one shared
`Problem` schema; answers a route already declares keep their description and gain that content.
The OpenID Connect endpoints answer errors as RFC 6749 JSON (`{"error": …}`), as pages (to a
person's browser) or as problem+json; their error answers list all three.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from yiwang.core.edge import OPEN_ATTR
from yiwang.core.errors import PROBLEM_MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 问题详情：type 稳定可判断，title 与 detail 为中文说明，errors 列出出错的字段。",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "稳定的问题类型，如 /problems/invalid"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
OAUTH_ERROR_SCHEMA: dict[str, Any] = {
    "title": "OAuthError",
    "description": "RFC 6749 第 5.2 节的错误响应。",
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
DESCRIPTIONS = {
    400: "请求无法解析（problem+json）",
    401: "未登录或令牌无效（problem+json）",
    403: "无权进行此操作（problem+json）",
    404: "对象不存在或不可见（problem+json）",
    409: "与现有数据或当前状态冲突（problem+json）",
    413: "请求内容过大（problem+json）",
    422: "提交的内容有误，errors 列出字段（problem+json）",
    429: "请求过于频繁（problem+json，Retry-After 头）",
}
WRITES = {"post", "put", "patch", "delete"}
OIDC_PREFIXES = ("/oidc/", "/.well-known/")


def _open_operations(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(app.routes):
        endpoint = route.endpoint
        if route.path and route.methods and getattr(endpoint, OPEN_ATTR, False):
            found |= {(route.path, m.lower()) for m in route.methods}
    return found


def statuses_for(path: str, method: str, operation: dict[str, Any], is_open: bool) -> set[int]:
    body = "requestBody" in operation
    statuses = {404, 422}
    if body:
        statuses |= {400, 413}
    if method in WRITES:
        statuses.add(409)
    # Open routes still refuse a bad token; the shared-data API authenticates by itself.
    statuses |= {401, 403}
    if is_open:
        statuses.add(429)
    declared = {int(code) for code in operation.get("responses", {}) if re.fullmatch(r"[45]\d\d", code)}
    return statuses | declared


def document_problems(schema: dict[str, Any], open_ops: set[tuple[str, str]]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components["OAuthError"] = OAUTH_ERROR_SCHEMA
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    oauth = {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if path.startswith(OIDC_PREFIXES):
                # A browser's errors are pages, a client's are RFC 6749 JSON, the edge guard's and a
                # bearer refusal are problem+json: each endpoint gives one or more of these.
                for status in (400, 401, 403, 404, 422, 429):
                    entry = responses.setdefault(str(status), {"description": "OAuth 2.0 / OIDC 错误"})
                    entry["content"] = {**oauth, **problem, "text/html": {"schema": {"type": "string"}}}
                continue
            for status in sorted(statuses_for(path, method, operation, (path, method) in open_ops)):
                entry = responses.setdefault(str(status), {"description": DESCRIPTIONS.get(status, "")})
                entry["content"] = problem
                if status == 422:
                    entry["description"] = DESCRIPTIONS[422]
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in components and unused not in str(schema.get("paths")):
            del components[unused]
    return schema


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate(), _open_operations(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
