"""The exchange's pages: the citizen's data-use page and objection form, the data officer's requests,
decisions, grants and objections, the operator's statistics — through the browser's forms (CSRF)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.exchange.conftest import PURPOSE, data_url, grant, request_body
from tests.identity.helpers import csrf_from, signed_in
from yiwang import exchange
from yiwang.core.security import PLATFORM


def _browser(app, city, key: str) -> TestClient:
    browser = TestClient(app, base_url="http://testserver")
    account = city.accounts[key]
    as_ = "staff" if account.kind == "staff" else "citizen"
    return signed_in(browser, account, as_=as_)


def _looked_up(client, db, marriage_system, subject) -> int:
    grant(db, marriage_system.client_id)
    r = client.get(
        data_url(), params={"subject": subject, "purpose": PURPOSE}, headers=marriage_system.headers
    )
    assert r.status_code == 200, r.text
    return r.json()["call_id"]


# ---------------------------------------------------------------- citizen


def test_data_use_page_in_plain_chinese(app, client, db, city, catalogued, marriage_system, people):
    call_id = _looked_up(client, db, marriage_system, people[0])
    with _browser(app, city, "citizen") as browser:
        r = browser.get("/me/data-use")
        assert r.status_code == 200, r.text
        text = re.sub(r"<[^>]+>", "", r.text)
        assert "谁用了我的数据" in text
        assert "市民政局婚姻登记系统 为“婚姻登记办理”查询了您的人口基础信息（由 市公安局 提供）" in text
        assert f'id="call-{call_id}"' in r.text and f"/me/data-use/{call_id}/objection" in r.text
        assert 'name="viewport"' in r.text


def test_objection_form_posts_with_csrf(app, client, db, city, catalogued, marriage_system, people):
    call_id = _looked_up(client, db, marriage_system, people[0])
    with _browser(app, city, "citizen") as browser:
        form = browser.get(f"/me/data-use/{call_id}/objection")
        assert form.status_code == 200 and "提出异议" in form.text
        token = csrf_from(form.text, f"/me/data-use/{call_id}/objection")
        url = f"/me/data-use/{call_id}/objection"
        short = browser.post(url, data={"csrf_token": token, "text": "短"}, follow_redirects=False)
        assert short.status_code == 422 and "error-summary" in short.text and ">短</textarea>" in short.text
        forged = browser.post(
            url, data={"csrf_token": "forged", "text": "没有办理过婚姻登记"}, follow_redirects=False
        )
        assert forged.status_code == 403
        ok = browser.post(
            url, data={"csrf_token": token, "text": "我没有办理过婚姻登记，请核查"}, follow_redirects=False
        )
        assert ok.status_code == 303 and ok.headers["location"].startswith("/me/data-use?done=objection")
        page = browser.get(ok.headers["location"])
        assert "异议处理中" in page.text and "您的异议已提交" in page.text


def test_data_use_page_needs_a_login_and_is_for_people(app, client, city):
    r = client.get("/me/data-use", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with _browser(app, city, "clerk") as browser:
        assert browser.get("/me/data-use").status_code == 403


# ---------------------------------------------------------------- data officer


def test_data_officer_decides_a_request_on_the_page(app, client, db, city, catalogued, marriage_system):
    r = client.post("/api/v1/exchange/requests", json=request_body(), headers=marriage_system.headers)
    req = r.json()
    with _browser(app, city, "data_officer") as browser:
        home = browser.get("/exchange")
        assert home.status_code == 200 and "待审批的共享申请" in home.text
        listing = browser.get("/exchange/requests?box=incoming")
        assert req["number"] in listing.text
        page = browser.get(f"/exchange/requests/{req['id']}")
        assert page.status_code == 200 and "审批结果" in page.text and "公民身份号码" in page.text
        token = csrf_from(page.text, f"/exchange/requests/{req['id']}/decision")
        url = f"/exchange/requests/{req['id']}/decision"
        bad = browser.post(url, data={"csrf_token": token, "decision": "refuse"}, follow_redirects=False)
        assert bad.status_code == 422 and "error-summary" in bad.text
        narrow = browser.post(
            url,
            data={
                "csrf_token": token,
                "decision": "narrow",
                "opinion": "婚姻登记无需住址",
                "fields": ["citizen_id", "name", "gender"],
                "period_to": req["period_to"],
                "rate_per_minute": "50",
            },
            follow_redirects=False,
        )
        assert narrow.status_code == 303, narrow.text
        done = browser.get(narrow.headers["location"])
        assert "已收窄后同意" in done.text and "查看生成的共享授权" in done.text
    with db.session() as s:
        decided = exchange.get_request(s, PLATFORM, req["id"])
        g, _ = exchange.get_grant(s, PLATFORM, decided.grant_id)
    assert g.fields == ["citizen_id", "name", "gender"] and g.rate_per_minute == 50


def test_filing_a_request_on_the_page(app, city, catalogued):
    with _browser(app, city, "data_officer") as browser:
        first = browser.get("/exchange/requests/new")
        assert first.status_code == 200 and "申请的资源" in first.text
        form = browser.get("/exchange/requests/new?resource=legal_person")
        assert "统一社会信用代码" in form.text
        token = csrf_from(form.text)
        body = {
            "csrf_token": token,
            "resource_key": "legal_person",
            "purpose": "治安管理企业核查",
            "legal_basis": "《治安管理处罚法》",
            "fields": ["credit_code", "name"],
            "rate_per_minute": "30",
            "period_from": request_body()["period_from"],
            "period_to": request_body()["period_to"],
        }
        missing = browser.post("/exchange/requests/new", data={**body, "purpose": ""}, follow_redirects=False)
        assert missing.status_code == 422 and "error-summary" in missing.text
        r = browser.post("/exchange/requests/new", data=body, follow_redirects=False)
        assert r.status_code == 303, r.text
        page = browser.get(r.headers["location"])
        assert "共享申请已提交" in page.text and "治安管理企业核查" in page.text


def test_grant_revocation_and_objection_answer_on_the_pages(
    app, client, db, city, catalogued, marriage_system, people, citizen_h
):
    call_id = _looked_up(client, db, marriage_system, people[0])
    client.post(
        f"/api/v1/exchange/my-data-use/{call_id}/objection",
        json={"text": "请核查这次查询"},
        headers=citizen_h,
    )
    with db.session() as s:
        grant_id = exchange.list_grants(s, PLATFORM, box="all").items[0].id
    with _browser(app, city, "data_officer") as browser:
        objections = browser.get("/exchange/objections")
        assert objections.status_code == 200 and "请核查这次查询" in objections.text
        oid = re.search(r'action="/exchange/objections/(\d+)/answer"', objections.text).group(1)
        token = csrf_from(objections.text, f"/exchange/objections/{oid}/answer")
        r = browser.post(
            f"/exchange/objections/{oid}/answer",
            data={"csrf_token": token, "answer": "已核查，属正常办理。"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        grants = browser.get("/exchange/grants")
        assert grants.status_code == 200 and "婚姻登记办理" in grants.text
        page = browser.get(f"/exchange/grants/{grant_id}")
        token = csrf_from(page.text, f"/exchange/grants/{grant_id}/revoke")
        r = browser.post(
            f"/exchange/grants/{grant_id}/revoke",
            data={"csrf_token": token, "reason": "系统停用"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert "已撤销" in browser.get(r.headers["location"]).text


# ---------------------------------------------------------------- operator


def test_operator_statistics_page_links_every_number(
    app, client, db, city, catalogued, marriage_system, people
):
    _looked_up(client, db, marriage_system, people[1])
    with _browser(app, city, "admin") as browser:
        r = browser.get("/exchange/stats")
        assert r.status_code == 200 and "服务次数" in r.text and "交换总量" in r.text
        assert f"/exchange/calls?catalog_code={catalogued.population.replace('/', '%2F')}" in r.text
        by_day = browser.get("/exchange/stats?by=day")
        assert by_day.status_code == 200
        csv = browser.get("/exchange/stats.csv?by=department&side=consumer")
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        calls = browser.get(f"/exchange/calls?catalog_code={catalogued.population}")
        assert calls.status_code == 200 and "婚姻登记办理" in calls.text and people[1] not in calls.text
        bad = browser.get("/exchange/stats?from=2026-13-01")
        assert bad.status_code == 422


def test_citizen_is_refused_the_staff_pages(app, city):
    with _browser(app, city, "citizen") as browser:
        for url in ("/exchange", "/exchange/requests", "/exchange/stats"):
            assert browser.get(url).status_code == 403, url
