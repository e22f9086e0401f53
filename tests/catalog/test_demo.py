"""The demo catalog: an entry per registry resource, published and mounted; about sixty more that are
not mounted; idempotent; everything through the services (timeline and audit)."""

from __future__ import annotations

from sqlalchemy import func, select

from yiwang import catalog, registry
from yiwang.catalog.demo import DEPT_ENTRIES, seed_demo_catalog
from yiwang.catalog.models import CatalogEntry, CatalogEntryEvent
from yiwang.core.security import PLATFORM

from .conftest import API


def seeded(db, city) -> int:
    with db.session() as s:
        return seed_demo_catalog(s, PLATFORM, city.departments, [r.key for r in registry.resources()])


def test_every_registry_resource_gets_a_published_mounted_entry(db, city):
    seeded(db, city)
    with db.session() as s:
        for spec in registry.resources():
            entry = catalog.entry_for_resource(s, spec.key)
            assert entry is not None, spec.key
            assert entry.status == "published" and entry.mount.resource_key == spec.key
            assert entry.department_id == city.departments[spec.department]
            assert {i.field_name for i in entry.items} <= set(spec.field_names)
            # Sensitive personal items never go out unmasked without an allowing purpose.
            for item in entry.items:
                if item.sensitive_personal or item.grade == "core":
                    assert item.masking != "none", (spec.key, item.field_name)
        population = catalog.entry_for_resource(s, "population")
        assert population.name == "人口基本信息" and population.provider_name == "市公安局"
        assert (
            population.item("citizen_id").masking == "id" and population.item("citizen_id").sensitive_personal
        )
        no_crime = catalog.entry_for_resource(s, "no_criminal_record")
        assert no_crime.sharing_type == "conditional" and no_crime.sharing_condition
        assert no_crime.item("record_summary").grade == "core"
        legal = catalog.entry_for_resource(s, "legal_person")
        assert legal.sharing_type == "unconditional" and legal.open_type == "unconditional"
        assert legal.provider_name == "市市场监管局"
        marriage = catalog.entry_for_resource(s, "marriage")
        assert marriage.provider_name == "市民政局"
        actions = [
            a
            for (a,) in s.execute(
                select(CatalogEntryEvent.action)
                .where(CatalogEntryEvent.entry_id == population.id)
                .order_by(CatalogEntryEvent.id)
            )
        ]
        assert actions == ["drafted", "submitted", "approved", "mounted"]


def test_department_entries_make_the_rates_meaningful(client, db, city, admin_h):
    seeded(db, city)
    rates = client.get(f"{API}/rates", headers=admin_h).json()
    assert rates["entries"] >= len(DEPT_ENTRIES) + len(registry.resources())
    assert 0 < rates["mount_rate"] < 0.5
    assert rates["catalog_rate"] == 1.0
    assert rates["departments"] >= 15
    with db.session() as s:
        statuses = dict(
            s.execute(
                select(CatalogEntry.status, func.count(CatalogEntry.id)).group_by(CatalogEntry.status)
            ).all()
        )
        assert statuses.get("draft") and statuses.get("submitted") and statuses.get("returned")
        unshared = s.scalar(select(func.count(CatalogEntry.id)).where(CatalogEntry.sharing_type == "none"))
        assert unshared >= 3
        assert (
            s.scalar(
                select(func.count(CatalogEntry.id))
                .where(CatalogEntry.unshared_reason == "")
                .where(CatalogEntry.sharing_type == "none")
            )
            == 0
        )


def test_seeding_twice_adds_nothing(db, city):
    seeded(db, city)
    with db.session() as s:
        before = s.scalar(select(func.count(CatalogEntry.id)))
    assert seeded(db, city) == 0
    with db.session() as s:
        assert s.scalar(select(func.count(CatalogEntry.id))) == before


def test_the_demo_catalog_is_searchable(client, db, city, admin_h):
    seeded(db, city)
    for q, name in (
        ("婚姻", "婚姻登记信息"),
        ("户籍", "户籍登记信息"),
        ("社保", "社会保险缴费信息"),
        ("不动产", "不动产登记信息"),
        ("学籍", "学籍信息"),
    ):
        names = [
            x["name"] for x in client.get(f"{API}/search", params={"q": q}, headers=admin_h).json()["items"]
        ]
        assert name in names, (q, names)
