"""The catalog's pages: a data officer drafts, fills items, submits, mounts and grades; the operator
reviews; everyone on the staff searches and reads the lists. Every POST needs the session's CSRF token;
errors come back on the form with what was typed; refusals get the 403 page and an audit record."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.identity.helpers import csrf_from, signed_in

from .conftest import API, audit_rows, draft, free_resource, publish, url

FORM = {
    "class_item": "101",
    "category_rest": "001",
    "name": "常住人口页面测试信息",
    "abstract": "通过页面起草的常住人口目录，用于测试",
    "form": "table",
    "sharing_type": "conditional",
    "sharing_condition": "政务服务身份核验",
    "sharing_method": "exchange",
    "open_type": "none",
    "update_cycle": "daily",
    "contact_name": "王建华",
    "contact_phone": "024-81234567",
}


def page_url(code: str, suffix: str = "") -> str:
    return f"/catalog/manage/{code.replace('/', '-')}{suffix}"


def token(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return csrf_from(r.text)


@pytest.fixture
def officer_page(client, city):
    return signed_in(client, city.accounts["data_officer"], as_="staff")


@pytest.fixture
def admin_page(client, city):
    return signed_in(client, city.accounts["admin"], as_="staff")


def new_code(location: str) -> str:
    m = re.search(r"/catalog/manage/([0-9]+-[0-9]+)/", location)
    assert m, location
    return m.group(1).replace("-", "/")


def test_anonymous_visitors_go_to_login_and_citizens_are_refused(client, city):
    r = client.get("/catalog", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    signed_in(client, city.accounts["citizen"])
    r = client.get("/catalog")
    assert r.status_code == 403 and "政务工作人员" in r.text
    r = client.get("/catalog/manage")
    assert r.status_code == 403


def test_the_data_officer_workbench_is_linked_from_home(client, city, officer_page):
    r = client.get("/")
    assert 'href="/catalog/manage"' in r.text


def test_draft_items_submit_through_the_pages(client, db, officer_page, officer_h):
    csrf = token(client, "/catalog/manage/new")
    r = client.post("/catalog/manage/new", data={**FORM, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("/items?done=drafted")
    code = new_code(r.headers["location"])
    assert code.startswith("101001/")
    page = client.get(r.headers["location"])
    assert "目录草稿已保存" in page.text and "第 2 步，共 3 步" in page.text

    # Add two items; a core item without a masking rule is refused beside its field.
    add = page_url(code, "/items/add")
    item = {
        "csrf_token": csrf,
        "field_name": "citizen_id",
        "name": "公民身份号码",
        "data_type": "string",
        "length": "18",
        "grade": "important",
        "sensitive_personal": "true",
        "masking": "id",
    }
    assert client.post(add, data=item, follow_redirects=False).status_code == 303
    bad = {
        **item,
        "field_name": "health",
        "name": "健康状况",
        "grade": "core",
        "sensitive_personal": "true",
        "masking": "none",
    }
    r = client.post(add, data=bad)
    assert r.status_code == 422
    assert 'href="#masking"' in r.text and 'value="health"' in r.text  # what was typed is kept
    dup = client.post(add, data=item)
    assert dup.status_code == 422 and "已登记" in dup.text
    assert (
        client.post(
            add,
            data={
                **item,
                "field_name": "name",
                "name": "姓名",
                "sensitive_personal": "false",
                "masking": "name",
            },
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert (
        client.post(
            page_url(code, "/items/name/remove"), data={"csrf_token": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    entry = client.get(url(code), headers=officer_h).json()
    assert [i["field_name"] for i in entry["items"]] == ["citizen_id"]

    check = client.get(page_url(code, "/submit"))
    assert check.status_code == 200 and "核对目录信息" in check.text and "常住人口页面测试信息" in check.text
    r = client.post(page_url(code, "/submit"), data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=submitted")
    assert client.get(url(code), headers=officer_h).json()["status"] == "submitted"
    detail = client.get(r.headers["location"])
    assert "已提交审核" in detail.text and "待审核" in detail.text


def test_form_errors_keep_what_was_typed(client, db, officer_page):
    csrf = token(client, "/catalog/manage/new")
    r = client.post(
        "/catalog/manage/new",
        data={**FORM, "csrf_token": csrf, "sharing_condition": "", "category_rest": "000"},
    )
    assert r.status_code == 422
    text = unescape(r.text)
    assert "有条件共享的资源须写明共享条件" in text or "目代码不能为 000" in text
    assert 'value="常住人口页面测试信息"' in r.text and "024-81234567" in r.text
    assert 'class="error-summary"' in r.text
    r = client.post("/catalog/manage/new", data={**FORM, "csrf_token": csrf, "sharing_condition": ""})
    assert r.status_code == 422 and 'href="#sharing_condition"' in r.text
    r = client.post("/catalog/manage/new", data={**FORM, "csrf_token": csrf, "update_cycle": ""})
    assert r.status_code == 422 and 'href="#update_cycle"' in r.text


def test_posts_without_the_csrf_token_are_refused_and_audited(client, db, officer_page, officer_h):
    before = client.get(f"{API}/entries", headers=officer_h, params={"limit": 1}).json()["total"]
    r = client.post("/catalog/manage/new", data=FORM)
    assert r.status_code == 403 and "页面已过期" in r.text
    r = client.post("/catalog/manage/new", data={**FORM, "csrf_token": "forged"})
    assert r.status_code == 403
    assert client.get(f"{API}/entries", headers=officer_h, params={"limit": 1}).json()["total"] == before
    # The kit checks CSRF for every route; the refusal is recorded under the route's action.
    assert len(audit_rows(db, "catalog.entry_create", "refused")) >= 2


def test_edit_page(client, officer_h, officer_page):
    e = draft(client, officer_h)
    csrf = token(client, page_url(e["code"], "/edit"))
    form = {**FORM, "csrf_token": csrf, "name": "页面修改后的名称", "category_rest": "001"}
    r = client.post(page_url(e["code"], "/edit"), data=form, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(url(e["code"]), headers=officer_h).json()["name"] == "页面修改后的名称"
    r = client.post(page_url(e["code"], "/edit"), data={**form, "class_item": "", "category_rest": ""})
    assert r.status_code == 422 and 'href="#class_item"' in r.text
    assert client.get(url(e["code"]), headers=officer_h).json()["name"] == "页面修改后的名称"


def test_other_officer_cannot_open_or_post_our_drafts(client, db, officer_h, minzheng_officer):
    from types import SimpleNamespace

    from .conftest import PASSWORD

    e = draft(client, officer_h)
    signed_in(client, SimpleNamespace(username="mzofficer", password=PASSWORD), as_="staff")
    assert client.get(page_url(e["code"], "/edit")).status_code == 403
    csrf = token(client, "/catalog/manage")
    r = client.post(page_url(e["code"], "/submit"), data={"csrf_token": csrf})
    assert r.status_code == 403
    assert client.get(url(e["code"]), headers=officer_h).json()["status"] == "draft"
    assert audit_rows(db, "catalog.entry.read", "refused")[-1].object_id == e["code"]
    assert audit_rows(db, "catalog.entry.submit", "refused")[-1].object_id == e["code"]


def test_operator_reviews_through_the_pages(client, city, officer_h, admin_page):
    e = draft(client, officer_h)
    client.post(f"{url(e['code'])}/submit", headers=officer_h)
    queue = client.get("/catalog/review")
    assert queue.status_code == 200 and e["name"] in queue.text
    review = f"/catalog/review/{e['code'].replace('/', '-')}"
    csrf = token(client, review)
    r = client.post(review, data={"csrf_token": csrf, "decision": "return", "opinion": ""})
    assert r.status_code == 422 and 'href="#opinion"' in r.text
    r = client.post(review, data={"csrf_token": csrf, "decision": ""})
    assert r.status_code == 422 and 'href="#decision"' in r.text
    r = client.post(
        review,
        data={"csrf_token": csrf, "decision": "approve", "opinion": "同意发布"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/catalog/review?done=approved"
    assert client.get(url(e["code"]), headers=officer_h).json()["status"] == "published"
    r = client.post(review, data={"csrf_token": csrf, "decision": "approve"})
    assert r.status_code == 409


def test_review_pages_are_refused_to_data_officers(client, officer_h, officer_page):
    e = draft(client, officer_h)
    client.post(f"{url(e['code'])}/submit", headers=officer_h)
    assert client.get("/catalog/review").status_code == 403
    assert client.get(f"/catalog/review/{e['code'].replace('/', '-')}").status_code == 403
    csrf = token(client, "/catalog")
    r = client.post(
        f"/catalog/review/{e['code'].replace('/', '-')}", data={"csrf_token": csrf, "decision": "approve"}
    )
    assert r.status_code == 403


def test_mount_grade_retire_through_the_pages(client, officer_h, admin_h, officer_page):
    free_resource(client, admin_h, "population")
    p = publish(client, officer_h, admin_h)
    mount_page = page_url(p["code"], "/mount")
    form_page = client.get(mount_page)
    assert form_page.status_code == 200 and "人口基础信息" in form_page.text
    csrf = csrf_from(form_page.text)
    r = client.post(mount_page, data={"csrf_token": csrf, "kind": "resource", "resource_key": "marriage"})
    assert r.status_code == 422 and "市民政局" in r.text
    r = client.post(mount_page, data={"csrf_token": csrf, "kind": "resource", "resource_key": ""})
    assert r.status_code == 422
    r = client.post(
        mount_page,
        data={"csrf_token": csrf, "kind": "resource", "resource_key": "population"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    detail = client.get(r.headers["location"])
    assert "目录已挂接资源" in detail.text and "population" in detail.text

    grade_page = page_url(p["code"], "/items/gender/grade")
    assert client.get(grade_page).status_code == 200
    r = client.post(
        grade_page,
        data={"csrf_token": csrf, "grade": "core", "sensitive_personal": "false", "masking": "none"},
    )
    assert r.status_code == 422 and 'href="#masking"' in r.text
    r = client.post(
        grade_page,
        data={
            "csrf_token": csrf,
            "grade": "core",
            "sensitive_personal": "false",
            "masking": "drop",
            "reason": "涉及隐私",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get(url(p["code"]), headers=officer_h).json()["items"][2]["grade"] == "core"
    assert client.get(page_url(p["code"], "/items/nothing/grade")).status_code == 404

    r = client.post(page_url(p["code"], "/unmount"), data={"csrf_token": csrf, "reason": ""})
    assert r.status_code == 422
    retire = page_url(p["code"], "/retire")
    assert client.get(retire).status_code == 200
    r = client.post(retire, data={"csrf_token": csrf, "reason": ""})
    assert r.status_code == 422
    r = client.post(retire, data={"csrf_token": csrf, "reason": "资源停用"}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(url(p["code"]), headers=officer_h).json()["status"] == "retired"


def test_browse_search_lists_and_rates_pages(client, city, officer_h, admin_h, other_officer_h):
    p = publish(
        client,
        other_officer_h,
        admin_h,
        name="婚姻登记页面目录",
        category_code="317001",
        open_type="unconditional",
    )
    signed_in(client, city.accounts["clerk"], as_="staff")
    r = client.get("/catalog", params={"q": "婚姻"})
    assert r.status_code == 200 and "婚姻登记页面目录" in r.text and "按相关度排序" in r.text
    r = client.get("/catalog", params={"status": "nonsense"})
    assert r.status_code == 422 and 'href="#status"' in r.text
    entry = client.get(f"/catalog/entries/{p['code'].replace('/', '-')}")
    assert entry.status_code == 200 and "公民身份号码" in entry.text and "变更记录" in entry.text
    assert "修改基本信息" not in entry.text  # a clerk may not edit
    sharing = client.get("/catalog/lists/sharing", params={"q": "婚姻"})
    assert sharing.status_code == 200 and "婚姻登记页面目录" in sharing.text
    assert "/api/v1/catalog/lists/sharing.csv?q=" in sharing.text
    assert "/api/v1/catalog/lists/sharing.xlsx" in sharing.text
    sorted_page = client.get("/catalog/lists/sharing", params={"sort": "-name"})
    assert 'aria-sort="descending"' in sorted_page.text
    assert "婚姻登记页面目录" in client.get("/catalog/lists/open").text
    assert client.get("/catalog/lists/demand").status_code == 200
    resp = client.get("/catalog/lists/responsibility")
    assert resp.status_code == 200 and "市民政局" in resp.text
    rates = client.get("/catalog/rates")
    assert rates.status_code == 200 and 'href="/catalog?status=published&amp;mounted=true"' in rates.text
    # Every number links to the list behind it: the link shows that many entries.
    m = re.search(r'<a class="stat" href="/catalog\?status=published">(\d+)</a>', rates.text)
    published = int(m.group(1))
    listed = client.get(
        f"{API}/entries", headers=officer_h, params={"status": "published", "limit": 1}
    ).json()
    assert listed["total"] == published
    # The export link works with the browser session (cookie), no bearer token needed.
    r = client.get("/api/v1/catalog/lists/sharing.csv")
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    assert client.get("/catalog/manage").status_code == 403
    assert client.get("/catalog/review").status_code == 403


def test_demands_through_the_pages(client, city, db, officer_h, admin_h):
    p = publish(client, officer_h, admin_h)
    signed_in(client, city.accounts["admin"], as_="staff")
    csrf = token(client, "/catalog/demands/new")
    r = client.post("/catalog/demands/new", data={"csrf_token": csrf, "title": "", "purpose": ""})
    assert r.status_code == 422 and 'href="#title"' in r.text
    r = client.post(
        "/catalog/demands/new",
        data={
            "csrf_token": csrf,
            "title": "流动人口居住信息",
            "purpose": "网格化管理",
            "wanted_items": "姓名、住址，电话",
            "provider_department_id": str(city.departments["gongan"]),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    detail = client.get(r.headers["location"])
    assert "数据需求已登记" in detail.text and "姓名、住址、电话" in detail.text
    answer = r.headers["location"].split("?")[0] + "/answer"
    r = client.post(answer, data={"csrf_token": csrf, "outcome": "satisfied", "answer": "已有目录"})
    assert r.status_code == 422 and 'href="#entry_code"' in r.text
    r = client.post(
        answer,
        data={"csrf_token": csrf, "outcome": "satisfied", "answer": "已有目录", "entry_code": p["code"]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "已满足" in client.get(r.headers["location"]).text
    listing = client.get("/catalog/lists/demand", params={"status": "satisfied"})
    assert "流动人口居住信息" in listing.text
