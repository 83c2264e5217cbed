"""The npm ``ocpp-rpc`` client in strict mode (schema validation of every message both ways) as
a charging station against ``kilowatt serve``, OCPP 1.6 and 2.0.1: boot, status, authorize,
remote start, a session with meter values, reset/unlock/configuration through the API."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from .chargers import REGISTER
from .support import SAFETY, Api, KilowattServer, dec, eventually, now_iso, unique

SCRIPT = Path(__file__).resolve().parent / "node" / "station.js"
OCPP_RPC = SCRIPT.parents[2] / "interop" / "node" / "node_modules" / "ocpp-rpc"

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
    pytest.mark.skipif(
        not OCPP_RPC.exists(), reason="npm ocpp-rpc missing (make setup installs it)"
    ),
]


class NodeStation:
    """Drives ``node/station.js``: ``call`` sends a CALL, ``csms_calls`` what the CSMS sent."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.csms_calls: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.connected = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            event = json.loads(line)
            self.events.append(event)
            kind = event["event"]
            if kind == "connected" and not self.connected.done():
                self.connected.set_result(event["protocol"])
            elif kind == "csms-call":
                self.csms_calls.append(event)
            elif kind in ("result", "error"):
                self.pending.pop(event["id"]).set_result(event)
            elif kind == "failed":
                error = RuntimeError(event["message"])
                if not self.connected.done():
                    self.connected.set_exception(error)
                for future in self.pending.values():
                    future.set_exception(error)

    async def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        number = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[number] = future
        line = json.dumps({"id": number, "action": action, "params": params})
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()
        async with asyncio.timeout(SAFETY):
            event = await future
        assert event["event"] == "result", f"{action} {params}: {event}"
        return dict(event["result"])

    def got(self, action: str) -> list[dict[str, Any]]:
        return [c["params"] for c in self.csms_calls if c["action"] == action]


@contextlib.asynccontextmanager
async def node_station(
    server: KilowattServer, identity: str, protocol: str
) -> AsyncIterator[NodeStation]:
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        server.ocpp_url(identity),
        identity,
        protocol,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    station = NodeStation(proc)
    try:
        async with asyncio.timeout(SAFETY):
            assert await station.connected == protocol
        yield station
        assert proc.stdin is not None
        proc.stdin.write(b'{"op": "close"}\n')
        await proc.stdin.drain()
        async with asyncio.timeout(SAFETY):
            assert await proc.wait() == 0, station.events
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        with contextlib.suppress(BaseException):
            await station.reader


def _sample(value: int, v16: bool) -> list[dict[str, Any]]:
    sampled: dict[str, Any] = {"value": str(value) if v16 else value, "measurand": REGISTER}
    if v16:
        sampled["unit"] = "Wh"
    else:
        sampled["unitOfMeasure"] = {"unit": "Wh"}
    return [{"timestamp": now_iso(), "sampledValue": [sampled]}]


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_ocpp_rpc_strict_station(server: KilowattServer, api: Api, protocol: str) -> None:
    v16 = protocol == "ocpp1.6"
    identity, token = unique("NODE"), unique("NT")
    await api.put_token(token)
    base = f"/stations/{identity}"
    async with node_station(server, identity, protocol) as st:
        boot = await st.call(
            "BootNotification",
            {"chargePointVendor": "ocpp-rpc", "chargePointModel": "Strict"}
            if v16
            else {
                "chargingStation": {"vendorName": "ocpp-rpc", "model": "Strict"},
                "reason": "PowerUp",
            },
        )
        assert boot["status"] == "Accepted"
        await st.call("Heartbeat", {})
        if v16:
            await st.call(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
            )
            auth = await st.call("Authorize", {"idTag": token})
            assert auth["idTagInfo"]["status"] == "Accepted"
            unknown = await st.call("Authorize", {"idTag": "NOPE-" + token[-8:]})
            assert unknown["idTagInfo"]["status"] == "Invalid"
        else:
            await st.call(
                "StatusNotification",
                {
                    "timestamp": now_iso(),
                    "connectorStatus": "Available",
                    "evseId": 1,
                    "connectorId": 1,
                },
            )
            auth = await st.call("Authorize", {"idToken": {"idToken": token, "type": "ISO14443"}})
            assert auth["idTokenInfo"]["status"] == "Accepted"
            unknown = await st.call(
                "Authorize", {"idToken": {"idToken": "NOPE", "type": "ISO14443"}}
            )
            assert unknown["idTokenInfo"]["status"] in ("Unknown", "Invalid")

        station = await api.station(identity)
        assert station["connected"] is True and station["vendor"] == "ocpp-rpc"
        assert station["ocpp_version"] == ("1.6" if v16 else "2.0.1")
        statuses = [c["status"] for e in station["evses"] for c in e["connectors"]]
        assert statuses == ["Available"], station["evses"]

        # Remote start through the API, then the session.
        answer = await api.json(
            "POST", f"{base}/commands/start-transaction", json={"id_token": token, "evse_id": 1}
        )
        assert answer["status"] == "Accepted"
        if v16:
            (remote,) = st.got("RemoteStartTransaction")
            assert remote["idTag"] == token
            start = await st.call(
                "StartTransaction",
                {"connectorId": 1, "idTag": token, "meterStart": 0, "timestamp": now_iso()},
            )
            tx = start["transactionId"]
            for value in (400, 800):
                await st.call(
                    "MeterValues",
                    {"connectorId": 1, "transactionId": tx, "meterValue": _sample(value, True)},
                )
            (active,) = await api.transactions(station_id=identity, status="active")
            await api.json(
                "POST", f"{base}/commands/stop-transaction", json={"transaction_id": active["id"]}
            )
            (remote_stop,) = st.got("RemoteStopTransaction")
            assert remote_stop["transactionId"] == tx
            await st.call(
                "StopTransaction",
                {
                    "transactionId": tx,
                    "meterStop": 1234,
                    "timestamp": now_iso(),
                    "reason": "Remote",
                },
            )
        else:
            (remote,) = st.got("RequestStartTransaction")
            assert remote["idToken"]["idToken"] == token
            tx = f"N-{uuid.uuid4().hex[:8]}"
            await st.call(
                "TransactionEvent",
                {
                    "eventType": "Started",
                    "timestamp": now_iso(),
                    "triggerReason": "RemoteStart",
                    "seqNo": 0,
                    "transactionInfo": {
                        "transactionId": tx,
                        "remoteStartId": remote["remoteStartId"],
                    },
                    "evse": {"id": 1, "connectorId": 1},
                    "idToken": {"idToken": token, "type": "ISO14443"},
                    "meterValue": _sample(0, False),
                },
            )
            for seq, value in ((1, 400), (2, 800)):
                await st.call(
                    "TransactionEvent",
                    {
                        "eventType": "Updated",
                        "timestamp": now_iso(),
                        "triggerReason": "MeterValuePeriodic",
                        "seqNo": seq,
                        "transactionInfo": {"transactionId": tx},
                        "meterValue": _sample(value, False),
                    },
                )
            (active,) = await api.transactions(station_id=identity, status="active")
            await api.json(
                "POST", f"{base}/commands/stop-transaction", json={"transaction_id": active["id"]}
            )
            (remote_stop,) = st.got("RequestStopTransaction")
            assert remote_stop["transactionId"] == tx
            await st.call(
                "TransactionEvent",
                {
                    "eventType": "Ended",
                    "timestamp": now_iso(),
                    "triggerReason": "RemoteStop",
                    "seqNo": 3,
                    "transactionInfo": {"transactionId": tx, "stoppedReason": "Remote"},
                    "meterValue": _sample(1234, False),
                },
            )

        done = await api.json("GET", f"/transactions/{active['id']}")
        assert done["status"] == "completed" and dec(done["energy_wh"]) == 1234, done
        values = [dec(v["value"]) for v in await api.meter_values(active["id"])]
        assert {400, 800} <= set(values), values

        # Station control through the API, answered by the strict client.
        assert (await api.json("POST", f"{base}/commands/reset", json={"type": "soft"}))[
            "status"
        ] == "Accepted"
        assert (
            await api.json(
                "POST", f"{base}/commands/unlock-connector", json={"evse_id": 1, "connector_id": 1}
            )
        )["status"] == "Unlocked"
        key = "HeartbeatInterval" if v16 else "OCPPCommCtrlr.HeartbeatInterval"
        got = await api.json("POST", f"{base}/commands/get-configuration", json={"keys": [key]})
        assert {e["key"]: e["value"] for e in got["configuration"]}[key] == "300", got
        changed = await api.json(
            "POST", f"{base}/commands/set-configuration", json={"key": key, "value": "60"}
        )
        assert changed["status"] == "Accepted"
        assert len(st.got("Reset")) == 1 and len(st.got("UnlockConnector")) == 1

    async def disconnected() -> None:
        assert (await api.station(identity))["connected"] is False

    await eventually(disconnected)
