"""External resources: registrations (platform admins only, credential sealed at rest, audited) and the
HTTP adapter against a stand-in for the department system — httpx.MockTransport, and one real local
server for the timeout. The stand-in is the only fake: everything on the platform's side is real."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select

import yiwang.registry as registry
from yiwang.core.crypto import CryptoError, open_secret
from yiwang.core.db import Base
from yiwang.core.errors import Forbidden, Invalid, NotFound
from yiwang.core.security import PLATFORM, Actor, ActorKind
from yiwang.settings import get_settings

ADMIN = Actor(kind=ActorKind.STAFF, account_id=1, name="平台管理员", roles=frozenset({"platform_admin"}))
OFFICER = Actor(kind=ActorKind.STAFF, account_id=2, name="数据管理员", roles=frozenset({"data_officer"}))
CITIZEN_ID = "11010519491231002X"
TOKEN = "Bearer gongan-7f3a9c"
RECORD = {
    "citizen_id": CITIZEN_ID,
    "name": "张三",
    "has_record": False,
    "record_summary": None,
    "checked_at": "2026-03-01T16:30:00+08:00",
    "source": "市公安局",
    "updated_at": "2026-03-01 16:30:00",
    "internal_flag": "not for the platform",
}


def _register(session, **kw) -> registry.ExternalSourceRecord:  # noqa: ANN003
    args = {
        "base_url": "https://gongan.example.gov.cn/api/",
        "path_template": "/records/{subject}",
        "timeout_ms": 2000,
        "auth_header_name": "Authorization",
        "auth_header_value": TOKEN,
    }
    args.update(kw)
    return registry.register_external_source(session, ADMIN, "no_criminal_record", **args)


def _transport(handler) -> httpx.MockTransport:  # noqa: ANN001
    return httpx.MockTransport(handler)


def test_registration_seals_the_credential_and_is_audited(session):
    record = _register(session)
    assert record.has_auth and record.auth_header_name == "Authorization" and record.active
    assert record.base_url == "https://gongan.example.gov.cn/api" and record.updated_by == "平台管理员"
    table = Base.metadata.tables["registry_external_source"]
    sealed = session.execute(
        select(table.c.auth_header_sealed).where(table.c.key == "no_criminal_record")
    ).scalar()
    assert sealed and TOKEN not in sealed and "gongan-7f3a9c" not in sealed
    key = get_settings().resolved_master_key()
    assert open_secret(key, sealed, "registry.external_source:no_criminal_record").decode() == TOKEN
    with pytest.raises(CryptoError):  # bound to its resource: copied elsewhere, it does not open
        open_secret(key, sealed, "registry.external_source:marriage")
    audit = Base.metadata.tables["audit_record"]
    detail = session.execute(
        select(audit.c.detail).where(
            audit.c.action == "registry.external_source.register", audit.c.object_id == "no_criminal_record"
        )
    ).scalar_one()
    assert "gongan.example.gov.cn" in detail and "7f3a9c" not in detail
    assert registry.storage_of(session, "no_criminal_record") == "external"
    assert [r.key for r in registry.external_sources(session)] == ["no_criminal_record"]


def test_re_registration_keeps_or_removes_the_credential(session):
    _register(session)
    kept = _register(session, auth_header_name=None, auth_header_value=None, timeout_ms=500)
    assert kept.has_auth and kept.timeout_ms == 500
    removed = _register(session, auth_header_name="", auth_header_value=None)
    assert not removed.has_auth and removed.auth_header_name is None


def test_only_platform_admins_register(session):
    with pytest.raises(Forbidden):
        registry.register_external_source(
            session, OFFICER, "no_criminal_record", base_url="https://x.example", path_template="/{subject}"
        )
    assert registry.external_source(session, "no_criminal_record") is None
    assert (
        registry.register_external_source(
            session, PLATFORM, "tax_status", base_url="http://10.0.0.5:8080", path_template="/tax/{subject}"
        ).has_auth
        is False
    )


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"base_url": "ftp://gongan.example"}, "base_url"),
        ({"base_url": "https://"}, "base_url"),
        ({"base_url": "https://x.example/?a=1"}, "base_url"),
        ({"path_template": "/records"}, "path_template"),
        ({"path_template": "records/{subject}"}, "path_template"),
        ({"timeout_ms": 10}, "timeout_ms"),
        ({"auth_header_name": "Bad Header"}, "auth_header_name"),
        ({"auth_header_name": "Host"}, "auth_header_name"),
        ({"auth_header_value": "a\r\nX-Evil: 1"}, "auth_header_value"),
        ({"auth_header_value": None}, "auth_header_value"),
    ],
)
def test_bad_registrations_are_invalid(session, kw, field):
    with pytest.raises(Invalid) as caught:
        _register(session, **kw)
    assert caught.value.errors[0].field == field
    assert registry.external_source(session, "no_criminal_record") is None


def test_registration_of_an_unknown_resource_is_not_found(session):
    with pytest.raises(NotFound):
        registry.register_external_source(
            session, ADMIN, "vehicle", base_url="https://x.example", path_template="/{subject}"
        )


def test_success_returns_typed_rows_of_the_requested_fields(session):
    _register(session)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[RECORD])

    with registry.external_adapter(session, "no_criminal_record", transport=_transport(handler)) as adapter:
        assert isinstance(adapter, registry.ExternalResourceAdapter)
        rows = adapter.fetch(CITIZEN_ID.lower())
        picked = adapter.fetch(CITIZEN_ID, fields=["has_record", "checked_at"])
    request = seen[0]
    assert str(request.url).startswith(f"https://gongan.example.gov.cn/api/records/{CITIZEN_ID}?")
    assert (
        request.headers["Authorization"] == TOKEN
        and request.headers["X-Yiwang-Resource"] == "no_criminal_record"
    )
    assert seen[1].url.params["fields"] == "has_record,checked_at"
    assert rows == [
        {
            "citizen_id": CITIZEN_ID,
            "name": "张三",
            "has_record": False,
            "record_summary": None,
            "checked_at": datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
            "source": "市公安局",
            "updated_at": datetime(2026, 3, 1, 8, 30, tzinfo=UTC),  # no offset: read as Beijing time
        }
    ]
    assert picked == [{"has_record": False, "checked_at": datetime(2026, 3, 1, 8, 30, tzinfo=UTC)}]


@pytest.mark.parametrize(
    "payload",
    [{"data": [RECORD]}, {"rows": [RECORD]}, {"items": [RECORD]}, RECORD],
    ids=["data", "rows", "items", "object"],
)
def test_other_payload_shapes(session, payload):
    _register(session)
    transport = _transport(lambda request: httpx.Response(200, json=payload))
    with registry.external_adapter(session, "no_criminal_record", transport=transport) as adapter:
        assert [r["name"] for r in adapter.fetch(CITIZEN_ID)] == ["张三"]


def test_remote_not_found_is_empty(session):
    _register(session)
    transport = _transport(lambda request: httpx.Response(404, json={"error": "no such person"}))
    with registry.external_adapter(session, "no_criminal_record", transport=transport) as adapter:
        assert adapter.fetch(CITIZEN_ID) == []


@pytest.mark.parametrize(
    ("response", "status", "words"),
    [
        (httpx.Response(500, text="Internal Server Error"), 502, "HTTP 500"),
        (httpx.Response(503), 502, "HTTP 503"),
        (httpx.Response(401), 502, "访问凭据"),
        (httpx.Response(302, headers={"Location": "https://elsewhere.example"}), 502, "HTTP 302"),
        (httpx.Response(200, text="<html>维护中</html>"), 502, "不是 JSON"),
        (httpx.Response(200, json=[1, 2]), 502, "对象"),
        (httpx.Response(200, json=[{**RECORD, "has_record": "maybe"}]), 502, "has_record"),
        (httpx.Response(200, json=[{**RECORD, "checked_at": 17}]), 502, "checked_at"),
    ],
)
def test_remote_failures_are_upstream_problems(session, response, status, words):
    _register(session)
    with (
        registry.external_adapter(
            session, "no_criminal_record", transport=_transport(lambda r: response)
        ) as adapter,
        pytest.raises(registry.UpstreamError) as caught,
    ):
        adapter.fetch(CITIZEN_ID)
    problem = caught.value
    assert problem.status == status and problem.type == "/problems/upstream-error"
    assert problem.title == "部门系统暂时无法提供数据" and words in problem.detail
    assert problem.as_dict()["resource"] == "no_criminal_record"


def test_timeout_and_connection_errors(session):
    _register(session)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with (
        registry.external_adapter(session, "no_criminal_record", transport=_transport(slow)) as adapter,
        pytest.raises(registry.UpstreamTimeout) as caught,
    ):
        adapter.fetch(CITIZEN_ID)
    problem = caught.value
    assert problem.status == 504 and problem.type == "/problems/upstream-timeout"
    assert (
        problem.title == "部门系统响应超时" and "2000 毫秒" in problem.detail and "市公安局" in problem.detail
    )
    assert isinstance(problem, registry.UpstreamError)
    with (
        registry.external_adapter(session, "no_criminal_record", transport=_transport(refused)) as adapter,
        pytest.raises(registry.UpstreamError) as caught,
    ):
        adapter.fetch(CITIZEN_ID)
    assert caught.value.status == 502 and "无法连接" in caught.value.detail


def test_a_malformed_subject_never_reaches_the_department(session):
    _register(session)
    calls: list[httpx.Request] = []
    transport = _transport(lambda r: calls.append(r) or httpx.Response(200, json=[]))
    with registry.external_adapter(session, "no_criminal_record", transport=transport) as adapter:
        with pytest.raises(Invalid):
            adapter.fetch("../../admin")
        with pytest.raises(Invalid):
            adapter.fetch(CITIZEN_ID, fields=["salary"])
    assert calls == []


def test_deactivated_or_missing_registrations(session):
    with pytest.raises(NotFound):
        registry.external_adapter(session, "no_criminal_record")
    _register(session)
    off = registry.set_external_source_active(session, ADMIN, "no_criminal_record", False)
    assert off.active is False and registry.storage_of(session, "no_criminal_record") == "table"
    with pytest.raises(NotFound):
        registry.external_adapter(session, "no_criminal_record")
    registry.set_external_source_active(session, ADMIN, "no_criminal_record", True)
    assert registry.storage_of(session, "no_criminal_record") == "external"
    with pytest.raises(NotFound):
        registry.set_external_source_active(session, ADMIN, "marriage", True)


# ------------------------------------------------------------------------------------------ a real socket
class _Department(BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        time.sleep(self.delay)
        if self.headers.get("Authorization") != TOKEN:
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps(
            [{"party_a_citizen_id": CITIZEN_ID, "kind": "结婚", "registered_on": "2001-10-01", "extra": 1}]
        ).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the platform gave up waiting (the timeout test)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def department() -> Iterator[tuple[str, type[_Department]]]:
    handler = type("Handler", (_Department,), {"delay": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_real_department_server_and_its_timeout(session, department):
    url, handler = department
    registry.register_external_source(
        session,
        ADMIN,
        "marriage",
        base_url=url,
        path_template="/marriage/{subject}",
        timeout_ms=300,
        auth_header_name="Authorization",
        auth_header_value=TOKEN,
    )
    with registry.external_adapter(session, "marriage") as adapter:
        rows = adapter.fetch(CITIZEN_ID, fields=["kind", "registered_on"])
    assert rows == [{"kind": "结婚", "registered_on": date(2001, 10, 1)}]
    handler.delay = 1.0
    started = time.perf_counter()
    with registry.external_adapter(session, "marriage") as adapter, pytest.raises(registry.UpstreamTimeout):
        adapter.fetch(CITIZEN_ID)
    assert time.perf_counter() - started < 0.9  # the registered 300 ms, not the server's second
