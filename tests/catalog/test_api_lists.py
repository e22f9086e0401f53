"""The derived lists (共享目录, 开放目录, 需求目录, 责任清单), the figures and their CSV/XLSX exports;
list endpoints pin their SQL query counts."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from tests.identity.helpers import problem

from .conftest import API, bulk_publish, count_queries, draft, free_resource, publish, url


def _codes(r) -> set[str]:
    assert r.status_code == 200, r.text
    return {x["code"] for x in r.json()["items"]}


def test_sharing_list_holds_published_shareable_entries(client, officer_h, admin_h, clerk_h):
    cond = publish(client, officer_h, admin_h, name="有条件共享的目录")
    uncond = publish(
        client,
        officer_h,
        admin_h,
        name="无条件共享的目录",
        sharing_type="unconditional",
        sharing_condition="",
    )
    unshared = publish(
        client,
        officer_h,
        admin_h,
        name="不予共享的目录",
        sharing_type="none",
        sharing_condition="",
        sharing_method="",
        unshared_reason="依据《保守国家秘密法》",
    )
    drafted = draft(client, officer_h, name="草稿目录")
    codes = _codes(client.get(f"{API}/lists/sharing", headers=clerk_h, params={"limit": 500}))
    assert {cond["code"], uncond["code"]} <= codes
    assert unshared["code"] not in codes and drafted["code"] not in codes
    rows = client.get(f"{API}/lists/sharing", headers=clerk_h, params={"q": "有条件共享的目录"}).json()[
        "items"
    ]
    assert rows[0]["code"] == cond["code"]
    assert rows[0]["item_names"] == ["公民身份号码", "姓名", "性别", "出生日期", "住址"]
    assert rows[0]["sharing_condition"]
    only = _codes(
        client.get(
            f"{API}/lists/sharing", headers=clerk_h, params={"sharing_type": "unconditional", "limit": 500}
        )
    )
    assert uncond["code"] in only and cond["code"] not in only
    assert (
        client.get(f"{API}/lists/sharing", headers=clerk_h, params={"sharing_type": "none"}).json()["total"]
        == 0
    )


def test_open_list(client, officer_h, admin_h, system_h):
    opened = publish(client, officer_h, admin_h, name="向社会开放的目录", open_type="unconditional")
    closed = publish(client, officer_h, admin_h, name="不开放的目录")
    codes = _codes(client.get(f"{API}/lists/open", headers=system_h, params={"limit": 500}))
    assert opened["code"] in codes and closed["code"] not in codes


def test_responsibility_list(client, city, officer_h, admin_h):
    def gongan():
        rows = client.get(f"{API}/lists/responsibility", headers=officer_h).json()["items"]
        return next((r for r in rows if r["department_id"] == city.departments["gongan"]), None) or {
            "entries": 0,
            "drafts": 0,
            "submitted": 0,
            "published": 0,
            "mounted": 0,
        }

    free_resource(client, admin_h, "population")
    before = gongan()
    draft(client, officer_h)
    p = publish(client, officer_h, admin_h, contact_name="李责任", contact_phone="024-80000001")
    client.post(
        f"{url(p['code'])}/mounts", json={"kind": "resource", "resource_key": "population"}, headers=officer_h
    )
    after = gongan()
    assert after["entries"] == before["entries"] + 2
    assert after["drafts"] == before["drafts"] + 1
    assert after["published"] == before["published"] + 1
    assert after["mounted"] == before["mounted"] + 1
    assert after["contact_name"] == "李责任" and after["contact_phone"] == "024-80000001"
    r = client.get(
        f"{API}/lists/responsibility", headers=officer_h, params={"department_id": city.departments["gongan"]}
    )
    assert [x["provider_name"] for x in r.json()["items"]] == ["市公安局"]


def test_rates_are_computed_from_rows(client, city, officer_h, admin_h):
    free_resource(client, admin_h, "population")
    base = client.get(f"{API}/rates", headers=officer_h).json()
    t1 = publish(client, officer_h, admin_h, name="库表一")
    publish(client, officer_h, admin_h, name="库表二")
    publish(client, officer_h, admin_h, name="接口一", form="api")
    draft(client, officer_h, name="草稿")
    gone = publish(client, officer_h, admin_h, name="撤销的")
    client.post(f"{url(gone['code'])}/retire", json={"reason": "停用"}, headers=officer_h)
    r = client.post(
        f"{url(t1['code'])}/mounts",
        json={"kind": "resource", "resource_key": "population"},
        headers=officer_h,
    )
    assert r.status_code == 201, r.text
    rates = client.get(f"{API}/rates", headers=officer_h).json()
    assert rates["entries"] == base["entries"] + 4  # retired entries do not count
    assert rates["published"] == base["published"] + 3
    assert rates["mounted"] == base["mounted"] + 1
    assert rates["mount_rate"] == round(rates["mounted"] / rates["published"], 4)
    assert rates["catalogued_resources"] == base["catalogued_resources"] + 1
    assert rates["registry_resources"] == base["registry_resources"] >= 10
    assert rates["catalog_rate"] == round(rates["catalogued_resources"] / rates["registry_resources"], 4)
    forms = {f["form"]: f for f in rates["by_form"]}
    base_forms = {f["form"]: f for f in base["by_form"]}
    assert forms["table"]["published"] == base_forms["table"]["published"] + 2
    assert forms["table"]["mounted"] == base_forms["table"]["mounted"] + 1
    assert forms["api"]["published"] == base_forms["api"]["published"] + 1
    gongan = next(d for d in rates["by_department"] if d["department_id"] == city.departments["gongan"])
    assert gongan["mount_rate"] == round(gongan["mounted"] / gongan["published"], 4)
    assert sum(d["published"] for d in rates["by_department"]) == rates["published"]
    assert sum(d["mounted"] for d in rates["by_department"]) == rates["mounted"]


def test_lists_are_refused_to_citizens(client, citizen_h):
    for path in (
        "lists/sharing",
        "lists/open",
        "lists/demand",
        "lists/responsibility",
        "rates",
        "search?q=户籍",
        "lists/sharing.csv",
        "rates.xlsx",
        "resources",
        "review-queue",
    ):
        problem(client.get(f"{API}/{path}", headers=citizen_h), 403)
    problem(client.get(f"{API}/lists/sharing"), 401)


def test_review_queue_is_for_the_platform_admin(client, officer_h, admin_h):
    e = draft(client, officer_h)
    client.post(f"{url(e['code'])}/submit", headers=officer_h)
    assert e["code"] in _codes(client.get(f"{API}/review-queue", headers=admin_h, params={"limit": 500}))
    problem(client.get(f"{API}/review-queue", headers=officer_h), 403)


# ================================================================= exports


def _csv(r) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    assert "attachment" in r.headers["content-disposition"]
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_sharing_list_csv_has_a_bom_and_chinese_headers(client, officer_h, admin_h):
    p = publish(client, officer_h, admin_h, name="导出测试目录")
    rows = _csv(client.get(f"{API}/lists/sharing.csv", headers=officer_h, params={"q": "导出测试目录"}))
    assert rows[0][:4] == ["资源代码", "资源名称", "提供方", "提供方代码"]
    assert "共享类型" in rows[0] and "信息项" in rows[0]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["资源代码"] == p["code"] and row["共享类型"] == "有条件共享" and row["资源格式"] == "库表"
    assert row["信息项"] == "公民身份号码、姓名、性别、出生日期、住址" and row["挂接状态"] == "未挂接"
    assert row["发布日期"].endswith("+08:00")
    assert (
        "sharing-list-"
        in client.get(f"{API}/lists/sharing.csv", headers=officer_h).headers["content-disposition"]
    )


def test_csv_cells_cannot_become_formulas(client, officer_h, admin_h):
    publish(client, officer_h, admin_h, name='=HYPERLINK("http://evil")公式目录')
    rows = _csv(client.get(f"{API}/lists/sharing.csv", headers=officer_h, params={"q": "公式目录"}))
    assert rows[1][1].startswith("'=")


@pytest.mark.parametrize("kind", ["sharing", "open", "demand", "responsibility"])
def test_every_list_exports_as_xlsx_that_opens(client, officer_h, admin_h, other_officer_h, kind):
    publish(client, officer_h, admin_h, name="开放导出目录", open_type="unconditional")
    client.post(f"{API}/demands", headers=other_officer_h, json={"title": "导出需求", "purpose": "测试导出"})
    r = client.get(f"{API}/lists/{kind}.xlsx", headers=officer_h)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    df = pl.read_excel(io.BytesIO(r.content))
    assert df.height >= 1
    first = {"sharing": "资源代码", "open": "资源代码", "demand": "编号", "responsibility": "提供方"}[kind]
    assert df.columns[0] == first
    rows = _csv(client.get(f"{API}/lists/{kind}.csv", headers=officer_h))
    assert rows[0][0] == first and len(rows) == df.height + 1


def test_rates_export(client, officer_h, admin_h):
    publish(client, officer_h, admin_h)
    rows = _csv(client.get(f"{API}/rates.csv", headers=officer_h))
    assert rows[0][:5] == ["提供方", "目录数", "已发布", "已挂接", "挂接率"]
    assert rows[-1][0] == "合计" and rows[-1][4].endswith("%")
    df = pl.read_excel(io.BytesIO(client.get(f"{API}/rates.xlsx", headers=officer_h).content))
    assert df.columns[0] == "提供方" and df.height == len(rows) - 1


def test_bad_export_format(client, officer_h):
    problem(client.get(f"{API}/lists/sharing.pdf", headers=officer_h), 422)
    problem(client.get(f"{API}/rates.doc", headers=officer_h), 422)


# ================================================================= query counts


LIST_PATHS = [
    ("entries", {}),
    ("entries", {"status": "published", "sort": "-published_at"}),
    ("search", {"q": "批量目录"}),
    ("lists/sharing", {}),
    ("lists/open", {"open_type": "conditional"}),
]


@pytest.mark.parametrize(("path", "params"), LIST_PATHS)
def test_list_query_counts_do_not_grow_with_page_size(client, city, db, officer_h, path, params):
    bulk_publish(db, city, 30, open_type="conditional", open_condition="注册后申请")
    with count_queries(db) as small:
        r = client.get(f"{API}/{path}", headers=officer_h, params={**params, "limit": 2})
    assert r.status_code == 200 and len(r.json()["items"]) == 2, r.text
    with count_queries(db) as large:
        r = client.get(f"{API}/{path}", headers=officer_h, params={**params, "limit": 30})
    assert r.status_code == 200 and len(r.json()["items"]) == 30
    assert len(large) == len(small), (small, large)
    assert len(large) <= 12, large


def test_demand_and_review_list_query_counts(client, city, db, officer_h, admin_h, other_officer_h):
    for i in range(12):
        client.post(
            f"{API}/demands", headers=other_officer_h, json={"title": f"需求{i}", "purpose": "测试用途"}
        )
    with count_queries(db) as small:
        client.get(f"{API}/demands", headers=officer_h, params={"limit": 2})
    with count_queries(db) as large:
        r = client.get(f"{API}/demands", headers=officer_h, params={"limit": 12})
    assert len(r.json()["items"]) == 12 and len(large) == len(small)
    for i in range(6):
        e = draft(client, officer_h, name=f"待审{i}")
        client.post(f"{url(e['code'])}/submit", headers=officer_h)
    with count_queries(db) as small:
        client.get(f"{API}/review-queue", headers=admin_h, params={"limit": 1})
    with count_queries(db) as large:
        r = client.get(f"{API}/review-queue", headers=admin_h, params={"limit": 6})
    assert len(r.json()["items"]) == 6 and len(large) == len(small)


def test_export_query_count_does_not_grow_with_rows(client, city, db, officer_h):
    bulk_publish(db, city, 3, prefix="导出批量")
    with count_queries(db) as small:
        client.get(f"{API}/lists/sharing.csv", headers=officer_h, params={"q": "导出批量"})
    bulk_publish(db, city, 20, prefix="导出批量")
    with count_queries(db) as large:
        r = client.get(f"{API}/lists/sharing.csv", headers=officer_h, params={"q": "导出批量"})
    assert len(_csv(r)) == 24
    assert len(large) == len(small)
