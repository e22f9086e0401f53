"""The audit chain: append, verify, tamper detection, refusals, concurrency, reads, CLI."""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from yiwang.core import audit, clock
from yiwang.core.audit import AuditEntry, append, append_many, record_refusal, verify
from yiwang.core.db import Database
from yiwang.core.errors import Forbidden
from yiwang.core.security import PLATFORM, Actor, ActorKind

CLERK = Actor(kind=ActorKind.STAFF, account_id=7, name="王窗口", department_id=3, ip="10.0.0.8")
CITIZEN = Actor(kind=ActorKind.CITIZEN, account_id=42, name="李四", subject_id="110101199003077777")
SYSTEM = Actor(kind=ActorKind.SYSTEM, name="社保系统", client_id="shebao", ip="10.1.1.1")
AGENT = Actor(
    kind=ActorKind.ENTERPRISE, account_id=9, name="赵代理", on_behalf_of="91310000MA1FL8TQ3K", ip="::1"
)
# Subjects no seeded record has, so reads see only what a test wrote (the seed city audits too).
SUBJECT = f"8{uuid.uuid4().int % 10**17:017d}"
OTHER = f"9{uuid.uuid4().int % 10**17:017d}"


def _sql(session, sql: str, **params) -> None:
    session.execute(text(sql), params)


def _fill(session, n: int = 10, actor: Actor = CLERK) -> list[audit.AuditRef]:
    refs = [
        append(
            session,
            actor,
            "exchange.query",
            object_type="person",
            object_id=str(i),
            subject=SUBJECT if i % 2 else OTHER,
            purpose="办理 户口迁移",
            detail={"fields": ["name", "address"], "n": i},
        )
        for i in range(n)
    ]
    session.flush()
    return refs


def _row_id(session, ref: audit.AuditRef) -> int:
    return session.execute(
        text("SELECT id FROM audit_record WHERE chain_id = :c AND seq = :s"),
        {"c": ref.chain_id, "s": ref.seq},
    ).scalar_one()


# -- appending and proving --------------------------------------------------------------------------


def test_append_then_verify_whole(session):
    refs = _fill(session, 12)
    report = verify(session)
    assert report.ok, report.first_broken
    assert report.first_broken is None and report.problems == ()
    assert report.records >= 12
    # one transaction, one chain, consecutive seqs
    assert len({r.chain_id for r in refs}) == 1
    assert [r.seq for r in refs] == list(range(refs[0].seq, refs[0].seq + 12))
    assert str(refs[0]) == f"{refs[0].chain_id}:{refs[0].seq}"


def test_first_record_links_to_genesis_and_every_record_to_its_predecessor(session):
    refs = _fill(session, 3)
    rows = session.execute(
        text("SELECT seq, prev_hash, hash FROM audit_record WHERE chain_id = :c ORDER BY seq"),
        {"c": refs[0].chain_id},
    ).all()
    assert rows[0].seq == 1 and rows[0].prev_hash == audit.GENESIS_HASH == "0" * 64
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.hash
    assert rows[-1].hash == refs[-1].hash


def test_the_documented_encoding_reimplemented_independently(session):
    """An auditor's verifier written from docs/audit.md alone (hashlib, no yiwang code)."""
    with clock.freeze(datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)):
        ref = append(
            session,
            AGENT,
            "licenses.use",
            object_type="licence",
            object_id=88,
            subject="91310000MA1FL8TQ3K",
            purpose="投标",
            result="ok",
            detail={"z": "最后", "a": {"y": 1, "b": [True, None]}},
        )
    row = session.execute(
        text("SELECT * FROM audit_record WHERE chain_id = :c AND seq = :s"), {"c": ref.chain_id, "s": ref.seq}
    ).one()
    assert row.at == 1772357400123456
    assert row.detail == '{"a":{"b":[true,null],"y":1},"z":"最后"}'
    assert row.actor_id == "9" and row.on_behalf_of == "91310000MA1FL8TQ3K" and row.object_id == "88"
    fields = [
        "yiwang-audit-v1",
        str(row.chain_id),
        str(row.seq),
        row.prev_hash,
        str(row.at),
        row.actor_kind,
        row.actor_id,
        row.actor_name,
        row.on_behalf_of,
        row.client_id,
        row.ip,
        row.action,
        row.object_type,
        row.object_id,
        row.subject,
        row.purpose,
        row.result,
        row.detail,
    ]
    digest = hashlib.new("sm3", "\x00".join(fields).encode("utf-8")).hexdigest()
    assert digest == row.hash == ref.hash


def test_the_worked_example_of_docs_audit_md():
    """The example in docs/audit.md, checked with an independent SM3 (gmssl, pure Python)."""
    from gmssl import func, sm3

    fields = [3, 1, "0" * 64, 1772357400123456, "staff", "7", "王窗口", "", "", "10.0.0.8", "exchange.query"]
    fields += ["person", "42", "110101199003077777", "户口迁移 核验", "ok", '{"fields":["address","name"]}']
    data = audit.encode_record(fields)
    assert len(data) == 227 and data.count(b"\x00") == 17
    expected = "1ff3666a2cfba23b8eea227c362bf5498eea04a427fd2ba152e7d3e45011d281"
    assert audit.record_hash(fields) == sm3.sm3_hash(func.bytes_to_list(data)) == expected
    anchor = [1, "0" * 64, 1772357460000000, 3, 1, expected]
    assert audit.anchor_hash(anchor) == "275821b1d26f39170ef23e48d12eaf8ac78cac58b19ca6498301d619dc5cc105"
    assert audit.encode_anchor(anchor).startswith(b"yiwang-audit-root-v1\x001\x00")


def test_sm3_of_the_standard_vector():
    # GB/T 32905 example 1: SM3("abc")
    assert audit.encoding.sm3_hex(b"abc") == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_detail_is_canonical_json_whatever_the_key_order(session):
    a = {"b": 1, "a": {"d": [1, 2], "c": "中文"}, "e": None}
    b = {"e": None, "a": {"c": "中文", "d": [1, 2]}, "b": 1}
    assert audit.canonical_json(a) == audit.canonical_json(b) == '{"a":{"c":"中文","d":[1,2]},"b":1,"e":null}'
    assert audit.canonical_json(None) == "{}"
    r1 = append(session, CLERK, "exchange.query", detail=a)
    r2 = append(session, CLERK, "exchange.query", detail=b)
    details = session.execute(
        text("SELECT detail FROM audit_record WHERE chain_id = :c AND seq IN (:a, :b)"),
        {"c": r1.chain_id, "a": r1.seq, "b": r2.seq},
    ).scalars()
    assert set(details) == {audit.canonical_json(a)}
    with pytest.raises(ValueError):
        audit.canonical_json({"x": float("nan")})


def test_bad_action_or_result_is_refused(session):
    for action in ("", "login", "Identity.Login", "identity. login", "identity.login\x00"):
        with pytest.raises(ValueError):
            append(session, CLERK, action)
    with pytest.raises(ValueError):
        append(session, CLERK, "identity.login", result="maybe")


def test_nul_and_lone_surrogates_are_stored_as_hashed(session):
    ref = append(session, CLERK, "exchange.query", purpose="a\x00b", object_id="x\ud800y")
    row = session.execute(
        text("SELECT purpose, object_id FROM audit_record WHERE chain_id = :c AND seq = :s"),
        {"c": ref.chain_id, "s": ref.seq},
    ).one()
    assert row.purpose == "a\ufffdb" and row.object_id == "x?y"
    assert verify(session).ok


def test_actor_fields(session):
    for actor in (CLERK, SYSTEM, PLATFORM, AGENT):
        append(session, actor, "identity.login")
    got = {
        r.actor_name: (r.actor_kind, r.actor_id, r.client_id, r.ip, r.on_behalf_of)
        for r in audit.recent(session, 4)
    }
    assert got["王窗口"] == ("staff", "7", "", "10.0.0.8", "")
    assert got["社保系统"] == ("system", "shebao", "shebao", "10.1.1.1", "")
    assert got["平台"][1] == "yiwang"
    assert got["赵代理"] == ("enterprise", "9", "", "::1", "91310000MA1FL8TQ3K")


def test_append_many_is_one_contiguous_batch(session):
    refs = append_many(
        session,
        SYSTEM,
        [AuditEntry("exchange.query", "person", str(i), SUBJECT, "核验", detail={"i": i}) for i in range(50)],
    )
    assert len(refs) == 50 and len({r.chain_id for r in refs}) == 1
    assert [r.seq for r in refs] == list(range(refs[0].seq, refs[0].seq + 50))
    single = append(session, SYSTEM, "exchange.query")
    assert (single.chain_id, single.seq) == (refs[0].chain_id, refs[-1].seq + 1)
    assert append_many(session, SYSTEM, []) == []
    assert verify(session).ok


def test_a_rolled_back_savepoint_does_not_break_the_chain(session):
    first = append(session, CLERK, "exchange.query")
    nested = session.begin_nested()
    append(session, CLERK, "exchange.query")
    nested.rollback()
    after = append(session, CLERK, "exchange.query")
    assert (after.chain_id, after.seq) == (first.chain_id, first.seq + 1)
    assert verify(session).ok


# -- tampering is detected, and the first broken record named ------------------------------------------


def test_changed_field_of_a_middle_record(session):
    refs = _fill(session, 10)
    victim = refs[4]
    _sql(
        session,
        "UPDATE audit_record SET purpose = '随便看看' WHERE chain_id = :c AND seq = :s",
        c=victim.chain_id,
        s=victim.seq,
    )
    report = verify(session)
    assert not report.ok
    b = report.first_broken
    assert (b.chain_id, b.seq, b.record_id, b.code) == (
        victim.chain_id,
        victim.seq,
        _row_id(session, victim),
        "altered",
    )
    assert str(victim.seq) in str(b)


def test_changed_field_with_recomputed_hash_breaks_the_next_link(session):
    refs = _fill(session, 10)
    victim = refs[4]
    row = session.execute(
        text("SELECT * FROM audit_record WHERE chain_id = :c AND seq = :s"),
        {"c": victim.chain_id, "s": victim.seq},
    ).one()
    forged = row._asdict() | {"result": "refused"}
    new_hash = audit.record_hash([forged[f] for f in audit.encoding.RECORD_FIELDS])
    _sql(
        session,
        "UPDATE audit_record SET result = 'refused', hash = :h WHERE id = :i",
        h=new_hash,
        i=row.id,
    )
    b = verify(session).first_broken
    assert (b.chain_id, b.seq, b.code) == (victim.chain_id, victim.seq + 1, "prev_mismatch")


def test_deleted_record(session):
    refs = _fill(session, 10)
    victim = refs[3]
    _sql(
        session, "DELETE FROM audit_record WHERE chain_id = :c AND seq = :s", c=victim.chain_id, s=victim.seq
    )
    b = verify(session).first_broken
    assert (b.chain_id, b.seq, b.record_id, b.code) == (victim.chain_id, victim.seq, None, "missing")


def test_reordered_records(session):
    refs = _fill(session, 10)
    a, b_ = refs[5], refs[6]
    c = a.chain_id
    _sql(session, "UPDATE audit_record SET seq = -1 WHERE chain_id = :c AND seq = :s", c=c, s=a.seq)
    _sql(session, "UPDATE audit_record SET seq = :n WHERE chain_id = :c AND seq = :s", c=c, s=b_.seq, n=a.seq)
    _sql(session, "UPDATE audit_record SET seq = :n WHERE chain_id = :c AND seq = -1", c=c, n=b_.seq)
    b = verify(session).first_broken
    assert (b.chain_id, b.seq, b.code) == (c, a.seq, "altered")


def test_inserted_forged_record(session):
    refs = _fill(session, 5)
    last = refs[-1]
    fields = dict(
        chain_id=last.chain_id,
        seq=last.seq + 1,
        prev_hash=last.hash,
        at=1,
        actor_kind="staff",
        actor_id="666",
        actor_name="内鬼",
        on_behalf_of="",
        client_id="",
        ip="",
        action="exchange.query",
        object_type="",
        object_id="",
        subject=SUBJECT,
        purpose="",
        result="ok",
        detail="{}",
    )
    fields["hash"] = audit.record_hash([fields[f] for f in audit.encoding.RECORD_FIELDS])
    cols = ", ".join(fields)
    _sql(
        session, f"INSERT INTO audit_record ({cols}) VALUES ({', '.join(':' + k for k in fields)})", **fields
    )
    b = verify(session).first_broken
    assert (b.chain_id, b.seq, b.code) == (last.chain_id, last.seq + 1, "beyond_head")
    assert b.record_id is not None


def test_modified_anchor(session):
    _fill(session, 5)
    assert audit.anchor(session) >= 1
    first_root = session.execute(text("SELECT min(root_seq) FROM audit_anchor")).scalar_one()
    _sql(session, "UPDATE audit_anchor SET chain_seq = chain_seq - 1 WHERE root_seq = :r", r=first_root)
    b = verify(session).first_broken
    assert (b.chain_id, b.seq, b.code) == (audit.ROOT_CHAIN, first_root, "altered")
    assert "root" in str(b)


def test_anchor_rewritten_consistently_still_disagrees_with_its_chain(session):
    refs = _fill(session, 5)
    audit.anchor(session)
    rows = session.execute(text("SELECT * FROM audit_anchor ORDER BY root_seq")).all()
    prev = audit.GENESIS_HASH
    target = None
    for row in rows:  # rewrite the whole root chain so that it is self-consistent
        chain_hash = row.chain_hash
        if row.chain_id == refs[0].chain_id:
            chain_hash, target = "f" * 64, row
        fields = [row.root_seq, prev, row.at, row.chain_id, row.chain_seq, chain_hash]
        h = audit.anchor_hash(fields)
        _sql(
            session,
            "UPDATE audit_anchor SET prev_hash = :p, hash = :h, chain_hash = :ch WHERE root_seq = :r",
            p=prev,
            h=h,
            ch=chain_hash,
            r=row.root_seq,
        )
        prev = h
    _sql(session, "UPDATE audit_head SET hash = :h WHERE chain_id = -1", h=prev)
    b = verify(session).first_broken
    assert target is not None
    assert (b.chain_id, b.seq, b.code) == (refs[0].chain_id, target.chain_seq, "anchor_mismatch")


def test_tail_truncated_after_an_anchor(session):
    refs = _fill(session, 8)
    audit.anchor(session)
    c, keep = refs[0].chain_id, refs[4]
    # Cut the last three records and make the head point at the new last one: the chain and its head
    # agree, only the anchor remembers.
    _sql(session, "DELETE FROM audit_record WHERE chain_id = :c AND seq > :s", c=c, s=keep.seq)
    _sql(
        session, "UPDATE audit_head SET seq = :s, hash = :h WHERE chain_id = :c", c=c, s=keep.seq, h=keep.hash
    )
    b = verify(session).first_broken
    assert (b.chain_id, b.seq, b.record_id, b.code) == (c, keep.seq + 1, None, "truncated")


def test_tail_truncated_without_touching_the_head(session):
    refs = _fill(session, 6)
    c = refs[0].chain_id
    _sql(session, "DELETE FROM audit_record WHERE chain_id = :c AND seq = :s", c=c, s=refs[-1].seq)
    b = verify(session).first_broken
    assert (b.chain_id, b.seq, b.code) == (c, refs[-1].seq, "truncated")


def test_every_broken_chain_is_reported(session):
    refs = _fill(session, 4)
    _sql(
        session,
        "UPDATE audit_record SET ip = 'x' WHERE chain_id = :c AND seq = :s",
        c=refs[1].chain_id,
        s=refs[1].seq,
    )
    _sql(session, "UPDATE audit_head SET hash = :h WHERE chain_id = -1", h="e" * 64)
    report = verify(session)
    assert [p.chain_id for p in report.problems] == [audit.ROOT_CHAIN, refs[1].chain_id]
    assert report.first_broken == report.problems[0]


# -- anchors, status, reads ----------------------------------------------------------------------------


def test_anchor_only_moved_heads_and_chain_status(session):
    with clock.freeze(datetime(2026, 5, 1, 8, 0, tzinfo=UTC)) as frozen:
        refs = _fill(session, 3)
        before = audit.chain_status(session)
        assert audit.anchor(session) >= 1
        assert audit.anchor(session) == 0  # nothing moved since
        frozen.tick(timedelta(minutes=5))
        append(session, CLERK, "exchange.query")
        assert audit.anchor(session) == 1
        status = audit.chain_status(session)
    head = next(h for h in status.chains if h.chain_id == refs[0].chain_id)
    assert head.seq == head.anchored_seq == head.indexed_seq == refs[-1].seq + 1
    assert status.unanchored == 0 and status.unindexed == 0 and status.records == before.records + 1
    assert status.last_anchor_at == datetime(2026, 5, 1, 8, 5, tzinfo=UTC)
    assert status.root_seq >= 2
    report = verify(session)
    assert report.ok and report.root_seq == status.root_seq and report.anchors == status.root_seq


def test_records_for_subject_newest_first(session):
    _fill(session, 10)
    mine = audit.records_for_subject(session, SUBJECT, limit=50)
    assert len(mine) == 5 and all(r.subject == SUBJECT for r in mine)
    assert [r.object_id for r in mine] == ["9", "7", "5", "3", "1"]
    assert audit.count_for_subject(session, SUBJECT) == 5
    page2 = audit.records_for_subject(session, SUBJECT, limit=2, offset=2)
    assert [r.object_id for r in page2] == ["5", "3"]
    first = mine[0]
    assert first.detail == {"fields": ["name", "address"], "n": 9}
    assert first.actor_name == "王窗口" and first.purpose == "办理 户口迁移" and first.result == "ok"
    assert first.at.tzinfo is not None and first.ref == f"{first.chain_id}:{first.seq}"
    assert audit.records_for_subject(session, "") == []
    assert audit.records_for_subject(session, "nobody") == []


def test_records_for_subject_from_the_index_and_the_unindexed_tail(session):
    for i in range(3):
        append(session, CLERK, "exchange.query", subject=SUBJECT, object_id=str(i))
    append(session, CLERK, "exchange.query", subject=OTHER, object_id="x")
    audit.anchor(session)  # indexes the first four
    indexed = "SELECT count(*) FROM audit_subject WHERE subject = :s"
    assert session.execute(text(indexed), {"s": SUBJECT}).scalar_one() == 3
    for i in range(3, 5):
        append(session, CLERK, "exchange.query", subject=SUBJECT, object_id=str(i))
    assert [r.object_id for r in audit.records_for_subject(session, SUBJECT)] == ["4", "3", "2", "1", "0"]
    assert audit.count_for_subject(session, SUBJECT) == 5
    assert [r.object_id for r in audit.recent(session, 10, subject=SUBJECT, result="ok")][:2] == ["4", "3"]
    audit.anchor(session)
    assert session.execute(text(indexed), {"s": SUBJECT}).scalar_one() == 5
    assert [r.object_id for r in audit.records_for_subject(session, SUBJECT, limit=2, offset=1)] == ["3", "2"]
    assert audit.chain_status(session).unindexed == 0


def test_recent_with_filters(session):
    with clock.freeze(datetime(2026, 6, 1, tzinfo=UTC)) as frozen:
        append(session, CLERK, "identity.login")
        frozen.tick(timedelta(hours=1))
        append(session, SYSTEM, "exchange.query", subject=SUBJECT, object_type="person", object_id=1)
        append(session, CLERK, "exchange.query", subject=OTHER, result="refused")
    assert [r.action for r in audit.recent(session, 3)] == [
        "exchange.query",
        "exchange.query",
        "identity.login",
    ]
    assert [r.actor_id for r in audit.recent(session, 10, action="exchange.query", result="refused")] == ["7"]
    assert len(audit.recent(session, 10, action_prefix="identity.", actor_id="7")) >= 1
    got = audit.recent(session, 10, subject=SUBJECT, object_type="person", object_id="1")
    assert len(got) == 1 and got[0].actor_name == "社保系统"
    since = audit.recent(
        session, 10, since=datetime(2026, 6, 1, 0, 30, tzinfo=UTC), until=datetime(2026, 6, 2, tzinfo=UTC)
    )
    assert {r.at for r in since} == {datetime(2026, 6, 1, 1, tzinfo=UTC)}


# -- refusals and transactions that really commit (scratch database) ------------------------------------


@pytest.fixture
def scratch(scratch_db_url):
    database = Database(scratch_db_url)
    yield database
    database.dispose()


def test_refusal_survives_the_rollback_of_the_refused_command(scratch):
    with pytest.raises(Forbidden), scratch.session() as s:
        append(s, CITIZEN, "licenses.revoke", object_type="licence", object_id="L1")
        raise Forbidden(detail="无权吊销")
    record_refusal(
        scratch, CITIZEN, "licenses.revoke", object_type="licence", object_id="L1", purpose="无权吊销"
    )
    with scratch.session() as s:
        rows = audit.recent(s, 10)
    assert [(r.action, r.result) for r in rows] == [("licenses.revoke", "refused")]
    assert verify(scratch).ok


def test_refusal_recorded_while_the_refused_command_is_still_open(scratch):
    with pytest.raises(Forbidden), scratch.session() as s:
        s.execute(text("SELECT count(*) FROM audit_record")).scalar_one()
        ref = record_refusal(scratch, CITIZEN, "exchange.query", subject=OTHER, detail={"why": "no grant"})
        raise Forbidden(detail="无共享授权")
    with scratch.session() as s:
        assert [r.ref for r in audit.records_for_subject(s, OTHER)] == [str(ref)]
    assert verify(scratch).ok


def test_refusal_while_the_command_holds_a_chain_postgresql(scratch):
    if scratch.dialect != "postgresql":
        pytest.skip("SQLite has one writer: a refusal waits for the open command (documented)")
    with pytest.raises(Forbidden), scratch.session() as s:
        held = append(s, CLERK, "exchange.query")
        ref = record_refusal(scratch, CLERK, "exchange.query", result="failed")
        assert ref.chain_id != held.chain_id
        raise Forbidden()
    with scratch.session() as s:
        assert [(r.ref, r.result) for r in audit.recent(s, 10)] == [(str(ref), "failed")]
    assert verify(scratch).ok


def test_concurrent_writers_never_fork_a_chain(scratch):
    threads, per_thread = 8, 200
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)

    def writer(k: int) -> None:
        try:
            start.wait()
            actor = Actor(kind=ActorKind.STAFF, account_id=k, name=f"写入者{k}")
            for i in range(per_thread):
                with scratch.session() as s:
                    append(s, actor, "exchange.query", object_id=str(i), subject=SUBJECT)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def anchorer() -> None:
        try:
            start.wait()
            for _ in range(10):
                with scratch.session() as s:
                    audit.anchor(s)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(k,)) for k in range(threads - 1)]
    workers.append(threading.Thread(target=anchorer))
    workers.append(threading.Thread(target=writer, args=(threads - 1,)))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    with scratch.session() as s:
        audit.anchor(s)
        per_chain = s.execute(
            text("SELECT chain_id, count(*), min(seq), max(seq) FROM audit_record GROUP BY chain_id")
        ).all()
        status = audit.chain_status(s)
    assert sum(n for _, n, _, _ in per_chain) == threads * per_thread
    assert all(lo == 1 and hi == n for _, n, lo, hi in per_chain)  # contiguous: no fork, no gap
    assert len(per_chain) > 1  # writers spread over the chains
    assert status.records == threads * per_thread and status.unanchored == 0 and status.unindexed == 0
    with scratch.session() as s:
        assert audit.count_for_subject(s, SUBJECT) == threads * per_thread
    report = verify(scratch)
    assert report.ok, report.first_broken
    assert report.records == threads * per_thread


def test_the_independent_verifier_of_docs_audit_md(scratch):
    """The verifier printed in docs/audit.md (hashlib + sqlite3 only) agrees with ours."""
    if scratch.dialect != "sqlite":
        pytest.skip("the documented verifier is written for SQLite")
    from pathlib import Path

    from sqlalchemy.engine import make_url

    doc = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text(encoding="utf-8")
    block = re.search(r"\*\*An independent verifier\*\*.*?```python\n(.*?)```", doc, re.S)
    assert block is not None
    namespace: dict = {}
    exec(compile(block.group(1), "docs/audit.md", "exec"), namespace)
    check = namespace["check"]
    path = make_url(scratch.url).database
    with scratch.session() as s:
        refs = _fill(s, 6)
        audit.anchor(s)
        refs += _fill(s, 3, actor=SYSTEM)
    assert check(path) == "whole" and verify(scratch).ok
    with scratch.session() as s:
        _sql(
            s,
            "UPDATE audit_record SET purpose = 'x' WHERE chain_id = :c AND seq = :q",
            c=refs[7].chain_id,
            q=refs[7].seq,
        )
    assert check(path) == f"broken: chain {refs[7].chain_id} seq {refs[7].seq}"
    assert verify(scratch).first_broken.seq == refs[7].seq


# -- the CLI ------------------------------------------------------------------------------------------------


def test_cli_verify_status_anchor(scratch, monkeypatch):
    from typer.testing import CliRunner

    from yiwang.core.audit_cli import audit_app
    from yiwang.settings import get_settings

    monkeypatch.setenv("YIWANG_DATABASE_URL", scratch.url)
    get_settings.cache_clear()
    try:
        with scratch.session() as s:
            refs = _fill(s, 6)
        runner = CliRunner()
        ok = runner.invoke(audit_app, ["verify"])
        assert ok.exit_code == 0, ok.output
        assert "审计链完整" in ok.output and "intact" in ok.output and "6 条记录" in ok.output
        status = runner.invoke(audit_app, ["status"])
        assert status.exit_code == 0 and "Unanchored: 0" in status.output
        assert runner.invoke(audit_app, ["anchor"]).output.startswith("已锚定 Anchored: 0")
        with scratch.session() as s:
            _sql(
                s, "UPDATE audit_record SET purpose = 'x' WHERE chain_id = :c AND seq = 3", c=refs[0].chain_id
            )
        broken = runner.invoke(audit_app, ["verify", "--no-anchor"])
        assert broken.exit_code == 1
        assert "审计链断裂" in broken.output and f"chain {refs[0].chain_id}, seq 3" in broken.output
    finally:
        get_settings.cache_clear()
