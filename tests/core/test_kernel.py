"""The shared kernel: UTC storage, the frozen clock, problem+json, after-commit events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from yiwang.core import clock, events
from yiwang.core.errors import Invalid, NotFound, from_validation_errors
from yiwang.registry.models import Person


def test_times_are_stored_utc_and_read_back_aware(session):
    local = datetime(2026, 11, 21, 8, 30, tzinfo=timezone(timedelta(hours=8)))
    p = Person(
        citizen_id="11010519491231002X",
        name="测试",
        gender="女",
        birth_date=datetime(1949, 12, 31).date(),
        area_code="110105",
        address="测试地址",
        household_no="T0000001",
        relation="户主",
        updated_at=local,
    )
    session.add(p)
    session.flush()
    session.expire_all()
    back = session.scalars(select(Person).where(Person.citizen_id == "11010519491231002X")).one()
    assert back.updated_at.tzinfo is not None
    assert back.updated_at == local
    assert back.updated_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db):
    p = Person(
        citizen_id="440524188001010014",
        name="测试",
        gender="男",
        birth_date=datetime(1880, 1, 1).date(),
        area_code="440524",
        address="x",
        household_no="T2",
        relation="户主",
        updated_at=datetime(2026, 1, 1),
    )
    with pytest.raises(Exception, match="naive"), db.session() as session:
        session.add(p)
        session.flush()


def test_clock_freezes_and_ticks():
    at = datetime(2026, 2, 14, 9, 0, tzinfo=UTC)
    with clock.freeze(at) as frozen:
        assert clock.now() == at
        frozen.tick(timedelta(hours=1))
        assert clock.now() == at + timedelta(hours=1)
    assert clock.now() != at + timedelta(hours=1)
    with pytest.raises(ValueError), clock.freeze(datetime(2026, 1, 1)):
        pass


def test_problem_shape():
    p = Invalid.on("citizen_id", "校验位不正确")
    body = p.as_dict(instance="/api/x")
    assert body == {
        "type": "/problems/invalid",
        "title": "提交的内容有误",
        "status": 422,
        "detail": "校验位不正确",
        "instance": "/api/x",
        "errors": [{"field": "citizen_id", "message": "校验位不正确"}],
    }
    assert NotFound().status == 404


def test_validation_errors_are_chinese():
    p = from_validation_errors(
        [{"loc": ("body", "name"), "type": "missing"}, {"loc": ("query", "limit"), "type": "int_parsing"}]
    )
    assert [e.as_dict() for e in p.errors] == [
        {"field": "name", "message": "必填项未填写"},
        {"field": "limit", "message": "应为整数"},
    ]


@dataclass(frozen=True)
class _Happened(events.DomainEvent):
    value: int


def test_events_fire_after_commit_only(db):
    seen: list[int] = []
    events.subscribe(_Happened, lambda e: seen.append(e.value))
    try:
        with db.session() as s:
            events.publish(s, _Happened(1))
            assert seen == []
        assert seen == [1]
        with pytest.raises(RuntimeError), db.session() as s:
            events.publish(s, _Happened(2))
            raise RuntimeError("boom")
        assert seen == [1]
    finally:
        events._handlers[_Happened].clear()
