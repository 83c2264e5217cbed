"""The interactive API docs, served offline: Swagger UI at ``/docs``, ReDoc at ``/redoc``.

FastAPI's own docs pages load Swagger UI and ReDoc from a CDN, so they stay blank on a site
without Internet access. These pages load every script, style sheet and icon from
:data:`DOCS_ASSETS` on this server instead: the files shipped in the PyPI package
``fastapi-offline`` (Swagger UI 5, which renders the OpenAPI 3.1 document FastAPI emits, and
ReDoc 2), served from the installed package, never copied into the repository.

The pages and ``/openapi.json`` need no API key; the operations they describe do (the
Authorize button of ``/docs`` takes the key, see :class:`~kilowatt.api.security.BearerAuth`).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["DOCS_ASSETS", "DOCS_URL", "REDOC_URL", "assets_directory", "install_docs"]

DOCS_URL = "/docs"
"""Swagger UI: every operation, with Authorize and "Try it out"."""
REDOC_URL = "/redoc"
"""ReDoc: the same document as a read-only reference."""
DOCS_ASSETS = "/docs/assets"
"""Where both pages load their scripts, styles and icon (the files of ``fastapi-offline``)."""

ASSETS_PACKAGE = "fastapi_offline"
"""The installed package whose ``static`` directory :data:`DOCS_ASSETS` serves."""

# ReDoc's side menu shows a logo that it always fetches from cdn.redoc.ly (and hides when that
# fails). Allowing images from this server only stops the attempt before it leaves the browser.
REDOC_CSP = "img-src 'self' data:"


def assets_directory() -> Path:
    """The directory of the installed docs assets (Swagger UI, ReDoc, the icon).

    Raises:
        RuntimeError: the ``fastapi-offline`` package is not installed (or has no assets).
    """
    try:
        root = importlib.resources.files(ASSETS_PACKAGE)
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "the API docs need the fastapi-offline package (pip install fastapi-offline)"
        ) from exc
    directory = Path(str(root / "static"))
    if not (directory / "swagger-ui-bundle.js").is_file():
        raise RuntimeError(f"no Swagger UI files in {directory} (reinstall fastapi-offline)")
    return directory


def install_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/docs/oauth2-redirect``, ``/redoc`` and the assets to ``app``.

    ``app`` must be created with ``docs_url=None, redoc_url=None`` (FastAPI's CDN pages off);
    its ``openapi_url`` must be set.

    Raises:
        ValueError: ``app`` still serves FastAPI's own docs pages or has no OpenAPI document.
        RuntimeError: the ``fastapi-offline`` package (the assets) is not installed.
    """
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("create the app with docs_url=None and redoc_url=None")
    if app.openapi_url is None:
        raise ValueError("the docs pages need the app's OpenAPI document (openapi_url)")
    openapi_url = app.openapi_url
    redirect_url = f"{DOCS_URL}/oauth2-redirect"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets_directory()), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_CSP
        return page
