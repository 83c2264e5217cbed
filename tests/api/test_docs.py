"""The interactive docs over plain HTTP: a bearer scheme in the OpenAPI document, pages and
assets served by Kilowatt itself (no URL outside the server), and our own 401 answers.

The browser half (the pages render offline, Authorize then "Try it out") is
``tests/e2e/test_api_docs_browser.py``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from kilowatt.api.docs import DOCS_ASSETS
from kilowatt.api.security import SCHEME_NAME

from .conftest import API_KEY

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


class _References(HTMLParser):
    """Every ``src``/``href`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The docs do not depend on the database: SQLite only."""
    return sqlite_url


@pytest.fixture
async def bare(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The same app without the API key (what a browser sends before Authorize)."""
    return httpx.AsyncClient(transport=client._transport, base_url="http://test")


async def test_openapi_declares_the_bearer_scheme_on_every_api_operation(
    bare: httpx.AsyncClient,
) -> None:
    async with bare:
        response = await bare.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    scheme = document["components"]["securitySchemes"][SCHEME_NAME]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operations) > 20
    for path, method, operation in operations:
        assert path.startswith("/api/v1/"), path
        assert operation.get("security") == [{SCHEME_NAME: []}], (method, path)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_every_asset_from_the_server(
    bare: httpx.AsyncClient, page: str
) -> None:
    async with bare:
        response = await bare.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        # No absolute URL at all: no CDN, no font service, no other host.
        assert not re.search(r"(?:https?:)?//[a-z0-9]", html, re.IGNORECASE), html
        urls = references(html)
        assert urls and all(url.startswith(f"{DOCS_ASSETS}/") for url in urls), urls
        assert "/openapi.json" in html
        for url in urls:
            asset = await bare.get(url)
            assert asset.status_code == 200, url
            assert asset.content, url
        scripts = re.findall(r'<script src="([^"]+)"', html)
        assert scripts, html
        for url in scripts:
            assert (await bare.get(url)).headers["content-type"].startswith("text/javascript")


async def test_redoc_may_load_images_from_the_server_only(bare: httpx.AsyncClient) -> None:
    # ReDoc's bundle fetches a logo from its vendor's CDN; the policy stops that in the browser.
    async with bare:
        policy = (await bare.get("/redoc")).headers["content-security-policy"]
    assert "img-src 'self' data:" in policy


async def test_docs_need_no_key_but_the_api_does(bare: httpx.AsyncClient) -> None:
    async with bare:
        for path in ("/docs", "/redoc", "/openapi.json", f"{DOCS_ASSETS}/swagger-ui.css"):
            assert (await bare.get(path)).status_code == 200, path
        assert (await bare.get("/api/v1/stations")).status_code == 401
        authorized = await bare.get(
            "/api/v1/stations", headers={"Authorization": f"Bearer {API_KEY}"}
        )
        assert authorized.status_code == 200


async def test_unknown_asset_is_404(bare: httpx.AsyncClient) -> None:
    async with bare:
        assert (await bare.get(f"{DOCS_ASSETS}/no-such-file.js")).status_code == 404


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing Authorization header (expected 'Bearer <api key>')"),
        ({"Authorization": ""}, "Authorization header must be 'Bearer <api key>'"),
        ({"Authorization": "Bearer"}, "Authorization header must be 'Bearer <api key>'"),
        ({"Authorization": "Bearer   "}, "Authorization header must be 'Bearer <api key>'"),
        ({"Authorization": "Basic a2V5"}, "Authorization header must be 'Bearer <api key>'"),
        ({"Authorization": API_KEY}, "Authorization header must be 'Bearer <api key>'"),
        ({"Authorization": "Bearer wrong"}, "invalid API key"),
        ({"Authorization": f"Bearer {API_KEY}x"}, "invalid API key"),
    ],
)
async def test_bearer_scheme_answers_with_our_401_messages(
    bare: httpx.AsyncClient, headers: dict[str, str], detail: str
) -> None:
    async with bare:
        response = await bare.get("/api/v1/stations", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize("value", [f"Bearer {API_KEY}", f"bearer {API_KEY}", f"Bearer {API_KEY} "])
async def test_bearer_scheme_accepts_the_key(bare: httpx.AsyncClient, value: str) -> None:
    async with bare:
        response = await bare.get("/api/v1/stations", headers={"Authorization": value})
    assert response.status_code == 200, response.text
