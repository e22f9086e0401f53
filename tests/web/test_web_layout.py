"""The shared layout, its filters, the large-text preference and the static files."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

import yiwang
from yiwang.core.errors import Invalid
from yiwang.core.security import ANONYMOUS
from yiwang.web import mount_static, page_context, router, safe_next, static_url, templates
from yiwang.web.templating import (
    STATIC_DIR,
    WEB_TEMPLATES_DIR,
    build_environment,
    cn_date,
    cn_datetime,
    error_list,
    iso_local,
    mask_id,
    template_dirs,
    yuan,
)

NAV = [
    {"href": "/", "label": "首页", "current": False},
    {"href": "/services", "label": "办事服务", "current": True},
    {"href": "/me/cases", "label": "我的办件", "current": False},
]

FORM_PAGE = """{% extends "base.html" %}
{% import "macros.html" as ui %}
{% block content %}
<h1>填写联系方式</h1>
<form method="post" novalidate>
  {{ ui.text_input("phone", "手机号码", value=phone, hint="用于接收办理进度短信", errors=errors,
                   type="tel", width=11, autocomplete="tel") }}
  {{ ui.choices("delivery", "领取方式", [("post", "邮寄"), ("window", "窗口领取")], value="post",
                errors=errors) }}
  {{ ui.summary_list([{"key": "姓名", "value": "张三", "href": "/apply/name", "provenance": "市公安局 人口库",
                       "at": at}]) }}
  {{ ui.tag("已受理", "green") }}
  <button class="btn">继续</button>
</form>
{% endblock %}
"""


def build_app() -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    mount_static(app)

    @app.get("/page", response_class=HTMLResponse)
    def page(request: Request, signed_in: int = 0, wide: int = 0, name: str = "张三"):
        if signed_in:
            request.state.page_user = SimpleNamespace(name=name, kind_label="自然人")
            request.state.csrf_token = "tok-123"
        extra = {"nav": NAV, "page_title": "办事服务"}
        if wide:
            extra["body_class"] = "wide"
        return templates().TemplateResponse(request, "base.html", page_context(request, **extra))

    @app.get("/form", response_class=HTMLResponse)
    def form(request: Request, problem: int = 0):
        errors = (
            Invalid.on("phone", "请输入正确的手机号码")
            if problem
            else {"phone": "请输入正确的手机号码", "delivery": "请选择领取方式"}
        )
        ctx = page_context(request, errors=errors, phone="1380013", at=datetime(2026, 11, 20, 2, tzinfo=UTC))
        html = templates().env.from_string(FORM_PAGE).render(ctx)
        return HTMLResponse(html, status_code=422)

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_app())


class Tags(HTMLParser):
    """Start tags with their attributes, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def first(self, tag: str, **attrs: str) -> dict[str, str]:
        found = self.find(tag, **attrs)
        assert found, f"no <{tag} {attrs}>"
        return found[0]


def body_classes(html: str) -> list[str]:
    return Tags(html).first("body").get("class", "").split()


# ------------------------------------------------------------------ the layout


def test_page_is_zh_cn_with_skip_link_and_landmarks(client):
    r = client.get("/page")
    assert r.status_code == 200
    html = r.text
    assert html.lstrip().startswith("<!DOCTYPE html>")
    tags = Tags(html)
    assert tags.first("html")["lang"] == "zh-CN"
    skip = tags.first("a", **{"class": "skip-link"})
    assert skip["href"] == "#main"
    assert ">跳到主要内容</a>" in html
    # the skip link comes first in the body, before the header
    assert html.index("skip-link") < html.index("<header")
    assert tags.first("main")["id"] == "main"
    assert tags.find("header") and tags.find("footer")
    assert tags.first("nav")["aria-label"]
    assert "一网 · 数字政府服务平台" in html
    assert "<title>办事服务 - 一网 · 数字政府服务平台</title>" in html
    assert tags.first("meta", name="viewport")


def test_nav_marks_the_current_page(client):
    tags = Tags(client.get("/page").text)
    # The current section is marked "page" on its own page and "true" on the pages under it.
    current = [a for a in tags.find("a") if a.get("aria-current") in ("page", "true")]
    assert [a["href"] for a in current] == ["/services"]
    hrefs = [a["href"] for a in tags.find("a")]
    assert "/me/cases" in hrefs


def test_anonymous_visitor_sees_a_login_link(client):
    html = client.get("/page").text
    assert ">登录</a>" in html
    assert "退出" not in html
    assert 'action="/logout"' not in html


def test_signed_in_user_sees_name_profile_and_logout_form_with_csrf(client):
    html = client.get("/page", params={"signed_in": 1}).text
    tags = Tags(html)
    assert "张三" in html and "自然人" in html
    assert "个人中心" in html
    assert ">登录</a>" not in html
    form = tags.first("form", action="/logout")
    assert form["method"] == "post"
    hidden = tags.first("input", name="csrf_token")
    assert hidden["type"] == "hidden" and hidden["value"] == "tok-123"
    # htmx requests carry the token too
    assert '"X-CSRF-Token": "tok-123"' in tags.first("body")["hx-headers"]


def test_user_name_is_escaped(client):
    html = client.get("/page", params={"signed_in": 1, "name": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_anonymous_actor_counts_as_no_user():
    app = FastAPI()

    @app.get("/")
    def home(request: Request):
        request.state.page_user = ANONYMOUS
        ctx = page_context(request)
        return {"user": ctx["user"], "nav": ctx["nav"], "csrf": ctx["csrf_token"], "large": ctx["large_text"]}

    assert TestClient(app).get("/").json() == {"user": None, "nav": [], "csrf": "", "large": False}


def test_page_context_extra_overrides_defaults(client):
    app = FastAPI()

    @app.get("/x")
    def x(request: Request):
        request.state.nav = NAV
        ctx = page_context(request, nav=[], foo=1)
        return {"nav": ctx["nav"], "foo": ctx["foo"], "path": ctx["current_path"]}

    assert TestClient(app).get("/x?a=1").json() == {"nav": [], "foo": 1, "path": "/x?a=1"}


def test_wide_body_class_for_staff_pages(client):
    assert "wide" in body_classes(client.get("/page", params={"wide": 1}).text)
    assert "wide" not in body_classes(client.get("/page").text)


# ------------------------------------------------------------------ large-text mode


def test_large_text_toggle_works_without_javascript(client):
    html = client.get("/page?x=1").text
    assert "large-text" not in body_classes(html)
    tags = Tags(html)
    form = tags.first("form", action="/prefs/large-text")
    assert form["method"] == "get"
    assert tags.first("input", name="on")["value"] == "1"
    assert tags.first("input", name="next")["value"] == "/page?x=1"
    assert "大字模式" in html

    r = client.get("/prefs/large-text", params={"on": 1, "next": "/page?x=1"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/page?x=1"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("yiwang_large=1")
    assert "Max-Age=31536000" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Path=/" in cookie

    html = client.get("/page").text
    assert "large-text" in body_classes(html)
    assert "large-text" in Tags(html).first("html").get("class", "")
    assert Tags(html).first("input", name="on")["value"] == "0"
    assert "关闭大字模式" in html

    r = client.get("/prefs/large-text", params={"on": 0, "next": "/page"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/page"
    assert "Max-Age=0" in r.headers["set-cookie"] or "expires=" in r.headers["set-cookie"].lower()
    assert "large-text" not in body_classes(client.get("/page").text)


def test_large_text_cookie_keeps_wide_class(client):
    client.cookies.set("yiwang_large", "1")
    classes = body_classes(client.get("/page", params={"wide": 1}).text)
    assert "large-text" in classes and "wide" in classes


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "///evil.example",
        "http://evil.example/",
        "https://evil.example/page",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "page",
        "",
    ],
)
def test_no_open_redirects(client, target):
    r = client.get("/prefs/large-text", params={"on": 1, "next": target}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_local_next_is_kept_with_its_query(client):
    r = client.get(
        "/prefs/large-text", params={"on": 1, "next": "/services?q=出生&page=2"}, follow_redirects=False
    )
    assert unquote(r.headers["location"]) == "/services?q=出生&page=2"


def test_missing_next_goes_home(client):
    r = client.get("/prefs/large-text?on=1", follow_redirects=False)
    assert r.headers["location"] == "/"


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/a/b", "/a/b"), ("/", "/"), ("//x", "/"), ("/a\\b", "/"), (None, "/"), ("https:/x", "/")],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


# ------------------------------------------------------------------ static files


def test_static_urls_carry_a_content_hash_and_are_served(client):
    url = static_url("css/yiwang.css")
    assert re.fullmatch(r"/static/css/yiwang\.css\?v=[0-9a-f]{10}", url)
    assert static_url("/css/yiwang.css") == url  # computed once, leading slash tolerated
    html = client.get("/page").text
    assert f'href="{url}"' in html
    htmx = static_url("vendor/htmx/htmx.min.js")
    script = Tags(html).first("script", src=htmx)
    assert "defer" in script

    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/css")
    assert "immutable" in r.headers["cache-control"]
    assert ".large-text" in r.text

    r = client.get("/static/css/yiwang.css")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    assert client.get(htmx).status_code == 200
    assert client.get("/static/nope.css").status_code == 404


def test_static_url_refuses_missing_files_and_escapes():
    with pytest.raises(FileNotFoundError):
        static_url("css/missing.css")
    with pytest.raises(FileNotFoundError):
        static_url("../templating.py")


def test_vendored_htmx_and_echarts_are_present():
    htmx = STATIC_DIR / "vendor/htmx/htmx.min.js"
    assert htmx.stat().st_size > 30_000
    text = htmx.read_text(encoding="utf-8")
    assert "htmx" in text and re.search(r'version:"2\.0\.\d+"', text)
    assert (STATIC_DIR / "vendor/htmx/LICENSE").is_file()
    echarts = STATIC_DIR / "vendor/echarts/echarts.min.js"
    assert echarts.stat().st_size > 500_000
    assert (STATIC_DIR / "vendor/echarts/LICENSE").is_file()
    versions = (STATIC_DIR / "vendor/VERSIONS.txt").read_text(encoding="utf-8")
    assert re.search(r"^htmx\.org 2\.0\.\d+ [0-9a-f]{64}$", versions, re.M)
    assert re.search(r"^echarts 6\.\d+\.\d+ [0-9a-f]{64}$", versions, re.M)


# ------------------------------------------------------------------ filters


def test_cn_date_uses_shanghai_time():
    late_utc = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)  # already 21 Nov 01:30 in Shanghai
    assert cn_date(late_utc) == "2026年11月21日"
    assert cn_date(date(2026, 3, 5)) == "2026年3月5日"
    assert cn_date(datetime(2026, 11, 20, 17, 30)) == "2026年11月21日"  # naive = stored UTC
    assert cn_date(None) == ""
    env = templates().env
    assert env.from_string("{{ d|cn_date }}").render(d=late_utc) == "2026年11月21日"


def test_cn_datetime_and_iso_local():
    at = datetime(2026, 11, 21, 6, 5, tzinfo=UTC)
    assert cn_datetime(at) == "2026年11月21日 14:05"
    assert (
        cn_datetime(datetime(2026, 11, 21, 14, 5, tzinfo=timezone(timedelta(hours=8))))
        == "2026年11月21日 14:05"
    )
    assert cn_datetime(date(2026, 11, 21)) == "2026年11月21日"
    assert iso_local(datetime(2026, 11, 20, 17, 30, tzinfo=UTC)) == "2026-11-21T01:30:00+08:00"
    assert iso_local(date(2026, 11, 21)) == "2026-11-21"
    env = templates().env
    assert env.from_string("{{ d|cn_datetime }}|{{ d|iso_local }}").render(d=at) == (
        "2026年11月21日 14:05|2026-11-21T14:05:00+08:00"
    )


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (123450, "1,234.50 元"),
        (-123450, "-1,234.50 元"),
        (0, "0.00 元"),
        (5, "0.05 元"),
        (-5, "-0.05 元"),
        (100, "1.00 元"),
        (123456789012, "1,234,567,890.12 元"),
    ],
)
def test_yuan(fen, text):
    assert yuan(fen) == text
    assert templates().env.from_string("{{ v|yuan }}").render(v=fen) == text


def test_yuan_refuses_floats():
    with pytest.raises(TypeError):
        yuan(12.5)
    with pytest.raises(TypeError):
        yuan(True)
    assert yuan(None) == ""


def test_mask_id():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_id("91350100M000100Y43") == "913501********0Y43"
    assert mask_id("1234") == "****"
    assert mask_id(None) == ""
    assert (
        templates().env.from_string("{{ v|mask_id }}").render(v="11010519491231002X") == "110105********002X"
    )


def test_globals():
    env = templates().env
    assert env.globals["app_name"] == "一网"
    assert env.from_string("{{ static_url('css/yiwang.css') }}").render() == static_url("css/yiwang.css")
    assert templates() is templates()  # cached
    assert env.autoescape is not False
    assert env.from_string("{{ v }}").render(v="<b>") == "&lt;b&gt;"


# ------------------------------------------------------------------ errors and macros


def test_error_summary_links_to_fields_and_repeats_the_message_inline(client):
    r = client.get("/form")
    html = r.text
    tags = Tags(html)
    assert "<title>错误：" in html
    summary = tags.first("div", **{"class": "error-summary"})
    assert summary["role"] == "alert"
    links = [a["href"] for a in tags.find("a") if a.get("href", "").startswith("#") and a["href"] != "#main"]
    assert links == ["#phone", "#delivery"]
    # the message again beside the field, and the field points at it
    assert 'id="phone-error"' in html
    field = tags.first("input", id="phone")
    assert field["aria-invalid"] == "true"
    assert field["aria-describedby"] == "phone-hint phone-error"
    assert field["value"] == "1380013"  # never lose what the person typed
    assert "form-group-error" in html
    # the first radio takes the field's id so the summary link lands on it
    radio = tags.first("input", id="delivery")
    assert radio["type"] == "radio" and radio["value"] == "post" and "checked" in radio
    assert html.count("请输入正确的手机号码") == 2
    # summary list with provenance and a change link that names what it changes
    assert "来自 市公安局 人口库，2026年11月20日" in html
    assert '<a href="/apply/name">修改<span class="visually-hidden">姓名</span></a>' in html
    assert '<strong class="tag tag-green">已受理</strong>' in html


def test_error_summary_accepts_a_problem(client):
    html = client.get("/form", params={"problem": 1}).text
    tags = Tags(html)
    assert tags.first("a", href="#phone")
    assert 'id="delivery-error"' not in html


def test_error_list_normalises_every_shape():
    expected = [{"field": "phone", "message": "必填"}]
    assert error_list({"phone": "必填"}) == expected
    assert error_list([{"field": "phone", "message": "必填"}]) == expected
    assert error_list([("phone", "必填")]) == expected
    assert error_list(Invalid.on("phone", "必填")) == expected
    assert error_list(Invalid(detail="整体有误")) == [{"field": "", "message": "整体有误"}]
    assert error_list("出错了") == [{"field": "", "message": "出错了"}]
    assert error_list(None) == []


def test_no_error_summary_without_errors(client):
    html = client.get("/page").text
    assert "error-summary" not in html
    assert "<title>错误" not in html


# ------------------------------------------------------------------ template discovery


def test_template_dirs_find_every_module(tmp_path, monkeypatch):
    (tmp_path / "newmod" / "templates").mkdir(parents=True)
    (tmp_path / "nothing_here").mkdir()
    monkeypatch.setattr(yiwang, "__path__", [*yiwang.__path__, str(tmp_path)])
    dirs = template_dirs()
    assert dirs[0] == WEB_TEMPLATES_DIR
    assert tmp_path / "newmod" / "templates" in dirs
    assert all(d.name == "templates" for d in dirs)
    assert len(dirs) == len(set(dirs))
    src = Path(yiwang.__file__).parent
    for d in sorted(src.glob("*/templates")):
        assert d in dirs


def test_a_module_template_extends_the_layout(tmp_path, monkeypatch):
    page = tmp_path / "newmod" / "templates" / "newmod" / "done.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        """{% extends "base.html" %}
{% import "macros.html" as ui %}
{% block before_content %}{{ ui.back_link("/apply", "返回上一步") }}{% endblock %}
{% block content %}{% call ui.panel("申请已提交") %}办件编号<strong>{{ case_no }}</strong>{% endcall %}
{% endblock %}""",
        encoding="utf-8",
    )
    monkeypatch.setattr(yiwang, "__path__", [*yiwang.__path__, str(tmp_path)])
    env = build_environment()
    html = env.get_template("newmod/done.html").render(
        user=None, nav=[], large_text=False, current_path="/done", case_no="SQ-2026-000123"
    )
    assert '<a class="back-link" href="/apply">返回上一步</a>' in html
    assert html.index("back-link") < html.index('<main id="main"')
    assert '<h1 class="panel-title">申请已提交</h1>' in html
    assert "<strong>SQ-2026-000123</strong>" in html
    assert html.index("panel-title") > html.index('<main id="main"')


def test_no_empty_before_content_wrapper(client):
    assert "before-content" not in client.get("/page").text


def test_notices_always_carry_a_word_not_just_colour():
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):
        request.state.notices = [{"kind": "success", "text": "材料已保存"}, "请在 5 个工作日内补正"]
        return templates().TemplateResponse(request, "base.html", page_context(request))

    html = TestClient(app).get("/").text
    assert '<div class="notice notice-success" role="status">' in html
    assert '<strong class="notice-label">成功：</strong>材料已保存' in html
    assert '<strong class="notice-label">提示：</strong>请在 5 个工作日内补正' in html


# ------------------------------------------------------------------ the palette


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_palette_contrast_is_at_least_4_5():
    css = (STATIC_DIR / "css/yiwang.css").read_text(encoding="utf-8")
    var = dict(re.findall(r"--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})", css))
    assert var["accent"].lower() == "#1f4e9c" and var["seal"].lower() == "#c8161d"
    pairs = [
        ("ink", "paper"),
        ("accent", "paper"),
        ("accent-dark", "paper"),
        ("seal", "paper"),
        ("seal-dark", "paper"),
        ("secondary-text", "paper"),
        ("secondary-text", "light-bg"),
        ("link-visited", "paper"),
        ("accent", "light-bg"),
        ("ink", "light-bg"),
        ("focus-text", "focus"),
        ("paper", "success"),
    ]
    pairs += [(f"tag-{c}-text", f"tag-{c}-bg") for c in ("blue", "green", "yellow", "red", "grey", "purple")]
    for fg, bg in pairs:
        assert _contrast(var[fg], var[bg]) >= 4.5, (fg, bg)
    # sizes are in rem so large-text mode reflows; 20 px root in large-text mode, 1.7 line height
    assert "html.large-text" in css and "font-size: 125%" in css
    assert "line-height: 1.7" in css
    assert "Noto Sans CJK SC" in css and "Microsoft YaHei" in css
    px_sizes = re.findall(r"font-size:\s*\d+px", css)
    assert px_sizes == []
