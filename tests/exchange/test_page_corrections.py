"""Corrections found trying the exchange pages as a new user would: the request form offers the
department's own systems, "待我审批" lists what waits, an objection links to its own call, refusals name
the right object and error messages name their field."""

from __future__ import annotations

import re

from tests.exchange.conftest import grant, register_system, request_body
from tests.exchange.test_pages import _browser, _looked_up
from tests.identity.helpers import csrf_from
from yiwang import exchange
from yiwang.core.security import PLATFORM


def test_the_request_form_offers_the_departments_systems(app, client, db, city, catalogued, marriage_system):
    police = register_system(client, db, city, "市公安局治安管理系统", "gongan")
    with _browser(app, city, "data_officer") as browser:
        form = browser.get("/exchange/requests/new?resource=legal_person")
        assert form.status_code == 200
        assert not re.search(r'<input[^>]*type="text"[^>]*name="client_id"', form.text)
        assert not re.search(r'<input[^>]*name="client_id"[^>]*type="text"', form.text)
        assert f'value="{police.client_id}"' in form.text and "市公安局治安管理系统" in form.text
        # Another department's system is not offered, and choosing it anyway is refused.
        assert marriage_system.client_id not in form.text
        body = {
            "csrf_token": csrf_from(form.text),
            "resource_key": "legal_person",
            "purpose": "治安管理企业核查",
            "legal_basis": "《治安管理处罚法》",
            "fields": ["credit_code", "name"],
            "rate_per_minute": "30",
            "period_from": request_body()["period_from"],
            "period_to": request_body()["period_to"],
        }
        foreign = browser.post(
            "/exchange/requests/new", data={**body, "client_id": marriage_system.client_id}
        )
        assert foreign.status_code == 403 and "不属于本部门" in foreign.text
        r = browser.post(
            "/exchange/requests/new", data={**body, "client_id": police.client_id}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        assert "市公安局治安管理系统" in browser.get(r.headers["location"]).text


def test_error_messages_name_their_field(app, city, catalogued):
    with _browser(app, city, "data_officer") as browser:
        form = browser.get("/exchange/requests/new?resource=legal_person")
        r = browser.post(
            "/exchange/requests/new",
            data={
                "csrf_token": csrf_from(form.text),
                "resource_key": "legal_person",
                "purpose": "查",
                "legal_basis": "",
                "fields": ["credit_code"],
                "rate_per_minute": "0",
                "period_from": request_body()["period_from"],
                "period_to": request_body()["period_to"],
            },
        )
        assert r.status_code == 422
        summary = r.text[r.text.index("error-summary") :]
        assert "用途：至少填写 2 个字" in summary
        assert "法律法规或政策依据：至少填写 2 个字" in summary
        assert "每分钟调用上限：不能小于 1" in summary
        assert ">内容太短<" not in summary


def test_waiting_requests_by_default(app, client, db, city, catalogued, marriage_system):
    decided = grant(db, marriage_system.client_id)
    waiting = client.post(
        "/api/v1/exchange/requests",
        json=request_body(purpose="婚姻登记补证"),
        headers=marriage_system.headers,
    ).json()
    with _browser(app, city, "data_officer") as browser:
        default = browser.get("/exchange/requests?box=incoming")
        assert waiting["number"] in default.text and decided.number not in default.text
        everything = browser.get("/exchange/requests?box=incoming&status=")
        assert waiting["number"] in everything.text and decided.number in everything.text


def test_the_objection_links_to_its_own_call(
    app, client, db, city, catalogued, marriage_system, people, citizen_h
):
    first = _looked_up(client, db, marriage_system, people[0])
    _looked_up(client, db, marriage_system, people[1])
    client.post(
        f"/api/v1/exchange/my-data-use/{first}/objection", json={"text": "请核查这次查询"}, headers=citizen_h
    )
    with _browser(app, city, "data_officer") as browser:
        objections = browser.get("/exchange/objections")
        assert f'href="/exchange/calls?call={first}"' in objections.text
        calls = browser.get(f"/exchange/calls?call={first}")
        assert calls.status_code == 200
        assert calls.text.count("<tr>") == 2, "the header row and the one call"
        assert f"只显示第 {first} 号调用" in calls.text
        assert browser.get("/exchange/calls?call=abc").status_code == 422


def test_a_grants_refusal_names_grants(app, city):
    with _browser(app, city, "clerk") as browser:
        r = browser.get("/exchange/grants")
        assert r.status_code == 403
        assert "查看共享授权" in r.text and "查看共享申请" not in r.text


def test_refused_call_reasons_show_without_their_code(
    app, client, db, city, catalogued, marriage_system, people
):
    grant(db, marriage_system.client_id)
    r = client.get(
        "/api/v1/exchange/data/population",
        params={"subject": people[0], "purpose": "市场推广"},
        headers=marriage_system.headers,
    )
    assert r.status_code == 403
    with db.session() as s:
        assert (
            exchange.call_log(s, PLATFORM, result="refused")
            .items[0]
            .reason.startswith("exchange-purpose-not-granted: ")
        )
    with _browser(app, city, "admin") as browser:
        page = browser.get("/exchange/calls?result=refused")
        assert "未获授权" in page.text and "not-granted" not in page.text
