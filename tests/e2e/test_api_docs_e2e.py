"""The API reference renders in a real browser from the vendored assets, with no request leaving the
server (government networks are closed: a CDN would leave /docs and /redoc blank)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["desktop"])
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.mark.parametrize(
    ("path", "rendered"), [("/docs", ".opblock"), ("/redoc", "[role=menuitem], .menu-content")]
)
def test_api_docs_render_offline(page, live_server, path, rendered):
    here = urlsplit(live_server.url).netloc
    outside: list[str] = []
    failed: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if urlsplit(r.url).netloc not in (here, "") else None)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(path)
    page.wait_for_selector(rendered, timeout=30_000)
    assert page.locator(rendered).count() > 0
    assert outside == [], f"requests left the server: {outside}"
    assert failed == [], f"assets failed to load: {failed}"
