"""The page kit every module's pages use (DESIGN §2 `web/`): layout, navigation, the registry of home
tiles and menus, forms, CSRF, problem rendering and the static assets. It sits just above the kernel:
it imports only `yiwang.core` (and settings), so any module may use it.

Render a page::

    from yiwang.web import redirect, render

    @router.get("/licences", response_class=HTMLResponse)
    def wallet(request: Request, session: SessionDep, actor: ActorDep):
        return render(request, "licenses/wallet.html", "我的证照", licences=rows)

with `licenses/wallet.html` starting `{% extends "base.html" %}` (citizen pages) or
`{% extends "staff_layout.html" %}` (workbenches). A module adds its sections, menu entries and home
tiles in its own `nav.py` (`yiwang.web.nav`); the app finds its routers and navigation by itself
(`yiwang.web.modules`). `docs/modules.md` walks through a whole module.
"""

from yiwang.web.csrf import CsrfFailed, checks_csrf_in_body, csrf_token, require_csrf, set_csrf_cookie
from yiwang.web.forms import (
    PAGE_SIZES,
    FormFields,
    bool_or_none,
    form_fields,
    int_or_none,
    one,
    page_count,
    page_errors,
    paging,
    parse,
    recoverable,
)
from yiwang.web.modules import route_exists
from yiwang.web.nav import MenuEntry, NavLink, PendingWork, Section, Tile, kinds, roles, signed_in
from yiwang.web.pages import mount_static, page_context, router, safe_next
from yiwang.web.problems import problem_response
from yiwang.web.render import redirect, render
from yiwang.web.templating import static_url, templates

__all__ = [
    "PAGE_SIZES",
    "CsrfFailed",
    "FormFields",
    "MenuEntry",
    "NavLink",
    "PendingWork",
    "Section",
    "Tile",
    "bool_or_none",
    "csrf_token",
    "form_fields",
    "int_or_none",
    "kinds",
    "mount_static",
    "one",
    "page_context",
    "page_count",
    "page_errors",
    "paging",
    "parse",
    "problem_response",
    "recoverable",
    "redirect",
    "render",
    "require_csrf",
    "checks_csrf_in_body",
    "roles",
    "route_exists",
    "router",
    "safe_next",
    "set_csrf_cookie",
    "signed_in",
    "static_url",
    "templates",
]
