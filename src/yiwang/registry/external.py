"""Registries held by a department system and reached live (storage "external").

Like an X-Road security server, the platform keeps one registration per resource — base URL, a path
template with "{subject}", a timeout and the one header it authenticates with, sealed at rest — and
the exchange proxies each shared-data call through an `ExternalResourceAdapter`. The HTTP adapter
returns the same plain dicts as the table path (`fetch_by_subject`): requested fields only, values
typed by the resource's field specs.

Remote contract: `GET {base_url}{path}?fields=a,b` → 200 with a JSON array of objects (or an object
holding the array under "data", "rows" or "items", or a single object); 404 means "no record". Times
without an offset are read as Asia/Shanghai. A timeout is `UpstreamTimeout` (504), any other failure
`UpstreamError` (502), both with Chinese titles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable
from urllib.parse import quote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.crypto import open_secret, seal_secret
from yiwang.core.errors import Invalid, NotFound, Problem
from yiwang.core.security import Actor, require_role
from yiwang.registry.models import ExternalSource
from yiwang.registry.queries import normalise_subject
from yiwang.registry.resources import FieldSpec, ResourceSpec, resource
from yiwang.settings import get_settings

if TYPE_CHECKING:
    import httpx

MAX_BODY: Final = 8 * 1024 * 1024
_HEADER_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
_RESERVED_HEADERS: Final = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class UpstreamError(Problem):
    """The department system failed or answered with something unusable (502)."""

    default_status = 502
    default_slug = "upstream-error"
    default_title = "部门系统暂时无法提供数据"


class UpstreamTimeout(UpstreamError):
    """The department system did not answer in time (504)."""

    default_status = 504
    default_slug = "upstream-timeout"
    default_title = "部门系统响应超时"


@dataclass(frozen=True)
class ExternalSourceRecord:
    """A registration as others may see it: never the credential itself."""

    key: str
    base_url: str
    path_template: str
    timeout_ms: int
    auth_header_name: str | None
    has_auth: bool
    active: bool
    updated_by: str
    updated_at: datetime


@runtime_checkable
class ExternalResourceAdapter(Protocol):
    """What the exchange calls for an external resource."""

    spec: ResourceSpec

    def fetch(self, subject_id: str, fields: Sequence[str] | None = None) -> list[dict[str, Any]]: ...


# ------------------------------------------------------------------------------------------ values
def _bad(spec: ResourceSpec, what: str) -> UpstreamError:
    return UpstreamError(
        detail=f"{spec.department_name}系统返回的数据格式不正确：{what}", extra={"resource": spec.key}
    )


def _coerce(spec: ResourceSpec, field: FieldSpec, value: Any) -> Any:
    """One remote JSON value as the table path would return it."""
    if value is None:
        return None
    kind = field.type
    try:
        if kind == "string":
            if isinstance(value, bool | dict | list):
                raise ValueError
            return str(value)
        if kind in ("int", "money_fen"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "是", "y", "yes"):
                return True
            if text in ("false", "0", "否", "n", "no"):
                return False
            raise ValueError
        if kind == "date":
            if not isinstance(value, str):
                raise ValueError
            return date.fromisoformat(value[:10])
        if kind == "datetime":
            if not isinstance(value, str):
                raise ValueError
            parsed = datetime.fromisoformat(value)
            return parsed.replace(tzinfo=clock.SHANGHAI) if parsed.tzinfo is None else parsed
    except (ValueError, TypeError, OverflowError):
        pass
    raise _bad(spec, f"字段 {field.name}（{field.label}）的值 {str(value)[:40]!r} 不是{_TYPE_WORDS[kind]}")


_TYPE_WORDS: Final = {
    "string": "文本",
    "int": "整数",
    "money_fen": "以分为单位的整数金额",
    "bool": "是/否",
    "date": "日期",
    "datetime": "时间",
}


def _records(spec: ResourceSpec, payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, dict):
        for name in ("data", "rows", "items"):
            if isinstance(payload.get(name), list):
                payload = payload[name]
                break
        else:
            payload = [payload]
    if not isinstance(payload, list) or not all(isinstance(r, dict) for r in payload):
        raise _bad(spec, "应为 JSON 对象或对象数组")
    return payload


# ------------------------------------------------------------------------------------------ HTTP
class HttpResourceAdapter:
    """Reads one external resource over HTTP(S) with httpx. Use as a context manager, or `close()`.

    `transport` (an `httpx.BaseTransport`, e.g. `httpx.MockTransport`) replaces the network: tests
    stand in for the department system there, and only there."""

    def __init__(
        self,
        spec: ResourceSpec,
        *,
        base_url: str,
        path_template: str,
        timeout_ms: int = 3000,
        auth_header: tuple[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        self.spec = spec
        self.base_url = base_url.rstrip("/")
        self.path_template = path_template
        self.timeout_ms = timeout_ms
        headers = {"Accept": "application/json", "X-Yiwang-Resource": spec.key}
        if auth_header is not None:
            headers[auth_header[0]] = auth_header[1]
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_ms / 1000),
            headers=headers,
            follow_redirects=False,
            transport=transport,
            trust_env=False,
        )

    def __enter__(self) -> HttpResourceAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def url_for(self, subject_id: str) -> str:
        return self.base_url + self.path_template.replace("{subject}", quote(subject_id, safe=""))

    def fetch(self, subject_id: str, fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The department's rows about `subject_id`, as plain dicts of the requested fields."""
        import httpx

        spec = self.spec
        names = spec.select_fields(list(fields) if fields is not None else None)
        subject = normalise_subject(spec, subject_id)
        who = spec.department_name
        try:
            response = self._client.get(self.url_for(subject), params={"fields": ",".join(names)})
        except httpx.TimeoutException:
            raise UpstreamTimeout(
                detail=f"{who}系统在 {self.timeout_ms} 毫秒内没有响应，请稍后再试",
                extra={"resource": spec.key},
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                detail=f"无法连接{who}系统（{type(exc).__name__}）", extra={"resource": spec.key}
            ) from None
        status = response.status_code
        if status == 404:
            return []
        if status in (401, 403):
            raise UpstreamError(
                detail=f"{who}系统拒绝了平台的访问凭据（HTTP {status}），请联系平台管理员核对接入配置",
                extra={"resource": spec.key, "upstream_status": status},
            )
        if status == 204:
            return []
        if status != 200:
            raise UpstreamError(
                detail=f"{who}系统返回错误（HTTP {status}），请稍后再试",
                extra={"resource": spec.key, "upstream_status": status},
            )
        if len(response.content) > MAX_BODY:
            raise _bad(spec, "返回内容过大")
        try:
            payload = json.loads(response.content)
        except ValueError:
            raise _bad(spec, "不是 JSON") from None
        by_name = {f.name: f for f in spec.fields}
        return [
            {name: _coerce(spec, by_name[name], record.get(name)) for name in names}
            for record in _records(spec, payload)
        ]


# ------------------------------------------------------------------------------------------ registrations
def _context(key: str) -> str:
    return f"registry.external_source:{key}"


def _record(row: ExternalSource) -> ExternalSourceRecord:
    return ExternalSourceRecord(
        key=row.key,
        base_url=row.base_url,
        path_template=row.path_template,
        timeout_ms=row.timeout_ms,
        auth_header_name=row.auth_header_name,
        has_auth=row.auth_header_sealed is not None,
        active=row.active,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def _check_registration(
    base_url: str, path_template: str, timeout_ms: int, header_name: str | None, header_value: str | None
) -> None:
    parts = urlsplit(base_url) if isinstance(base_url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(base_url) > 500:
        raise Invalid.on("base_url", "部门系统地址应为 http:// 或 https:// 开头的完整网址")
    if parts.query or parts.fragment:
        raise Invalid.on("base_url", "部门系统地址不能带查询参数或锚点")
    if (
        not isinstance(path_template, str)
        or not path_template.startswith("/")
        or path_template.count("{subject}") != 1
        or len(path_template) > 300
    ):
        raise Invalid.on("path_template", "路径模板应以 / 开头，并且恰好包含一个 {subject}")
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or not 100 <= timeout_ms <= 60_000:
        raise Invalid.on("timeout_ms", "超时时间应在 100 到 60000 毫秒之间")
    if header_name:
        if not _HEADER_NAME.fullmatch(header_name) or header_name.lower() in _RESERVED_HEADERS:
            raise Invalid.on("auth_header_name", "认证请求头名称不正确（如 Authorization 或 X-Api-Key）")
        if not header_value or any(ch in header_value for ch in "\r\n\0"):
            raise Invalid.on("auth_header_value", "请填写认证请求头的值（不能包含换行）")


def register_external_source(
    session: Session,
    actor: Actor,
    key: str,
    *,
    base_url: str,
    path_template: str,
    timeout_ms: int = 3000,
    auth_header_name: str | None = None,
    auth_header_value: str | None = None,
    active: bool = True,
) -> ExternalSourceRecord:
    """Register (or change) the department system that answers for resource `key`. Platform admins
    only. The header value is sealed at rest; leaving both auth arguments None keeps the current
    credential, `auth_header_name=""` removes it. Audited as "registry.external_source.register"."""
    require_role(actor, "platform_admin")
    spec = resource(key)
    keep_auth = auth_header_name is None and auth_header_value is None
    _check_registration(base_url, path_template, timeout_ms, auth_header_name or None, auth_header_value)
    row = session.scalars(select(ExternalSource).where(ExternalSource.key == spec.key)).first()
    if row is None:
        row = ExternalSource(key=spec.key)
        session.add(row)
    row.base_url = base_url.rstrip("/")
    row.path_template = path_template
    row.timeout_ms = timeout_ms
    row.active = active
    row.updated_by = actor.label()[:64]
    row.updated_at = clock.now()
    if not keep_auth:
        if auth_header_name:
            row.auth_header_name = auth_header_name
            row.auth_header_sealed = seal_secret(
                get_settings().resolved_master_key(), auth_header_value.encode(), _context(spec.key)
            )
        else:
            row.auth_header_name = row.auth_header_sealed = None
    session.flush()
    audit.append(
        session,
        actor,
        "registry.external_source.register",
        object_type="registry_external_source",
        object_id=spec.key,
        detail={
            "base_url": row.base_url,
            "path_template": row.path_template,
            "timeout_ms": row.timeout_ms,
            "auth_header_name": row.auth_header_name or "",
            "auth_changed": not keep_auth,
            "active": row.active,
        },
    )
    return _record(row)


def set_external_source_active(
    session: Session, actor: Actor, key: str, active: bool
) -> ExternalSourceRecord:
    """Switch a registration on or off (off: the resource is served from its table again)."""
    require_role(actor, "platform_admin")
    spec = resource(key)
    row = session.scalars(select(ExternalSource).where(ExternalSource.key == spec.key)).first()
    if row is None:
        raise NotFound(detail=f"资源「{spec.name}」没有登记外部部门系统")
    row.active = active
    row.updated_by = actor.label()[:64]
    row.updated_at = clock.now()
    session.flush()
    audit.append(
        session,
        actor,
        "registry.external_source.activate" if active else "registry.external_source.deactivate",
        object_type="registry_external_source",
        object_id=spec.key,
    )
    return _record(row)


def external_source(session: Session, key: str) -> ExternalSourceRecord | None:
    """The registration for resource `key`, active or not, or None."""
    spec = resource(key)
    row = session.scalars(select(ExternalSource).where(ExternalSource.key == spec.key)).first()
    return _record(row) if row is not None else None


def external_sources(session: Session) -> list[ExternalSourceRecord]:
    return [_record(r) for r in session.scalars(select(ExternalSource).order_by(ExternalSource.key))]


def external_adapter(
    session: Session, key: str, *, transport: httpx.BaseTransport | None = None
) -> HttpResourceAdapter:
    """An adapter for resource `key`'s active registration (NotFound when there is none). The caller
    closes it (`with external_adapter(...) as adapter:`)."""
    spec = resource(key)
    row = session.scalars(
        select(ExternalSource).where(ExternalSource.key == spec.key, ExternalSource.active.is_(True))
    ).first()
    if row is None:
        raise NotFound(detail=f"资源「{spec.name}」没有启用的外部部门系统")
    auth = None
    if row.auth_header_name and row.auth_header_sealed:
        value = open_secret(get_settings().resolved_master_key(), row.auth_header_sealed, _context(spec.key))
        auth = (row.auth_header_name, value.decode())
    return HttpResourceAdapter(
        spec,
        base_url=row.base_url,
        path_template=row.path_template,
        timeout_ms=row.timeout_ms,
        auth_header=auth,
        transport=transport,
    )
