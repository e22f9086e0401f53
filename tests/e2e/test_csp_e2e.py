"""The pages work under the Content-Security-Policy (issue 7 item 8): no CSP violation on the login,
home, catalog, governance, exchange, data-use and console pages, styles from the static sheets apply,
and htmx still sends its requests (with the CSRF header from the layout)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

# Runs before any page script; a devtools-injected script is not subject to the page's policy.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(
    e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def _violations(page, console: list[str]) -> list[str]:
    found = list(page.evaluate("window.__csp || []"))
    return found + [m for m in console if "Content Security Policy" in m]


def _sign_in(page, account, as_: str) -> None:
    page.goto(f"/login?as={as_}")
    page.locator("#username").fill(account.username)
    page.get_by_label("密码", exact=True).fill(account.password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.url


def _visit(page, console: list[str], path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status < 400, (path, response and response.status)
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    page.wait_for_load_state("networkidle")
    assert _violations(page, console) == [], path


@pytest.mark.parametrize("viewport", ["desktop"])
def test_pages_work_under_the_policy(browser, live_server, viewport):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    context.add_init_script(WATCH)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    try:
        for path in ("/", "/login", "/login?as=staff", "/no-such-page-404"):
            if path.endswith("404"):
                page.goto(path)
                assert _violations(page, console) == [], path
            else:
                _visit(page, console, path)

        # The static stylesheets apply (the staff frame's rules used to be an inline <style>).
        _sign_in(page, live_server.city.accounts["data_officer"], "staff")
        for path in (
            "/",
            "/catalog",
            "/catalog/manage",
            "/catalog/lists/sharing",
            "/governance",
            "/governance/rules",
        ):
            _visit(page, console, path)
        for path in ("/exchange", "/exchange/requests"):
            _visit(page, console, path)
        page.goto("/catalog")
        link_sheets = page.evaluate("[...document.styleSheets].map(s => s.href || 'inline')")
        assert "inline" not in link_sheets and any("yiwang.css" in h for h in link_sheets)

        # htmx is loaded and its requests go out, carrying the CSRF header the layout declares.
        assert page.evaluate("typeof htmx") == "object"
        with page.expect_request(re.compile(r"/healthz$")) as request_info:
            page.evaluate(
                "document.body.insertAdjacentHTML('beforeend', '<div id=\"hx-probe\"></div>');"
                "htmx.ajax('GET', '/healthz', {target: '#hx-probe', swap: 'innerHTML'})"
            )
        assert request_info.value.headers.get("x-csrf-token")
        page.wait_for_function("document.querySelector('#hx-probe').textContent.includes('ok')")
        assert _violations(page, console) == []

        # The administrator's console and the citizen's data-use page.
        context.clear_cookies()
        _sign_in(page, live_server.city.accounts["admin"], "staff")
        for path in ("/admin", "/admin/org", "/admin/accounts"):
            _visit(page, console, path)
        context.clear_cookies()
        _sign_in(page, live_server.city.accounts["citizen"], "citizen")
        for path in ("/me", "/me/data-use"):
            _visit(page, console, path)
    finally:
        context.close()


@pytest.mark.parametrize("viewport", ["desktop"])
def test_an_injected_inline_script_is_blocked(browser, live_server, viewport):
    """The policy really is enforced: a script element added to the page does not run."""
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(WATCH)
    page = context.new_page()
    try:
        page.goto("/login")
        page.evaluate(
            "const s = document.createElement('script'); s.textContent = 'window.__ran = true';"
            "document.body.appendChild(s)"
        )
        assert page.evaluate("window.__ran === true") is False
        assert any(v.startswith("script-src") for v in page.evaluate("window.__csp"))
    finally:
        context.close()
