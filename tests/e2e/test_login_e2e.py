"""Login journeys in a real browser, at phone and desktop widths, in normal and large-text mode."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"


def _toggle_large_text(page, on: bool) -> None:
    page.get_by_role("button", name="关闭大字模式" if not on else "大字模式", exact=True).click()
    page.wait_for_load_state()
    classes = page.evaluate("document.documentElement.className")
    assert ("large-text" in classes) is on
    if on:
        size = page.evaluate("getComputedStyle(document.documentElement).fontSize")
        assert size == "20px", size


def _sign_in(page, username: str, password: str) -> None:
    page.get_by_label("密码", exact=True).fill(password)
    page.locator("#username").fill(username)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def test_citizen_signs_in(page, shoot, live_server, viewport):
    acc = live_server.city.accounts["citizen"]
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text() == "一个账号，办理本市政务服务"
    _no_sideways_scroll(page)
    shoot("home-anonymous")

    page.locator("main").get_by_role("link", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/login"))
    shoot("login")

    # Submitting nothing: the error summary comes first and links to the fields.
    page.get_by_role("button", name="登录", exact=True).click()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert page.title().startswith("错误：")
    summary.get_by_role("link", name=re.compile("请输入密码")).click()
    assert page.evaluate("document.activeElement.id") == "password"
    shoot("login-errors")

    # A wrong password keeps the username and says how many tries are left.
    _sign_in(page, acc.username, "Wrong-pass-1")
    assert "再错" in page.locator(".error-summary").inner_text()
    assert page.locator("#username").input_value() == acc.username
    assert page.locator("#password").input_value() == ""

    _sign_in(page, acc.username, acc.password)
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == f"您好，{acc.display_name}"
    assert page.locator(".user-name").inner_text() == acc.display_name
    _no_sideways_scroll(page)
    shoot("home-citizen")

    page.get_by_role("link", name="个人中心", exact=True).first.click()
    page.wait_for_url(re.compile(r"/me$"))
    assert page.get_by_text("本设备").is_visible()
    assert acc.citizen_id not in page.content()
    _no_sideways_scroll(page)
    shoot("me")

    _toggle_large_text(page, on=True)
    _no_sideways_scroll(page)
    shoot("me-large-text")
    page.goto("/")
    shoot("home-citizen-large-text")
    _toggle_large_text(page, on=False)

    page.get_by_role("button", name="退出", exact=True).click()
    page.wait_for_url(re.compile(r"/\?done=logged-out"))
    assert "您已安全退出" in page.locator(".notices").inner_text()
    shoot("logged-out")


def test_admin_signs_in_as_staff(page, shoot, live_server, viewport):
    acc = live_server.city.accounts["admin"]
    page.goto("/login?next=/me")
    page.get_by_role("link", name=re.compile("^工作人员")).click()
    page.wait_for_url(re.compile(r"as=staff"))
    assert page.get_by_label("工作账号").is_visible()
    assert page.locator('main input[name="next"]').input_value() == "/me"
    shoot("login-staff")
    _toggle_large_text(page, on=True)
    _no_sideways_scroll(page)
    shoot("login-staff-large-text")

    _sign_in(page, acc.username, acc.password)
    page.wait_for_url(re.compile(r"/me$"))
    assert "平台管理员" in page.locator("main").inner_text()
    shoot("me-staff-large-text")
    _toggle_large_text(page, on=False)

    page.goto("/")
    main = page.locator("main").inner_text()
    assert "平台管理员" in main and acc.department in main
    _no_sideways_scroll(page)
    shoot("home-admin")
    admin_link = page.locator('main a[href="/admin"]')
    if admin_link.count():
        admin_link.first.click()
        page.wait_for_load_state()
        assert page.url.endswith("/admin")
        shoot("admin-console")


def test_enterprise_and_second_factor_pages(page, shoot, live_server, viewport):
    """The legal representative signs in for the enterprise, sees the agents page, and starts (without
    finishing) the second-factor set-up to show its QR code."""
    acc = live_server.city.accounts["enterprise"]
    page.goto("/login?as=enterprise")
    page.get_by_label("企业统一社会信用代码").fill(live_server.city.enterprise_credit_code)
    _sign_in(page, acc.username, acc.password)
    assert "您正在代表" in page.locator(".acting-banner").inner_text()
    _no_sideways_scroll(page)
    shoot("home-enterprise")

    page.get_by_role("link", name="企业授权办事人").first.click()
    page.wait_for_url(re.compile(r"/me/enterprise/agents"))
    agent = live_server.city.accounts["agent"]
    assert agent.display_name in page.locator("table").inner_text()
    page.get_by_role("button", name="授权", exact=True).click()
    assert page.locator(".error-summary").is_visible()
    _no_sideways_scroll(page)
    shoot("agents-errors")

    page.goto("/me/totp")
    shoot("totp-start")
    start = page.get_by_role("button", name="开始设置")
    (start if start.count() else page.get_by_role("button", name="重新生成二维码")).click()
    page.wait_for_url(re.compile(r"/me/totp"))
    qr = page.locator(".qr svg")
    assert qr.is_visible()
    box = qr.bounding_box()
    assert box and box["width"] >= 150
    _no_sideways_scroll(page)
    shoot("totp-qr")


def test_sso_consent_in_the_browser(page, shoot, live_server, viewport):
    """A relying party sends the citizen here: the login page names it, the consent screen lists what it
    would receive (the full citizen ID first), and 个人中心 then lists it with a revoke button."""
    admin = live_server.city.accounts["admin"]
    api = page.request
    token = api.post(
        "/api/v1/identity/login", data={"username": admin.username, "password": admin.password}
    ).json()["access_token"]
    callback = "https://rp.example.gov.cn/sso/cb"
    created = api.post(
        "/api/v1/admin/clients",
        headers={"Authorization": f"Bearer {token}"},
        data={
            "name": "市公积金中心网上业务系统",
            "owner_unit_id": live_server.city.departments["dashuju"],
            "redirect_uris": [callback],
            "grant_types": ["authorization_code"],
            "allowed_scopes": "openid profile idcard",
        },
    )
    assert created.status == 201, created.text()
    client_id = created.json()["client"]["client_id"]
    page.route(
        "https://rp.example.gov.cn/**", lambda route: route.fulfill(body="ok", content_type="text/plain")
    )

    page.goto(
        f"/oidc/authorize?response_type=code&client_id={client_id}&scope=openid%20profile%20idcard"
        f"&state=e2e&redirect_uri={callback}"
    )
    page.wait_for_url(re.compile(r"/login\?"))
    assert "“市公积金中心网上业务系统”请求您使用一网统一身份认证登录" in page.locator("main").inner_text()
    _no_sideways_scroll(page)
    shoot("login-for-a-system")
    acc = live_server.city.accounts["citizen"]
    _sign_in(page, acc.username, acc.password)
    page.wait_for_url(re.compile(r"/oidc/authorize\?"))
    main = page.locator("main").inner_text()
    assert "“市公积金中心网上业务系统”请求使用您的信息" in main
    assert main.index("完整的公民身份号码") < main.index("基本资料") and "敏感信息" in main
    _no_sideways_scroll(page)
    shoot("consent")
    page.get_by_label(re.compile("记住我的选择")).check()
    page.get_by_role("button", name="同意并继续").click()
    page.wait_for_url(re.compile(r"^https://rp\.example\.gov\.cn/sso/cb\?code="))
    assert "state=e2e" in page.url

    page.goto("/me#authorised")
    authorised = page.locator("#authorised + p + ul")
    assert "市公积金中心网上业务系统" in authorised.inner_text()
    _no_sideways_scroll(page)
    shoot("me-authorised-systems")
    authorised.get_by_role("button", name=re.compile("撤销授权")).first.click()
    page.wait_for_url(re.compile(r"done=consent-revoked"))
    assert "已撤销对该系统的授权" in page.locator(".notices").inner_text()
