"""A generic test base for one REST resource (DESIGN §3 conventions: a generic test base per resource
makes full coverage of a new resource nearly free).

Subclass it in a module's tests, name the resource and fill a few hooks; pytest then runs, for that
resource: create → read back, the list shows it (and pins its SQL query count as rows grow), update,
bad input (422 naming the field, nothing written), the actors who must be refused (403, nothing
written) and the anonymous caller (401)::

    class TestEntries(ResourceAPITests):
        base = "/api/v1/catalog/entries"
        key = "code"                                   # the id field of the created object
        owner = "officer_h"                            # fixture: bearer headers of a rightful creator
        refused = ("citizen_h", "clerk_h")             # fixtures: headers of actors who must be refused
        bad_inputs = [({"name": "x"}, "name")]         # (changes to the valid body, failing field)
        update = {"name": "户籍人口信息（修订）"}       # a valid PATCH (None: no update endpoint)
        list_query_limit = 8                           # most SQL statements one list page may take

        def body(self, ctx):                           # a valid create body
            return entry_body()

        def add_rows(self, ctx, n):                    # grow the list for the query-count check
            bulk_publish(ctx.db, ctx.city, n)

`ctx` carries the test's fixtures (`ctx.client`, `ctx.db`, `ctx.city`, `ctx.headers(name)`); override
`setup` to ask for more (`ctx.fixture("catalogued")`). Resources whose URL of an object is not
`base/<id>`, or whose list is an object other than `{"items": …}`, override `item_url` and `ids`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from tests.helpers import count_queries


class Ctx:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self.client = request.getfixturevalue("client")
        self.db = request.getfixturevalue("db")
        self.city = request.getfixturevalue("city")

    def fixture(self, name: str) -> Any:
        return self._request.getfixturevalue(name)

    def headers(self, name: str) -> dict[str, str]:
        value = self.fixture(name)
        return value if isinstance(value, dict) else value.headers


class ResourceAPITests:
    base: ClassVar[str]
    key: ClassVar[str] = "id"
    owner: ClassVar[str]
    refused: ClassVar[tuple[str, ...]] = ()
    bad_inputs: ClassVar[list[tuple[dict[str, Any], str]]] = []
    update: ClassVar[dict[str, Any] | None] = None
    update_method: ClassVar[str] = "PATCH"
    list_params: ClassVar[dict[str, Any]] = {}
    list_query_limit: ClassVar[int] = 10

    # ---------------------------------------------------------------- hooks

    def setup(self, ctx: Ctx) -> None:
        """Ask for extra fixtures the resource needs (they persist for the test)."""

    def body(self, ctx: Ctx) -> dict[str, Any]:
        raise NotImplementedError

    def add_rows(self, ctx: Ctx, n: int) -> None:
        """Add `n` more rows the owner's list shows (default: create them through the API)."""
        for _ in range(n):
            self.create(ctx)

    def item_url(self, created: dict[str, Any]) -> str:
        return f"{self.base}/{str(created[self.key]).replace('/', '-')}"

    def ids(self, listing: Any) -> list[Any]:
        return [row[self.key] for row in listing["items"]]

    def total(self, ctx: Ctx) -> int:
        """How many objects the owner's list counts (to show a refused write changed nothing)."""
        listing = ctx.client.get(self.base, params=self.list_params, headers=ctx.headers(self.owner)).json()
        return int(listing.get("total", len(self.ids(listing))))

    # ---------------------------------------------------------------- helpers

    @pytest.fixture
    def ctx(self, request: pytest.FixtureRequest) -> Ctx:
        ctx = Ctx(request)
        self.setup(ctx)
        return ctx

    def create(self, ctx: Ctx, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = ctx.client.post(self.base, json=body or self.body(ctx), headers=ctx.headers(self.owner))
        assert r.status_code == 201, r.text
        return r.json()

    @staticmethod
    def problem(r: Any, status: int) -> dict[str, Any]:
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["type"].startswith("/problems/") and body["title"]
        return body

    # ---------------------------------------------------------------- the tests

    def test_create_then_read(self, ctx: Ctx) -> None:
        created = self.create(ctx)
        r = ctx.client.get(self.item_url(created), headers=ctx.headers(self.owner))
        assert r.status_code == 200, r.text
        assert r.json()[self.key] == created[self.key]

    def test_list_shows_it_and_pins_the_query_count(self, ctx: Ctx) -> None:
        created = self.create(ctx)
        owner = ctx.headers(self.owner)

        def page() -> tuple[list[Any], int]:
            with count_queries(ctx.db) as statements:
                r = ctx.client.get(self.base, params=self.list_params, headers=owner)
            assert r.status_code == 200, r.text
            # Savepoints are the test harness's (each test runs in a rolled-back transaction).
            real = [
                q
                for q in statements
                if not q.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))
            ]
            return self.ids(r.json()), len(real)

        ids, few = page()
        assert created[self.key] in ids
        self.add_rows(ctx, 5)
        ids_after, many = page()
        assert len(ids_after) > len(ids)
        assert many == few, f"the list's query count grows with its rows ({few} → {many})"
        assert few <= self.list_query_limit, f"{few} queries for one list page"

    def test_update(self, ctx: Ctx) -> None:
        if self.update is None:
            pytest.skip("the resource has no update")
        created = self.create(ctx)
        r = ctx.client.request(
            self.update_method, self.item_url(created), json=self.update, headers=ctx.headers(self.owner)
        )
        assert r.status_code == 200, r.text
        again = ctx.client.get(self.item_url(created), headers=ctx.headers(self.owner)).json()
        for name, value in self.update.items():
            assert again[name] == value, name

    def test_bad_input_names_the_field_and_changes_nothing(self, ctx: Ctx) -> None:
        assert self.bad_inputs, "name at least one bad input"
        before = self.total(ctx)
        for change, field in self.bad_inputs:
            r = ctx.client.post(self.base, json={**self.body(ctx), **change}, headers=ctx.headers(self.owner))
            body = self.problem(r, 422)
            assert field in [e["field"] for e in body.get("errors", [])], (change, body)
        assert self.total(ctx) == before

    def test_refused_actors_change_nothing(self, ctx: Ctx) -> None:
        assert self.refused, "name at least one actor who must be refused"
        before = self.total(ctx)
        for name in self.refused:
            r = ctx.client.post(self.base, json=self.body(ctx), headers=ctx.headers(name))
            self.problem(r, 403)
        self.problem(ctx.client.post(self.base, json=self.body(ctx)), 401)
        assert self.total(ctx) == before
