"""The auditor's pages at /audit: who may see them, verification on demand with its progress kept in
the database, and the records filtered by actor, subject, action and days."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select, update

from tests.helpers import audit_count, audit_rows
from tests.identity.helpers import csrf_from, signed_in
from yiwang import audit as audit_pages
from yiwang.audit import service
from yiwang.audit.models import VerificationRun
from yiwang.core import audit, clock
from yiwang.core.db import Database
from yiwang.core.labels import action_label, action_labels

STAFF_REFUSED = (
    "clerk",
    "approver",
    "data_officer",
    "dispatcher",
    "grid_worker",
    "handler",
    "leader",
    "dept_admin",
)


@pytest.fixture
def synchronous(monkeypatch):
    """Run a started verification at once, in the request (the thread is tested on its own below)."""
    monkeypatch.setattr(service, "RUNNER", service.run_verification)


def _as(client, city, key):
    account = city.accounts[key]
    as_ = {"citizen": "citizen", "enterprise": "enterprise", "staff": "staff"}[account.kind]
    kw = {"on_behalf_of": account.on_behalf_of} if account.kind == "enterprise" else {}
    return signed_in(client, account, as_=as_, **kw)


def test_anonymous_is_sent_to_login(client):
    r = client.get("/audit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/audit")
    r = client.get("/audit/records", follow_redirects=False)
    assert r.status_code == 303


@pytest.mark.parametrize("key", [*STAFF_REFUSED, "citizen", "enterprise"])
def test_everyone_else_is_refused_and_the_refusal_is_audited(client, city, db, key):
    _as(client, city, key)
    before = audit_count(db, "audit.status.read", "refused")
    r = client.get("/audit")
    assert r.status_code == 403
    assert "审计记录只向安全审计员和平台管理员开放" in r.text
    assert audit_count(db, "audit.status.read", "refused") == before + 1
    assert client.get("/audit/records").status_code == 403


def test_the_auditor_sees_the_chain_and_its_home_links_here(client, city):
    _as(client, city, "auditor")
    home = client.get("/")
    assert 'href="/audit"' in home.text
    r = client.get("/audit")
    assert r.status_code == 200
    assert "<h1>审计链</h1>" in r.text
    assert "立即核验审计链" in r.text
    assert "还没有从本页发起过核验" in r.text


def test_the_auditor_verifies_and_sees_the_result(client, city, db, synchronous):
    _as(client, city, "auditor")
    page = client.get("/audit")
    r = client.post(
        "/audit/verify", data={"csrf_token": csrf_from(page.text, "/audit/verify")}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/audit?done=started"
    shown = client.get("/audit").text
    assert "✔ 完整" in shown and "全部相符" in shown
    [started] = audit_rows(db, "audit.verify")[-1:]
    assert started.actor_name == city.accounts["auditor"].display_name
    with db.session() as s:
        run = s.scalars(select(VerificationRun).order_by(VerificationRun.id.desc())).first()
        assert run.status == "intact" and run.records > 0 and run.done == run.records


def test_a_broken_chain_is_named(client, city, db, synchronous):
    with db.session() as s:
        s.execute(update(audit.AuditRecord).where(audit.AuditRecord.id == 3).values(purpose="改过了"))
    _as(client, city, "auditor")
    page = client.get("/audit")
    client.post("/audit/verify", data={"csrf_token": csrf_from(page.text, "/audit/verify")})
    shown = client.get("/audit").text
    assert "✘ 发现断点" in shown and "第一处断点" in shown


def test_verify_needs_csrf_and_the_auditor(client, city, db, synchronous):
    _as(client, city, "auditor")
    assert client.post("/audit/verify", data={"csrf_token": "forged"}).status_code == 403
    with db.session() as s:
        assert s.scalar(select(VerificationRun.id)) is None


def test_the_admin_reads_but_does_not_verify(client, city, db, synchronous):
    _as(client, city, "admin")
    page = client.get("/audit")
    assert page.status_code == 200
    assert "立即核验审计链" not in page.text and "核验由安全审计员发起" in page.text
    token = csrf_from(client.get("/me").text)
    r = client.post("/audit/verify", data={"csrf_token": token})
    assert r.status_code == 403
    assert audit_count(db, "audit.verify", "refused") >= 1
    assert client.get("/audit/records").status_code == 200


def test_a_running_verification_is_not_started_twice(db, city):
    auditor = _auditor_actor(db, city)
    calls = []
    original = service.RUNNER
    service.RUNNER = lambda database, run_id: calls.append(run_id)
    try:
        first = audit_pages.start_verification(db, auditor)
        second = audit_pages.start_verification(db, auditor)
    finally:
        service.RUNNER = original
    assert first.id == second.id and calls == [first.id]
    assert first.running and first.percent == 0


def test_an_abandoned_run_shows_as_interrupted(db, city):
    auditor = _auditor_actor(db, city)
    with db.session() as s:
        old = clock.now() - service.STALE_AFTER * 2
        s.add(VerificationRun(status="running", started_at=old, updated_at=old, started_by_name="某人"))
    with db.session() as s:
        assert audit_pages.latest_run(s, auditor).status == "interrupted"


def _auditor_actor(db, city):
    from yiwang import identity

    with db.session() as s:
        account = identity.find_account(s, city.accounts["auditor"].username)
        return identity.build_actor(s, account)


def test_verification_runs_in_a_thread_and_reports_progress(scratch_db_url):
    """The real path: a background thread on a database of its own, progress written to the row."""
    from yiwang.demo import build_test_city

    database = Database(scratch_db_url)
    try:
        city = build_test_city(database)
        auditor = _auditor_actor(database, city)
        done = threading.Event()
        original = service.run_verification

        def run_then_signal(db, run_id):
            original(db, run_id)
            done.set()

        threads = []
        service_runner = service.RUNNER

        def in_thread(db, run_id):
            t = threading.Thread(target=run_then_signal, args=(db, run_id))
            threads.append(t)
            t.start()

        service.RUNNER = in_thread
        try:
            run = audit_pages.start_verification(database, auditor)
        finally:
            service.RUNNER = service_runner
        assert done.wait(60)
        with database.session() as s:
            final = audit_pages.get_run(s, auditor, run.id)
        assert final.status == "intact" and final.records > 0 and final.percent == 100
        assert service.RUNNER is service._run_in_thread
    finally:
        database.dispose()


def test_records_filtered_by_action_actor_subject_and_day(client, city, db):
    _as(client, city, "auditor")
    r = client.get("/audit/records", params={"action": "identity.login"})
    assert r.status_code == 200
    assert "登录" in r.text and "identity.login" in r.text
    # Every row is a login; the code shows only inside <code>.
    assert '<code class="caption">identity.login</code>' in r.text
    assert '<code class="caption">identity.role.grant</code>' not in r.text
    admin = city.accounts["auditor"]  # who just signed in: the login is on the chain
    by_name = client.get("/audit/records", params={"who": admin.display_name})
    assert admin.display_name in by_name.text and "没有符合条件的记录" not in by_name.text
    nobody = client.get("/audit/records", params={"who": "不存在的人"})
    assert "没有符合条件的记录" in nobody.text
    citizen = city.accounts["citizen"]
    before = audit_count(db, "audit.records.read")
    by_subject = client.get("/audit/records", params={"subject": citizen.citizen_id})
    assert by_subject.status_code == 200
    assert audit_count(db, "audit.records.read") == before + 1
    today = clock.to_local(clock.now()).date().isoformat()
    future = client.get("/audit/records", params={"since": "2099-01-01"})
    assert "没有符合条件的记录" in future.text
    assert client.get("/audit/records", params={"until": today}).status_code == 200


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"since": "昨天"}, "since", "请按“年-月-日”填写日期"),
        ({"since": "2026-12-02", "until": "2026-12-01"}, "until", "结束日期不能早于开始日期"),
        ({"action": "no.such.action"}, "action", "请从列表中选择操作类型"),
        ({"page": "0"}, "page", "页码应在"),
        ({"who": "人" * 65}, "who", "操作人最多 64 个字"),
    ],
)
def test_bad_filters_name_their_field(client, city, params, field, message):
    _as(client, city, "auditor")
    r = client.get("/audit/records", params=params)
    assert r.status_code == 422
    assert message in r.text
    if field != "page":
        assert re.search(rf'href="#{field}"', r.text), "the error summary links to the field"


def test_pagination(client, city, monkeypatch):
    monkeypatch.setattr(service, "PAGE_SIZE", 5)
    _as(client, city, "auditor")
    first = client.get("/audit/records")
    assert 'rel="next"' in first.text
    second = client.get("/audit/records", params={"page": "2"})
    assert second.status_code == 200 and 'rel="prev"' in second.text


def test_every_action_code_has_a_chinese_label():
    """Every action code the source writes to the chain has a label (no code word on a page)."""
    import pathlib

    src = pathlib.Path(__file__).resolve().parents[2] / "src" / "yiwang"
    modules = "identity|catalog|exchange|governance|registry|audit"
    codes = set()
    for path in src.rglob("*.py"):
        codes.update(
            re.findall(rf'"((?:{modules})\.[a-z_]+(?:\.[a-z_]+)*)"', path.read_text(encoding="utf-8"))
        )
    codes = {c for c in codes if not c.endswith((".html", ".py"))}
    labels = action_labels()
    missing = sorted(c for c in codes if c not in labels)
    assert missing == []
    assert action_label("identity.enterprise.authorise") == "企业授权经办人"
    assert action_label("exchange.some_new_thing") == "共享交换中的其他操作"
