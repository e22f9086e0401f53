"""The data officer's pages under /governance: loads and the upload form, the quality report with inline
correction, the rule editor, conflicts and grading — good input, bad input (error summary, nothing
lost), CSRF, and the people who get the 403 page."""

from __future__ import annotations

import re

import pytest

from ..identity.helpers import csrf_from, signed_in
from .conftest import API, POP_COLUMNS, audit_count, bad_check_digit, count_people, csv_bytes, people


@pytest.fixture
def browser(client, city):
    return signed_in(client, city.accounts["data_officer"], as_="staff")


def token(client, path: str = "/governance") -> str:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return csrf_from(r.text)


def post_file(client, data: bytes, filename: str = "people.csv", **form: str):
    fields = {"csrf_token": token(client), "resource_key": "population", "mode": "insert", "format": "auto",
              "encoding": "auto", "source_department": "", **form}  # fmt: skip
    return client.post(
        "/governance/loads", data=fields, files={"file": (filename, data)}, follow_redirects=False
    )


def test_anonymous_is_sent_to_login_and_others_get_403(client, city, db):
    r = client.get("/governance", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    signed_in(client, city.accounts["approver"], as_="staff")
    before = audit_count(db, "governance.page.loads", "refused")
    r = client.get("/governance")
    assert r.status_code == 403 and "无权" in r.text
    assert audit_count(db, "governance.page.loads", "refused") == before + 1


def test_loads_page_has_the_form_and_the_list(browser):
    r = browser.get("/governance")
    assert r.status_code == 200
    assert 'enctype="multipart/form-data"' in r.text
    assert "人口基础信息（市公安局）" in r.text
    assert "仅比对" in r.text  # resources of other departments can only be cross-checked
    assert 'aria-current="page"' in r.text


def test_upload_then_report_then_correct_then_reload(browser, db):
    rows = people(6, seed=81)
    good_cid = rows[1]["citizen_id"]
    rows[1]["citizen_id"] = bad_check_digit(good_cid)
    r = post_file(browser, csv_bytes(rows))
    assert r.status_code == 303, r.text
    report_url = r.headers["location"]
    load_id = int(re.search(r"/governance/loads/(\d+)", report_url).group(1))
    page = browser.get(report_url)
    assert page.status_code == 200
    assert "文件已装载" in page.text
    assert "身份证号码校验位不正确" in page.text
    assert "质量得分" in page.text
    row_id = int(re.search(r'action="/governance/rejected/(\d+)/correct"', page.text).group(1))

    # An invalid correction shows the error summary and keeps what was typed.
    form = {"csrf_token": csrf_from(page.text), "load_id": str(load_id), "v.citizen_id": "12345"}
    bad = browser.post(f"/governance/rejected/{row_id}/correct", data=form, follow_redirects=False)
    assert bad.status_code == 303  # saved as corrected, still with a reason
    page = browser.get(f"/governance/loads/{load_id}")
    assert "身份证号码应为18位" in page.text
    form["v.citizen_id"] = good_cid
    r = browser.post(f"/governance/rejected/{row_id}/correct", data=form, follow_redirects=False)
    assert r.status_code == 303 and f"#row-{row_id}" in r.headers["location"]
    page = browser.get(f"/governance/loads/{load_id}")
    assert "重新装载已更正的行" in page.text
    r = browser.post(
        f"/governance/loads/{load_id}/reload",
        data={"csrf_token": csrf_from(page.text, f"/governance/loads/{load_id}/reload")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "done=reloaded" in r.headers["location"]
    assert count_people(db, [good_cid]) == 1


def test_refused_file_shows_the_reason_on_the_form(browser, db):
    rows = people(3, seed=82)
    r = post_file(browser, csv_bytes(rows, encoding="utf-8")[:-10] + b"\xff\xfe\xfd\n")
    assert r.status_code == 422
    assert "error-summary" in r.text and "文件编码无法识别" in r.text
    assert "查看第" in r.text  # a link to the failed load's record
    assert count_people(db, [x["citizen_id"] for x in rows]) == 0
    r = post_file(browser, b"", filename="")
    assert r.status_code == 422 and "请选择要上传的文件" in r.text
    missing = browser.post(
        "/governance/loads",
        data={"csrf_token": token(browser), "resource_key": ""},
        files={"file": ("a.csv", b"a\n1\n")},
        follow_redirects=False,
    )
    assert missing.status_code == 422 and "请选择要装载的基础库资源" in missing.text


def test_post_without_csrf_is_refused(browser, db):
    r = browser.post(
        "/governance/loads",
        data={"csrf_token": "forged", "resource_key": "population"},
        files={"file": ("a.csv", csv_bytes(people(2, seed=83)))},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "页面已过期" in r.text
    assert count_people(db, [x["citizen_id"] for x in people(2, seed=83)]) == 0


def test_dismiss_from_the_report(browser):
    rows = people(2, seed=84)
    rows[0]["gender"] = "?"
    location = post_file(browser, csv_bytes(rows)).headers["location"]
    page = browser.get(location)
    row_id = re.search(r'action="/governance/rejected/(\d+)/dismiss"', page.text).group(1)
    r = browser.post(
        f"/governance/rejected/{row_id}/dismiss",
        data={"csrf_token": csrf_from(page.text), "reason": "错录"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "已忽略" in browser.get(r.headers["location"]).text


def test_rule_editor(browser, db):
    """Rules are edited one at a time through a form per rule type, never as raw JSON."""
    page = browser.get("/governance/rules")
    assert page.status_code == 200 and "人口基础信息" in page.text
    page = browser.get("/governance/rules/population")
    assert page.status_code == 200 and "<code>citizen_id</code>" in page.text and "系统默认规则" in page.text
    assert "<textarea" not in page.text and "JSON" not in page.text
    assert "公民身份号码校验（GB 11643）" in page.text
    assert 'href="/governance/rules/population/new?type=pattern"' in page.text

    # A pattern rule: its form asks for the field and the regular expression.
    form = browser.get("/governance/rules/population/new?type=pattern")
    assert form.status_code == 200 and 'name="regex"' in form.text and 'name="values"' not in form.text
    csrf = csrf_from(form.text)
    empty = browser.post("/governance/rules/population/new", data={"csrf_token": csrf, "type": "pattern"})
    assert empty.status_code == 422
    assert 'href="#field"' in empty.text and "请选择要检查的字段" in empty.text
    assert 'href="#regex"' in empty.text and "请填写正则表达式" in empty.text
    bad = browser.post(
        "/governance/rules/population/new",
        data={"csrf_token": csrf, "type": "pattern", "field": "phone", "regex": "(?=x)"},
    )
    assert bad.status_code == 422
    assert 'href="#regex"' in bad.text and "正则表达式无效" in bad.text
    assert 'value="(?=x)"' in bad.text, "what was typed is kept"
    heavy = browser.post(
        "/governance/rules/population/new",
        data={"csrf_token": csrf, "type": "pattern", "field": "phone", "regex": "1", "weight": "2"},
    )
    assert heavy.status_code == 422 and 'href="#weight"' in heavy.text and "不超过 1" in heavy.text
    ok = browser.post(
        "/governance/rules/population/new",
        data={"csrf_token": csrf, "type": "pattern", "field": "phone", "regex": "1\\d{10}", "note": "手机号"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = browser.get(ok.headers["location"])
    assert (
        "第 1 版" in page.text
        and "手机号" in page.text
        and '<code class="rule-code">1\\d{10}</code>' in page.text
    )

    # An enum rule takes its values one per line; a range rule needs one bound at least.
    enum = browser.post(
        "/governance/rules/population/new",
        data={"csrf_token": csrf, "type": "enum", "field": "gender", "values": "男\n女\n未说明\n"},
        follow_redirects=False,
    )
    assert enum.status_code == 303
    assert "允许的取值：男、女、未说明" in browser.get("/governance/rules/population").text
    no_bound = browser.post(
        "/governance/rules/population/new", data={"csrf_token": csrf, "type": "range", "field": "birth_date"}
    )
    assert no_bound.status_code == 422 and 'href="#min"' in no_bound.text
    unknown = browser.post("/governance/rules/population/new", data={"csrf_token": csrf, "type": "magic"})
    assert unknown.status_code == 422 and "请从列表中选择规则类型" in unknown.text

    # Edit, then delete, the last rule: each is a new version.
    page = browser.get("/governance/rules/population")
    last = max(int(i) for i in re.findall(r"/governance/rules/population/(\d+)/edit", page.text))
    edit = browser.get(f"/governance/rules/population/{last}/edit")
    assert edit.status_code == 200 and "男\n女\n未说明" in edit.text
    changed = browser.post(
        f"/governance/rules/population/{last}/edit",
        data={"csrf_token": csrf, "field": "gender", "values": "男\n女\n未知"},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert "允许的取值：男、女、未知" in browser.get("/governance/rules/population").text
    gone = browser.post(
        f"/governance/rules/population/{last}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert gone.status_code == 303
    page = browser.get("/governance/rules/population")
    assert "未知" not in page.text and "第 4 版" in page.text
    assert browser.get("/governance/rules/population/999/edit").status_code == 404
    assert (
        browser.post("/governance/rules/population/0/delete", data={"csrf_token": "forged"}).status_code
        == 403
    )

    # Another department's rules are shown read-only, and their forms are refused.
    other = browser.get("/governance/rules/legal_person")
    assert other.status_code == 200 and "/governance/rules/legal_person/new" not in other.text
    assert browser.get("/governance/rules/legal_person/new?type=required").status_code == 403


def test_conflicts_page_and_resolution(browser, client, db, second_officer):
    rows = people(2, seed=85)
    assert post_file(browser, csv_bytes(rows)).status_code == 303
    from ..identity.helpers import login_api

    headers = login_api(client, second_officer)
    theirs = [dict(rows[0], phone="13766666666")]
    r = client.post(
        f"{API}/loads",
        headers=headers,
        data={"resource_key": "population"},
        files={"file": ("t.csv", csv_bytes(theirs))},
    )
    assert r.status_code == 201, r.text
    page = browser.get("/governance/conflicts")
    assert page.status_code == 200
    assert "13766666666" in page.text and "以权威来源为准" in page.text
    conflict_id = re.search(r'action="/governance/conflicts/(\d+)/resolve"', page.text).group(1)
    csrf = csrf_from(page.text)
    bad = browser.post(
        f"/governance/conflicts/{conflict_id}/resolve",
        data={"csrf_token": csrf, "action": "correct", "value": "12"},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "error-summary" in bad.text
    r = browser.post(
        f"/governance/conflicts/{conflict_id}/resolve",
        data={"csrf_token": csrf, "action": "confirm", "note": "以户籍为准"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "权威部门已确认" in browser.get(r.headers["location"]).text


def test_grading_pages(browser, db, city):
    page = browser.get("/governance/grading")
    assert page.status_code == 200 and "分类分级" in page.text
    page = browser.get("/governance/grading/population")
    assert page.status_code == 200
    assert "个人身份证件号码属于敏感个人信息" in page.text
    from yiwang import catalog

    with db.session() as s:
        mounted = catalog.entry_for_resource(s, "population") is not None
    if not mounted:
        assert "尚未在政务信息资源目录中编目" in page.text
        return
    csrf = csrf_from(page.text)
    none = browser.post("/governance/grading/population", data={"csrf_token": csrf}, follow_redirects=False)
    assert none.status_code == 422 and "请勾选" in none.text
    r = browser.post(
        "/governance/grading/population",
        data={
            "csrf_token": csrf,
            "apply": "phone",
            "grade.phone": "important",
            "sensitive.phone": "true",
            "masking.phone": "phone",
        },  # fmt: skip
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_grading_page_applies_through_the_catalog(browser, db, population_entry):
    code = population_entry
    page = browser.get("/governance/grading/population")
    assert code in page.text
    r = browser.post(
        "/governance/grading/population",
        data={
            "csrf_token": csrf_from(page.text),
            "apply": ["phone", "status"],
            "grade.phone": "important",
            "sensitive.phone": "true",
            "masking.phone": "phone",
            "grade.status": "general",
            "sensitive.status": "false",
            "masking.status": "none",
            "reason": "页面测试",
        },  # fmt: skip
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "分级已写入" in browser.get(r.headers["location"]).text


def test_long_lists_are_paged(browser):
    rows = people(25, seed=86)
    for row in rows:
        row["gender"] = "?"
    location = post_file(browser, csv_bytes(rows)).headers["location"]
    load_id = re.search(r"/loads/(\d+)", location).group(1)
    first = browser.get(f"/governance/loads/{load_id}")
    assert first.status_code == 200 and 'rel="next"' in first.text
    assert first.text.count('class="rejected-row"') == 20
    second = browser.get(f"/governance/loads/{load_id}?page=2")
    assert second.text.count('class="rejected-row"') == 5 and 'rel="prev"' in second.text
    corrected = browser.get(f"/governance/loads/{load_id}?status=corrected")
    assert "没有符合条件的行" in corrected.text
    listing = browser.get("/governance?resource_key=population&status=partial")
    assert f"/governance/loads/{load_id}" in listing.text


def test_column_template_downloads_and_loads_back(browser, client, db):
    """Governance offers each resource's columns as a CSV template (UTF-8 with BOM, Chinese headers)
    that, filled in, loads as it is."""
    page = browser.get("/governance")
    assert 'href="/governance/template/population.csv"' in page.text
    r = browser.get("/governance/template/population.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    header = r.content.decode("utf-8-sig").strip().split(",")
    assert header[:2] == ["公民身份号码", "姓名"] and "数据来源" not in header
    row = people(1, seed=86)[0]
    filled = r.content.decode("utf-8-sig").strip() + "\r\n" + ",".join(row[c] for c in POP_COLUMNS) + "\r\n"
    loaded = post_file(browser, ("\ufeff" + filled).encode())
    assert loaded.status_code == 303, loaded.text
    assert count_people(db, [row["citizen_id"]]) == 1
    assert browser.get("/governance/template/nowhere.csv").status_code == 404


def test_column_template_is_for_data_officers(client, city):
    signed_in(client, city.accounts["citizen"], as_="citizen")
    assert client.get("/governance/template/population.csv").status_code == 403
