"""Identity pages: login with CSRF, error summary, next handling, second factor, registration, home
per audience, 个人中心, enterprise identity and agents."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from types import SimpleNamespace
from urllib.parse import quote

import pyotp
import pytest
from fastapi.testclient import TestClient

from yiwang.core import clock
from yiwang.core.ids import mask_citizen_id
from yiwang.identity.pages import _route_exists, require_csrf

from .helpers import (
    T0,
    csrf_from,
    login_page,
    page_csrf,
    signed_in,
    sms_code,
    sms_to,
    totp_code,
    unregistered_person,
)


def _text(html: str) -> str:
    """Visible-ish text: tags dropped, entities decoded, whitespace squeezed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _summary_links(html: str) -> list[str]:
    box = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert box, "no error summary"
    return re.findall(r'<a href="#([^"]+)"', box.group(0))


def _browser(app) -> TestClient:
    return TestClient(app, base_url="http://testserver")


# ---- login form ----------------------------------------------------------------------------------


def test_login_form_has_tabs_labels_and_a_csrf_cookie(client, city):
    r = client.get("/login")
    assert r.status_code == 200
    html = r.text
    assert 'lang="zh-CN"' in html
    assert "yiwang_csrf" in r.headers["set-cookie"] and "httponly" in r.headers["set-cookie"].lower()
    assert csrf_from(html)
    for label in ("个人", "法人", "工作人员"):
        assert f">{label}<" in html
    assert '<label class="label" for="username">' in html
    assert '<label class="label" for="password">' in html
    assert 'autocomplete="current-password"' in html
    assert 'name="on_behalf_of"' not in html
    enterprise = client.get("/login?as=enterprise").text
    assert '<label class="label" for="on_behalf_of">' in enterprise
    assert 'aria-current="page">法人' in enterprise
    assert "/register" in html
    assert "/register" not in client.get("/login?as=staff").text


def test_login_ok_sets_a_session_cookie_and_redirects_home(client, city):
    r = login_page(client, city.accounts["citizen"])
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "yiwang_session=" in cookie and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    home = client.get("/")
    assert city.accounts["citizen"].display_name in home.text


def test_login_without_or_with_a_forged_csrf_token_is_refused(app, city):
    acc = city.accounts["citizen"]
    browser = _browser(app)
    data = {"username": acc.username, "password": acc.password, "login_as": "citizen"}
    r = browser.post("/login", data=data)
    assert r.status_code == 403
    assert "页面已过期" in r.text
    browser.get("/login")  # now the cookie is set, but the token must match it
    r = browser.post("/login", data={**data, "csrf_token": "0" * 64})
    assert r.status_code == 403
    assert "yiwang_session" not in r.headers.get("set-cookie", "")
    # A token minted for another browser's cookie does not work either.
    other = _browser(app)
    stolen = csrf_from(other.get("/login").text)
    assert browser.post("/login", data={**data, "csrf_token": stolen}).status_code == 403


def test_blank_login_shows_an_error_summary_linked_to_fields(client, city):
    form = client.get("/login?as=enterprise")
    r = client.post(
        "/login",
        data={"csrf_token": csrf_from(form.text), "login_as": "enterprise", "username": "", "password": ""},
    )
    assert r.status_code == 422
    assert _summary_links(r.text) == ["on_behalf_of", "username", "password"]
    assert "<title>错误：" in r.text
    assert 'aria-invalid="true"' in r.text
    assert 'id="username-error"' in r.text


def test_wrong_password_keeps_what_was_typed_except_the_password(client, city):
    acc = city.accounts["enterprise"]
    r = login_page(
        client, acc, as_="enterprise", on_behalf_of=city.enterprise_credit_code, password="Wrong-pass-1"
    )
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert "再错 4 次" in r.text
    assert f'value="{acc.username}"' in r.text
    assert f'value="{city.enterprise_credit_code}"' in r.text
    assert "Wrong-pass-1" not in r.text
    assert _summary_links(r.text) == ["username"]


def test_locked_account_page_says_so(client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0):
        for _ in range(5):
            r = login_page(client, acc, password="Wrong-pass-1")
        assert r.status_code == 423
        assert "锁定" in r.text
        assert login_page(client, acc).status_code == 423


def test_enterprise_login_acts_for_the_enterprise(client, city):
    acc = city.accounts["enterprise"]
    r = login_page(client, acc, as_="enterprise", on_behalf_of=city.enterprise_credit_code)
    assert r.status_code == 303
    home = client.get("/")
    assert "您正在代表" in home.text
    assert "/me/enterprise/agents" in home.text
    assert "切换回个人身份" in home.text


def test_enterprise_login_refused_for_a_citizen_shows_the_field(client, city):
    r = login_page(
        client, city.accounts["citizen"], as_="enterprise", on_behalf_of=city.enterprise_credit_code
    )
    assert r.status_code == 403
    assert _summary_links(r.text) == ["on_behalf_of"]
    assert "yiwang_session" not in r.headers.get("set-cookie", "")


def test_malformed_credit_code_on_the_page(client, city):
    r = login_page(client, city.accounts["enterprise"], as_="enterprise", on_behalf_of="123")
    assert r.status_code == 422
    assert _summary_links(r.text) == ["on_behalf_of"]
    assert "统一社会信用代码应为18位" in r.text


# ---- next ----------------------------------------------------------------------------------------


def test_next_is_honoured_for_local_paths(client, city):
    target = "/oidc/authorize?client_id=demo-rp&scope=openid&state=a%2Fb"
    form = client.get(f"/login?next={quote(target)}")
    assert f'name="next" value="{target.replace("&", "&amp;")}"' in form.text
    r = login_page(client, city.accounts["citizen"], next_url=target)
    assert r.status_code == 303
    assert r.headers["location"] == target


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "me",
    ],
)
def test_open_redirects_are_refused(client, city, evil):
    r = login_page(client, city.accounts["citizen"], next_url=evil)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_protected_page_sends_anonymous_visitors_to_login_with_next(client, city):
    r = client.get("/me/totp", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/me/totp"


# ---- second factor -------------------------------------------------------------------------------


def _enrol_on_page(client) -> str:
    csrf = page_csrf(client)
    r = client.post("/me/totp", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/me/totp")
    assert "<svg" in page.text and "<?xml" not in page.text
    secret = re.search(r'id="totp-secret">([^<]+)<', page.text).group(1).replace(" ", "")
    assert pyotp.TOTP(secret).now()
    return secret


def test_totp_set_up_on_the_page_then_login_asks_for_the_code(app, client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0) as frozen:
        signed_in(client, acc)
        assert "开始设置" in client.get("/me/totp").text
        secret = _enrol_on_page(client)
        csrf = page_csrf(client, "/me/totp")
        wrong = client.post("/me/totp/confirm", data={"csrf_token": csrf, "otp": "000000"})
        assert wrong.status_code == 422
        assert _summary_links(wrong.text) == ["otp"]
        assert "<svg" in wrong.text  # the QR code is still there to scan
        ok = client.post(
            "/me/totp/confirm", data={"csrf_token": csrf, "otp": totp_code(secret)}, follow_redirects=False
        )
        # On: the recovery codes are shown this once.
        assert ok.status_code == 200 and "双因素认证已开启" in ok.text and "只显示这一次" in ok.text
        assert len(re.findall(r"<li><code>[a-z0-9]{5}-[a-z0-9]{5}</code></li>", ok.text)) == 10
        assert "剩余 10 个" in client.get("/me").text

        frozen.tick(timedelta(seconds=30))
        browser = _browser(app)
        r = login_page(browser, acc, next_url="/me")
        assert r.status_code == 303 and r.headers["location"] == "/login/otp"
        assert "yiwang_session" not in r.headers["set-cookie"]
        otp_page = browser.get("/login/otp")
        assert 'autocomplete="one-time-code"' in otp_page.text
        assert 'inputmode="numeric"' in otp_page.text
        token = csrf_from(otp_page.text)
        bad = browser.post("/login/otp", data={"csrf_token": token, "otp": "12345"})
        assert bad.status_code == 422 and _summary_links(bad.text) == ["otp"]
        bad = browser.post("/login/otp", data={"csrf_token": token, "otp": "000000"})
        assert bad.status_code == 401 and "动态验证码不正确" in bad.text
        assert browser.post("/login/otp", data={"otp": totp_code(secret)}).status_code == 403  # no CSRF
        good = browser.post(
            "/login/otp", data={"csrf_token": token, "otp": totp_code(secret)}, follow_redirects=False
        )
        assert good.status_code == 303 and good.headers["location"] == "/me"
        assert "密码 + 动态验证码" in browser.get("/me").text

        frozen.tick(timedelta(seconds=30))
        csrf = page_csrf(browser, "/me/totp")
        off = browser.post(
            "/me/totp/disable",
            data={"csrf_token": csrf, "password": acc.password, "otp": totp_code(secret)},
            follow_redirects=False,
        )
        assert off.headers["location"] == "/me?done=totp-disabled"


def test_otp_page_without_a_pending_login_goes_back_to_login(client, city):
    assert client.get("/login/otp", follow_redirects=False).headers["location"] == "/login"
    assert (
        client.post("/login/otp", data={"otp": "123456"}, follow_redirects=False).headers["location"]
        == "/login"
    )


def test_otp_page_after_the_pending_login_expired(client, city):
    acc = city.accounts["citizen"]
    with clock.freeze(T0) as frozen:
        signed_in(client, acc)
        secret = _enrol_on_page(client)
        csrf = page_csrf(client, "/me/totp")
        client.post("/me/totp/confirm", data={"csrf_token": csrf, "otp": totp_code(secret)})
        client.cookies.clear()
        login_page(client, acc)
        token = csrf_from(client.get("/login/otp").text)
        frozen.tick(timedelta(minutes=6))
        r = client.post("/login/otp", data={"csrf_token": token, "otp": totp_code(secret)})
        assert r.status_code == 401
        assert "重新登录" in r.text and 'href="/login"' in r.text


# ---- logout --------------------------------------------------------------------------------------


def test_logout_needs_csrf_and_ends_the_session(client, city):
    signed_in(client, city.accounts["citizen"])
    assert client.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    assert client.get("/me").status_code == 200
    r = client.post("/logout", data={"csrf_token": page_csrf(client)}, follow_redirects=False)
    assert r.headers["location"] == "/?done=logged-out"
    assert "您已安全退出" in client.get("/?done=logged-out").text
    assert client.get("/me", follow_redirects=False).status_code == 303


def test_a_new_login_in_the_same_browser_ends_the_old_session(client, city):
    signed_in(client, city.accounts["citizen"])
    old = client.cookies.get("yiwang_session")
    signed_in(client, city.accounts["clerk"], as_="staff")
    client.cookies.set("yiwang_session", old)
    assert client.get("/me", follow_redirects=False).status_code == 303


# ---- registration --------------------------------------------------------------------------------


def test_register_page_creates_the_account_and_signs_in(client, city, session, db):
    person = unregistered_person(session)
    form = client.get("/register")
    for name in ("name", "citizen_id"):
        assert f'for="{name}"' in form.text
    data = {"csrf_token": csrf_from(form.text), "name": person.name, "citizen_id": person.citizen_id}
    r = client.post("/register", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/register/verify", r.text
    page = client.get("/register/verify")
    assert "验证码已发送到您在人口库登记的手机" in page.text
    for name in ("code", "password", "password_confirm"):
        assert f'for="{name}"' in page.text
    step2 = {
        "csrf_token": csrf_from(page.text),
        "password": "Zhuce#2026ok",
        "password_confirm": "Zhuce#2026ok",
    }
    code = sms_code(db, person.phone)
    r = client.post("/register/verify", data={**step2, "code": "000000" if code != "000000" else "111111"})
    assert r.status_code == 422 and _summary_links(r.text) == ["code"]
    r = client.post("/register/verify", data={**step2, "code": code}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/?done=registered"
    home = client.get(r.headers["location"])
    assert "注册成功" in home.text and person.name in home.text


def test_register_page_gives_one_answer_and_keeps_the_input(app, client, city, session, db):
    person = unregistered_person(session)
    token = csrf_from(client.get("/register").text)
    # A name that does not match goes on to step 2 exactly as a match does; no code is sent.
    r = client.post(
        "/register",
        data={"csrf_token": token, "name": person.name + "某", "citizen_id": person.citizen_id},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/register/verify"
    assert sms_to(db, person.phone) == []
    wrong_digit = person.citizen_id[:17] + ("1" if person.citizen_id[17] == "0" else "0")
    r = client.post("/register", data={"csrf_token": token, "name": person.name, "citizen_id": wrong_digit})
    assert "身份证号码校验位不正确" in r.text and _summary_links(r.text) == ["citizen_id"]
    assert f'value="{wrong_digit}"' in r.text and f'value="{person.name}"' in r.text
    r = client.post("/register", data={"csrf_token": token, "name": "", "citizen_id": ""})
    assert r.status_code == 422 and _summary_links(r.text) == ["name", "citizen_id"]
    r = client.post("/register", data={"name": person.name, "citizen_id": person.citizen_id})
    assert r.status_code == 403  # no CSRF token
    page = client.get("/register/verify")
    r = client.post(
        "/register/verify",
        data={
            "csrf_token": csrf_from(page.text),
            "code": "123456",
            "password": "Zhuce#2026ok",
            "password_confirm": "x",
        },
    )
    assert _summary_links(r.text) == ["password_confirm"] and "Zhuce#2026ok" not in r.text
    assert client.get("/register/verify", follow_redirects=False).status_code == 200
    fresh = _browser(app)
    assert fresh.get("/register/verify", follow_redirects=False).headers["location"] == "/register"


# ---- home per audience ---------------------------------------------------------------------------


def test_home_for_anonymous_visitors(client, city):
    r = client.get("/")
    assert r.status_code == 200
    text = _text(r.text)
    assert "登录" in text and "实名注册" in text
    assert 'href="/login?as=enterprise"' in r.text
    assert "/me" not in re.sub(r'href="/login[^"]*"', "", r.text.split("<main", 1)[1])


def test_home_for_a_citizen_links_only_to_what_exists(app, client, city):
    signed_in(client, city.accounts["citizen"])
    r = client.get("/")
    html = r.text.split("<main", 1)[1]
    for href in ('href="/me"', 'href="/me/totp"', 'href="/me#sessions"'):
        assert href in html
    assert "切换企业身份" not in html
    assert "/admin" not in r.text
    _assert_links_resolve(app, client, r.text)


def test_home_for_a_legal_rep_offers_the_enterprise_switch(client, city):
    signed_in(client, city.accounts["enterprise"])
    r = client.get("/")
    assert "切换企业身份" in r.text
    assert f'value="{city.enterprise_credit_code}"' in r.text
    r = client.post(
        "/me/act-as",
        data={"csrf_token": page_csrf(client, "/"), "credit_code": city.enterprise_credit_code, "next": "/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/?done=acting-enterprise"
    home = client.get(r.headers["location"]).text
    assert "您正在代表" in home and "已切换为代表企业办事" in home
    r = client.post(
        "/me/act-as", data={"csrf_token": page_csrf(client, "/"), "credit_code": ""}, follow_redirects=False
    )
    assert r.headers["location"] == "/?done=acting-self"
    assert "您正在代表" not in client.get("/").text


def test_act_as_refused_for_someone_not_authorised(client, city):
    signed_in(client, city.accounts["citizen"])
    r = client.post(
        "/me/act-as", data={"csrf_token": page_csrf(client, "/"), "credit_code": city.enterprise_credit_code}
    )
    assert r.status_code == 403
    assert "无权进行此操作" in r.text and "返回首页" in r.text
    assert client.post("/me/act-as", data={"credit_code": ""}).status_code == 403  # no CSRF


def test_home_for_an_admin_shows_chinese_roles_and_the_admin_console_if_present(app, client, city):
    signed_in(client, city.accounts["admin"], as_="staff")
    r = client.get("/")
    assert "平台管理员" in r.text
    admin_exists = _route_exists(SimpleNamespace(app=app), "/admin")  # type: ignore[arg-type]
    assert ('href="/admin"' in r.text) is admin_exists
    assert "platform_admin" not in _text(r.text)
    _assert_links_resolve(app, client, r.text)


@pytest.mark.parametrize(
    "key, role", [("leader", "领导"), ("clerk", "综合窗口人员"), ("auditor", "安全审计员")]
)
def test_home_for_other_staff_shows_their_role_and_no_promises(app, client, city, key, role):
    signed_in(client, city.accounts[key], as_="staff")
    r = client.get("/")
    text = _text(r.text)
    assert role in text
    assert city.accounts[key].department in text
    for word in ("即将", "敬请期待", "建设中", "coming"):
        assert word not in text
    _assert_links_resolve(app, client, r.text)


def _assert_links_resolve(app, client, html: str) -> None:
    """Every local link on the page leads somewhere (no 404s offered to anyone)."""
    for href in set(re.findall(r'href="(/[^"#]*)', html)):
        href = unescape(href)
        if href.startswith("/static/") or href.startswith("/prefs/"):
            continue
        r = client.get(href, follow_redirects=False)
        assert r.status_code in (200, 303), f"{href} → {r.status_code}"


# ---- 个人中心 ------------------------------------------------------------------------------------


def test_me_page_shows_the_masked_id_sessions_and_security(client, city):
    acc = city.accounts["citizen"]
    signed_in(client, acc)
    r = client.get("/me")
    assert r.status_code == 200
    assert mask_citizen_id(acc.citizen_id) in r.text
    assert acc.citizen_id not in r.text
    text = _text(r.text)
    for words in ("实名信息", "账号安全", "双因素认证", "登录会话", "本设备", "测试客户端"):
        assert words in text
    assert 'href="/me/password"' in r.text
    assert r.headers["cache-control"] == "no-store"


def test_me_page_revokes_another_session(app, client, city):
    acc = city.accounts["citizen"]
    other = signed_in(_browser(app), acc)
    signed_in(client, acc)
    page = client.get("/me").text
    ids = re.findall(r'action="/me/sessions/([0-9a-f]{16})/revoke"', page)
    assert len(ids) == 1
    assert "退出该会话" in page
    assert client.post(f"/me/sessions/{ids[0]}/revoke", data={"csrf_token": "x"}).status_code == 403
    r = client.post(
        f"/me/sessions/{ids[0]}/revoke", data={"csrf_token": csrf_from(page)}, follow_redirects=False
    )
    assert r.headers["location"] == "/me?done=session-revoked#sessions"
    assert other.get("/me", follow_redirects=False).status_code == 303
    assert "已退出该会话" in client.get("/me?done=session-revoked").text


def test_change_password_page(app, client, city):
    acc = city.accounts["citizen"]
    other = signed_in(_browser(app), acc)
    signed_in(client, acc)
    token = page_csrf(client, "/me/password")
    r = client.post("/me/password", data={"csrf_token": token, "old_password": "", "new_password": ""})
    assert r.status_code == 422 and _summary_links(r.text) == ["old_password", "new_password"]
    r = client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "old_password": "Wrong-pass-1",
            "new_password": "Another#Pass9",
            "new_password_confirm": "Another#Pass9",
        },
    )
    assert r.status_code == 422 and _summary_links(r.text) == ["old_password"]
    r = client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "old_password": acc.password,
            "new_password": "weak",
            "new_password_confirm": "weak",
        },
    )
    assert _summary_links(r.text) == ["new_password"]
    r = client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "old_password": acc.password,
            "new_password": "Another#Pass9",
            "new_password_confirm": "Another#Pass9",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/me?done=password-changed"
    assert client.get("/me").status_code == 200
    assert other.get("/me", follow_redirects=False).status_code == 303


# ---- enterprise agents page ----------------------------------------------------------------------


def test_agents_page_for_the_legal_rep(client, city):
    signed_in(client, city.accounts["enterprise"], as_="enterprise", on_behalf_of=city.enterprise_credit_code)
    r = client.get("/me/enterprise/agents")
    assert r.status_code == 200
    agent = city.accounts["agent"]
    assert agent.display_name in r.text and mask_citizen_id(agent.citizen_id) in r.text
    assert agent.citizen_id not in r.text
    token = csrf_from(r.text)
    bad = client.post(
        "/me/enterprise/agents",
        data={"csrf_token": token, "agent_name": "", "agent_citizen_id": "", "valid_until": "31/12/2027"},
    )
    assert bad.status_code == 422
    assert _summary_links(bad.text) == ["agent_name", "agent_citizen_id", "valid_until"]
    citizen = city.accounts["citizen"]
    with clock.freeze(T0):
        ok = client.post(
            "/me/enterprise/agents",
            data={
                "csrf_token": token,
                "agent_name": citizen.display_name,
                "agent_citizen_id": citizen.citizen_id,
                "valid_until": "2027-06-30",
            },
            follow_redirects=False,
        )
    assert ok.headers["location"] == "/me/enterprise/agents?done=agent-authorised"
    page = client.get(ok.headers["location"]).text
    assert citizen.display_name in page and "2027年6月30日" in page and "授权成功" in page
    ids = re.findall(r'action="/me/enterprise/agents/(\d+)/revoke"', page)
    assert len(ids) == 2
    r = client.post(
        f"/me/enterprise/agents/{ids[0]}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.headers["location"] == "/me/enterprise/agents?done=agent-revoked"
    assert "已撤销" in client.get(r.headers["location"]).text


@pytest.mark.parametrize("key", ["agent", "citizen"])
def test_agents_page_is_refused_for_others(client, city, key):
    kw = {"as_": "enterprise", "on_behalf_of": city.enterprise_credit_code} if key == "agent" else {}
    signed_in(client, city.accounts[key], **kw)
    r = client.get("/me/enterprise/agents")
    assert r.status_code == 403
    assert "法定代表人" in r.text


# ---- the CSRF helper other pages use -------------------------------------------------------------


def test_require_csrf_needs_the_actor_resolved_first():
    request = SimpleNamespace(state=SimpleNamespace(), headers={}, cookies={})
    with pytest.raises(RuntimeError):
        require_csrf(request, "x")  # type: ignore[arg-type]


def test_error_page_renders_a_problem(client, city):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert "<h1>找不到该对象</h1>" in r.text and "返回首页" in r.text


def test_citizen_home_and_me_link_to_their_data_use_log(app, client, city):
    signed_in(client, city.accounts["citizen"], as_="citizen")
    for page in ("/", "/me"):
        r = client.get(page)
        assert 'href="/me/data-use"' in r.text
        _assert_links_resolve(app, client, r.text)
