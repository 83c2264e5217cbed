"""Durable acknowledgement: SIGKILL the server while several stations send transactions and
meter values concurrently; after a restart on the same data, every message that had received a
CALLRESULT is in the database (checked through the API). Also: SIGTERM shuts down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import signal
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from .chargers import REGISTER
from .conftest import ServerFactory
from .support import API_KEY, Api, KilowattServer, boot_raw, dec, eventually, now_iso, raw_station

STATIONS_16 = 3
STATIONS_2X = 3
ACKS_BEFORE_KILL = 240  # acknowledged messages, all stations together
METER_VALUES_PER_SESSION = 6


@dataclass
class Acked:
    """What the server acknowledged to one station, per transaction key."""

    station_id: str
    subprotocol: str
    started: dict[Any, Decimal] = field(default_factory=dict)  # tx -> meter start
    values: dict[Any, list[Decimal]] = field(default_factory=dict)  # tx -> acked samples
    stopped: dict[Any, Decimal] = field(default_factory=dict)  # tx -> meter stop

    def count(self) -> int:
        return len(self.started) + sum(map(len, self.values.values())) + len(self.stopped)


_BASE = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
_TICKS = itertools.count(1)


def _tick() -> str:
    """A distinct sample time per message (samples at equal times are a separate test)."""
    at = _BASE + datetime.timedelta(seconds=next(_TICKS))
    return at.isoformat().replace("+00:00", "Z")


def _sample_16(value: Decimal) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": _tick(),
            "sampledValue": [{"value": str(value), "measurand": REGISTER, "unit": "Wh"}],
        }
    ]


def _sample_2x(value: Decimal) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": _tick(),
            "sampledValue": [
                {"value": float(value), "measurand": REGISTER, "unitOfMeasure": {"unit": "Wh"}}
            ],
        }
    ]


async def _run_16(server: KilowattServer, acked: Acked, token: str) -> None:
    async with raw_station(server, acked.station_id, "ocpp1.6") as st:
        await boot_raw(st, "ocpp1.6")
        while True:
            meter = Decimal(1000)
            start = {"connectorId": 1, "idTag": token, "meterStart": 1000, "timestamp": now_iso()}
            tx = (await st.result("StartTransaction", start))["transactionId"]
            acked.started[tx] = meter
            acked.values[tx] = []
            for _ in range(METER_VALUES_PER_SESSION):
                meter += Decimal("10.5")
                payload = {"connectorId": 1, "transactionId": tx, "meterValue": _sample_16(meter)}
                await st.result("MeterValues", payload)
                acked.values[tx].append(meter)
            meter += 7
            stop = {"transactionId": tx, "meterStop": int(meter), "timestamp": now_iso()}
            await st.result("StopTransaction", stop)
            acked.stopped[tx] = Decimal(int(meter))


async def _run_2x(server: KilowattServer, acked: Acked, token: str) -> None:
    async with raw_station(server, acked.station_id, acked.subprotocol) as st:
        await boot_raw(st, acked.subprotocol)
        while True:
            tx = f"D-{uuid.uuid4().hex[:10]}"
            meter = Decimal(1000)
            started = {
                "eventType": "Started",
                "timestamp": now_iso(),
                "triggerReason": "Authorized",
                "seqNo": 0,
                "transactionInfo": {"transactionId": tx},
                "evse": {"id": 1, "connectorId": 1},
                "idToken": {"idToken": token, "type": "ISO14443"},
                "meterValue": _sample_2x(meter),
            }
            await st.result("TransactionEvent", started)
            acked.started[tx] = meter
            acked.values[tx] = [meter]
            for seq in range(1, METER_VALUES_PER_SESSION + 1):
                meter += Decimal("12.25")
                updated = {
                    "eventType": "Updated",
                    "timestamp": now_iso(),
                    "triggerReason": "MeterValuePeriodic",
                    "seqNo": seq,
                    "transactionInfo": {"transactionId": tx},
                    "meterValue": _sample_2x(meter),
                }
                await st.result("TransactionEvent", updated)
                acked.values[tx].append(meter)
            meter += 5
            ended = {
                "eventType": "Ended",
                "timestamp": now_iso(),
                "triggerReason": "EVCommunicationLost",
                "seqNo": METER_VALUES_PER_SESSION + 1,
                "transactionInfo": {"transactionId": tx, "stoppedReason": "EVDisconnected"},
                "meterValue": _sample_2x(meter),
            }
            await st.result("TransactionEvent", ended)
            acked.values[tx].append(meter)
            acked.stopped[tx] = meter


async def test_sigkill_under_load_keeps_every_acknowledged_message(
    server_factory: ServerFactory,
) -> None:
    server = server_factory.start()
    token = f"DUR-{uuid.uuid4().hex[:6]}"
    async with Api(server.api_url, API_KEY) as api:
        await api.put_token(token)

    run = uuid.uuid4().hex[:6]
    acks = [Acked(f"D16-{run}-{i}", "ocpp1.6") for i in range(STATIONS_16)] + [
        Acked(f"D2X-{run}-{i}", "ocpp2.0.1" if i % 2 == 0 else "ocpp2.1")
        for i in range(STATIONS_2X)
    ]
    tasks = [
        asyncio.create_task((_run_16 if a.subprotocol == "ocpp1.6" else _run_2x)(server, a, token))
        for a in acks
    ]

    async def loaded() -> None:
        for task in tasks:
            if task.done():
                task.result()  # surfaces an early failure
        assert sum(a.count() for a in acks) >= ACKS_BEFORE_KILL

    await eventually(loaded, interval=0.01)
    server.kill()  # SIGKILL while every station has a call in flight
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        assert isinstance(result, ConnectionClosed | ConnectionError | OSError), repr(result)

    server.start()
    async with Api(server.api_url, API_KEY) as api:
        for acked in acks:
            station = await api.station(acked.station_id)
            assert station["connected"] is False, station
            transactions = await api.transactions(station_id=acked.station_id)
            key = "id" if acked.subprotocol == "ocpp1.6" else "station_tx_id"
            by_key = {t[key]: t for t in transactions}
            for tx, meter_start in acked.started.items():
                assert tx in by_key, (acked.station_id, tx, "acknowledged start lost")
                stored = by_key[tx]
                assert dec(stored["meter_start_wh"]) == meter_start
                values = await api.meter_values(stored["id"])
                stored_values = sorted(dec(v["value"]) for v in values)
                for value in acked.values[tx]:
                    assert value in stored_values, (acked.station_id, tx, value, stored_values)
                assert len(stored_values) == len(set(stored_values)), stored_values
                if tx in acked.stopped:
                    assert stored["status"] == "completed", stored
                    assert dec(stored["meter_stop_wh"]) == acked.stopped[tx]
                    assert dec(stored["energy_wh"]) == acked.stopped[tx] - meter_start

        # The restarted server works: a station resumes after the crash.
        async with raw_station(server, acks[0].station_id) as st:
            await boot_raw(st, "ocpp1.6")

            async def connected() -> None:
                assert (await api.station(acks[0].station_id))["connected"] is True

            await eventually(connected)


async def test_sigterm_closes_connections_and_exits_cleanly(
    server_factory: ServerFactory,
) -> None:
    server = server_factory.start()
    identity = f"TERM-{uuid.uuid4().hex[:6]}"
    async with raw_station(server, identity, "ocpp2.0.1") as st:
        await boot_raw(st, "ocpp2.0.1")
        assert server.proc is not None
        proc = server.proc
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(ConnectionClosedOK):
            await st.reader
        assert st.ws.close_code in (1000, 1001), (st.ws.close_code, st.ws.close_reason)
        code = await asyncio.to_thread(proc.wait)
        assert code == 0, server.log_tail()
    server.proc = None
    server.start()
    async with Api(server.api_url, API_KEY) as api:
        station = await api.station(identity)
        assert station["connected"] is False and station["vendor"] == "RawVendor"
        await eventually(lambda: _journal_has_boot(api, identity))


async def _journal_has_boot(api: Api, identity: str) -> None:
    items = await api.messages(identity)
    assert any(m["action"] == "BootNotification" for m in items), items
