"""Catalog entries through the generic resource test base (tests/resource_api.py)."""

from __future__ import annotations

from typing import Any

from tests.catalog.conftest import API, bulk_publish, entry_body
from tests.resource_api import Ctx, ResourceAPITests


class TestCatalogEntries(ResourceAPITests):
    base = f"{API}/entries"
    key = "code"
    owner = "officer_h"
    refused = ("citizen_h", "clerk_h")
    bad_inputs = [
        ({"name": "x"}, "name"),
        ({"colour": "blue"}, "colour"),
        ({"sharing_type": "sometimes"}, "sharing_type"),
    ]
    update = {"name": "户籍人口信息（修订）", "update_cycle": "daily"}
    list_params = {"limit": 100}
    list_query_limit = 8

    def body(self, ctx: Ctx) -> dict[str, Any]:
        return entry_body()

    def add_rows(self, ctx: Ctx, n: int) -> None:
        bulk_publish(ctx.db, ctx.city, n, dept="gongan")
