"""Login protection (issue 7 item 6): throttling per source, per account and per (account, source);
one answer for an unknown account and a wrong password; TOTP accepted the first time in its window;
recovery codes; a password set by an administrator changed at the next login. Everything through the
HTTP API and the pages, as a client would; the source address is the TestClient's `client`."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from yiwang.core import clock
from yiwang.identity.models import Account, LoginThrottle

from .helpers import API, T0, csrf_from, login_api, login_page, problem, totp_code, unregistered_person


def _from(app, ip: str) -> TestClient:
    """A browser or app at source address `ip`."""
    return TestClient(app, base_url="http://testserver", client=(ip, 40000))


def _login(client, username: str, password: str, **extra: str):
    return client.post(f"{API}/login", json={"username": username, "password": password, **extra})


def _same(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "instance"} == {k: v for k, v in b.items() if k != "instance"}


# ---- one answer ----------------------------------------------------------------------------------


def test_unknown_account_and_wrong_password_get_the_same_answer(client, city, session):
    acc = city.accounts["citizen"]
    nobody = unregistered_person(session).citizen_id
    wrong = problem(_login(client, acc.username, "Wrong-pass-1"), 401)
    unknown = problem(_login(client, nobody, "Wrong-pass-1"), 401)
    assert _same(wrong, unknown), (wrong, unknown)
    assert wrong["remaining_attempts"] == 4
    # They lock the same way too: the fifth failure of an unknown name says "locked" as well.
    for _ in range(3):
        _login(client, nobody, "Wrong-pass-1")
        _login(client, acc.username, "Wrong-pass-1")
    assert _same(
        problem(_login(client, acc.username, "Wrong-pass-1"), 423),
        problem(_login(client, nobody, "Wrong-pass-1"), 423),
    )


def test_a_deactivated_account_is_named_only_to_someone_with_its_password(client, city, db, session):
    acc = city.accounts["clerk"]
    with db.session() as s:
        s.scalars(select(Account).where(Account.username == acc.username)).one().is_active = False
    nobody = unregistered_person(session).citizen_id
    assert _same(
        problem(_login(client, acc.username, "Wrong-pass-1"), 401),
        problem(_login(client, nobody, "Wrong-pass-1"), 401),
    )
    assert "停用" in problem(_login(client, acc.username, acc.password), 401)["detail"]


# ---- throttling ----------------------------------------------------------------------------------


def test_a_stranger_typing_a_citizen_id_cannot_lock_the_citizen_out(app, client, city, db):
    acc = city.accounts["citizen"]
    stranger = _from(app, "203.0.113.7")
    with clock.freeze(T0):
        for left in (4, 3, 2, 1):
            assert problem(_login(stranger, acc.username, "Guess-pass-1"), 401)["remaining_attempts"] == left
        locked = problem(_login(stranger, acc.username, "Guess-pass-1"), 423)
        assert (
            "本设备" in locked["detail"]
            and int(_login(stranger, acc.username, "x").headers["retry-after"]) > 0
        )
        # Locked for the stranger's source, even with the right password …
        problem(_login(stranger, acc.username, acc.password), 423)
        # … while the citizen, from their own device, signs in as usual (page and API).
        assert _login(client, acc.username, acc.password).status_code == 200
        assert login_page(_from(app, "198.51.100.20"), acc).status_code == 303
    # The counters live in the database (every worker sees them), keyed by digests only.
    with db.session() as s:
        rows = s.scalars(select(LoginThrottle)).all()
        assert {r.scope for r in rows} >= {"ip", "pair", "account"}
        assert not any(acc.username in r.key_hash or "203.0.113.7" in r.key_hash for r in rows)


def test_many_sources_slow_an_account_down_but_not_where_the_person_signed_in_before(app, city):
    acc = city.accounts["citizen"]
    home = _from(app, "198.51.100.1")
    with clock.freeze(T0) as frozen:
        assert login_page(home, acc).status_code == 303  # the person's own browser, earlier
        frozen.tick(timedelta(minutes=1))
        # A distributed guesser: 4 tries from each of 5 sources (under each source's lock-out).
        for i in range(5):
            bot = _from(app, f"192.0.2.{i + 10}")
            for _ in range(4):
                problem(_login(bot, acc.username, "Guess-pass-1"), 401)
        # The account is slowed down for sources it never signed in from …
        slowed = problem(_login(_from(app, "192.0.2.99"), acc.username, acc.password), 429)
        assert slowed["type"] == "/problems/too-many-requests" and slowed["retry_after"] > 0
        # … but not at home.
        assert _login(home, acc.username, acc.password).status_code == 200
        frozen.tick(timedelta(minutes=16))
        assert _login(_from(app, "192.0.2.99"), acc.username, acc.password).status_code == 200


def test_one_source_guessing_many_accounts_is_throttled(app, city):
    sprayer = _from(app, "203.0.113.50")
    acc = city.accounts["citizen"]
    with clock.freeze(T0) as frozen:
        for i in range(30):
            problem(_login(sprayer, f"nobody{i:02d}", "Spring2026!"), 401)
        r = _login(sprayer, acc.username, acc.password)
        body = problem(r, 429)
        assert "网络" in body["detail"] and int(r.headers["retry-after"]) > 0
        # Other sources are not affected; the block ends.
        assert _login(_from(app, "198.51.100.7"), acc.username, acc.password).status_code == 200
        frozen.tick(timedelta(minutes=16))
        assert _login(sprayer, acc.username, acc.password).status_code == 200


def test_the_login_page_shows_the_throttle_in_chinese(app, city):
    acc = city.accounts["citizen"]
    browser = _from(app, "203.0.113.9")
    with clock.freeze(T0):
        for _ in range(5):
            r = login_page(browser, acc, password="Guess-pass-1")
        assert r.status_code == 423 and "临时锁定" in r.text and "请于" in r.text


# ---- second factor -------------------------------------------------------------------------------


def _enrol(client, headers) -> tuple[str, list[str]]:
    secret = client.post(f"{API}/me/totp", headers=headers).json()["secret"]
    r = client.post(f"{API}/me/totp/confirm", headers=headers, json={"otp": totp_code(secret)})
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"]


def test_a_fresh_code_is_accepted_right_after_set_up_and_only_once(client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0):
        secret, _ = _enrol(client, login_api(client, acc))
        # The code just used to confirm the set-up is still on the phone: signing in with it works.
        code = totp_code(secret)
        assert _login(client, acc.username, acc.password, otp=code).status_code == 200
        # Used once for a sign-in, it is refused the second time.
        assert "动态验证码" in problem(_login(client, acc.username, acc.password, otp=code), 401)["detail"]


def test_a_code_from_an_earlier_step_is_refused_after_a_later_one_was_used(client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0) as frozen:
        secret, _ = _enrol(client, login_api(client, acc))
        earlier = totp_code(secret)
        frozen.tick(timedelta(seconds=30))
        assert _login(client, acc.username, acc.password, otp=totp_code(secret)).status_code == 200
        problem(_login(client, acc.username, acc.password, otp=earlier), 401)  # within drift, but older


def test_recovery_codes_each_work_once_and_can_be_regenerated(client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0):
        headers = login_api(client, acc)
        _, codes = _enrol(client, headers)
        assert len(codes) == 10 and len(set(codes)) == 10
        assert all(re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", c) for c in codes)
        assert _login(client, acc.username, acc.password, otp=codes[0].upper()).status_code == 200
        problem(_login(client, acc.username, acc.password, otp=codes[0]), 401)  # spent
        me = client.get(f"{API}/me", headers=headers)
        assert me.status_code == 200
        # Regenerating needs the password; the old set stops working.
        url = f"{API}/me/recovery-codes"
        assert (
            problem(client.post(url, headers=headers, json={"password": "Wrong-1x"}), 422)["errors"][0][
                "field"
            ]
            == "password"
        )
        problem(client.post(url, json={"password": acc.password}), 401)
        problem(client.post(url, headers=headers, json={}), 422)
        r = client.post(url, headers=headers, json={"password": acc.password})
        assert r.status_code == 200 and r.headers["cache-control"].startswith("no-store")
        fresh = r.json()["recovery_codes"]
        problem(_login(client, acc.username, acc.password, otp=codes[1]), 401)
        assert _login(client, acc.username, acc.password, otp=fresh[1]).status_code == 200


def test_a_recovery_code_on_the_second_factor_page(app, client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0):
        _, codes = _enrol(client, login_api(client, acc))
        browser = _from(app, "198.51.100.30")
        r = login_page(browser, acc, next_url="/me")
        assert r.headers["location"] == "/login/otp"
        page = browser.get("/login/otp")
        assert "恢复码" in page.text
        token = csrf_from(page.text)
        bad = browser.post("/login/otp", data={"csrf_token": token, "recovery_code": "12345"})
        assert (
            bad.status_code == 422
            and 'href="#recovery_code"' in bad.text
            and '<details class="details" open>' in bad.text
        )
        spent_or_wrong = browser.post(
            "/login/otp", data={"csrf_token": token, "recovery_code": "aaaaa-aaaaa"}
        )
        assert spent_or_wrong.status_code == 401 and 'href="#recovery_code"' in spent_or_wrong.text
        done = browser.post(
            "/login/otp", data={"csrf_token": token, "recovery_code": codes[3]}, follow_redirects=False
        )
        assert done.status_code == 303 and done.headers["location"] == "/me"
        recovery = browser.get("/me/recovery-codes")
        assert "还有 <strong>9</strong> 个" in recovery.text
        csrf = csrf_from(recovery.text, "/me/recovery-codes")
        bad = browser.post("/me/recovery-codes", data={"csrf_token": csrf, "password": "nope"})
        assert bad.status_code == 422 and 'href="#password"' in bad.text
        assert browser.post("/me/recovery-codes", data={"password": acc.password}).status_code == 403
        new = browser.post("/me/recovery-codes", data={"csrf_token": csrf, "password": acc.password})
        assert new.status_code == 200 and len(re.findall(r"<li><code>", new.text)) == 10


# ---- a password set by an administrator ----------------------------------------------------------


def test_a_reset_password_must_be_changed_on_the_page_before_any_session(app, client, city, db):
    acc = city.accounts["approver"]
    admin = login_api(client, city.accounts["admin"])
    with db.session() as s:
        approver_id = s.scalars(select(Account.id).where(Account.username == acc.username)).one()
    temp = client.post(f"/api/v1/admin/accounts/{approver_id}/reset-password", headers=admin).json()[
        "temporary_password"
    ]
    browser = _from(app, "198.51.100.40")
    r = login_page(browser, acc, as_="staff", password=temp, next_url="/me")
    assert r.status_code == 303 and r.headers["location"] == "/login/password"
    assert "yiwang_session" not in r.headers.get("set-cookie", "")
    # No session yet: every page still asks to sign in.
    assert browser.get("/me", follow_redirects=False).headers["location"].startswith("/login")
    page = browser.get("/login/password")
    assert "设置新密码" in page.text
    token = csrf_from(page.text)
    same = browser.post(
        "/login/password", data={"csrf_token": token, "new_password": temp, "new_password_confirm": temp}
    )
    assert same.status_code == 422 and "临时密码相同" in same.text
    weak = browser.post(
        "/login/password", data={"csrf_token": token, "new_password": "weak", "new_password_confirm": "weak"}
    )
    assert weak.status_code == 422 and 'href="#new_password"' in weak.text
    done = browser.post(
        "/login/password",
        data={
            "csrf_token": token,
            "new_password": "Approver-Own-9",
            "new_password_confirm": "Approver-Own-9",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/me"
    assert browser.get("/me").status_code == 200
    # The temporary password is gone; the chosen one works on the API without further questions.
    problem(_login(client, acc.username, temp), 401)
    assert _login(client, acc.username, "Approver-Own-9").status_code == 200


def test_the_new_password_page_without_a_pending_login_goes_back_to_login(client):
    assert client.get("/login/password", follow_redirects=False).headers["location"] == "/login"
    assert client.post("/login/password", data={}, follow_redirects=False).headers["location"] == "/login"
