"""No 500 on any input (issue 7 item 9): out-of-range integers and control characters are refused at the
edge with a problem+json 422 naming the field; 405 answers carry Allow; what the database still
refuses is a 422, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, StatementError

from tests.helpers import problem
from tests.identity.helpers import signed_in
from yiwang.core.edge import INT32_MAX, database_refusal

HUGE = 2**64 + 7  # beyond SQLite's 64-bit integers
JUST_OVER = INT32_MAX + 1  # beyond PostgreSQL INTEGER


def field_errors(r) -> dict[str, str]:
    assert r.headers["content-type"] == "application/problem+json", r.text
    body = r.json()
    assert body["title"] and body["type"] == "/problems/invalid"
    return {e["field"]: e["message"] for e in body["errors"]}


@pytest.mark.parametrize("value", [HUGE, JUST_OVER, 0, -1])
def test_an_id_out_of_range_in_the_path_is_a_422(client, admin_h, value):
    r = client.get(f"/api/v1/admin/accounts/{value}", headers=admin_h)
    assert r.status_code == 422
    assert "account_id" in field_errors(r)


@pytest.mark.parametrize(
    "url, field",
    [
        (f"/api/v1/admin/accounts?department_id={HUGE}", "department_id"),
        (f"/api/v1/admin/accounts?offset={HUGE}", "offset"),
        (f"/api/v1/catalog/entries?department_id={JUST_OVER}", "department_id"),
        (f"/api/v1/exchange/calls?before_id={HUGE}", "before_id"),
        (f"/api/v1/governance/rules/population?version={HUGE}", "version"),
    ],
)
def test_an_integer_out_of_range_in_the_query_is_a_422(client, admin_h, url, field):
    r = client.get(url, headers=admin_h)
    assert r.status_code == 422
    assert field in field_errors(r)


def test_an_integer_out_of_range_in_a_body_is_a_422_and_changes_nothing(client, admin_h, session):
    before = session.execute(text("select count(*) from identity_org_unit")).scalar()
    body = {"code": "X-HUGE", "name": "超大上级", "kind": "department", "parent_id": HUGE}
    r = client.post("/api/v1/admin/org-units", json=body, headers=admin_h)
    assert r.status_code == 422
    assert "parent_id" in field_errors(r)
    staff = {"username": "huge", "display_name": "甲", "department_id": JUST_OVER, "roles": []}
    r = client.post("/api/v1/admin/accounts", json=staff, headers=admin_h)
    assert r.status_code == 422 and "department_id" in field_errors(r)
    assert session.execute(text("select count(*) from identity_org_unit")).scalar() == before


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x08"])
def test_control_characters_in_the_query_are_refused(client, admin_h, char):
    r = client.get("/api/v1/catalog/entries", params={"q": f"户籍{char}"}, headers=admin_h)
    assert r.status_code == 422
    assert field_errors(r) == {"q": "含有不允许的控制字符"}


def test_control_characters_in_the_path_are_refused(client, admin_h):
    r = client.get("/api/v1/catalog/entries/AB%00CD", headers=admin_h)
    assert r.status_code == 422
    assert "code" in field_errors(r)


def test_nul_in_a_json_body_is_refused_with_the_field_path(client, admin_h):
    body = {"code": "X-NUL", "name": "名\u0000字", "kind": "department"}
    r = client.post("/api/v1/admin/org-units", json=body, headers=admin_h)
    assert r.status_code == 422
    assert field_errors(r) == {"name": "含有不允许的控制字符"}
    nested = {"subjects": ["110101199003070011", "x\u0000"]}
    r = client.post("/api/v1/exchange/data/population/query", json=nested, headers=admin_h)
    assert r.status_code == 422 and "subjects.1" in field_errors(r)


def test_tabs_and_newlines_in_body_text_are_ordinary_text(client, admin_h):
    body = {"code": "X-TAB", "name": "第一行\n第二行\t", "kind": "department"}
    r = client.post("/api/v1/admin/org-units", json=body, headers=admin_h)
    assert r.status_code != 422 or "name" not in field_errors(r)


def test_nul_in_a_page_form_is_refused_without_a_500(client, city):
    form = {"username": "admin\x00", "password": "x"}
    r = client.post("/login", data=form, headers={"accept": "text/html"})
    assert r.status_code == 422
    assert "控制字符" in r.text


def test_405_is_problem_json_with_allow(client):
    r = client.delete("/api/v1/identity/login")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    body = problem(r, 405)
    assert body["title"] == "不支持该请求方法" and body["status"] == 405
    assert "Method Not Allowed" not in r.text
    static = client.post("/static/css/yiwang.css", headers={"accept": "application/json"})
    assert static.status_code == 405 and static.headers["allow"] == "GET, HEAD"
    assert static.headers["content-type"] == "application/problem+json"


def test_an_unreadable_body_is_a_chinese_problem(client, admin_h):
    r = client.post(
        "/api/v1/governance/loads",
        content=b"--x\r\nnot multipart",
        headers={**admin_h, "content-type": "multipart/form-data; boundary=x"},
    )
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "There was an error" not in r.text


@pytest.mark.parametrize("value", [HUGE, JUST_OVER])
def test_a_page_with_an_unbounded_id_answers_without_a_500(client, city, value):
    """Pages keep plain `int` path parameters; what the database refuses is still a 4xx."""
    signed_in(client, city.accounts["data_officer"])
    r = client.get(f"/exchange/requests/{value}", headers={"accept": "text/html"})
    assert r.status_code in (404, 422), r.text[:300]


def test_database_refusals_are_recognised_and_nothing_else():
    too_big = OverflowError("Python int too large to convert to SQLite INTEGER")
    overflow = StatementError("x", None, None, too_big)
    assert database_refusal(overflow).status == 422
    nul = DataError("x", None, Exception("PostgreSQL text fields cannot contain NUL (0x00) bytes"))
    assert database_refusal(nul).status == 422
    assert database_refusal(RuntimeError("boom")) is None
    assert database_refusal(StatementError("x", None, None, KeyError("k"))) is None
