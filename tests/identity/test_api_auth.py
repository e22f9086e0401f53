"""API login (A1, A3): password, lock-out, second factor, acting for an enterprise, tokens, logout."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from yiwang.core import audit, clock
from yiwang.identity.models import AccessToken

from .helpers import API, T0, account_row, login_api, problem, totp_code


def _login(client, username, password, **extra):
    return client.post(f"{API}/login", json={"username": username, "password": password, **extra})


# ---- password ------------------------------------------------------------------------------------


def test_login_ok_returns_bearer_token_that_works(client, city):
    acc = city.accounts["citizen"]
    r = _login(client, acc.username, acc.password)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert len(body["access_token"]) >= 32
    assert r.headers["cache-control"] == "no-store"
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["name"] == acc.display_name


def test_login_accepts_lowercase_x_in_citizen_id(client, city, session):
    acc = city.accounts["citizen"]
    r = _login(client, acc.username.lower(), acc.password)
    assert r.status_code == 200, r.text


def test_wrong_password_counts_down_then_locks_and_unlocks_after_lock_time(client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0) as frozen:
        for left in (4, 3, 2, 1):
            body = problem(_login(client, acc.username, "Wrong-pass-1"), 401)
            assert body["detail"].startswith("用户名或密码错误")
            assert f"再错 {left} 次" in body["detail"]
            assert body["remaining_attempts"] == left
        body = problem(_login(client, acc.username, "Wrong-pass-1"), 423)
        assert body["type"] == "/problems/locked"
        assert "锁定" in body["detail"]
        # Locked: even the right password is refused, and says so.
        problem(_login(client, acc.username, acc.password), 423)
        frozen.tick(timedelta(minutes=14))
        problem(_login(client, acc.username, acc.password), 423)
        frozen.tick(timedelta(minutes=2))
        assert _login(client, acc.username, acc.password).status_code == 200


def test_success_resets_the_failure_count(client, city):
    acc = city.accounts["citizen"]
    for _ in range(3):
        problem(_login(client, acc.username, "Wrong-pass-1"), 401)
    assert _login(client, acc.username, acc.password).status_code == 200
    body = problem(_login(client, acc.username, "Wrong-pass-1"), 401)
    assert body["remaining_attempts"] == 4


def test_unknown_user_gets_the_same_refusal(client, city):
    body = problem(_login(client, "nobody-here", "Whatever-1"), 401)
    known = problem(_login(client, city.accounts["citizen"].username, "Whatever-1"), 401)
    assert body["type"] == known["type"] == "/problems/unauthenticated"
    assert body["title"] == known["title"]
    assert body["detail"].startswith("用户名或密码错误")
    assert "不存在" not in body["detail"]
    assert _login(client, "nobody-here", "Whatever-1").headers["www-authenticate"].startswith("Bearer")


def test_inactive_account_is_refused(client, city, session):
    acc = city.accounts["clerk"]
    account_row(session, acc.username).is_active = False
    session.flush()
    body = problem(_login(client, acc.username, acc.password), 401)
    assert "停用" in body["detail"]


def test_token_of_a_deactivated_account_stops_working(client, city, session):
    acc = city.accounts["clerk"]
    headers = login_api(client, acc)
    account_row(session, acc.username).is_active = False
    session.flush()
    problem(client.get(f"{API}/me", headers=headers), 401)


@pytest.mark.parametrize(
    "body, fields",
    [
        ({"username": "", "password": ""}, {"username", "password"}),
        ({"username": "  ", "password": "x"}, {"username"}),
        ({"username": "admin", "password": ""}, {"password"}),
    ],
)
def test_blank_credentials_are_422_with_fields(client, city, body, fields):
    out = problem(client.post(f"{API}/login", json=body), 422)
    assert {e["field"] for e in out["errors"]} == fields
    assert all(any("\u4e00" <= c <= "\u9fff" for c in e["message"]) for e in out["errors"])


def test_malformed_body_is_422_in_chinese(client, city):
    out = problem(client.post(f"{API}/login", json={"username": 5, "password": "x", "extra": 1}), 422)
    fields = {e["field"] for e in out["errors"]}
    assert {"username", "extra"} <= fields
    out = problem(
        client.post(f"{API}/login", content=b"{not json", headers={"content-type": "application/json"}), 422
    )
    assert out["errors"]


def test_failed_login_is_on_the_audit_chain(client, city, session):
    acc = city.accounts["citizen"]
    problem(_login(client, acc.username, "Wrong-pass-1"), 401)
    records = [r for r in audit.recent(session, limit=20) if r.action == "identity.login"]
    assert any(r.result == "refused" and r.purpose == "bad-password" for r in records)


# ---- second factor -------------------------------------------------------------------------------


def _enrol(client, headers) -> str:
    r = client.post(f"{API}/me/totp", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert body["qr_svg"].lstrip().startswith("<svg")
    assert "<?xml" not in body["qr_svg"]
    secret = body["secret"]
    assert pyotp.parse_uri(body["otpauth_uri"]).secret == secret
    r = client.post(f"{API}/me/totp/confirm", headers=headers, json={"otp": totp_code(secret)})
    assert r.status_code == 200, r.text
    assert r.json()["totp_enabled"] is True and len(r.json()["recovery_codes"]) == 10
    return secret


def test_totp_enrol_then_login_needs_the_code(client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0) as frozen:
        headers = login_api(client, acc)
        secret = _enrol(client, headers)
        assert client.get(f"{API}/me", headers=headers).json()["totp_enabled"] is True
        frozen.tick(timedelta(seconds=30))
        body = problem(_login(client, acc.username, acc.password), 401)
        assert body["type"] == "/problems/otp-required"
        problem(_login(client, acc.username, acc.password, otp="000000"), 401)
        code = totp_code(secret)
        assert _login(client, acc.username, acc.password, otp=code).status_code == 200
        # The same code, replayed within its window, is refused.
        body = problem(_login(client, acc.username, acc.password, otp=code), 401)
        assert "动态验证码" in body["detail"]
        frozen.tick(timedelta(seconds=30))
        assert _login(client, acc.username, acc.password, otp=totp_code(secret)).status_code == 200


def test_wrong_otp_counts_towards_lock_out(client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0) as frozen:
        _enrol(client, login_api(client, acc))
        frozen.tick(timedelta(seconds=30))
        for left in (4, 3, 2, 1):
            body = problem(_login(client, acc.username, acc.password, otp="123456"), 401)
            assert body["remaining_attempts"] == left
        problem(_login(client, acc.username, acc.password, otp="123456"), 423)


def test_totp_confirm_refuses_a_wrong_code_and_begin_twice_is_refused(client, city):
    headers = login_api(client, city.accounts["citizen"])
    with clock.freeze(T0):
        assert client.post(f"{API}/me/totp", headers=headers).status_code == 200
        body = problem(client.post(f"{API}/me/totp/confirm", headers=headers, json={"otp": "12"}), 422)
        assert body["errors"][0]["field"] == "otp"
        problem(client.post(f"{API}/me/totp/confirm", headers=headers, json={}), 422)
        _enrol(client, headers)
        body = problem(client.post(f"{API}/me/totp", headers=headers), 422)
        assert "已开启" in body["detail"]


def test_totp_disable_needs_password_and_code(client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0) as frozen:
        headers = login_api(client, acc)
        secret = _enrol(client, headers)
        frozen.tick(timedelta(seconds=30))
        url = f"{API}/me/totp/disable"
        body = problem(
            client.post(url, headers=headers, json={"password": "Nope-123x", "otp": totp_code(secret)}), 422
        )
        assert body["errors"][0]["field"] == "password"
        body = problem(
            client.post(url, headers=headers, json={"password": acc.password, "otp": "000000"}), 422
        )
        assert body["errors"][0]["field"] == "otp"
        frozen.tick(timedelta(seconds=30))
        r = client.post(url, headers=headers, json={"password": acc.password, "otp": totp_code(secret)})
        assert r.json() == {"totp_enabled": False}
        assert _login(client, acc.username, acc.password).status_code == 200


def test_totp_endpoints_refuse_anonymous(client, city):
    problem(client.post(f"{API}/me/totp"), 401)
    problem(client.post(f"{API}/me/totp/confirm", json={"otp": "123456"}), 401)
    problem(client.post(f"{API}/me/totp/disable", json={"password": "x", "otp": "123456"}), 401)


# ---- acting for an enterprise --------------------------------------------------------------------


def test_legal_rep_and_agent_may_act_for_the_enterprise(client, city):
    code = city.enterprise_credit_code
    for key in ("enterprise", "agent"):
        headers = login_api(client, city.accounts[key], on_behalf_of=code)
        me = client.get(f"{API}/me", headers=headers).json()
        assert me["kind"] == "enterprise"
        assert me["acting_for"]["credit_code"] == code
        assert me["acting_for"]["as_legal_rep"] is (key == "enterprise")


def test_credit_code_is_normalised(client, city):
    code = city.enterprise_credit_code
    headers = login_api(client, city.accounts["enterprise"], on_behalf_of=f" {code.lower()} ")
    assert client.get(f"{API}/me", headers=headers).json()["acting_for"]["credit_code"] == code


def test_random_citizen_may_not_act_for_the_enterprise_and_it_is_audited(client, city, session):
    acc = city.accounts["citizen"]
    code = city.enterprise_credit_code
    body = problem(_login(client, acc.username, acc.password, on_behalf_of=code), 403)
    assert "授权" in body["detail"]
    assert body["errors"][0]["field"] == "on_behalf_of"
    refusals = [
        r for r in audit.records_for_subject(session, code, limit=20) if r.action == "identity.act_for"
    ]
    assert refusals and refusals[0].result == "refused"
    assert refusals[0].actor_name == acc.display_name


def test_staff_may_not_act_for_an_enterprise(client, city):
    acc = city.accounts["clerk"]
    problem(_login(client, acc.username, acc.password, on_behalf_of=city.enterprise_credit_code), 403)


def test_malformed_credit_code_is_422_before_the_password_is_tried(client, city):
    acc = city.accounts["enterprise"]
    body = problem(_login(client, acc.username, "Wrong-pass-1", on_behalf_of="91110105MA0000000X"), 422)
    assert body["errors"][0]["field"] == "on_behalf_of"
    # The password was not tried, so nothing was counted.
    assert problem(_login(client, acc.username, "Wrong-pass-1"), 401)["remaining_attempts"] == 4


# ---- tokens --------------------------------------------------------------------------------------


def test_logout_revokes_the_presented_token_only(client, city, session):
    acc = city.accounts["citizen"]
    first = login_api(client, acc)
    second = login_api(client, acc)
    assert client.post(f"{API}/logout", headers=first).status_code == 204
    body = problem(client.get(f"{API}/me", headers=first), 401)
    assert "令牌" in body["detail"]
    assert client.get(f"{API}/me", headers=second).status_code == 200


def test_logout_needs_a_login(client, city):
    problem(client.post(f"{API}/logout"), 401)


def test_expired_token_is_401_problem(client, city):
    with clock.freeze(T0) as frozen:
        headers = login_api(client, city.accounts["citizen"])
        assert client.get(f"{API}/me", headers=headers).status_code == 200
        frozen.tick(timedelta(minutes=61))
        r = client.get(f"{API}/me", headers=headers)
        body = problem(r, 401)
        assert "过期" in body["detail"]
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_forged_token_is_401(client, city, session):
    login_api(client, city.accounts["citizen"])
    problem(client.get(f"{API}/me", headers={"Authorization": "Bearer " + "A" * 43}), 401)
    # A token hash is not a token.
    stored = session.scalars(select(AccessToken.token_hash)).first()
    problem(client.get(f"{API}/me", headers={"Authorization": f"Bearer {stored}"}), 401)


@pytest.mark.parametrize("header", ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer    ", "garbage", "Token abc"])
def test_garbage_authorization_header_is_401(client, city, header):
    body = problem(client.get(f"{API}/me", headers={"Authorization": header}), 401)
    assert body["detail"]


def test_anonymous_me_is_401(client, city):
    problem(client.get(f"{API}/me"), 401)
