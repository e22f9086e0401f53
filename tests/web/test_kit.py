"""The module kit: routers found in the modules (a broken one stops the start), the navigation
registry (no dead links, one global navigation with the section's menu beneath it), honest role homes,
and the API reference served from vendored assets."""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

import yiwang
from tests.identity.helpers import signed_in
from yiwang.demo.accounts import ACCOUNT_KEYS, STAFF
from yiwang.web.modules import ModuleMountError, discover
from yiwang.web.nav import NavRegistry, PendingWork, Section, Tile
from yiwang.web.templating import templates


class Links(HTMLParser):
    """Hrefs of the links inside the element with `class` `within` (or the whole page)."""

    def __init__(self, within: str | None = None) -> None:
        super().__init__()
        self.within, self.depth, self.hrefs, self.srcs = within, 0, [], []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        a = dict(attrs)
        if self.depth:
            self.depth += 1
        elif self.within and self.within in (a.get("class") or "").split():
            self.depth = 1
        if (self.depth or not self.within) and tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        for key in ("src", "href"):
            if tag in ("script", "link", "img") and a.get(key):
                self.srcs.append(a[key])

    def handle_endtag(self, tag):  # noqa: ANN001
        if self.depth:
            self.depth -= 1


def links(html: str, within: str | None = None) -> list[str]:
    parser = Links(within)
    parser.feed(html)
    return parser.hrefs


# ---------------------------------------------------------------- discovery


@pytest.fixture
def extra_module(tmp_path, monkeypatch):
    """Make `yiwang.<name>` importable from a temporary folder: a module a newcomer just added."""
    root = tmp_path / "extra"
    root.mkdir()
    monkeypatch.setattr(yiwang, "__path__", [*yiwang.__path__, str(root)])

    def add(name: str, files: dict[str, str]) -> Path:
        pkg = root / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        for file, text in files.items():
            (pkg / file).write_text(textwrap.dedent(text))
        monkeypatch.delitem(sys.modules, f"yiwang.{name}", raising=False)
        return pkg

    add.root = root  # type: ignore[attr-defined]
    yield add
    for mod in [m for m in sys.modules if m.startswith(("yiwang.zz", "yiwang.example"))]:
        del sys.modules[mod]
    templates.cache_clear()


TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "module_template" / "example"


def test_the_documented_module_template_works_as_copied(extra_module, client, db, city):
    """docs/modules.md: copy one folder, register nothing — the module is mounted, on the navigation
    and the home, its page renders in the kit's layout and its API refuses a citizen."""
    from fastapi.testclient import TestClient

    from yiwang.app import create_app

    shutil.copytree(TEMPLATE, extra_module.root / "example")
    templates.cache_clear()  # the template folder joins the page loader
    app = create_app(database=db)
    assert "example" in app.state.modules
    with TestClient(app) as c:
        signed_in(c, city.accounts["clerk"], as_="staff")
        home = c.get("/").text
        assert "/example" in links(home, "cards") and "/example" in links(home, "site-nav")
        page = c.get("/example")
        assert page.status_code == 200 and "示例模块" in page.text
        assert links(page.text, "section-nav") == ["/example"]
    with TestClient(app) as c:
        signed_in(c, city.accounts["citizen"])
        r = c.get("/api/v1/example/overview")
        assert r.status_code == 403 and r.json()["type"] == "/problems/example-not-staff"


def test_a_new_module_is_found_mounted_and_on_the_navigation(extra_module, db, city):
    from fastapi.testclient import TestClient

    from yiwang.app import create_app

    extra_module(
        "zzdemo",
        {
            "pages.py": """
                from fastapi import APIRouter, Request
                from yiwang.core.deps import ActorDep
                from yiwang.web import render
                router = APIRouter()
                @router.get("/zzdemo")
                def index(request: Request, actor: ActorDep):
                    return render(request, "error.html", "示例", problem=None)
            """,
            "nav.py": """
                from yiwang.web import Section, Tile, roles
                SECTIONS = [Section("zzdemo", "/zzdemo", "示例模块", visible=roles("leader"), order=95)]
                TILES = [Tile("/zzdemo", "示例工作", "示例模块的工作", visible=roles("leader"),
                              fulfils={"leader"})]
            """,
        },
    )
    app = create_app(database=db)
    assert "zzdemo" in app.state.modules
    with TestClient(app) as client:
        signed_in(client, city.accounts["leader"], as_="staff")
        home = client.get("/").text
        assert "/zzdemo" in links(home, "cards") and "/zzdemo" in links(home, "site-nav")
        # the tile fulfils the leader's work: the honest "not yet" for the cockpit is gone
        assert "领导驾驶舱" not in home


def test_a_module_that_fails_to_import_stops_the_start(extra_module, db):
    from yiwang.app import create_app

    extra_module("zzbroken", {"api.py": "import this_package_does_not_exist\n"})
    with pytest.raises(ModuleMountError, match="zzbroken"):
        create_app(database=db)


def test_a_router_file_without_a_router_stops_the_start(extra_module):
    extra_module("zznorouter", {"pages.py": "ROUTER = None\n"})
    with pytest.raises(ModuleMountError, match="zznorouter.*router"):
        discover(yiwang)


def test_a_tile_to_a_missing_page_stops_the_start(extra_module, db):
    from yiwang.app import create_app

    extra_module("zzdead", {"nav.py": "from yiwang.web import Tile\nTILES = [Tile('/zzdead', '无', '无')]\n"})
    with pytest.raises(RuntimeError, match="zzdead tile /zzdead"):
        create_app(database=db)


def test_the_app_mounts_every_module_package():
    names = {p.name for p in Path(yiwang.__file__).parent.iterdir() if (p / "__init__.py").exists()}
    found = {m.name for m in discover(yiwang)}
    assert found == names - {"core", "migrations", "demo"}


# ---------------------------------------------------------------- the registry itself


def test_pending_work_disappears_once_a_tile_fulfils_the_role():
    from yiwang.core.security import Actor, ActorKind

    reg = NavRegistry()
    reg.contribute("a", type("N", (), {"PENDING": [PendingWork("approver", "审批", "尚未开放")]}))
    approver = Actor(kind=ActorKind.STAFF, account_id=1, roles=frozenset({"approver"}))
    assert [p.role for p in reg.pending_for(approver)] == ["approver"]
    reg.contribute("b", type("N", (), {"TILES": [Tile("/x", "审批", "…", fulfils={"approver"})]}))
    assert reg.pending_for(approver) == []


def test_a_section_declared_twice_is_refused():
    reg = NavRegistry()
    reg.contribute("a", type("N", (), {"SECTIONS": [Section("x", "/x", "甲")]}))
    with pytest.raises(ValueError, match="twice"):
        reg.contribute("b", type("N", (), {"SECTIONS": [Section("x", "/y", "乙")]}))


# ---------------------------------------------------------------- role homes


@pytest.mark.parametrize("key", ACCOUNT_KEYS)
def test_every_demo_role_lands_on_a_home_whose_tiles_all_work(client, city, key):
    account = city.accounts[key]
    if key in {s.key for s in STAFF}:
        signed_in(client, account, as_="staff")
    elif account.on_behalf_of:
        signed_in(client, account, as_="enterprise", on_behalf_of=account.on_behalf_of)
    else:
        signed_in(client, account)
    home = client.get("/")
    assert home.status_code == 200
    tiles = links(home.text, "cards")
    pending = re.findall(r'<div class="pending-work">', home.text)
    # never an empty page: work to do, or the honest word about work to come
    assert tiles or pending, f"{key} has nothing on the home page"
    for href in links(home.text, "cards") + links(home.text, "site-nav"):
        r = client.get(href)
        assert r.status_code == 200, f"{key}: {href} → {r.status_code}"
    if key == "enterprise":  # the legal representative manages the enterprise's agents
        assert "/me/enterprise/agents" in links(home.text, "cards")
    if key == "agent":  # an authorised agent does not
        assert "/me/enterprise/agents" not in links(home.text, "cards")


ROLES_WITHOUT_A_MODULE = {
    "clerk": "综合窗口",
    "approver": "审批待办",
    "dispatcher": "12345 诉求派单",
    "grid_worker": "我的网格",
    "handler": "诉求与事件办理",
    "leader": "领导驾驶舱",
}


@pytest.mark.parametrize(("key", "title"), ROLES_WITHOUT_A_MODULE.items())
def test_roles_whose_module_does_not_exist_yet_are_told_so_plainly(client, city, key, title):
    signed_in(client, city.accounts[key], as_="staff")
    home = client.get("/").text
    block = home[home.index('<div class="pending-work">') :]
    assert title in block and "尚未开放" in block


def test_the_global_navigation_stays_while_a_section_menu_sits_beneath_it(client, city):
    signed_in(client, city.accounts["data_officer"], as_="staff")
    page = client.get("/governance/rules").text
    global_nav = links(page, "site-nav")
    assert {"/", "/me", "/catalog", "/exchange", "/governance"} <= set(global_nav)
    menu = links(page, "section-nav")
    assert menu == ["/governance", "/governance/rules", "/governance/conflicts", "/governance/grading"]
    assert 'aria-current="page">质量规则' in page
    # another section's page: the global navigation is the same, the menu is that section's
    catalog = client.get("/catalog/rates").text
    assert links(catalog, "site-nav") == global_nav
    assert "/catalog/manage" in links(catalog, "section-nav")


def test_a_citizen_sees_no_staff_section(client, city):
    signed_in(client, city.accounts["citizen"])
    page = client.get("/me/data-use").text
    assert links(page, "site-nav") == ["/", "/me"]
    assert "/me/data-use" in links(page, "section-nav")


# ---------------------------------------------------------------- API reference offline


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_reference_only_local_assets_and_they_load(client, path):
    r = client.get(path)
    assert r.status_code == 200
    parser = Links()
    parser.feed(r.text)
    assert parser.srcs, "no assets referenced"
    assert not re.search(r"https?://", r.text), "the page names an outside address"
    for src in parser.srcs:
        assert src.startswith("/static/vendor/"), src
        asset = client.get(src)
        assert asset.status_code == 200 and len(asset.content) > 500, src
    assert "/openapi.json" in r.text
    assert client.get("/openapi.json").status_code == 200
