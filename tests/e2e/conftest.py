"""Browser tests: a real uvicorn server on a free 127.0.0.1 port, over a file database (a temporary
SQLite file, or a scratch PostgreSQL database when YIWANG_TEST_DATABASE_URL is set) built with the test
city, driven by Playwright on Debian's chromium. Screenshots go to tests/e2e/screenshots/ (gitignored),
on failure too.

Without /usr/bin/chromium the tests skip — unless CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_database_url

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, city: Any) -> None:
        self.url = url
        self.city = city


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The whole app served by uvicorn in a background thread, on its own (committed) database."""
    import uvicorn

    from yiwang.app import create_app
    from yiwang.core.db import Base, Database, load_all_models, make_engine
    from yiwang.demo import build_test_city

    with fresh_database_url(Path(tmp_path_factory.mktemp("e2e")), "e2e") as db_url:
        load_all_models()
        engine = make_engine(db_url)
        Base.metadata.create_all(engine)
        engine.dispose()
        database = Database(db_url)
        city = build_test_city(database)
        port = _free_port()
        config = uvicorn.Config(
            create_app(database=database), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the e2e server did not start")
            time.sleep(0.05)
        try:
            yield LiveServer(f"http://127.0.0.1:{port}", city)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            database.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium); never run `playwright install`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def shot_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


class Shooter:
    """Saves full-page screenshots named <test>-<step>.png."""

    def __init__(self, page: Any, prefix: str) -> None:
        self.page = page
        self.prefix = prefix
        self.taken: list[Path] = []

    def __call__(self, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{shot_name(self.prefix)}-{shot_name(step)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def page(
    browser: Any, live_server: LiveServer, viewport: str, request: pytest.FixtureRequest
) -> Iterator[Any]:
    context = browser.new_context(
        viewport=VIEWPORTS[viewport],
        base_url=live_server.url,
        locale="zh-CN",
        is_mobile=viewport == "phone",
        has_touch=viewport == "phone",
        device_scale_factor=1,
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            # The page may be gone; the failure itself is what matters.
            with contextlib.suppress(Exception):
                pg.screenshot(
                    path=str(SCREENSHOTS / f"FAILED-{shot_name(request.node.name)}.png"), full_page=True
                )
        context.close()


@pytest.fixture
def shoot(page: Any, request: pytest.FixtureRequest) -> Shooter:
    return Shooter(page, request.node.name)
