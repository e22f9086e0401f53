"""Shared page layout and static assets (DESIGN §2 `web/`).

Render a page::

    from yiwang.web import page_context, templates

    @router.get("/licences", response_class=HTMLResponse)
    def wallet(request: Request):
        return templates().TemplateResponse(
            request, "licenses/wallet.html", page_context(request, licences=rows)
        )

with `licenses/wallet.html` starting `{% extends "base.html" %}`. The app factory includes `router`
(the large-text preference) and calls `mount_static(app)`.
"""

from yiwang.web.pages import mount_static, page_context, router, safe_next
from yiwang.web.templating import static_url, templates

__all__ = ["mount_static", "page_context", "router", "safe_next", "static_url", "templates"]
