"""The API reference at `/docs` (Swagger UI) and `/redoc` (ReDoc), served from the vendored copies in
`web/static/vendor/` so they work on a closed network: FastAPI's defaults load both from a CDN (and
ReDoc its fonts from Google), which leaves the pages blank offline."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from yiwang.web.templating import static_url

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def install_api_docs(app: FastAPI) -> None:
    """Add /docs, /docs/oauth2-redirect and /redoc; the app must be made with `docs_url=None,
    redoc_url=None` so FastAPI does not add its CDN-backed ones."""
    title = app.title

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} · 接口文档",
            swagger_js_url=static_url("vendor/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=static_url("vendor/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=static_url("vendor/swagger-ui/favicon-32x32.png"),
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            # No badge from validator.swagger.io: the network may be closed, and the spec is ours.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} · 接口文档",
            redoc_js_url=static_url("vendor/redoc/redoc.standalone.js"),
            redoc_favicon_url=static_url("vendor/swagger-ui/favicon-32x32.png"),
            with_google_fonts=False,
        )
