"""法人代理 through the API: the legal representative authorises and revokes agents."""

from __future__ import annotations

from datetime import timedelta

import pytest

from yiwang.core import audit, clock
from yiwang.core.ids import mask_citizen_id

from .helpers import API, T0, login_api, problem


@pytest.fixture
def rep(client, city):
    """Headers of the legal representative acting for the demo enterprise."""
    return login_api(client, city.accounts["enterprise"], on_behalf_of=city.enterprise_credit_code)


def _agents_url(city) -> str:
    return f"{API}/enterprises/{city.enterprise_credit_code}/agents"


def _authorise(client, city, headers, account, until="2027-06-30"):
    return client.post(
        _agents_url(city),
        headers=headers,
        json={
            "agent_citizen_id": account.citizen_id,
            "agent_name": account.display_name,
            "valid_until": until,
        },
    )


def test_legal_rep_lists_agents(client, city, rep):
    r = client.get(_agents_url(city), headers=rep)
    assert r.status_code == 200
    agents = r.json()
    agent = city.accounts["agent"]
    assert [a["agent_name"] for a in agents] == [agent.display_name]
    assert agents[0]["agent_citizen_id_masked"] == mask_citizen_id(agent.citizen_id)
    assert agents[0]["status"] == "active" and agents[0]["status_label"] == "有效"
    assert agent.citizen_id not in r.text


def test_legal_rep_authorises_a_citizen_who_may_then_act_for_the_enterprise(client, city, rep, session):
    citizen = city.accounts["citizen"]
    with clock.freeze(T0):
        r = _authorise(client, city, rep, citizen)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["agent_name"] == citizen.display_name
    assert body["status"] == "active"
    # "until 2027-06-30" means to the end of that day in Beijing time.
    assert body["valid_until"].startswith("2027-06-30T15:59:59")
    headers = login_api(client, citizen, on_behalf_of=city.enterprise_credit_code)
    assert client.get(f"{API}/me", headers=headers).json()["acting_for"]["as_legal_rep"] is False
    records = audit.records_for_subject(session, city.enterprise_credit_code, limit=10)
    assert any(r.action == "identity.enterprise.authorise" and r.result == "ok" for r in records)


def test_authorise_refusals_for_bad_input(client, city, rep, session):
    citizen = city.accounts["citizen"]
    url = _agents_url(city)
    with clock.freeze(T0):
        # Name does not match the ID: same answer as "not registered".
        body = problem(
            client.post(
                url,
                headers=rep,
                json={
                    "agent_citizen_id": citizen.citizen_id,
                    "agent_name": "不是他",
                    "valid_until": "2027-01-01",
                },
            ),
            422,
        )
        assert body["errors"][0]["field"] == "agent_citizen_id"
        body = problem(
            client.post(
                url,
                headers=rep,
                json={
                    "agent_citizen_id": "110101199001011234",
                    "agent_name": "某人",
                    "valid_until": "2027-01-01",
                },
            ),
            422,
        )
        assert "校验位" in body["errors"][0]["message"]
        body = problem(_authorise(client, city, rep, citizen, until="2026-01-01"), 422)
        assert body["errors"][0]["field"] == "valid_until"
        body = problem(_authorise(client, city, rep, citizen, until="2031-01-01"), 422)
        assert "三年" in body["errors"][0]["message"]
        body = problem(_authorise(client, city, rep, citizen, until="not-a-date"), 422)
        assert body["errors"][0]["field"] == "valid_until"
        # The legal representative needs no authorisation; an agent already authorised is a conflict.
        body = problem(_authorise(client, city, rep, city.accounts["enterprise"]), 422)
        assert "无需授权" in body["detail"]
        problem(_authorise(client, city, rep, city.accounts["agent"]), 409)
        # A staff account cannot be an agent (only registered citizens).
        problem(_authorise(client, city, rep, city.accounts["clerk"]), 422)


@pytest.mark.parametrize("who", ["agent", "citizen", "enterprise-as-self", "clerk", "anonymous"])
def test_only_the_legal_rep_acting_for_the_enterprise_may_manage_agents(client, city, rep, who):
    code = city.enterprise_credit_code
    grant_id = client.get(_agents_url(city), headers=rep).json()[0]["id"]
    if who == "agent":
        headers = login_api(client, city.accounts["agent"], on_behalf_of=code)
    elif who == "enterprise-as-self":
        headers = login_api(client, city.accounts["enterprise"])
    elif who == "anonymous":
        headers = {}
    else:
        headers = login_api(client, city.accounts[who])
    status = 401 if who == "anonymous" else 403
    problem(client.get(_agents_url(city), headers=headers), status)
    problem(_authorise(client, city, headers, city.accounts["citizen"]), status)
    problem(client.delete(f"{_agents_url(city)}/{grant_id}", headers=headers), status)
    assert client.get(_agents_url(city), headers=rep).json()[0]["status"] == "active"


def test_unknown_enterprise_is_404_for_listing(client, city, rep):
    problem(client.get(f"{API}/enterprises/91110000100000000X/agents", headers=rep), 404)


def test_revoke_ends_the_agents_power(client, city, rep):
    agent = city.accounts["agent"]
    agent_headers = login_api(client, agent, on_behalf_of=city.enterprise_credit_code)
    grant_id = client.get(_agents_url(city), headers=rep).json()[0]["id"]
    assert client.delete(f"{_agents_url(city)}/{grant_id}", headers=rep).status_code == 204
    listed = client.get(_agents_url(city), headers=rep).json()[0]
    assert listed["status"] == "revoked" and listed["revoked_at"]
    # The token the agent holds stops acting for the enterprise at once, and a new login is refused.
    body = problem(client.get(f"{API}/me", headers=agent_headers), 401)
    assert "授权" in body["detail"]
    problem(
        client.post(
            f"{API}/login",
            json={
                "username": agent.username,
                "password": agent.password,
                "on_behalf_of": city.enterprise_credit_code,
            },
        ),
        403,
    )
    # The agent may still sign in as themself.
    assert client.get(f"{API}/me", headers=login_api(client, agent)).json()["kind"] == "citizen"
    # Revoking twice is harmless.
    assert client.delete(f"{_agents_url(city)}/{grant_id}", headers=rep).status_code == 204


def test_revoke_of_another_enterprises_or_unknown_grant_is_404(client, city, rep):
    grant_id = client.get(_agents_url(city), headers=rep).json()[0]["id"]
    # Another enterprise's path: the rep does not represent it (or it does not exist).
    assert client.delete(
        f"{API}/enterprises/91110000100000000X/agents/{grant_id}", headers=rep
    ).status_code in (403, 404)
    problem(client.delete(f"{_agents_url(city)}/999999", headers=rep), 404)
    problem(client.delete(f"{_agents_url(city)}/abc", headers=rep), 422)


def test_expired_authorisation_no_longer_lets_the_agent_act(client, city):
    citizen = city.accounts["citizen"]
    code = city.enterprise_credit_code
    with clock.freeze(T0) as frozen:
        rep = login_api(client, city.accounts["enterprise"], on_behalf_of=code)
        until = clock.today_local().date() + timedelta(days=1)
        assert _authorise(client, city, rep, citizen, until=until.isoformat()).status_code == 201
        headers = login_api(client, citizen, on_behalf_of=code)
        assert client.get(f"{API}/me", headers=headers).json()["kind"] == "enterprise"
        frozen.tick(timedelta(days=2))
        problem(
            client.post(
                f"{API}/login",
                json={"username": citizen.username, "password": citizen.password, "on_behalf_of": code},
            ),
            403,
        )
        assert client.get(f"{API}/me/enterprises", headers=login_api(client, citizen)).json() == []
        rep = login_api(client, city.accounts["enterprise"], on_behalf_of=code)
        statuses = {a["agent_name"]: a["status"] for a in client.get(_agents_url(city), headers=rep).json()}
        assert statuses[citizen.display_name] == "expired"
