"""No silent security downgrade (issue 12 item 2), over real sockets against an in-process node.

- a password without a profile gives profile 1 (API and CLI); profile 0 with a password is
  refused; a station with a password never connects without it, also a profile-0 row with a
  password left by an older database;
- failed Basic-auth logins are throttled per identity and per remote address (HTTP 429 with
  ``Retry-After``, even for the right password) until the injected clock passes the block;
- an empty identity gets HTTP 400 before the upgrade;
- identities that break the identity rule can be listed and deleted with the CLI.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from kilowatt.app import Kilowatt
from kilowatt.csms.auth_throttle import AuthThrottle
from kilowatt.csms.passwords import hash_password
from kilowatt.storage import Database
from kilowatt.storage.sql import SqlRepositories
from kilowatt.transport import basic_auth_header

from .conftest import API_KEY, node_settings
from .test_identities import handshake_status

PASSWORD = "correct-horse-battery-staple"
KILOWATT = Path(sys.executable).parent / "kilowatt"


class Clock:
    """The throttle's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def node(tmp_path: Path, sqlite_url: str, clock: Clock) -> AsyncIterator[Kilowatt]:
    throttle = AuthThrottle(identity_failures=3, address_failures=6, max_delay=60, clock=clock)
    kilowatt = Kilowatt(
        node_settings(tmp_path, sqlite_url, registration="known"), throttle=throttle
    )
    await kilowatt.start()
    try:
        yield kilowatt
    finally:
        await kilowatt.stop()


def api(node: Kilowatt) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{node.http_port}/api/v1",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )


async def status(
    node: Kilowatt, identity: str, password: str | None = None, source: str = "127.0.0.1"
) -> tuple[int, str | None]:
    """The handshake's HTTP status (101 when upgraded) and its ``Retry-After``, from ``source``."""
    headers = None if password is None else {"Authorization": basic_auth_header(identity, password)}
    try:
        async with connect(
            f"ws://127.0.0.1:{node.ocpp_port}/ocpp/{identity}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=headers,
            local_addr=(source, 0),
        ):
            return 101, None
    except InvalidStatus as refused:
        return refused.response.status_code, refused.response.headers.get("Retry-After")


async def test_a_password_without_a_profile_gives_profile_1_and_is_required(
    node: Kilowatt,
) -> None:
    async with api(node) as client:
        created = await client.post("/stations", json={"id": "PW-ONLY", "password": PASSWORD})
        assert created.status_code == 201, created.text
        assert created.json()["security_profile"] == 1
        assert created.json()["has_password"] is True
        refused = await client.post(
            "/stations", json={"id": "PW-0", "security_profile": 0, "password": PASSWORD}
        )
        assert refused.status_code == 422
        assert (await client.get("/stations/PW-0")).status_code == 404
    assert await status(node, "PW-ONLY") == (401, None)
    assert await status(node, "PW-ONLY", "wrong-password-0123456") == (401, None)
    assert await status(node, "PW-ONLY", PASSWORD) == (101, None)


async def test_patch_applies_the_same_rule(node: Kilowatt) -> None:
    async with api(node) as client:
        assert (await client.post("/stations", json={"id": "P0"})).json()["security_profile"] == 0
        assert await status(node, "P0") == (101, None)
        patched = await client.patch("/stations/P0", json={"password": PASSWORD})
        assert patched.status_code == 200, patched.text
        assert patched.json()["security_profile"] == 1
        assert await status(node, "P0") == (401, None)
        both = await client.patch(
            "/stations/P0", json={"security_profile": 0, "password": PASSWORD}
        )
        assert both.status_code == 422
        # Profile 0 alone turns authentication off, visibly: the password is gone.
        off = await client.patch("/stations/P0", json={"security_profile": 0})
        assert off.json()["security_profile"] == 0 and off.json()["has_password"] is False
    assert await status(node, "P0") == (101, None)


async def test_a_legacy_profile_0_row_with_a_password_needs_the_password(node: Kilowatt) -> None:
    now = datetime.now(UTC)
    await SqlRepositories(node.db).stations.insert(
        {
            "id": "LEGACY",
            "connected": False,
            "security_profile": 0,
            "password_hash": await asyncio.to_thread(hash_password, PASSWORD),
            "created_at": now,
            "updated_at": now,
        }
    )
    assert await status(node, "LEGACY") == (401, None)
    assert await status(node, "LEGACY", PASSWORD) == (101, None)
    async with api(node) as client:
        shown = (await client.get("/stations/LEGACY")).json()
    assert shown["security_profile"] == 1 and shown["has_password"] is True


async def test_failed_logins_are_throttled_per_identity(node: Kilowatt, clock: Clock) -> None:
    async with api(node) as client:
        for identity in ("VICTIM", "NEIGHBOUR"):
            answer = await client.post("/stations", json={"id": identity, "password": PASSWORD})
            assert answer.status_code == 201
    for _ in range(3):
        assert await status(node, "VICTIM", "wrong-password-0123456") == (401, None)
    # Blocked for 1 s: even the right password is not checked.
    assert await status(node, "VICTIM", PASSWORD) == (429, "1")
    # Another identity from the same address is not affected.
    assert await status(node, "NEIGHBOUR", PASSWORD, source="127.0.0.1") == (101, None)
    clock.now += 1.0
    assert await status(node, "VICTIM", "wrong-password-0123456") == (401, None)
    assert await status(node, "VICTIM", PASSWORD) == (429, "2")
    clock.now += 2.0
    assert await status(node, "VICTIM", PASSWORD) == (101, None)
    # The success forgot the identity's failures: one more failure does not block it.
    assert await status(node, "VICTIM", "wrong-password-0123456") == (401, None)
    assert await status(node, "VICTIM", PASSWORD) == (101, None)


async def test_failed_logins_are_throttled_per_address(
    node: Kilowatt, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    identities = [f"SITE-{n}" for n in range(7)]
    async with api(node) as client:
        for identity in identities:
            answer = await client.post("/stations", json={"id": identity, "password": PASSWORD})
            assert answer.status_code == 201
    with caplog.at_level(logging.WARNING, logger="kilowatt.auth"):
        for identity in identities[:6]:  # two failures per identity stays under its limit
            for _ in range(2 if identity in identities[:3] else 0):
                assert await status(node, identity, "x" * 16, source="127.0.0.2") == (401, None)
    assert sum("127.0.0.2" in r.getMessage() for r in caplog.records) == 6
    # The address 127.0.0.2 is past its 6 failures: a fresh identity is throttled from it...
    assert await status(node, identities[6], PASSWORD, source="127.0.0.2") == (429, "1")
    # ...but not from another address.
    assert await status(node, identities[6], PASSWORD, source="127.0.0.3") == (101, None)
    clock.now += 1.0
    assert await status(node, identities[6], PASSWORD, source="127.0.0.2") == (101, None)


async def test_an_empty_identity_gets_400(node: Kilowatt) -> None:
    assert node.ocpp_port is not None
    for subprotocol in ("ocpp1.6", "ocpp2.0.1"):
        assert await handshake_status(node.ocpp_port, "", subprotocol) == 400
    # ws://host:9000/ : no path segment at all.
    reader, writer = await asyncio.open_connection("127.0.0.1", node.ocpp_port)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    writer.write(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    line = await reader.readline()
    writer.close()
    assert line.split()[1] == b"400"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILOWATT_")}
    return subprocess.run(
        [str(KILOWATT), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


async def test_invalid_identities_are_listed_warned_about_and_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    url = f"sqlite+aiosqlite:///{data_dir / 'kilowatt.db'}"
    data_dir.mkdir()
    db = Database(url)
    await db.migrate()
    now = datetime.now(UTC)
    stations = SqlRepositories(db).stations
    for identity in ("a/b", "CP:1", "..", "a\nb", "GOOD-1"):
        row = {"id": identity, "connected": False, "security_profile": 0}
        await stations.insert({**row, "created_at": now, "updated_at": now})
    await db.close()

    node = Kilowatt(node_settings(tmp_path, url))
    with caplog.at_level(logging.WARNING, logger="kilowatt.app"):
        await node.start()
        await node.stop()
    assert any(
        "4 station(s)" in r.getMessage() and "kilowatt stations invalid" in r.getMessage()
        for r in caplog.records
    )

    listed = await asyncio.to_thread(_cli, "stations", "invalid", "--data-dir", str(data_dir))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert {line.split("\t")[0] for line in lines[:-1]} == {
        repr(i) for i in ("a/b", "CP:1", "..", "a\nb")
    }
    assert lines[-1].startswith("4 ")
    deleted = await asyncio.to_thread(
        _cli, "stations", "invalid", "--delete", "--data-dir", str(data_dir)
    )
    assert deleted.returncode == 0, deleted.stderr
    again = await asyncio.to_thread(_cli, "stations", "invalid", "--data-dir", str(data_dir))
    assert again.stdout.splitlines() == ["0 station(s) with an invalid identity found"]

    db = Database(url)
    try:
        rows, total = await SqlRepositories(db).stations.page(limit=10, offset=0)
    finally:
        await db.close()
    assert total == 1 and rows[0]["id"] == "GOOD-1"


@pytest.mark.parametrize(
    ("args", "code", "profile"),
    [
        (["--password", PASSWORD], 0, 1),
        ([], 0, 0),
        (["--password", PASSWORD, "--profile", "2"], 0, 2),
        (["--password", PASSWORD, "--profile", "0"], 1, None),
    ],
)
def test_cli_register_applies_the_same_rule(
    tmp_path: Path, args: list[str], code: int, profile: int | None
) -> None:
    result = _cli("stations", "register", "CP-9", *args, "--data-dir", str(tmp_path))
    assert result.returncode == code, result.stderr
    if profile is None:
        assert "security profile 1 or 2" in result.stderr
    else:
        assert f"(security profile {profile})" in result.stdout
