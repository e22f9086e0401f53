"""Edges of the pipeline: resources a department system serves live (external), the per-worker token
cache, and the group commit under concurrent calls (exact rate limits, a whole audit chain)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from tests.exchange.conftest import API, PURPOSE, calls, data_url, grant, publish_mounted, request_body
from yiwang import exchange, identity, registry
from yiwang.core import audit, clock
from yiwang.core.db import Database
from yiwang.core.security import PLATFORM, Actor, ActorKind
from yiwang.exchange.models import Call


class _Department(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        subject = self.path.split("?")[0].rsplit("/", 1)[-1]
        body = json.dumps([{"citizen_id": subject, "name": "外部系统", "gender": "女", "status": "正常"}])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def department_system() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Department)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _register(db, base_url: str) -> None:
    with db.session() as s:
        registry.register_external_source(
            s, PLATFORM, "population", base_url=base_url, path_template="/people/{subject}", timeout_ms=2000
        )
    exchange.clear_caches()


def test_external_resource_is_proxied_masked_and_logged(
    client, db, catalogued, marriage_system, people, department_system
):
    grant(db, marriage_system.client_id, fields=["citizen_id", "name", "gender", "status"])
    _register(db, department_system)
    r = client.get(
        data_url(), params={"subject": people[1], "purpose": PURPOSE}, headers=marriage_system.headers
    )
    assert r.status_code == 200, r.text
    (record,) = r.json()["records"]
    assert record["name"] == "外部系统" and record["citizen_id"] != people[1] and "*" in record["citizen_id"]
    (row,) = calls(db, subject=people[1])
    assert row.result == "ok" and row.row_count == 1


def test_unreachable_department_system_is_a_logged_failure(client, db, catalogued, marriage_system, people):
    grant(db, marriage_system.client_id)
    _register(db, "http://127.0.0.1:9")  # discard port: nothing listens
    r = client.get(
        data_url(), params={"subject": people[1], "purpose": PURPOSE}, headers=marriage_system.headers
    )
    assert r.status_code == 502 and r.json()["type"] == "/problems/upstream-error"
    (row,) = calls(db, subject=people[1])
    assert row.result == "failed" and row.status == 502


def test_token_cache_delays_revocation_at_most_its_ttl(
    client, db, catalogued, marriage_system, people, admin_h
):
    grant(db, marriage_system.client_id)
    ask = {"subject": people[1], "purpose": PURPOSE}
    assert client.get(data_url(), params=ask, headers=marriage_system.headers).status_code == 200
    with db.session() as s:
        identity.deactivate_client(s, PLATFORM, marriage_system.client_id)
    # Within the TTL this worker still knows the token …
    assert client.get(data_url(), params=ask, headers=marriage_system.headers).status_code == 200
    # … after it (here: the cache dropped), the deactivated client is refused.
    exchange.clear_caches()
    assert client.get(data_url(), params=ask, headers=marriage_system.headers).status_code == 401


def test_without_the_token_cache_revocation_is_immediate(
    client, db, catalogued, marriage_system, people, admin_h
):
    grant(db, marriage_system.client_id)
    assert client.put(f"{API}/settings", json={"token_cache_seconds": 0}, headers=admin_h).status_code == 200
    ask = {"subject": people[1], "purpose": PURPOSE}
    assert client.get(data_url(), params=ask, headers=marriage_system.headers).status_code == 200
    with db.session() as s:
        identity.deactivate_client(s, PLATFORM, marriage_system.client_id)
    assert client.get(data_url(), params=ask, headers=marriage_system.headers).status_code == 401


# ---------------------------------------------------------------- group commit under load


@pytest.mark.slow
def test_concurrent_calls_are_group_committed_exactly(scratch_db_url):
    from yiwang.demo import build_test_city

    database = Database(scratch_db_url)
    try:
        city = build_test_city(database)
        at = datetime.now(UTC).replace(second=5, microsecond=0)
        with clock.freeze(at):
            with database.session() as s:
                publish_mounted(s, city, "population", sharing="conditional", category="101001")
                client_row, _secret = identity.register_client(
                    s,
                    PLATFORM,
                    name="并发测试系统",
                    owner_unit_id=city.departments["minzheng"],
                    redirect_uris=[],
                    grant_types=["client_credentials"],
                    allowed_scopes="exchange.call",
                )
                client_id = client_row.client_id
                body = request_body(client_id=client_id, rate_per_minute=150)
                req = exchange.file_request(s, PLATFORM, exchange.RequestCreate.model_validate(body))
                exchange.decide_request(s, PLATFORM, req.id, exchange.Decision(decision="approve"))
                people = [
                    r["citizen_id"] for r in registry.fetch_slice(s, "population", fields=["citizen_id"])
                ]
            exchange.clear_caches()
            actor = Actor(
                kind=ActorKind.SYSTEM,
                name="并发测试系统",
                subject_id=client_id,
                department_id=city.departments["minzheng"],
                client_id=client_id,
            )
            statuses: list[int] = []
            lock = threading.Lock()

            def worker(n: int) -> None:
                for i in range(25):
                    subject = people[(n * 25 + i) % len(people)]
                    with database.sessionmaker() as session:
                        out = exchange.serve(
                            session, actor, exchange.CallRequest("subject", "population", PURPOSE, (subject,))
                        )
                    with lock:
                        statuses.append(out.status)

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert sorted(set(statuses)) == [200, 429]
        assert statuses.count(200) == 150 and statuses.count(429) == 50
        with database.session() as s:
            assert s.execute(select(func.count()).select_from(Call)).scalar_one() == 200
            ok = s.execute(select(func.count()).select_from(Call).where(Call.result == "ok")).scalar_one()
            assert ok == 150
            ids = s.execute(select(Call.audit_chain, Call.audit_seq)).all()
            assert len(set(ids)) == 200
        report = audit.verify(database)
        assert report.ok, report.first_broken
    finally:
        database.dispose()
