"""Interop with the npm ``ocpp-rpc`` client in strict mode (schema-validated both ways).

``tests/interop/node/station.js`` boots against a Kilowatt server, answers the CSMS's remote
start, and reports a CallError raised by a Kilowatt handler. Needs Node.js; the npm packages
are installed by ``make setup`` (``npm install --prefix tests/interop/node``), or here if missing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kilowatt.ocpp import v16, v201
from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import HandshakeRequest, StationPeer, after, on, serve_ocpp

NODE_DIR = Path(__file__).resolve().parent / "node"
NOW = "2024-05-01T12:00:00Z"
SAFETY = 60  # s, a safety net only
PASSWORD = "0123456789abcdef0123"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


@pytest.fixture(scope="module")
def node_modules() -> Path:
    modules = NODE_DIR / "node_modules" / "ocpp-rpc"
    if not modules.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed and tests/interop/node/node_modules is missing")
        subprocess.run(
            [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)],
            check=True,
            timeout=600,  # safety net only
        )
    return modules


class Csms(StationPeer):
    """Kilowatt CSMS: boot, heartbeat, remote start after boot, Authorize refused."""

    remote_start: Any = None

    @on("BootNotification")
    def boot(self, request: Any) -> Any:
        if self.version is OcppVersion.V16:
            return v16.BootNotificationResponse(
                status=v16.BootNotificationStatus.ACCEPTED, current_time=NOW, interval=60
            )
        return v201.BootNotificationResponse(
            status=v201.RegistrationStatus.ACCEPTED, current_time=NOW, interval=60
        )

    @on("Heartbeat")
    def heartbeat(self, request: Any) -> Any:
        if self.version is OcppVersion.V16:
            return v16.HeartbeatResponse(current_time=NOW)
        return v201.HeartbeatResponse(current_time=NOW)

    @after("Heartbeat")
    async def start(self, request: Any) -> None:
        if self.version is OcppVersion.V16:
            start: Any = v16.RemoteStartTransactionRequest(id_tag="TAG-1", connector_id=1)
        else:
            start = v201.RequestStartTransactionRequest(
                id_token=v201.IdToken(id_token="TAG-1", type=v201.AuthorizeIdToken.ISO14443),
                remote_start_id=42,
            )
        self.remote_start = await self.call(start)

    @on("Authorize")
    def authorize(self, request: Any) -> Any:
        raise CallError(ErrorCode.SECURITY_ERROR, "token blocked", {"tag": "BLOCKED"})


async def auth(request: HandshakeRequest) -> int | None:
    return None if request.password == PASSWORD else 401


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201], ids=lambda v: v.value)
async def test_ocpp_rpc_strict_station_against_kilowatt(
    node_modules: Path, version: OcppVersion
) -> None:
    async with (
        asyncio.timeout(SAFETY),
        serve_ocpp(Csms, "127.0.0.1", 0, versions=[version], auth=auth) as server,
    ):
        process = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_DIR / "station.js"),
            f"ws://127.0.0.1:{server.port}/ocpp",
            "NODE 1",
            version.subprotocol,
            PASSWORD,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        peers: list[Csms] = []

        async def remember() -> None:
            while "NODE 1" not in server.peers:
                await asyncio.sleep(0.01)
            peers.append(server.peers["NODE 1"])

        watcher = asyncio.create_task(remember())
        stdout, stderr = await process.communicate()
        watcher.cancel()
    events = {e["event"]: e for e in map(json.loads, stdout.decode().splitlines())}
    assert process.returncode == 0, (stdout.decode(), stderr.decode())
    assert events["connected"]["protocol"] == version.subprotocol
    assert events["boot"]["result"]["status"] == "Accepted"
    assert events["heartbeat"]["result"] == {"currentTime": NOW}
    params = events["remote-start"]["params"]
    assert params.get("idTag", params.get("idToken", {}).get("idToken")) == "TAG-1"
    assert events["authorize"]["error"] == "SecurityError"
    assert events["authorize"]["details"] == {"tag": "BLOCKED"}
    assert "closed" in events
    (peer,) = peers
    assert peer.remote_start is not None and peer.remote_start.status == "Accepted"


async def test_ocpp_rpc_with_a_wrong_password_gets_401(node_modules: Path) -> None:
    async with (
        asyncio.timeout(SAFETY),
        serve_ocpp(Csms, "127.0.0.1", 0, versions=[OcppVersion.V16], auth=auth) as server,
    ):
        process = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_DIR / "station.js"),
            f"ws://127.0.0.1:{server.port}/ocpp",
            "NODE-2",
            "ocpp1.6",
            "wrong-password-123",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, _ = await process.communicate()
    assert process.returncode == 1
    events = {e["event"]: e for e in map(json.loads, stdout.decode().splitlines())}
    assert events["failed"]["httpStatus"] == 401, stdout.decode()
    assert server.connections == {}
