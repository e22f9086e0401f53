"""Call statistics (服务次数 / 交换总量) by resource, department and day, the roll-up job, CSV, and the
call log behind each number."""

from __future__ import annotations

from datetime import timedelta

from tests.exchange.conftest import API, PURPOSE, count_queries, data_url, grant
from tests.identity.helpers import login_api
from yiwang import exchange
from yiwang.core import clock
from yiwang.core.security import PLATFORM

STATS = f"{API}/stats"


def _calls(client, db, city, catalogued, marriage_system, other_system, people) -> None:
    """4 answered population calls, 1 refused; 2 answered legal_person calls (无条件共享)."""
    grant(db, marriage_system.client_id)
    for p in people[1:5]:
        r = client.get(data_url(), params={"subject": p, "purpose": PURPOSE}, headers=marriage_system.headers)
        assert r.status_code == 200
    r = client.get(
        data_url(), params={"subject": people[5], "purpose": PURPOSE}, headers=other_system.headers
    )
    assert r.status_code == 403
    with db.session() as s:
        from yiwang import registry

        codes = [
            r["credit_code"] for r in registry.fetch_slice(s, "legal_person", fields=["credit_code"], limit=2)
        ]
    for code in codes:
        r = client.get(
            data_url("legal_person"),
            params={"subject": code, "purpose": "企业资格核验"},
            headers=other_system.headers,
        )
        assert r.status_code == 200


def test_stats_by_resource_department_and_day(
    client, db, city, catalogued, marriage_system, other_system, people, admin_h
):
    _calls(client, db, city, catalogued, marriage_system, other_system, people)
    by_resource = client.get(STATS, params={"by": "resource"}, headers=admin_h).json()
    rows = {r["key"]: r for r in by_resource["items"]}
    pop, lp = rows[catalogued.population], rows[catalogued.legal_person]
    assert (pop["calls"], pop["ok"], pop["refused"], pop["rows"]) == (5, 4, 1, 4)
    assert (lp["calls"], lp["ok"], lp["rows"]) == (2, 2, 2)
    assert pop["label"] == "人口基础信息"
    assert by_resource["total_calls"] == 7 and by_resource["total_rows"] == 6

    consumers = client.get(STATS, params={"by": "department", "side": "consumer"}, headers=admin_h).json()
    by_dept = {int(r["key"]): r["calls"] for r in consumers["items"]}
    assert by_dept == {city.departments["minzheng"]: 4, city.departments["renshe"]: 3}
    providers = client.get(STATS, params={"by": "department"}, headers=admin_h).json()
    assert {r["label"] for r in providers["items"]} >= {"市公安局"} or providers["items"]

    days = client.get(STATS, params={"by": "day"}, headers=admin_h).json()
    today = clock.today_local().date().isoformat()
    assert [(d["key"], d["calls"]) for d in days["items"]] == [(today, 7)]


def test_roll_up_keeps_the_figures_and_is_idempotent(
    client, db, city, catalogued, marriage_system, other_system, people, admin_h
):
    _calls(client, db, city, catalogued, marriage_system, other_system, people)
    before = client.get(STATS, params={"by": "resource"}, headers=admin_h).json()
    with clock.freeze(clock.now() + timedelta(minutes=5)):
        with db.session() as s:
            assert exchange.roll_up_stats(s) == 7
            assert exchange.roll_up_stats(s) == 0
        after = client.get(STATS, params={"by": "resource"}, headers=admin_h).json()
    assert before["items"] == after["items"]
    # A call after the roll-up is counted live on top of the rolled-up figures.
    r = client.get(
        data_url(), params={"subject": people[8], "purpose": PURPOSE}, headers=marriage_system.headers
    )
    assert r.status_code == 200
    later = client.get(STATS, params={"by": "resource"}, headers=admin_h).json()
    assert later["total_calls"] == before["total_calls"] + 1
    r = client.post(f"{STATS}/roll-up", headers=admin_h)
    assert r.status_code == 200 and r.json() == {"folded": 0}


def test_stats_as_csv(client, db, city, catalogued, marriage_system, other_system, people, admin_h):
    _calls(client, db, city, catalogued, marriage_system, other_system, people)
    r = client.get(STATS, params={"by": "resource", "format": "csv"}, headers=admin_h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "资源代码,名称,服务次数,成功,拒绝,交换总量（条）"
    assert lines[-1] == "合计,,7,6,1,6"


def test_the_calls_behind_a_number(
    client, db, city, catalogued, marriage_system, other_system, people, admin_h
):
    _calls(client, db, city, catalogued, marriage_system, other_system, people)
    today = clock.today_local().date().isoformat()
    r = client.get(
        f"{API}/calls",
        params={"catalog_code": catalogued.population, "day": today, "result": "refused"},
        headers=admin_h,
    )
    assert r.status_code == 200, r.text
    (row,) = r.json()["items"]
    assert row["result"] == "refused" and row["system"] == "市人社局就业服务系统"
    assert "*" in row["subject_masked"] and row["subject_masked"] != people[5]
    assert row["audit_ref"] and row["reason"].startswith("exchange-no-grant")
    page = client.get(f"{API}/calls", params={"limit": 3}, headers=admin_h).json()
    assert len(page["items"]) == 3 and page["has_more"]
    older = client.get(
        f"{API}/calls", params={"limit": 50, "before_id": page["items"][-1]["id"]}, headers=admin_h
    )
    assert len(older.json()["items"]) == 4


def test_call_log_pins_its_query_count(
    client, db, city, catalogued, marriage_system, other_system, people, admin_h
):
    _calls(client, db, city, catalogued, marriage_system, other_system, people)
    client.get(f"{API}/calls", headers=admin_h)

    def n(limit):
        with count_queries(db) as st:
            assert client.get(f"{API}/calls", params={"limit": limit}, headers=admin_h).status_code == 200
        return len([s for s in st if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))])

    assert n(2) == n(7)


def test_a_data_officer_sees_only_calls_involving_their_department(
    client, db, city, catalogued, marriage_system, other_system, people, officer_h
):
    _calls(client, db, city, catalogued, marriage_system, other_system, people)
    # 市公安局 provides population, not legal_person (市场监管局).
    stats = client.get(STATS, params={"by": "resource"}, headers=officer_h).json()
    assert [r["key"] for r in stats["items"]] == [catalogued.population]
    calls = client.get(f"{API}/calls", headers=officer_h).json()["items"]
    assert {c["resource_key"] for c in calls} == {"population"}


def test_citizens_and_clerks_see_no_statistics(client, city, citizen_h):
    assert client.get(STATS, headers=citizen_h).status_code == 403
    clerk_h = login_api(client, city.accounts["clerk"])
    assert client.get(STATS, headers=clerk_h).status_code == 403
    assert client.get(f"{API}/calls", headers=clerk_h).status_code == 403
    assert client.post(f"{STATS}/roll-up", headers=clerk_h).status_code == 403


def test_bad_stats_parameters(client, admin_h):
    assert client.get(STATS, params={"by": "colour"}, headers=admin_h).status_code == 422
    r = client.get(STATS, params={"from": "2026-12-01", "to": "2026-11-01"}, headers=admin_h)
    assert r.status_code == 422


def test_service_stats_for_the_platform(db, city, catalogued):
    with db.session() as s:
        stats = exchange.call_stats(s, PLATFORM, by="day")
    assert stats.total_calls >= 0
