"""Hostile station identities over real sockets (issue 12, item 3).

Each is refused with HTTP 400 before the WebSocket upgrade, also under open registration, and
leaves no station row; the API answers 422 and ``kilowatt stations register`` exits 2.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kilowatt.app import Kilowatt
from kilowatt.csms.identity import check_identity
from kilowatt.ocpp import v16
from kilowatt.transport import StationClient, connect_ocpp

from .conftest import API_KEY, node_settings

HOSTILE = {  # path segment as sent -> the identity it decodes to
    "a%2Fb": "a/b",
    "CP:1": "CP:1",
    "..": "..",
    ".": ".",
    "a%00b": "a\x00b",
    "a%0Ab": "a\nb",
    "x" * 49: "x" * 49,
}
KILOWATT = Path(sys.executable).parent / "kilowatt"


@pytest.fixture
async def open_node(tmp_path: Path, sqlite_url: str) -> AsyncIterator[Kilowatt]:
    node = Kilowatt(node_settings(tmp_path, sqlite_url, registration="open"))
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


async def handshake_status(port: int, segment: str, subprotocol: str) -> int:
    """Send a raw WebSocket opening handshake for ``/ocpp/<segment>``; return the HTTP status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ocpp/{segment} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {subprotocol}\r\n\r\n"
    )
    try:
        writer.write(request.encode("ascii"))
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    return int(status_line.split()[1])


def api(node: Kilowatt) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{node.http_port}/api/v1",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_hostile_identities_are_refused_before_the_upgrade(
    open_node: Kilowatt, subprotocol: str
) -> None:
    assert open_node.ocpp_port is not None
    for segment in HOSTILE:
        status = await handshake_status(open_node.ocpp_port, segment, subprotocol)
        assert status == 400, segment
    # An empty identity has no path segment at all: refused before the hook (no resource).
    assert await handshake_status(open_node.ocpp_port, "", subprotocol) in (400, 404)
    async with api(open_node) as client:
        listing = (await client.get("/stations")).json()
    assert listing["total"] == 0


async def test_a_valid_identity_still_connects(open_node: Kilowatt) -> None:
    identity = "CP-001_a.b~"
    url = f"ws://127.0.0.1:{open_node.ocpp_port}/ocpp"
    async with connect_ocpp(url, identity, StationClient) as cp:
        answer = await cp.call(v16.HeartbeatRequest())
    assert answer.current_time
    async with api(open_node) as client:
        station = await client.get(f"/stations/{identity}")
    assert station.status_code == 200
    assert station.json()["id"] == identity


async def test_the_api_answers_422_for_hostile_identities(open_node: Kilowatt) -> None:
    async with api(open_node) as client:
        for identity in [*HOSTILE.values(), ""]:
            answer = await client.post("/stations", json={"id": identity})
            assert answer.status_code == 422, repr(identity)
            reason = check_identity(identity)
            if reason is not None and 1 <= len(identity) <= 48:
                assert answer.json()["detail"] == reason
        listing = (await client.get("/stations")).json()
        ok = await client.post("/stations", json={"id": "CP-001_a.b~"})
    assert listing["total"] == 0
    assert ok.status_code == 201


# A NUL cannot be passed in argv at all (the OS refuses it), so the CLI never sees one.
@pytest.mark.parametrize("identity", [i for i in [*HOSTILE.values(), ""] if "\x00" not in i])
def test_the_cli_exits_2_for_hostile_identities(identity: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILOWATT_")}
    result = subprocess.run(
        [str(KILOWATT), "stations", "register", identity, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert f"error: {check_identity(identity)}" in result.stderr
    assert not (tmp_path / "kilowatt.db").exists()
