"""The administrator's pages under /admin: the same service calls as the API, through forms that work
without JavaScript, with CSRF on every POST, error summaries, kept values and audited refusals."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from yiwang.core.audit import AuditRecord
from yiwang.identity.models import OidcClient, OrgUnit

from .helpers import account_row, csrf_from, login_api, signed_in

NEW_CID = "11010519491231002X"


@pytest.fixture
def admin_browser(client, city):
    return signed_in(client, city.accounts["admin"], as_="staff")


@pytest.fixture
def dept_browser(client, city):
    return signed_in(client, city.accounts["dept_admin"], as_="staff")


def refused(db, action: str, username: str) -> list[AuditRecord]:
    with db.session() as s:
        actor = str(account_row(s, username).id)
        rows = list(
            s.scalars(
                select(AuditRecord).where(
                    AuditRecord.action == action,
                    AuditRecord.result == "refused",
                    AuditRecord.actor_id == actor,
                )
            )
        )
        s.expunge_all()
        return rows


def account_id(db, username: str) -> int:
    with db.session() as s:
        return account_row(s, username).id


# ================================================================= access


def test_anonymous_is_sent_to_login(client, city):
    r = client.get("/admin/accounts", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/admin/accounts")


@pytest.mark.parametrize("who", ["approver", "citizen"])
def test_non_admins_get_the_403_page_and_it_is_audited(client, city, db, who):
    signed_in(client, city.accounts[who], as_="staff" if who == "approver" else "citizen")
    r = client.get("/admin")
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "无权" in r.text
    assert refused(db, "identity.admin.overview", city.accounts[who].username)


def test_dashboard_counts_link_to_their_lists(admin_browser, city):
    r = admin_browser.get("/admin")
    assert r.status_code == 200, r.text
    assert re.search(r'<body class="[^"]*\bwide\b', r.text)
    assert "管理概览" in r.text
    for href in (
        "/admin/org",
        "/admin/accounts?active=true",
        "/admin/accounts?locked=true",
        "/admin/clients",
    ):
        assert f'href="{href}"' in r.text
    # The admin section navigation.
    assert 'aria-current="page"' in r.text and 'href="/admin/roles"' in r.text


# ================================================================= organisation


def test_org_tree_page_expands_with_details(admin_browser, city):
    r = admin_browser.get("/admin/org")
    assert r.status_code == 200, r.text
    assert "<details" in r.text and "<summary>" in r.text
    assert "辽宁省" in r.text and "云川市民政局" in r.text
    assert f'id="unit-{city.departments["minzheng"]}"' in r.text
    # The add-unit form, with the parent chooser and CSRF.
    assert 'action="/admin/org"' in r.text and csrf_from(r.text)


def test_add_unit_form(dept_browser, city, db):
    page = dept_browser.get(f"/admin/org?parent_id={city.departments['minzheng']}")
    assert page.status_code == 200
    token = csrf_from(page.text)
    form = {
        "csrf_token": token,
        "parent_id": str(city.departments["minzheng"]),
        "kind": "unit",
        "code": "mz-page",
        "name": "",
        "sort": "3",
    }
    r = dept_browser.post("/admin/org", data=form)
    assert r.status_code == 422
    assert 'class="error-summary"' in r.text and 'href="#name"' in r.text
    assert 'value="mz-page"' in r.text  # what was typed is kept
    r = dept_browser.post("/admin/org", data={**form, "name": "页面新建科"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/admin/org?done=unit-created")
    page = dept_browser.get(r.headers["location"])
    assert "机构已创建" in page.text and "页面新建科" in page.text
    # Wrong kind under a department: the error names the parent field.
    r = dept_browser.post("/admin/org", data={**form, "code": "mz-p2", "name": "某局", "kind": "department"})
    assert r.status_code == 422 and 'href="#parent_id"' in r.text


def test_post_without_csrf_is_refused_and_audited(dept_browser, city, db):
    r = dept_browser.post(
        "/admin/org",
        data={"parent_id": str(city.departments["minzheng"]), "kind": "unit", "code": "x", "name": "某科"},
    )
    assert r.status_code == 403
    assert refused(db, "identity.org.create", "deptadmin")
    with db.session() as s:
        assert s.scalars(select(OrgUnit).where(OrgUnit.code == "x")).first() is None


def test_edit_and_deactivate_unit(dept_browser, city, db):
    token = csrf_from(dept_browser.get("/admin/org").text)
    dept_browser.post(
        "/admin/org",
        data={
            "csrf_token": token,
            "parent_id": str(city.departments["minzheng"]),
            "kind": "unit",
            "code": "mz-e",
            "name": "待改科",
            "sort": "0",
        },
    )
    with db.session() as s:
        unit_id = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "mz-e")).one()
    page = dept_browser.get(f"/admin/org/{unit_id}")
    assert page.status_code == 200 and "待改科" in page.text
    r = dept_browser.post(
        f"/admin/org/{unit_id}", data={"csrf_token": token, "name": " ", "short_name": "", "sort": "1"}
    )
    assert r.status_code == 422 and 'href="#name"' in r.text
    r = dept_browser.post(
        f"/admin/org/{unit_id}", data={"csrf_token": token, "name": "已改科", "short_name": "", "sort": "1"}
    )
    assert r.status_code == 200 and "机构信息已保存" in r.text and "已改科" in r.text
    r = dept_browser.post(f"/admin/org/{unit_id}/status", data={"csrf_token": token, "active": "false"})
    assert r.status_code == 200 and "机构已停用" in r.text
    # A department admin may not deactivate the unit they administer from.
    r = dept_browser.post(
        f"/admin/org/{city.departments['minzheng']}/status", data={"csrf_token": token, "active": "false"}
    )
    assert r.status_code == 403
    assert refused(db, "identity.org.update", "deptadmin")


def test_department_admin_cannot_open_another_departments_unit(dept_browser, city, db):
    r = dept_browser.get(f"/admin/org/{city.departments['gongan']}")
    assert r.status_code == 403
    assert refused(db, "identity.org.view", "deptadmin")


# ================================================================= accounts


def test_accounts_list_filters_sorts_pages_and_exports(admin_browser, city):
    r = admin_browser.get("/admin/accounts")
    assert r.status_code == 200, r.text
    assert "approver" in r.text and "dataofficer" in r.text
    assert 'role="search"' in r.text and 'aria-sort="ascending"' in r.text
    assert 'href="/api/v1/admin/accounts.csv"' in r.text
    r = admin_browser.get("/admin/accounts", params={"role": "approver", "sort": "-username", "size": "20"})
    assert "approver" in r.text and "dataofficer" not in r.text
    assert 'aria-sort="descending"' in r.text
    assert "accounts.csv?role=approver&amp;sort=-username" in r.text
    r = admin_browser.get("/admin/accounts", params={"size": "20", "page": "1"})
    assert "共 " in r.text
    # Paging: a tiny page size shows the pager; page 2 exists.
    r = admin_browser.get("/admin/accounts", params={"size": "20", "page": "2"})
    assert r.status_code == 200
    r = admin_browser.get("/admin/accounts", params={"sort": "password_hash"})
    assert r.status_code == 422 and 'class="error-summary"' in r.text
    # The CSV export link works with the browser session.
    r = admin_browser.get("/api/v1/admin/accounts.csv", params={"role": "approver"})
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")


def test_accounts_pager(admin_browser, city, db):
    from yiwang.core import clock
    from yiwang.identity.models import Account

    with db.session() as s:
        for i in range(25):
            s.add(
                Account(
                    username=f"pg{i:02d}",
                    kind="staff",
                    display_name=f"分页{i}",
                    citizen_id=NEW_CID,
                    password_hash="x",
                    department_id=city.departments["minzheng"],
                    created_at=clock.now(),
                )
            )
    r = admin_browser.get("/admin/accounts", params={"size": "20"})
    assert 'aria-label="分页"' in r.text and 'rel="next"' in r.text
    r = admin_browser.get("/admin/accounts", params={"size": "20", "page": "2"})
    assert 'rel="prev"' in r.text


def test_citizen_search_page(admin_browser, city):
    citizen = city.accounts["citizen"]
    r = admin_browser.get("/admin/accounts", params={"kind": "citizen"})
    assert r.status_code == 200 and "请输入" in r.text
    r = admin_browser.get("/admin/accounts", params={"kind": "citizen", "q": citizen.display_name})
    assert r.status_code == 200
    masked = citizen.citizen_id[:6] + "********" + citizen.citizen_id[-4:]
    assert masked in r.text and citizen.citizen_id not in r.text


def test_department_admin_pages_stay_in_their_department(dept_browser, city, db):
    r = dept_browser.get("/admin/accounts")
    assert "deptadmin" in r.text and "dataofficer" not in r.text
    r = dept_browser.get(f"/admin/accounts/{account_id(db, 'dataofficer')}")
    assert r.status_code == 403
    assert refused(db, "identity.account.view", "deptadmin")
    r = dept_browser.get("/admin/accounts", params={"department_id": city.departments["gongan"]})
    assert r.status_code == 403
    assert refused(db, "identity.account.list", "deptadmin")


def test_create_staff_account_form(dept_browser, city, db):
    page = dept_browser.get("/admin/accounts/new")
    assert page.status_code == 200 and 'name="citizen_id"' in page.text
    token = csrf_from(page.text)
    form = {
        "csrf_token": token,
        "username": "wang.mz",
        "display_name": "王民政",
        "citizen_id": "110105194912310021",  # wrong check digit
        "department_id": str(city.departments["minzheng"]),
        "title": "科员",
        "roles": ["approver"],
    }
    r = dept_browser.post("/admin/accounts/new", data=form)
    assert r.status_code == 422
    assert 'href="#citizen_id"' in r.text and 'value="wang.mz"' in r.text and 'value="王民政"' in r.text
    assert re.search(r'value="approver"\s+checked', r.text)
    r = dept_browser.post("/admin/accounts/new", data={**form, "username": "approver", "citizen_id": NEW_CID})
    assert r.status_code == 409 and 'href="#username"' in r.text
    r = dept_browser.post("/admin/accounts/new", data={**form, "citizen_id": NEW_CID, "password": "weak"})
    assert r.status_code == 422 and 'href="#password"' in r.text
    r = dept_browser.post("/admin/accounts/new", data={**form, "citizen_id": NEW_CID})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"].startswith("no-store")
    temp = re.search(r'<p class="secret-box" id="secret">.*?</span>([^<]+)</p>', r.text).group(1).strip()
    assert "只显示这一次" in r.text and len(temp) == 12
    login = dept_browser.post(
        "/api/v1/identity/login",
        json={"username": "wang.mz", "password": temp, "new_password": "Wang-Own-2026"},
    )
    assert login.status_code == 200, login.text


def test_account_detail_actions(admin_browser, city, db):
    approver = account_id(db, "approver")
    page = admin_browser.get(f"/admin/accounts/{approver}")
    assert page.status_code == 200, page.text
    assert "审批人员" in page.text and "授予角色" in page.text and "重置密码" in page.text
    token = csrf_from(page.text)
    # Grant: a missing choice is an inline error; then a good grant, then revoke it.
    r = admin_browser.post(
        f"/admin/accounts/{approver}/roles", data={"csrf_token": token, "role_code": "", "org_unit_id": ""}
    )
    assert r.status_code == 422 and 'href="#role_code"' in r.text
    r = admin_browser.post(
        f"/admin/accounts/{approver}/roles",
        data={"csrf_token": token, "role_code": "leader", "org_unit_id": str(city.departments["shichang"])},
    )
    assert r.status_code == 200 and "角色已授予" in r.text and "领导" in r.text
    grant_id = re.search(rf"/admin/accounts/{approver}/roles/(\d+)/revoke", r.text.split("领导")[1]).group(1)
    r = admin_browser.post(f"/admin/accounts/{approver}/roles/{grant_id}/revoke", data={"csrf_token": token})
    assert r.status_code == 200 and "角色已撤销" in r.text
    # Reset password: shown once, not cached.
    r = admin_browser.post(f"/admin/accounts/{approver}/reset-password", data={"csrf_token": token})
    assert r.status_code == 200 and r.headers["cache-control"].startswith("no-store")
    assert "临时密码" in r.text and 'class="secret-box"' in r.text
    # Deactivate, then activate.
    r = admin_browser.post(
        f"/admin/accounts/{approver}/deactivate", data={"csrf_token": token, "reason": "调岗"}
    )
    assert r.status_code == 200 and "账号已停用" in r.text and "启用账号" in r.text
    r = admin_browser.post(f"/admin/accounts/{approver}/activate", data={"csrf_token": token})
    assert r.status_code == 200 and "账号已启用" in r.text


def test_unlock_from_the_page(admin_browser, client, city, db):
    from datetime import timedelta

    from yiwang.core import clock

    with db.session() as s:
        account_row(s, "approver").locked_until = clock.now() + timedelta(minutes=10)
    approver = account_id(db, "approver")
    page = admin_browser.get(f"/admin/accounts/{approver}")
    assert "已锁定" in page.text and "解除锁定" in page.text
    r = admin_browser.post(f"/admin/accounts/{approver}/unlock", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "账号已解除锁定" in r.text
    login_api(client, city.accounts["approver"])


# ================================================================= roles


def test_roles_page(admin_browser, city):
    r = admin_browser.get("/admin/roles")
    assert r.status_code == 200
    for name in ("综合窗口人员", "审批人员", "部门管理员", "平台管理员", "安全审计员"):
        assert name in r.text
    assert "管理本部门及下属单位的组织" in r.text  # descriptions
    assert 'href="/admin/accounts?role=approver"' in r.text


# ================================================================= clients


def test_clients_pages(admin_browser, city, db):
    r = admin_browser.get("/admin/clients")
    assert r.status_code == 200 and city.client.client_id in r.text
    page = admin_browser.get("/admin/clients/new")
    token = csrf_from(page.text)
    form = {
        "csrf_token": token,
        "name": "市民政局救助系统",
        "owner_unit_id": str(city.departments["minzheng"]),
        "redirect_uris": "https://jz.example.gov.cn/cb\nhttp://evil.example.com/cb",
        "grant_types": ["authorization_code"],
        "allowed_scopes": "openid profile",
        "is_confidential": "true",
    }
    r = admin_browser.post("/admin/clients/new", data=form)
    assert r.status_code == 422 and 'href="#redirect_uris"' in r.text and "第 2 行" in r.text
    assert "https://jz.example.gov.cn/cb" in r.text  # the text area keeps what was typed
    r = admin_browser.post(
        "/admin/clients/new", data={**form, "redirect_uris": "https://jz.example.gov.cn/cb"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"].startswith("no-store")
    assert "客户端密钥只显示这一次" in r.text and 'class="secret-box"' in r.text
    with db.session() as s:
        cid = s.scalars(select(OidcClient.client_id).where(OidcClient.name == "市民政局救助系统")).one()
    detail = admin_browser.get(f"/admin/clients/{cid}")
    assert detail.status_code == 200 and "https://jz.example.gov.cn/cb" in detail.text
    r = admin_browser.post(
        f"/admin/clients/{cid}",
        data={
            "csrf_token": token,
            "name": "市民政局救助系统",
            "redirect_uris": "https://jz.example.gov.cn/cb2",
            "post_logout_redirect_uris": "",
            "grant_types": ["authorization_code"],
            "allowed_scopes": "openid",
        },
    )
    assert (
        r.status_code == 200 and "接入系统信息已保存" in r.text and "https://jz.example.gov.cn/cb2" in r.text
    )
    r = admin_browser.post(f"/admin/clients/{cid}/rotate-secret", data={"csrf_token": token})
    assert r.status_code == 200 and "旧密钥已立即失效" in r.text
    # The operator marks the first-party system pre-consented, and back; both audited.
    assert "登录时请用户确认" in admin_browser.get(f"/admin/clients/{cid}").text
    r = admin_browser.post(
        f"/admin/clients/{cid}/pre-consent", data={"csrf_token": token, "pre_consented": "1"}
    )
    assert r.status_code == 200 and "已设为免确认" in r.text and "免确认（第一方系统）" in r.text
    r = admin_browser.post(
        f"/admin/clients/{cid}/pre-consent", data={"csrf_token": token, "pre_consented": "0"}
    )
    assert r.status_code == 200 and "已恢复为登录时请用户确认" in r.text
    with db.session() as s:
        marks = s.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "identity.client.pre_consent", AuditRecord.object_id == cid
            )
        ).all()
        assert ['"pre_consented":true' in m.detail for m in marks] == [True, False]
    r = admin_browser.post(f"/admin/clients/{cid}/pre-consent", data={"pre_consented": "1"})
    assert r.status_code == 403  # no CSRF token
    r = admin_browser.post(f"/admin/clients/{cid}/deactivate", data={"csrf_token": token})
    assert r.status_code == 200 and "接入系统已停用" in r.text


def test_department_admin_cannot_touch_the_platforms_client(dept_browser, city, db):
    r = dept_browser.get(f"/admin/clients/{city.client.client_id}")
    assert r.status_code == 403
    assert refused(db, "identity.client.view", "deptadmin")
    token = csrf_from(dept_browser.get("/admin/org").text)
    r = dept_browser.post(f"/admin/clients/{city.client.client_id}/rotate-secret", data={"csrf_token": token})
    assert r.status_code == 403
    assert refused(db, "identity.client.rotate_secret", "deptadmin")
    r = dept_browser.post(
        f"/admin/clients/{city.client.client_id}/pre-consent",
        data={"csrf_token": token, "pre_consented": "1"},
    )
    assert r.status_code == 403
    assert refused(db, "identity.client.pre_consent", "deptadmin")


def test_csrf_token_of_another_session_is_refused(client, city, db):
    """Two browsers: one admin's CSRF token is no good in another admin's session."""
    signed_in(client, city.accounts["admin"], as_="staff")
    token = csrf_from(client.get("/admin/org").text)
    with TestClient(client.app, base_url="http://testserver") as other:
        signed_in(other, city.accounts["dept_admin"], as_="staff")
        r = other.post(
            "/admin/org",
            data={
                "csrf_token": token,
                "parent_id": str(city.departments["minzheng"]),
                "kind": "unit",
                "code": "mz-x",
                "name": "某科",
            },
        )
        assert r.status_code == 403 and "页面已过期" in r.text
    assert refused(db, "identity.org.create", "deptadmin")
