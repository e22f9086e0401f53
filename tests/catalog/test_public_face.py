"""What the modules above use: `get_entry`, `entry_for_resource`, `published_entries`, and the events
published after commit."""

from __future__ import annotations

import pytest

from yiwang import catalog
from yiwang.core import events
from yiwang.core.errors import NotFound

from .conftest import bulk_publish, count_queries, draft, free_resource, publish, url


def test_get_entry(client, db, officer_h):
    e = draft(client, officer_h)
    with db.session() as s:
        got = catalog.get_entry(s, e["code"])
        assert got.code == e["code"] and got.status == "draft" and len(got.items) == 5
        assert catalog.get_entry(s, e["code"].replace("/", "-")).id == got.id
        assert got.item("citizen_id").protected and not got.item("gender").protected
        with pytest.raises(NotFound):
            catalog.get_entry(s, "101001/999999")
        assert catalog.entry_for_resource(s, "no_such_resource") is None


def test_published_entries(client, db, city, officer_h, admin_h):
    free_resource(client, admin_h, "population")
    codes = bulk_publish(db, city, 5, dept="gongan", prefix="公开面")
    client.post(
        f"{url(codes[0])}/mounts", json={"kind": "resource", "resource_key": "population"}, headers=officer_h
    )
    draft(client, officer_h)
    with db.session() as s:
        got = catalog.published_entries(s, codes=codes)
        assert [e.code for e in got] == sorted(codes)
        assert all(e.status == "published" and len(e.items) == 5 for e in got)
        assert got[0].mount is not None and got[1].mount is None
        assert catalog.published_entries(s, codes=[]) == []
        by_dept = catalog.published_entries(s, department_id=city.departments["gongan"], limit=500)
        assert set(codes) <= {e.code for e in by_dept}
        assert all(e.status == "published" for e in by_dept)
        assert catalog.published_entries(s, codes=codes, form="api") == []
    with db.session() as s, count_queries(db) as queries:
        catalog.published_entries(s, codes=codes)
    assert len([q for q in queries if q.lstrip().upper().startswith("SELECT")]) == 3  # entries, items, mounts


def test_events_are_published_after_commit(client, officer_h, admin_h):
    seen: list[object] = []
    events.subscribe(catalog.EntryPublished, seen.append)
    events.subscribe(catalog.ItemGradeChanged, seen.append)
    try:
        p = publish(client, officer_h, admin_h)
        client.put(f"{url(p['code'])}/items/gender/grade", json={"grade": "important"}, headers=officer_h)
    finally:
        events.unsubscribe(catalog.EntryPublished, seen.append)
        events.unsubscribe(catalog.ItemGradeChanged, seen.append)
    assert catalog.EntryPublished(code=p["code"], department_id=p["department_id"]) in seen
    graded = [e for e in seen if isinstance(e, catalog.ItemGradeChanged)]
    assert graded and graded[0].field_name == "gender" and graded[0].grade == "important"


def test_a_failed_command_publishes_nothing(client, officer_h, admin_h):
    seen: list[object] = []
    events.subscribe(catalog.EntryPublished, seen.append)
    try:
        e = draft(client, officer_h)
        r = client.post(f"{url(e['code'])}/review", json={"decision": "approve"}, headers=admin_h)
        assert r.status_code == 409
    finally:
        events.unsubscribe(catalog.EntryPublished, seen.append)
    assert seen == []
