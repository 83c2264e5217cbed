"""The simulator against a minimal CSMS built on the PyPI ``ocpp`` package, per version."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kilowatt.ocpp.version import OcppVersion
from kilowatt.simulator.scenario import Scenario, load_scenario, parse_scenario
from kilowatt.simulator.simulation import Simulation
from tests.simulator.csms import Csms, run_csms

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"
VERSIONS = ["1.6", "2.0.1", "2.1"]

COMMANDS = parse_scenario(
    """
    stations = 1
    evses = 2
    time_scale = 20
    sample_interval_s = 5
    reconnect_initial_s = 0.05
    reconnect_max_s = 0.2
    seed = 11
    [sessions]
    auto = false
    duration_s = [600, 600]
    """
)


def tx_ends(csms: Csms, identity: str, version: str) -> list[Any]:
    if version == "1.6":
        return csms.actions(identity, "StopTransaction")
    return [
        m for m in csms.actions(identity, "TransactionEvent") if m.payload["event_type"] == "Ended"
    ]


def tx_starts(csms: Csms, identity: str, version: str) -> list[Any]:
    if version == "1.6":
        return csms.actions(identity, "StartTransaction")
    return [
        m
        for m in csms.actions(identity, "TransactionEvent")
        if m.payload["event_type"] == "Started"
    ]


def last_status(csms: Csms, identity: str) -> str | None:
    found = csms.actions(identity, "StatusNotification")
    if not found:
        return None
    return found[-1].payload.get("status") or found[-1].payload.get("connector_status")


@pytest.fixture
async def running(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Csms, Simulation]]:
    version, scenario = request.param
    async with run_csms(OcppVersion(version), heartbeat_interval=60) as (csms, url):
        scenario = msgspec.structs.replace(scenario, version=version)
        simulation = Simulation(url, scenario)
        simulation.start()
        try:
            yield csms, simulation
        finally:
            await simulation.stop()


@pytest.mark.parametrize("version", VERSIONS)
async def test_sessions_complete(version: str) -> None:
    scenario = msgspec.structs.replace(load_scenario(EXAMPLES / "fast.toml"), version=version)
    async with run_csms(OcppVersion(version)) as (csms, url):
        simulation = Simulation(url, scenario)
        simulation.start()
        try:
            identities = [s.identity for s in simulation.stations]
            await csms.wait(lambda: all(tx_ends(csms, i, version) for i in identities))
            await csms.wait(lambda: simulation.stats.sessions_completed == 2)
            await csms.wait(lambda: all(last_status(csms, i) == "Available" for i in identities))
        finally:
            await simulation.stop()
        summary = simulation.summary()
    assert summary["stations"] == 2 and summary["connected"] == 2
    assert summary["sessions_completed"] == 2 and summary["errors"] == 0
    assert summary["energy_wh"] > 0 and summary["calls"] > 10
    for identity in identities:
        actions = [m.action for m in csms.messages[identity]]
        assert actions[0] == "BootNotification"
        assert "Authorize" in actions and "StatusNotification" in actions
        assert len(tx_starts(csms, identity, version)) == 1
        assert len(tx_ends(csms, identity, version)) == 1
        statuses = [
            m.payload.get("status") or m.payload.get("connector_status")
            for m in csms.actions(identity, "StatusNotification")
        ]
        assert statuses[-1] == "Available"
        assert ("Charging" if version == "1.6" else "Occupied") in statuses


async def _call(csms: Csms, identity: str, version: str, name: str, **payload: Any) -> Any:
    module = {"1.6": "ocpp.v16", "2.0.1": "ocpp.v201", "2.1": "ocpp.v21"}[version]
    call = __import__(module + ".call", fromlist=["call"])
    return await csms.connected[identity].call(getattr(call, name)(**payload))


@pytest.mark.parametrize("running", [(v, COMMANDS) for v in VERSIONS], indirect=True, ids=VERSIONS)
async def test_remote_start_and_stop(running: tuple[Csms, Simulation]) -> None:
    csms, simulation = running
    version = simulation.scenario.version
    station = simulation.stations[0]
    identity = station.identity
    await csms.wait(lambda: identity in csms.connected and station.ready)
    if version == "1.6":
        result = await _call(
            csms, identity, version, "RemoteStartTransaction", id_tag="REMOTE1", connector_id=2
        )
    else:
        result = await _call(
            csms, identity, version, "RequestStartTransaction",
            id_token={"id_token": "REMOTE1", "type": "ISO14443"}, remote_start_id=77, evse_id=2,
        )  # fmt: skip
    assert result.status == "Accepted"
    await csms.wait(lambda: tx_starts(csms, identity, version))
    start = tx_starts(csms, identity, version)[0].payload
    if version == "1.6":
        assert start["connector_id"] == 2 and start["id_tag"] == "REMOTE1"
        tx_id = start_tx = csms.transaction_id((identity, 2, start["timestamp"]))
        result = await _call(csms, identity, version, "RemoteStopTransaction", transaction_id=tx_id)
    else:
        assert start["evse"]["id"] == 2 and start["trigger_reason"] == "RemoteStart"
        assert start["transaction_info"]["remote_start_id"] == 77
        start_tx = start["transaction_info"]["transaction_id"]
        result = await _call(
            csms, identity, version, "RequestStopTransaction", transaction_id=start_tx
        )
    assert result.status == "Accepted"
    await csms.wait(lambda: tx_ends(csms, identity, version))
    end = tx_ends(csms, identity, version)[0].payload
    if version == "1.6":
        assert end["reason"] == "Remote" and end["transaction_id"] == start_tx
    else:
        assert end["transaction_info"]["stopped_reason"] == "Remote"
        assert end["trigger_reason"] == "RemoteStop"
    # A second remote stop of the same transaction is refused: it has ended.
    if version == "1.6":
        again = await _call(
            csms, identity, version, "RemoteStopTransaction", transaction_id=start_tx
        )
    else:
        again = await _call(
            csms, identity, version, "RequestStopTransaction", transaction_id=start_tx
        )
    assert again.status == "Rejected"


@pytest.mark.parametrize("running", [(v, COMMANDS) for v in VERSIONS], indirect=True, ids=VERSIONS)
async def test_reset_reboots(running: tuple[Csms, Simulation]) -> None:
    csms, simulation = running
    version = simulation.scenario.version
    identity = simulation.stations[0].identity
    await csms.wait(lambda: identity in csms.connected and simulation.stations[0].ready)
    result = await _call(
        csms, identity, version, "Reset", type="Hard" if version == "1.6" else "Immediate"
    )
    assert result.status == "Accepted"
    await csms.wait(lambda: len(csms.actions(identity, "BootNotification")) == 2)
    assert csms.connections[identity] == 2
    if version != "1.6":
        assert csms.actions(identity, "BootNotification")[1].payload["reason"] == "RemoteReset"


@pytest.mark.parametrize("running", [(v, COMMANDS) for v in VERSIONS], indirect=True, ids=VERSIONS)
async def test_change_availability(running: tuple[Csms, Simulation]) -> None:
    csms, simulation = running
    version = simulation.scenario.version
    station = simulation.stations[0]
    identity = station.identity
    await csms.wait(lambda: identity in csms.connected and station.ready)

    def status_of(connector: int) -> str | None:
        found = None
        for m in csms.actions(identity, "StatusNotification"):
            p = m.payload
            if p.get("connector_id" if version == "1.6" else "evse_id") == connector:
                found = p.get("status") or p.get("connector_status")
        return found

    await csms.wait(lambda: status_of(1) == "Available")
    if version == "1.6":
        result = await _call(
            csms, identity, version, "ChangeAvailability", connector_id=1, type="Inoperative"
        )
    else:
        result = await _call(
            csms,
            identity,
            version,
            "ChangeAvailability",
            operational_status="Inoperative",
            evse={"id": 1},
        )
    assert result.status == "Accepted"
    await csms.wait(lambda: status_of(1) == "Unavailable")
    assert status_of(2) == "Available"
    # An inoperative connector refuses a remote start.
    if version == "1.6":
        refused = await _call(
            csms, identity, version, "RemoteStartTransaction", id_tag="X", connector_id=1
        )
    else:
        refused = await _call(
            csms, identity, version, "RequestStartTransaction",
            id_token={"id_token": "X", "type": "ISO14443"}, remote_start_id=1, evse_id=1,
        )  # fmt: skip
    assert refused.status == "Rejected"
    if version == "1.6":
        result = await _call(
            csms, identity, version, "ChangeAvailability", connector_id=1, type="Operative"
        )
    else:
        result = await _call(
            csms,
            identity,
            version,
            "ChangeAvailability",
            operational_status="Operative",
            evse={"id": 1},
        )
    await csms.wait(lambda: status_of(1) == "Available")


@pytest.mark.parametrize("version", VERSIONS)
async def test_offline_queue_replayed_in_order(version: str) -> None:
    scenario: Scenario = msgspec.structs.replace(
        load_scenario(EXAMPLES / "outage.toml"), version=version
    )
    async with run_csms(OcppVersion(version)) as (csms, url):
        simulation = Simulation(url, scenario)
        station = simulation.stations[0]
        identity = station.identity
        simulation.start()
        try:
            await csms.wait(lambda: len(tx_ends(csms, identity, version)) == 1)
            await csms.wait(lambda: not station.queue)
        finally:
            await simulation.stop()
    assert csms.connections[identity] >= 2, "the outage should force a reconnect"
    session = station.completed[0]
    assert session.updates >= 8  # 60 s at a 5 s sample interval
    messages = csms.messages[identity]
    if version == "1.6":
        tx = [
            m
            for m in messages
            if m.action in ("StartTransaction", "MeterValues", "StopTransaction")
        ]
        assert tx[0].action == "StartTransaction" and tx[-1].action == "StopTransaction"
        meter = [m for m in tx if m.action == "MeterValues"]
        assert len(meter) == session.updates
        tx_ids = {m.payload["transaction_id"] for m in meter} | {tx[-1].payload["transaction_id"]}
        assert tx_ids == {1}  # one transaction, every message refers to it
        stamps = [m.payload["meter_value"][0]["timestamp"] for m in meter]
        assert stamps == sorted(stamps)
        energy = [
            float(next(v["value"] for v in m.payload["meter_value"][0]["sampled_value"]
                       if v["measurand"] == "Energy.Active.Import.Register"))
            for m in meter
        ]  # fmt: skip
        assert energy == sorted(energy)
    else:
        events = [m.payload for m in messages if m.action == "TransactionEvent"]
        assert [e["seq_no"] for e in events] == list(range(len(events)))
        assert events[0]["event_type"] == "Started" and events[-1]["event_type"] == "Ended"
        assert {e["transaction_info"]["transaction_id"] for e in events} == {session.transaction_id}
        updates = [e for e in events if e["trigger_reason"] == "MeterValuePeriodic"]
        assert len(updates) == session.updates
        assert any(e.get("offline") for e in events), "events created offline carry offline=true"
        stamps = [e["timestamp"] for e in events]
        assert stamps == sorted(stamps)


async def test_basic_auth_password_is_sent() -> None:
    seen: list[str | None] = []
    import websockets

    async def handler(websocket: Any) -> None:
        seen.append(websocket.request.headers.get("Authorization"))
        await websocket.close()

    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        simulation = Simulation(
            f"ws://127.0.0.1:{port}/ocpp", COMMANDS, password="0123456789abcdef", prefix="PW"
        )
        simulation.start()
        try:
            async with asyncio.timeout(30):
                while not seen:
                    await asyncio.sleep(0.05)
        finally:
            await simulation.stop()
    assert seen[0] is not None and seen[0].startswith("Basic ")
