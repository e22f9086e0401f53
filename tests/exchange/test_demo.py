"""The demo exchange: grants, open and refused requests, a month of calls for the statistics and the
demo citizen's data-use page, one open objection."""

from __future__ import annotations

from yiwang import catalog, exchange, registry
from yiwang.core.security import PLATFORM, Actor, ActorKind


def test_seed_demo_exchange(db, city):
    with db.session() as s:
        # The demo build catalogues every registry resource first (the test city leaves that out).
        catalog.seed_demo_catalog(s, PLATFORM, city.departments, [r.key for r in registry.resources()])
        demo = exchange.seed_demo_exchange(
            s,
            PLATFORM,
            departments=city.departments,
            demo_client_id=city.client.client_id,
            citizen_id=city.accounts["citizen"].citizen_id,
            credit_code=city.enterprise_credit_code,
        )
        assert demo.marriage_client_id and demo.marriage_client_secret
        assert set(demo.requests) == {
            "demo_population",
            "marriage_population",
            "refused_no_criminal_record",
            "overdue_social_insurance",
            "pending_property",
            "pending_household",
        }
        assert demo.calls == 360
        statuses = {k: exchange.get_request(s, PLATFORM, v) for k, v in demo.requests.items()}
        assert statuses["demo_population"].status == "approved"
        assert statuses["marriage_population"].status == "narrowed"
        assert statuses["refused_no_criminal_record"].status == "refused"
        assert statuses["overdue_social_insurance"].overdue
        assert statuses["pending_property"].status == "submitted" and not statuses["pending_property"].overdue
        # 市公安局's data officer finds a request of their own to decide.
        household = statuses["pending_household"]
        assert household.status == "submitted" and household.provider_dept_id == city.departments["gongan"]
        officer = Actor(
            kind=ActorKind.STAFF, account_id=3, roles=frozenset({"data_officer"}),
            department_id=city.departments["gongan"],
        )  # fmt: skip
        waiting = exchange.list_requests(s, officer, box="incoming", status="submitted")
        assert household.number in {r.number for r in waiting.items}
        # Systems read what fits their purpose: the marriage registry never reads the company registry.
        marriage_calls = exchange.call_log(s, PLATFORM, client_id=demo.marriage_client_id, limit=500).items
        assert marriage_calls and all(c.resource_key != "legal_person" for c in marriage_calls)

        citizen = Actor(kind=ActorKind.CITIZEN, account_id=1, subject_id=city.accounts["citizen"].citizen_id)
        page = exchange.my_data_use(s, citizen)
        assert page.total == 12 and all(i.department and i.system and i.resource for i in page.items)
        assert any(i.objection_status == "open" for i in page.items)
        enterprise = Actor(kind=ActorKind.ENTERPRISE, account_id=2, on_behalf_of=city.enterprise_credit_code)
        assert exchange.my_data_use(s, enterprise).total >= 5

        stats = exchange.call_stats(s, PLATFORM, by="day")
        assert stats.total_calls == 360 and len(stats.items) >= 20
        assert exchange.list_objections(s, PLATFORM, status="open").total == 1
