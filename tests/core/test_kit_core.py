"""The kernel pieces every module uses: `refuse`, a module's `ProblemTypes`, the timeline."""

from __future__ import annotations

import pytest

from yiwang.core.errors import Conflict, Forbidden, ProblemTypes, TooManyRequests, refuse
from yiwang.core.security import Actor, ActorKind
from yiwang.core.timeline import TimelineEvent, actor_ref

ACTOR = Actor(kind=ActorKind.STAFF, account_id=7, name="王五", roles=frozenset({"data_officer"}))


def test_refuse_is_a_403_marked_for_the_audit_chain():
    exc = refuse(ACTOR, "licenses.licence.revoke", "只有签发部门可以吊销", object_type="licence", object_id=3)
    assert isinstance(exc, Forbidden) and exc.status == 403 and exc.detail == "只有签发部门可以吊销"
    assert exc.refusal["action"] == "licenses.licence.revoke"
    assert (exc.refusal["object_type"], exc.refusal["object_id"]) == ("licence", "3")
    assert exc.refusal["actor"] is ACTOR


def test_problem_types_give_one_slug_title_and_base_per_name():
    problems = ProblemTypes("licenses", {"expired": (409, "证照已过期"), "too-fast": (429, "请求过于频繁")})
    exc = problems["expired"]("该证照已于 2026年1月1日 过期")
    assert isinstance(exc, Conflict) and exc.type == "/problems/licenses-expired"
    assert exc.as_dict()["title"] == "证照已过期" and exc.status == 409
    assert isinstance(problems["too-fast"](), TooManyRequests)
    assert problems.titles() == {
        "/problems/licenses-expired": "证照已过期",
        "/problems/licenses-too-fast": "请求过于频繁",
    }
    with pytest.raises(KeyError):
        problems["no-such-type"]


def test_exchange_declares_its_problem_types_in_one_place():
    from yiwang.exchange.problems import PROBLEMS

    assert PROBLEMS["no-grant"]("x").type == "/problems/exchange-no-grant"
    assert all(p.title and not p.title.isascii() for p in PROBLEMS.values())


def test_timeline_rows_and_labels(session, city):
    from yiwang.core.timeline import add_event
    from yiwang.exchange.models import ExchangeEvent
    from yiwang.exchange.schemas import TimelineEvent as ExchangeTimeline

    row = add_event(
        session, ExchangeEvent, ACTOR, "submitted", to_status="submitted", object_type="request", object_id=1
    )
    session.flush()
    assert (row.actor_id, row.actor_name, row.to_status) == ("7", "王五", "submitted") and row.at is not None
    read = ExchangeTimeline.model_validate(row)
    assert read.action_label != "submitted" and not read.action_label.isascii()
    assert TimelineEvent.model_validate(row).action_label == "submitted"  # no labels: the code itself
    assert actor_ref(Actor(kind=ActorKind.SYSTEM, client_id="c-1")) == "c-1"
