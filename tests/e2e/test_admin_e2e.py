"""The administrator's console in a real browser, at desktop width: sign in, the organisation tree
(expand and collapse without JavaScript, add a unit), the accounts list (filter, sort) and an account."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("viewport", ["desktop"])
def test_admin_console(page, shoot, live_server, viewport):
    admin = live_server.city.accounts["admin"]
    departments = live_server.city.departments

    # Anonymous: the console sends you to the staff login, and back after it.
    page.goto("/admin")
    page.wait_for_url(re.compile(r"/login\?next=/admin"))
    page.goto("/login?as=staff&next=/admin")
    page.locator("#username").fill(admin.username)
    page.get_by_label("密码", exact=True).fill(admin.password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/admin$"))
    assert page.get_by_role("heading", level=1).inner_text() == "管理概览"
    assert "wide" in (page.locator("body").get_attribute("class") or "")
    _no_sideways_scroll(page)
    shoot("dashboard")

    # The organisation tree: the first two levels are open; deeper ones open on a click.
    page.locator("nav.section-nav").get_by_role("link", name="组织机构", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/org$"))
    assert page.get_by_role("heading", level=1).inner_text() == "组织机构"
    minzheng = page.locator(f"#unit-{departments['minzheng']}")
    assert minzheng.locator(".org-name").first.is_visible()
    # The <li> whose own row (not a descendant's) is 云中区.
    district = page.locator("xpath=//li[div[contains(@class, 'org-node')]/span[.='云中区']]")
    children = district.locator(":scope > details")
    assert children.get_attribute("open") is None
    first_street = district.locator(":scope > details > ul > li .org-name").first
    assert not first_street.is_visible()
    children.locator(":scope > summary").click()
    assert first_street.is_visible()
    _no_sideways_scroll(page)
    shoot("org-tree")

    # Add a unit under 市民政局: a blank name is an error next to the field; the code is kept.
    page.locator("#parent_id").select_option(str(departments["minzheng"]))
    page.locator("#kind").select_option("unit")
    page.locator("#code").fill("e2e-jiuzhu")
    page.get_by_role("button", name="新建机构", exact=True).click()
    summary = page.locator(".error-summary")
    assert summary.is_visible() and "名称" in summary.inner_text()
    assert page.locator("#code").input_value() == "e2e-jiuzhu"
    shoot("org-add-error")
    page.locator("#name").fill("社会救助科")
    page.get_by_role("button", name="新建机构", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/org\?done=unit-created"))
    assert "机构已创建" in page.locator(".notices").inner_text()
    created = page.locator(".org-node.is-highlight")
    assert created.is_visible() and "社会救助科" in created.inner_text()
    shoot("org-created")

    # The accounts list: sortable, filterable, exportable.
    page.locator("nav.section-nav").get_by_role("link", name="账号", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/accounts$"))
    rows = page.locator("table tbody tr")
    assert rows.count() >= 10
    first = rows.first.locator("td").first.inner_text()
    page.locator("thead").get_by_role("link", name=re.compile("^用户名")).click()
    page.wait_for_url(re.compile(r"sort=-username"))
    assert page.locator("table tbody tr").first.locator("td").first.inner_text() != first
    assert page.locator('th[aria-sort="descending"]').count() == 1
    assert (
        page.get_by_role("link", name=re.compile("导出"))
        .get_attribute("href")
        .startswith("/api/v1/admin/accounts.csv?sort=-username")
    )
    _no_sideways_scroll(page)
    shoot("accounts")
    page.locator("#role").select_option("approver")
    page.get_by_role("button", name="筛选", exact=True).click()
    page.wait_for_url(re.compile(r"role=approver"))
    assert page.locator("table tbody tr").count() == 1
    page.locator("table tbody tr").first.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/admin/accounts/\d+$"))
    assert "审批人员" in page.locator("#roles + .table-wrap table").inner_text()
    _no_sideways_scroll(page)
    shoot("account-detail")

    # Roles: Chinese names, descriptions and who holds them (expandable).
    page.locator("nav.section-nav").get_by_role("link", name="角色", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/roles$"))
    row = page.locator("#role-platform_admin")
    assert "平台管理员" in row.inner_text()
    row.locator("summary").click()
    assert row.get_by_role("link", name=admin.display_name).is_visible()
    _no_sideways_scroll(page)
    shoot("roles")

    # Register a client: the secret is shown once, with the warning to copy it.
    page.goto("/admin/clients/new")
    page.locator("#name").fill("民政救助系统（演示）")
    page.locator("#owner_unit_id").select_option(str(departments["minzheng"]))
    page.locator("#redirect_uris").fill("https://jz.example.gov.cn/callback")
    page.get_by_role("button", name="登记", exact=True).click()
    page.wait_for_load_state()
    assert "只显示这一次" in page.locator(".warning-text").inner_text()
    assert len(page.locator("#secret").inner_text().split("：")[-1].strip()) >= 40
    _no_sideways_scroll(page)
    shoot("client-secret-once")
    page.get_by_role("link", name=re.compile("我已妥善保存")).click()
    page.wait_for_url(re.compile(r"/admin/clients/yw-"))
    assert "https://jz.example.gov.cn/callback" in page.locator("main").inner_text()
    shoot("client-detail")
