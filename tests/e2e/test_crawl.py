"""The guard for every page: sign in as each demo role (and stay anonymous), follow every same-site link
reachable from the role's home and menus, and fail on what a person should never meet.

Each page is checked at 1280 px and again at 390 px (the same page, re-laid out at phone width):

- a 5xx, or a 4xx behind a link (a dead link, or a link shown to a role that is then refused);
- a page that scrolls sideways (document scrollWidth wider than the viewport);
- a code word or English in the visible text — snake_case, dotted or hyphenated codes, ASCII words not
  on the allow-list of proper nouns (OIDC, API, CSV …). Text inside <code>/<kbd>/<samp> is allowed:
  that is how identifiers shown on purpose to data staff (field names, resource keys) are marked;
- a missing or empty <title>;
- a POST form without a `csrf_token` field.

It also asks for each section home the role was *not* shown: it may open (some sections serve all
staff) or refuse honestly (a 403 page with a title, or the login page for the anonymous visitor) —
never a 5xx or a 404.

Links are found on the pages themselves, so a new module's pages are covered as soon as a home or
menu links to them. The walk is bounded: at most `PER_PATTERN` pages per URL shape (numbers and IDs
folded, query values ignored) and `MAX_PAGES` per role. Everything runs in one chromium, one context
per role, `PARALLEL` roles at a time. Screenshots (phone and desktop) of each role's first pages go to
tests/e2e/screenshots/crawl-*.png; `YIWANG_CRAWL_SHOTS=all` shoots every page, and
`YIWANG_CRAWL_ROLES=data_officer,admin` walks only those roles.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urlencode, urlsplit

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, shot_name

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MAX_PAGES = 90
PER_PATTERN = 1
PARALLEL = 4
SHOTS_PER_ROLE = 4

ROLES = (
    "citizen",
    "enterprise",
    "agent",
    "clerk",
    "approver",
    "data_officer",
    "dispatcher",
    "grid_worker",
    "handler",
    "leader",
    "dept_admin",
    "admin",
    "auditor",
)
ANONYMOUS = "anonymous"

# Section homes: each role is sent to those it was not shown, and must meet an honest refusal.
SECTION_HOMES = (
    "/admin",
    "/audit",
    "/catalog",
    "/catalog/manage",
    "/catalog/review",
    "/exchange",
    "/governance",
)

# Links never followed: they change state (sign out, flip a preference) or are not our pages
# (the OpenAPI explorers are English by design and are checked elsewhere).
SKIP_PREFIXES = ("/logout", "/prefs/", "/oidc/", "/docs", "/redoc", "/openapi.json", "/static/", "/api/")

# ASCII words that are proper nouns or units of the trade, fine on a Chinese page.
ALLOWED_WORDS = frozenset(
    # The words, space-separated: easier to scan and extend than a list literal.
    """
    OIDC OpenID Connect OAuth API APIs REST JSON CSV XLSX XLS PDF URL URI HTTP HTTPS SM2 SM3 SM4 ID IDs
    ID QR TOTP MFA SSO IP UTF-8 BOM RFC GB GB/T MB KB GB Excel CPU Apache Apache-2.0 App APP Web
    Yiwang Android iOS Windows Chrome Edge Firefox Safari Linux macOS Mac iPhone iPad ISO SQL
    PostgreSQL SQLite CKAN DCAT Open311 OK AI PKCE GBK GB18030 Parquet X
    """.split()  # noqa: SIM905
)
# An 18-character citizen ID or unified credit code, or a phone number: identifiers people read.
ID_TOKEN = re.compile(r"^(?:\d{17}[\dX]|[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})$")
MASKED_ID = re.compile(r"[0-9A-Z]{2,6}\*{3,}[0-9A-Z]{2,4}")
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/:@]*[A-Za-z0-9]|[A-Za-z]")

VISIBLE_TEXT_JS = """
() => {
  // Form contents (a textarea's text, an option typed by staff) are data, not the page's words.
  const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "CODE", "KBD", "SAMP", "SVG", "TEXTAREA"]);
  const out = [];
  const visible = (el) => {
    for (let e = el; e; e = e.parentElement) {
      if (skip.has(e.tagName)) return false;
    }
    if (el.closest("[hidden], [aria-hidden='true']")) return false;
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") return false;
    return el.getClientRects().length > 0 || el.closest("details:not([open])") !== null;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.nodeValue.trim();
    if (text && n.parentElement && visible(n.parentElement)) out.push(text);
  }
  for (const el of document.querySelectorAll("input[placeholder], textarea[placeholder]")) {
    if (visible(el)) out.push(el.getAttribute("placeholder"));
  }
  for (const el of document.querySelectorAll("input[type=submit][value], input[type=button][value]")) {
    if (visible(el)) out.push(el.getAttribute("value"));
  }
  return out;
}
"""

PAGE_FACTS_JS = """
() => ({
  title: document.title.trim(),
  scrollWidth: document.documentElement.scrollWidth,
  // Not innerWidth: a mobile browser zooms out to fit a too-wide page, widening innerWidth with it.
  viewport: document.documentElement.clientWidth,
  links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
  formsWithoutCsrf: Array.from(document.querySelectorAll("form"))
    .filter(f => (f.getAttribute("method") || "get").toLowerCase() === "post")
    .filter(f => !f.querySelector("input[name=csrf_token]"))
    .map(f => f.getAttribute("action") || "(this page)"),
  // The culprits: too wide, and not inside a box that scrolls (or clips) sideways on its own.
  widest: Array.from(document.querySelectorAll("body *"))
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .filter(e => {
      for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
        if (["auto", "scroll", "hidden"].includes(getComputedStyle(a).overflowX)) return false;
      }
      return true;
    })
    .slice(-3)
    .map(e => e.tagName.toLowerCase() + (e.className && typeof e.className === "string"
      ? "." + e.className.trim().split(/\\s+/).join(".") : "")),
})
"""


def leaks(texts: list[str]) -> list[str]:
    """Code words and English in visible text (see the module docstring)."""
    found: list[str] = []
    for text in texts:
        # A masked ID (912195********Q219) keeps its ends; they are not words.
        text = MASKED_ID.sub("", text)
        for token in TOKEN.findall(text):
            token = token.strip(".-/:")
            if not token or not re.search(r"[A-Za-z]", token):
                continue
            # The tail of a masked citizen ID (110101********677X) is digits and a check letter.
            if token in ALLOWED_WORDS or ID_TOKEN.match(token) or re.fullmatch(r"\d+X", token):
                continue
            # "SM2签名" or "10MB" style: a number with an allowed unit or a version like v1.2.
            if re.fullmatch(r"\d+(?:\.\d+)?(?:MB|KB|GB|px|s|ms|x)", token):
                continue
            parts = [p for p in re.split(r"[/\-]", token) if p]
            if parts and all(p in ALLOWED_WORDS or p.isdigit() for p in parts):
                continue
            found.append(token)
    return found


def url_pattern(url: str) -> str:
    """The shape of a URL: numeric or ID-like path segments folded, query keys without values."""
    parts = urlsplit(url)
    segments = []
    for seg in parts.path.split("/"):
        if re.fullmatch(r"\d+|[0-9a-f]{8,}|[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*", seg):
            seg = "{id}"
        segments.append(seg)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return "/".join(segments) + ("?" + "&".join(keys) if keys else "")


def normalise(url: str) -> str:
    url, _ = urldefrag(url)
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + (f"?{query}" if query else "")


@dataclass
class Finding:
    role: str
    url: str
    kind: str
    detail: str
    via: str = ""

    def __str__(self) -> str:
        via = f" (linked from {self.via})" if self.via else ""
        return f"[{self.role}] {self.url}{via}: {self.kind}: {self.detail}"


@dataclass
class RoleResult:
    role: str
    visited: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0


async def _sign_in(page: Any, account: Any) -> None:
    as_ = {"citizen": "citizen", "enterprise": "enterprise", "staff": "staff"}[account.kind]
    await page.goto(f"/login?as={as_}")
    if account.kind == "enterprise":
        await page.locator("#on_behalf_of").fill(account.on_behalf_of)
    await page.locator("#username").fill(account.username)
    await page.locator("#password").fill(account.password)
    async with page.expect_navigation():
        await page.locator("main form button[type=submit]").first.click()
    if "/login" in urlsplit(page.url).path:
        raise AssertionError(f"{account.key} could not sign in: still on {page.url}")


async def _load_a_file(page: Any) -> None:
    """As the data officer, load a small population file with one bad row through the upload form, so
    the walk meets a quality report with rejected rows (the test city has no loads of its own)."""
    from tests.governance.conftest import csv_bytes, people

    rows = people(3, seed=4242)
    rows[1]["gender"] = "不详"
    rows[2]["birth_date"] = "2099-01-01"
    await page.goto("/governance")
    await page.locator("#resource_key").select_option("population")
    await page.locator("#file").set_input_files(
        {"name": "人口.csv", "mimeType": "text/csv", "buffer": csv_bytes(rows)}
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="上传并装载").click()
    if "/governance/loads/" not in page.url:
        raise AssertionError(f"the upload did not lead to a quality report: {page.url}")


async def _check(page: Any, result: RoleResult, url: str, via: str, shoot: bool) -> list[str]:
    """Check the page now loaded at desktop width, then at phone width; return its same-site links."""
    role = result.role
    links: list[str] = []
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        if page.viewport_size != size:
            await page.set_viewport_size(size)
            # Let the re-layout settle (two frames) before measuring.
            await page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
        facts = await page.evaluate(PAGE_FACTS_JS)
        if name == "desktop":
            links = facts["links"]
            if not facts["title"]:
                result.findings.append(Finding(role, url, "no title", "<title> is missing or empty", via))
            for action in facts["formsWithoutCsrf"]:
                result.findings.append(Finding(role, url, "form without CSRF", f"POST {action}", via))
            words = leaks(await page.evaluate(VISIBLE_TEXT_JS))
            if words:
                shown = ", ".join(sorted(set(words))[:12])
                result.findings.append(Finding(role, url, "code word or English", shown, via))
        if facts["scrollWidth"] > size["width"] + 1 and name == "phone":
            # A page re-laid out from 1280 px can keep a wider scroll width than the same page loaded
            # at 390 px, as a phone does: confirm on a fresh load before calling it an overflow.
            await page.reload(wait_until="load")
            facts = await page.evaluate(PAGE_FACTS_JS)
        if facts["scrollWidth"] > size["width"] + 1:
            result.findings.append(
                Finding(
                    role,
                    url,
                    f"overflow at {size['width']} px",
                    f"scrollWidth {facts['scrollWidth']}; too wide: {', '.join(facts['widest'])}",
                    via,
                )
            )
        if shoot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            path = SCREENSHOTS / f"crawl-{role}-{shot_name(url.strip('/') or 'home')[:80]}-{name}.png"
            await page.screenshot(path=str(path), full_page=True)
    if page.viewport_size != DESKTOP:
        await page.set_viewport_size(DESKTOP)
    return links


async def _visit(page: Any, origin: str, url: str) -> tuple[int, str, bool]:
    """Load `url`; (status, final path, is_html). A download is fetched instead of rendered."""
    try:
        response = await page.goto(url, wait_until="load")
    except Exception as exc:  # a link that answers with a file starts a download instead of a page
        if "Download is starting" not in str(exc):
            raise
        fetched = await page.context.request.get(origin + url, max_redirects=5)
        body = await fetched.body()
        return (fetched.status if body else 599), url, False
    if response is None:
        return 599, url, False
    is_html = "text/html" in (response.headers.get("content-type") or "")
    return response.status, normalise(page.url), is_html


async def _crawl_role(browser: Any, server: Any, role: str) -> RoleResult:
    started = time.monotonic()
    result = RoleResult(role)
    origin = server.url
    # A mobile context (as conftest's phone pages): at 390 px it lays pages out as a phone does.
    context = await browser.new_context(
        viewport=DESKTOP,
        base_url=origin,
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
        device_scale_factor=1,
    )
    context.set_default_timeout(20_000)
    page = await context.new_page()
    asset_failures: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: (
            asset_failures.append((r.url, r.status))
            if r.status >= 400 and r.request.resource_type in ("stylesheet", "script", "image", "font")
            else None
        ),
    )
    try:
        if role != ANONYMOUS:
            await _sign_in(page, server.city.accounts[role])
        if role == "data_officer":
            await _load_a_file(page)
        home = "/"
        queue: deque[tuple[str, str]] = deque([(home, "")])
        seen = {home}
        per_pattern: dict[str, int] = {}
        while queue and len(result.visited) < MAX_PAGES:
            url, via = queue.popleft()
            status, final, is_html = await _visit(page, origin, url)
            result.visited.append(url)
            if status >= 500:
                result.findings.append(Finding(role, url, "server error", str(status), via))
                continue
            if status >= 400:
                kind = "refused behind a link" if status == 403 else "dead link"
                result.findings.append(Finding(role, url, kind, str(status), via))
                continue
            if role != ANONYMOUS and urlsplit(final).path == "/login":
                result.findings.append(Finding(role, url, "signed out by a link", final, via))
                continue
            if not is_html:
                continue
            shoot = os.environ.get("YIWANG_CRAWL_SHOTS") == "all" or len(result.visited) <= SHOTS_PER_ROLE
            for link in await _check(page, result, url, via, shoot):
                if not link.startswith(origin + "/"):
                    continue
                target = normalise(link[len(origin) :])
                path = urlsplit(target).path
                if target in seen or path.startswith(SKIP_PREFIXES):
                    continue
                seen.add(target)
                pattern = url_pattern(target)
                if per_pattern.get(pattern, 0) >= PER_PATTERN:
                    continue
                per_pattern[pattern] = per_pattern.get(pattern, 0) + 1
                queue.append((target, url))
        # Sections this role was not shown: an honest refusal, never a crash or a missing page.
        shown = {urlsplit(u).path for u in result.visited}
        for section in SECTION_HOMES:
            if section in shown:
                continue
            status, final, _ = await _visit(page, origin, section)
            if status >= 500 or status == 404:
                result.findings.append(Finding(role, section, "unlinked section", f"answered {status}"))
            elif status == 403 and not (await page.title()).strip():
                result.findings.append(Finding(role, section, "no title", "the refusal page has no <title>"))
        for asset, status in asset_failures:
            result.findings.append(Finding(role, asset, "asset failed", str(status)))
    finally:
        await context.close()
        result.seconds = time.monotonic() - started
    return result


async def _crawl_all(server: Any) -> list[RoleResult]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            gate = asyncio.Semaphore(PARALLEL)

            async def one(role: str) -> RoleResult:
                async with gate:
                    return await _crawl_role(browser, server, role)

            # YIWANG_CRAWL_ROLES=data_officer,admin walks only those (when chasing one finding).
            wanted = [r for r in os.environ.get("YIWANG_CRAWL_ROLES", "").split(",") if r]
            roles = [r for r in (ANONYMOUS, *ROLES) if not wanted or r in wanted]
            return list(await asyncio.gather(*(one(r) for r in roles)))
        finally:
            await browser.close()


def _run_in_thread(server: Any) -> list[RoleResult]:
    # Its own thread, so the asyncio loop never meets the sync Playwright of the other browser tests.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["results"] = asyncio.run(_crawl_all(server))
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="e2e-crawl")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["results"]


def test_every_reachable_page(live_server):
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium); never run `playwright install`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    started = time.monotonic()
    results = _run_in_thread(live_server)
    elapsed = time.monotonic() - started
    lines = [f"crawl: {sum(len(r.visited) for r in results)} pages, {len(results)} roles, {elapsed:.1f} s"]
    for r in results:
        lines.append(f"  {r.role:<13} {len(r.visited):>3} pages {r.seconds:5.1f} s {len(r.findings)} found")
    findings = [f for r in results for f in r.findings]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    report = "\n".join([*lines, "", *map(str, findings)]) + "\n"
    (SCREENSHOTS / "crawl-report.txt").write_text(report, encoding="utf-8")
    print(report)
    assert all(len(r.visited) > 1 for r in results if r.role != ANONYMOUS), "a role found no pages"
    assert not findings, f"{len(findings)} findings:\n" + "\n".join(map(str, findings[:80]))


# ---- the checker's own rules, tested without a browser --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("共享申请已批准", []),
        ("操作：identity.enterprise.authorise", ["identity.enterprise.authorise"]),
        ("规则 birth_date.type 未通过", ["birth_date.type"]),
        ("404（not-found）", ["not-found"]),
        ("exchange-purpose-not-granted: 用途不符", ["exchange-purpose-not-granted"]),
        ("Submit", ["Submit"]),
        ("用 OIDC 登录，导出 CSV 或 XLSX，SM2 签名", []),
        ("统一社会信用代码 91110000MA01ABCD3X", []),
        ("身份证 11010119900307663X", []),
        ("主体 912195********Q219", []),
        ("文件不超过 10MB，GB/T 37668", []),
    ],
)
def test_leak_rules(text, expected):
    assert leaks([text]) == expected


def test_url_pattern_folds_ids_and_query_values():
    one, other = "/exchange/requests/12?status=pending", "/exchange/requests/7?status=all"
    assert url_pattern(one) == url_pattern(other)
    assert url_pattern("/catalog/entries/GA-0001") == "/catalog/entries/{id}"
    assert url_pattern("/exchange") != url_pattern("/exchange/requests")


def test_overflow_rule_sees_what_a_phone_sees(browser):
    """The overflow check measures against the phone's width, not innerWidth (a mobile browser zooms
    out to fit a wide page), and a table scrolling in its own box is no overflow."""
    context = browser.new_context(viewport=DESKTOP, is_mobile=True, has_touch=True, device_scale_factor=1)
    try:
        page = context.new_page()
        head = '<meta name="viewport" content="width=device-width, initial-scale=1"><title>t</title>'
        page.set_content(head + '<div style="width:600px">宽</div>')
        page.set_viewport_size(PHONE)
        assert page.evaluate(PAGE_FACTS_JS)["scrollWidth"] > PHONE["width"] + 1
        page.set_content(
            head
            + '<div style="overflow-x:auto"><table style="width:600px"><tr><td>宽</td></tr></table></div>'
        )
        assert page.evaluate(PAGE_FACTS_JS)["scrollWidth"] <= PHONE["width"] + 1
    finally:
        context.close()
