"""My account through the API: profile, sessions, password, registration (A1 real-name)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from yiwang.core import clock
from yiwang.core.ids import mask_citizen_id
from yiwang.identity.models import Account

from .helpers import (
    API,
    login_api,
    login_page,
    page_csrf,
    problem,
    signed_in,
    sms_code,
    sms_to,
    unregistered_person,
)

# ---- profile -------------------------------------------------------------------------------------


def test_citizen_profile_masks_the_citizen_id(client, city):
    acc = city.accounts["citizen"]
    r = client.get(f"{API}/me", headers=login_api(client, acc))
    assert r.status_code == 200
    me = r.json()
    assert me["name"] == acc.display_name
    assert me["kind"] == "citizen"
    assert me["kind_label"] == "个人"
    assert me["citizen_id_masked"] == mask_citizen_id(acc.citizen_id)
    assert acc.citizen_id not in r.text
    assert me["roles"] == [{"code": "citizen", "name": "个人用户", "org_unit_id": None, "org_unit_name": ""}]
    assert me["department"] is None
    assert me["acting_for"] is None
    assert me["totp_enabled"] is False


def test_staff_profile_has_chinese_role_names_and_department(client, city):
    acc = city.accounts["clerk"]
    me = client.get(f"{API}/me", headers=login_api(client, acc)).json()
    assert me["kind"] == "staff"
    assert me["kind_label"] == "工作人员"
    assert [r["name"] for r in me["roles"]] == ["综合窗口人员"]
    assert me["roles"][0]["org_unit_name"]
    assert me["department"]["name"] == acc.department


def test_enterprise_profile_names_the_enterprise(client, city):
    acc = city.accounts["enterprise"]
    headers = login_api(client, acc, on_behalf_of=city.enterprise_credit_code)
    me = client.get(f"{API}/me", headers=headers).json()
    assert me["kind"] == "enterprise"
    assert me["acting_for"]["name"]
    assert me["acting_for"]["as_legal_rep"] is True
    assert me["roles"][0]["code"] == "enterprise"


def test_my_enterprises(client, city):
    code = city.enterprise_credit_code
    rep = client.get(f"{API}/me/enterprises", headers=login_api(client, city.accounts["enterprise"])).json()
    assert [(e["credit_code"], e["as_legal_rep"], e["valid_until"]) for e in rep] == [(code, True, None)]
    agent = client.get(f"{API}/me/enterprises", headers=login_api(client, city.accounts["agent"])).json()
    assert agent[0]["credit_code"] == code and agent[0]["as_legal_rep"] is False and agent[0]["valid_until"]
    assert (
        client.get(f"{API}/me/enterprises", headers=login_api(client, city.accounts["citizen"])).json() == []
    )
    assert client.get(f"{API}/me/enterprises", headers=login_api(client, city.accounts["clerk"])).json() == []
    problem(client.get(f"{API}/me/enterprises"), 401)


# ---- sessions ------------------------------------------------------------------------------------


def _two_browsers(app, city):
    from fastapi.testclient import TestClient

    acc = city.accounts["citizen"]
    a = signed_in(TestClient(app, base_url="http://testserver"), acc)
    b = signed_in(TestClient(app, base_url="http://testserver"), acc)
    return acc, a, b


def test_sessions_list_and_revoke_another_session(app, client, city):
    acc, browser_a, browser_b = _two_browsers(app, city)
    headers = login_api(client, acc)
    sessions = client.get(f"{API}/me/sessions", headers=headers).json()
    assert len(sessions) == 2
    assert all(len(s["id"]) == 16 and s["current"] is False for s in sessions)
    assert all(s["user_agent"] and s["auth_methods"] == "pwd" for s in sessions)
    # From browser A's own session (cookie), the current one is flagged.
    mine = browser_a.get(f"{API}/me/sessions").json()
    current = [s for s in mine if s["current"]]
    other = [s for s in mine if not s["current"]]
    assert len(current) == 1 and len(other) == 1
    url = f"{API}/me/sessions/{other[0]['id']}"
    # With a session cookie (not a bearer token) a write needs the session's CSRF token.
    assert browser_a.delete(url).status_code == 403
    assert browser_a.delete(url, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert browser_a.delete(url, headers={"X-CSRF-Token": page_csrf(browser_a)}).status_code == 204
    assert browser_b.get("/me", follow_redirects=False).status_code == 303  # B is signed out
    assert browser_a.get("/me").status_code == 200
    assert len(client.get(f"{API}/me/sessions", headers=headers).json()) == 1


def test_revoking_someone_elses_or_a_bogus_session_is_404(app, client, city):
    acc, browser_a, _b = _two_browsers(app, city)
    theirs = browser_a.get(f"{API}/me/sessions").json()[0]["id"]
    other = login_api(client, city.accounts["clerk"])
    problem(client.delete(f"{API}/me/sessions/{theirs}", headers=other), 404)
    for bogus in ("short", "%" * 16, "g" * 16):
        problem(client.delete(f"{API}/me/sessions/{bogus}", headers=other), 404)
    problem(client.delete(f"{API}/me/sessions/{theirs}"), 401)
    assert len(browser_a.get(f"{API}/me/sessions").json()) == 2


def test_sessions_need_a_login(client, city):
    problem(client.get(f"{API}/me/sessions"), 401)


# ---- password ------------------------------------------------------------------------------------


NEW_PASSWORD = "Another#Pass9"


def test_password_change_revokes_other_sessions_and_tokens(app, client, city):
    acc, browser_a, browser_b = _two_browsers(app, city)
    token = login_api(client, acc)
    csrf = page_csrf(browser_a)
    r = browser_a.post(
        f"{API}/me/password",
        json={"old_password": acc.password, "new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 204, r.text
    assert browser_a.get("/me").status_code == 200  # this browser stays signed in
    assert browser_b.get("/me", follow_redirects=False).status_code == 303
    problem(client.get(f"{API}/me", headers=token), 401)
    problem(client.post(f"{API}/login", json={"username": acc.username, "password": acc.password}), 401)
    assert (
        client.post(f"{API}/login", json={"username": acc.username, "password": NEW_PASSWORD}).status_code
        == 200
    )


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("Wrong-pass-1", NEW_PASSWORD, "old_password"),
        (None, "short1A", "new_password"),
        (None, "alllowercaseletters", "new_password"),
        (None, None, "new_password"),  # same as the current one
    ],
)
def test_password_change_refusals(client, city, old, new, field):
    acc = city.accounts["citizen"]
    headers = login_api(client, acc)
    body = {"old_password": old or acc.password, "new_password": new or acc.password}
    out = problem(client.post(f"{API}/me/password", headers=headers, json=body), 422)
    assert out["errors"][0]["field"] == field
    assert client.get(f"{API}/me", headers=headers).status_code == 200  # nothing was revoked


def test_password_change_needs_a_login(client, city):
    problem(client.post(f"{API}/me/password", json={"old_password": "a", "new_password": "b"}), 401)


# ---- registration --------------------------------------------------------------------------------

GOOD_PASSWORD = "Zhuce#2026ok"
SAME_ANSWER = "若姓名和身份证号码与人口库登记一致，验证码已发送到您在人口库登记的手机，10 分钟内有效。"


def _start(client, name: str, cid: str):
    return client.post(f"{API}/register", json={"name": name, "citizen_id": cid})


def _confirm(client, registration_id: str, code: str, password: str = GOOD_PASSWORD):
    body = {"registration_id": registration_id, "code": code, "password": password}
    return client.post(f"{API}/register/confirm", json=body)


def test_register_proves_the_person_with_a_code_to_the_phone_on_record(client, city, session, db):
    person = unregistered_person(session)
    r = _start(client, person.name, person.citizen_id)
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["detail"] == SAME_ANSWER and started["expires_in"] == 600
    # The code went to the phone in the population registry, through the SMS adapter's outbox.
    (message,) = sms_to(db, person.phone)
    assert message.purpose == "register" and "注册验证码" in message.body
    code = sms_code(db, person.phone)
    # A wrong code is refused and creates nothing; the right one creates the account.
    wrong = "000000" if code != "000000" else "111111"
    out = problem(_confirm(client, started["registration_id"], wrong), 422)
    assert out["errors"][0]["field"] == "code"
    assert session.scalars(select(Account).where(Account.citizen_id == person.citizen_id)).first() is None
    r = _confirm(client, started["registration_id"], code)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["username"] == person.citizen_id and body["kind"] == "citizen"
    assert body["citizen_id_masked"] == mask_citizen_id(person.citizen_id)
    login = client.post(f"{API}/login", json={"username": person.citizen_id, "password": GOOD_PASSWORD})
    assert login.status_code == 200
    # The code is spent.
    problem(_confirm(client, started["registration_id"], code), 422)


def test_register_is_no_oracle_for_names_ids_or_existing_accounts(client, city, session, db):
    """A wrong name, an ID nobody holds and an ID already registered all get the answer a match gets;
    only the holder of the phone on record learns anything (a code, or that they already have an
    account)."""
    person = unregistered_person(session)
    acc = city.accounts["citizen"]
    from yiwang.registry.models import Person

    registered_phone = session.scalars(select(Person.phone).where(Person.citizen_id == acc.citizen_id)).one()
    answers = [
        _start(client, person.name + "某", person.citizen_id),  # name does not match
        _start(client, acc.display_name, acc.citizen_id),  # already registered
        _start(client, person.name, person.citizen_id),  # matches
    ]
    assert {r.status_code for r in answers} == {202}
    assert {r.json()["detail"] for r in answers} == {SAME_ANSWER}
    assert {tuple(sorted(r.json())) for r in answers} == {("detail", "expires_in", "registration_id")}
    # The mismatch sent nothing, and its registration can never be confirmed, whatever the code.
    assert len(sms_to(db, person.phone)) == 1
    for code in ("000000", sms_code(db, person.phone)):
        out = problem(_confirm(client, answers[0].json()["registration_id"], code), 422)
        assert out["errors"][0]["field"] == "code"
    # The account holder is told by SMS, not the caller.
    if registered_phone:
        assert sms_to(db, registered_phone)[0].purpose == "register-exists"
    out = problem(_confirm(client, answers[1].json()["registration_id"], "123456"), 422)
    assert out["detail"] == problem(_confirm(client, "no-such-registration", "123456"), 422)["detail"]


def test_register_code_attempts_and_expiry_are_bounded(client, city, session, db):
    person = unregistered_person(session)
    rid = _start(client, person.name, person.citizen_id).json()["registration_id"]
    code = sms_code(db, person.phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        problem(_confirm(client, rid, wrong), 422)
    # Five wrong codes end the registration: the right code no longer works.
    problem(_confirm(client, rid, code), 422)
    rid = _start(client, person.name, person.citizen_id).json()["registration_id"]
    code = sms_code(db, person.phone)
    with clock.freeze(clock.now() + timedelta(minutes=11)):
        problem(_confirm(client, rid, code), 422)


def test_register_is_throttled_per_citizen_id_and_per_source(client, city, session):
    person = unregistered_person(session)
    other = unregistered_person(session, offset=1)
    for _ in range(5):
        assert _start(client, person.name, person.citizen_id).status_code == 202
    out = problem(_start(client, person.name, person.citizen_id), 429)
    assert int(out["retry_after"]) > 0
    assert int(_start(client, "随便", person.citizen_id).headers["retry-after"]) > 0
    # Another ID from the same source still goes, up to the source's limit of 10 an hour.
    for _ in range(5):
        assert _start(client, other.name, other.citizen_id).status_code == 202
    third = unregistered_person(session, offset=2)
    problem(_start(client, third.name, third.citizen_id), 429)


def test_register_bad_check_digit_has_a_chinese_message(client, city, session):
    cid = unregistered_person(session).citizen_id
    wrong = cid[:17] + ("0" if cid[17] != "0" else "1")
    out = problem(client.post(f"{API}/register", json={"name": "张三", "citizen_id": wrong}), 422)
    assert out["errors"] == [{"field": "citizen_id", "message": "身份证号码校验位不正确，请核对号码"}]


@pytest.mark.parametrize("password", ["short1A", "alllowercase", "ALLUPPER123", "12345678"])
def test_register_weak_password_is_refused_without_spending_the_code(client, city, session, db, password):
    person = unregistered_person(session)
    rid = _start(client, person.name, person.citizen_id).json()["registration_id"]
    code = sms_code(db, person.phone)
    out = problem(_confirm(client, rid, code, password), 422)
    assert out["errors"][0]["field"] == "password"
    assert _confirm(client, rid, code).status_code == 201


def test_register_missing_fields(client, city, session):
    out = problem(client.post(f"{API}/register", json={"name": "张三"}), 422)
    assert {e["field"] for e in out["errors"]} == {"citizen_id"}
    assert all(e["message"] == "必填项未填写" for e in out["errors"])
    out = problem(client.post(f"{API}/register/confirm", json={"code": "123456"}), 422)
    assert {e["field"] for e in out["errors"]} == {"registration_id", "password"}
    out = problem(client.post(f"{API}/register", json={"name": "张三", "citizen_id": "1", "phone": "1"}), 422)
    assert any(e["field"] == "phone" for e in out["errors"])  # no such field any more


def test_page_login_after_registration_through_api(client, city, session, db):
    person = unregistered_person(session, offset=1)
    rid = _start(client, person.name, person.citizen_id).json()["registration_id"]
    assert _confirm(client, rid, sms_code(db, person.phone)).status_code == 201

    class Acc:
        username = person.citizen_id
        password = GOOD_PASSWORD

    assert login_page(client, Acc).status_code == 303
