"""Code words never reach a page (DESIGN §3 rule 10): problem types, rule codes, refusal codes and
action codes are shown in Chinese; identifiers shown on purpose to data staff sit in <code>."""

from __future__ import annotations

from datetime import UTC, datetime

from yiwang import registry
from yiwang.core.labels import action_label, problem_label
from yiwang.exchange.schemas import CallLogRow
from yiwang.governance.service.rules import rule_label


def test_error_page_names_no_problem_type(client):
    r = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert "错误代码：404" in r.text
    assert "not-found" not in r.text


def test_rule_codes_are_named_in_chinese():
    population = registry.resource("population")
    assert rule_label("birth_date.type", population) == "出生日期：数据类型"
    assert rule_label("citizen_id.citizen_id", population) == "公民身份号码：公民身份号码校验（GB 11643）"
    assert "frob" not in rule_label("name.frob", population)


def _call(reason: str) -> CallLogRow:
    return CallLogRow(
        id=1, at=datetime(2026, 12, 1, tzinfo=UTC), mode="subject", client_id="c", system="s", department="d",
        provider="p", resource_key="population", resource="人口", subject_masked="", region="", purpose="p",
        fields=[], row_count=0, result="refused", status=403, reason=reason, latency_us=1, grant_id=None,
        audit_ref="1:1",
    )  # fmt: skip


def test_a_refused_call_shows_its_reason_without_the_code():
    row = _call("exchange-purpose-not-granted: 用途不在授权范围内")
    assert row.reason_text == "用途不在授权范围内"
    assert _call("用途不符: 另说").reason_text == "用途不符: 另说"
    assert problem_label("exchange-purpose-not-granted") == "用途不在授权范围内"


def test_action_codes_have_labels_and_unknown_ones_fall_back_to_their_module():
    assert action_label("identity.enterprise.authorise") == "企业授权经办人"
    assert action_label("governance.rules.update") == "修改质量规则"
    assert action_label("licenses.issue_something") == "电子证照中的其他操作"
    assert action_label("") == "平台中的其他操作"


def test_the_agent_is_not_shown_a_link_that_refuses_them(client, city):
    from tests.identity.helpers import signed_in

    agent = city.accounts["agent"]
    signed_in(client, agent, as_="enterprise", on_behalf_of=agent.on_behalf_of)
    home = client.get("/")
    assert home.status_code == 200
    assert 'href="/me/enterprise/agents"' not in home.text
    assert client.get("/me/enterprise/agents").status_code == 403


def test_the_legal_representative_is_shown_the_agents_link(client, city):
    from tests.identity.helpers import signed_in

    rep = city.accounts["enterprise"]
    signed_in(client, rep, as_="enterprise", on_behalf_of=rep.on_behalf_of)
    assert 'href="/me/enterprise/agents"' in client.get("/").text
