"""Sharing requests through the generic resource test base (tests/resource_api.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.exchange.conftest import API, grant, request_body
from tests.identity.helpers import login_api
from tests.resource_api import Ctx, ResourceAPITests


@pytest.fixture
def clerk_h(client, city) -> dict[str, str]:
    """A window clerk: staff without the data officer's role."""
    return login_api(client, city.accounts["clerk"])


class TestSharingRequests(ResourceAPITests):
    base = f"{API}/requests"
    owner = "marriage_system"
    refused = ("citizen_h", "clerk_h")
    bad_inputs = [
        ({"fields": ["citizen_id", "shoe_size"]}, "fields"),
        ({"purpose": "x"}, "purpose"),
        ({"rate_per_minute": 0}, "rate_per_minute"),
    ]
    # A request is decided or withdrawn (acts with their own tests), never edited.
    update = None
    list_params = {"box": "outgoing"}
    list_query_limit = 8

    def setup(self, ctx: Ctx) -> None:
        ctx.fixture("catalogued")

    def body(self, ctx: Ctx) -> dict[str, Any]:
        return request_body()

    def add_rows(self, ctx: Ctx, n: int) -> None:
        client_id = ctx.fixture("marriage_system").client_id
        for i in range(n):
            grant(ctx.db, client_id, purpose=f"婚姻登记办理（批次{i}）")
