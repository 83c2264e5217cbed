"""The interactive API docs in a real browser on an air-gapped machine.

A ``kilowatt serve`` process; Debian's Chromium driven by Playwright, allowed to reach loopback
only (every other request is aborted and recorded, and the tests assert there was none). The
``/docs`` page must render every operation, take the API key through Authorize, and "Try it out"
must then answer 200; ``/redoc`` must render too.

``KILOWATT_DOCS_SCREENSHOTS=1`` also writes ``docs/images/api-docs.png`` (the rendered ``/docs``
page, used by ``docs/howto/api.md``).

Skipped when ``/usr/bin/chromium`` is missing (``apt-get install chromium``; ``.ci/run``
installs it): Playwright's own browser download cannot work here.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, Request, Route, async_playwright, expect

from .support import API_KEY, SAFETY, Api, KilowattServer, unique

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SCREENSHOTS = os.environ.get("KILOWATT_DOCS_SCREENSHOTS") == "1"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "api-docs.png"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)",
)


def is_local(url: str) -> bool:
    """A URL the air-gapped browser may load: loopback, or no network at all (data:, blob:)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in LOOPBACK


@dataclass
class Traffic:
    """What the page asked for: every request, the ones that failed, the ones we aborted."""

    requested: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def outside(self) -> list[str]:
        """Requests for anything but loopback, whether or not they reached the network."""
        return [url for url in self.requested if not is_local(url)]


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KilowattServer]:
    """One ``kilowatt serve`` (SQLite) for the module: the docs do not depend on the backend."""
    server = KilowattServer(data_dir=tmp_path_factory.mktemp("kw-docs"), database_url=None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def offline_page() -> AsyncIterator[tuple[Page, Traffic]]:
    """A Chromium page that can reach loopback only, and the record of its traffic."""
    traffic = Traffic()

    async def only_loopback(route: Route, request: Request) -> None:
        if is_local(request.url):
            await route.continue_()
        else:
            traffic.blocked.append(request.url)
            await route.abort("internetdisconnected")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(viewport={"width": 1024, "height": 640})
            context.set_default_timeout(SAFETY * 1000)
            await context.route("**/*", only_loopback)
            page = await context.new_page()
            page.on("request", lambda request: traffic.requested.append(request.url))
            page.on("requestfailed", lambda request: traffic.failed.append(request.url))
            yield page, traffic
        finally:
            await browser.close()


def base_url(server: KilowattServer) -> str:
    return f"http://127.0.0.1:{server.http_port}"


async def operation_blocks(server: KilowattServer) -> int:
    """How many operation blocks Swagger UI shows: one per tag of each operation."""
    async with httpx.AsyncClient(base_url=base_url(server), timeout=SAFETY) as http:
        document = (await http.get("/openapi.json")).json()
    return sum(
        max(1, len(operation.get("tags", [])))
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    )


async def test_docs_render_offline_and_try_it_out_works_after_authorize(
    docs_server: KilowattServer, offline_page: tuple[Page, Traffic]
) -> None:
    page, traffic = offline_page
    station = unique("DOCS")
    async with Api(docs_server.api_url, API_KEY) as api:
        await api.json("POST", "/stations", expect=201, json={"id": station})
    sent_keys: list[str | None] = []
    page.on(
        "request",
        lambda request: (
            sent_keys.append(request.headers.get("authorization"))
            if urlsplit(request.url).path == "/api/v1/stations"
            else None
        ),
    )

    await page.goto(f"{base_url(docs_server)}/docs")
    list_stations = page.locator(
        '.opblock-get:has(.opblock-summary-path[data-path="/api/v1/stations"])'
    )
    await expect(list_stations).to_be_visible()
    await expect(page.locator(".opblock")).to_have_count(await operation_blocks(docs_server))
    if SCREENSHOTS:
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT))

    # Without the key, "Try it out" gets our 401.
    await list_stations.locator(".opblock-summary-control").click()
    await list_stations.locator("button.try-out__btn").click()
    await list_stations.locator("button.execute").click()
    live = list_stations.locator(".live-responses-table tr.response")
    status = live.locator("td.response-col_status")
    await expect(status).to_have_text(re.compile(r"^\s*401\b"))

    # Authorize with the API key, then the same operation answers 200 with our station.
    await page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux")
    await dialog.locator(".auth-container input").fill(API_KEY)
    await dialog.locator("button[type=submit]").click()
    await dialog.locator("button.btn-done").click()
    await expect(dialog).to_have_count(0)
    await list_stations.locator("button.execute").click()
    await expect(status).to_have_text(re.compile(r"^\s*200\b"))
    await expect(live.locator("td.response-col_description")).to_contain_text(station)
    assert sent_keys == [None, f"Bearer {API_KEY}"]

    assert traffic.blocked == [], "requests that tried to leave the machine"
    assert traffic.outside() == [], "requests for anything but loopback"
    assert traffic.failed == []


async def test_redoc_renders_offline(
    docs_server: KilowattServer, offline_page: tuple[Page, Traffic]
) -> None:
    page, traffic = offline_page
    await page.goto(f"{base_url(docs_server)}/redoc")
    await expect(page.get_by_role("heading", name="List stations")).to_be_visible()
    # Nothing reached the network; ReDoc's logo request from its CDN is stopped inside the
    # browser by the page's Content-Security-Policy (it then hides the logo).
    assert traffic.blocked == [], "requests that tried to leave the machine"
    assert set(traffic.outside()) <= set(traffic.failed)
    assert [url for url in traffic.failed if is_local(url)] == []
