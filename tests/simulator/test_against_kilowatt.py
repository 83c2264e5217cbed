"""The simulator against ``kilowatt serve`` (issue 4 acceptance), for OCPP 1.6, 2.0.1 and 2.1.

One ``kilowatt serve`` process (SQLite, open registration, unknown id tokens accepted) serves
the whole module on free ports; each test runs its own :class:`Simulation` with a unique
identity prefix and checks the effects through the operator API (``/api/v1``, bearer key),
as an operator would see them. The CLI ``kilowatt simulate`` runs as a subprocess.

No wall-clock limits: conditions are polled (``eventually``); ``SAFETY`` only stops a hung test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kilowatt.simulator.scenario import Scenario, load_scenario, parse_scenario
from kilowatt.simulator.simulation import Simulation
from kilowatt.simulator.station import SimStation
from tests.e2e.support import API_KEY, KILOWATT, SAFETY, Api, KilowattServer, eventually

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"
VERSIONS = ["1.6", "2.0.1", "2.1"]
ENERGY = "Energy.Active.Import.Register"

# One station, two EVSEs, no drivers of its own: only the CSMS's commands start sessions.
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KilowattServer]:
    """``kilowatt serve`` on free ports, shared by the module (stopped in teardown)."""
    kilowatt = KilowattServer(
        data_dir=tmp_path_factory.mktemp("kilowatt"),
        database_url=None,
        extra_args=["--accept-unknown-id-tokens", "--heartbeat-interval", "60"],
    )
    kilowatt.start()
    try:
        yield kilowatt
    finally:
        kilowatt.stop()


@pytest.fixture
async def api(server: KilowattServer) -> AsyncIterator[Api]:
    async with Api(server.api_url, API_KEY) as client:
        yield client


def ocpp_url(server: KilowattServer) -> str:
    """The endpoint without the identity, as the simulator takes it."""
    return f"ws://127.0.0.1:{server.ocpp_port}/ocpp"


def prefix() -> str:
    """A unique identity prefix, so tests sharing the server never see each other's stations."""
    return f"K{uuid.uuid4().hex[:6].upper()}-"


@contextlib.asynccontextmanager
async def simulate(
    server: KilowattServer, scenario: Scenario, **overrides: Any
) -> AsyncIterator[Simulation]:
    """A running simulation against ``server`` (a unique prefix unless ``prefix`` is given);
    stopped (connections closed) on exit."""
    overrides.setdefault("prefix", prefix())
    simulation = Simulation(ocpp_url(server), scenario, **overrides)
    simulation.start()
    try:
        yield simulation
    finally:
        await simulation.stop()


async def wait_ready(api: Api, station: SimStation) -> dict[str, Any]:
    """Wait until the station has booted (simulator side) and is connected (API side)."""

    async def check() -> dict[str, Any]:
        assert station.ready, f"{station.identity} has not booted"
        info = await api.station(station.identity)
        assert info["connected"] and info["boot_status"] == "Accepted", info
        return info

    return await eventually(check)


async def inbound(api: Api, station_id: str, action: str) -> list[dict[str, Any]]:
    """The station's CALLs of ``action`` from the journal, oldest first, payloads decoded."""
    entries = await api.items(f"/stations/{station_id}/messages", action=action)
    calls = [e for e in entries if e["direction"] == "in" and e["message_type"] == 2]
    calls.sort(key=lambda e: e["id"])
    return [json.loads(e["frame"])[3] for e in calls]


def connector_status(info: dict[str, Any], evse_id: int, connector_id: int) -> str | None:
    """The status of a connector in the station detail (1.6: EVSE id = connector id)."""
    for evse in info["evses"]:
        if evse["evse_id"] == evse_id:
            for connector in evse["connectors"]:
                if connector["connector_id"] == connector_id:
                    return str(connector["status"])
    return None


def status_of(info: dict[str, Any], version: str, evse_id: int) -> str | None:
    """The status of the (only) connector of ``evse_id``."""
    return connector_status(info, evse_id, evse_id if version == "1.6" else 1)


def periodic_samples(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The periodic energy samples among a transaction's meter values, in time order."""
    found = [v for v in values if v["measurand"] == ENERGY and v["context"] == "Sample.Periodic"]
    return sorted(found, key=lambda v: v["timestamp"])


# --- sessions ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_sessions_complete(server: KilowattServer, api: Api, version: str) -> None:
    scenario = load_scenario(EXAMPLES / "fast.toml")
    async with simulate(server, scenario, version=version) as simulation:
        identities = [s.identity for s in simulation.stations]

        async def done() -> None:
            assert simulation.stats.sessions_completed == 2
            assert all(not s.queue for s in simulation.stations)
            for identity in identities:
                txs = await api.transactions(station_id=identity, status="completed")
                assert len(txs) == 1, txs
                info = await api.station(identity)
                assert status_of(info, version, 1) == "Available", info

        await eventually(done)
        summary = simulation.summary()
    assert summary["errors"] == 0 and summary["sessions_completed"] == 2
    for station in simulation.stations:
        (tx,) = await api.transactions(station_id=station.identity)
        (session,) = station.completed
        assert tx["status"] == "completed" and tx["stop_reason"] == "Local"
        assert tx["energy_wh"] > 0 and tx["id_token"] == session.id_token
        assert tx["meter_start_wh"] == pytest.approx(session.meter_start_wh, abs=1)
        assert tx["meter_stop_wh"] == pytest.approx(session.meter_stop_wh, abs=1)
        if version != "1.6":
            assert tx["station_tx_id"] == session.transaction_id
        samples = periodic_samples(await api.meter_values(tx["id"]))
        assert len(samples) == session.updates > 0
        energies = [s["value"] for s in samples]
        assert energies == sorted(energies)
        assert tx["meter_start_wh"] <= energies[0] <= energies[-1] <= tx["meter_stop_wh"]


# --- commands through the operator API -----------------------------------------------------


async def command(api: Api, station_id: str, name: str, **params: Any) -> dict[str, Any]:
    """Run a version-neutral command; return the station's answer."""
    return dict(await api.json("POST", f"/stations/{station_id}/commands/{name}", json=params))


@pytest.mark.parametrize("version", VERSIONS)
async def test_remote_start_and_stop(server: KilowattServer, api: Api, version: str) -> None:
    async with simulate(server, COMMANDS, version=version) as simulation:
        station = simulation.stations[0]
        identity = station.identity
        await wait_ready(api, station)
        answer = await command(api, identity, "start-transaction", id_token="REMOTE1", evse_id=2)
        assert answer["status"] == "Accepted", answer

        async def active() -> dict[str, Any]:
            txs = await api.transactions(station_id=identity, status="active")
            assert len(txs) == 1, txs
            info = await api.station(identity)
            assert status_of(info, version, 2) == ("Charging" if version == "1.6" else "Occupied")
            return txs[0]

        tx = await eventually(active)
        session = station.evses[1].session
        assert session is not None and tx["id_token"] == "REMOTE1" and tx["evse_id"] == 2
        if version == "1.6":
            assert session.transaction_id == str(tx["id"])
        else:
            assert tx["station_tx_id"] == session.transaction_id
            assert tx["remote_start_id"] == answer["remote_start_id"]

        answer = await command(api, identity, "stop-transaction", transaction_id=tx["id"])
        assert answer["status"] == "Accepted", answer

        async def stopped() -> dict[str, Any]:
            done = await api.json("GET", f"/transactions/{tx['id']}")
            assert done["status"] == "completed", done
            info = await api.station(identity)
            assert status_of(info, version, 2) == "Available", info
            return dict(done)

        done = await eventually(stopped)
        assert done["stop_reason"] == "Remote" and done["energy_wh"] > 0
        assert station.completed and station.completed[0].transaction_id == session.transaction_id
        # The transaction has ended: a second stop is refused by the station.
        again = await command(api, identity, "stop-transaction", transaction_id=tx["id"])
        assert again["status"] == "Rejected"


@pytest.mark.parametrize("version", VERSIONS)
async def test_reset_reboots(server: KilowattServer, api: Api, version: str) -> None:
    async with simulate(server, COMMANDS, version=version) as simulation:
        station = simulation.stations[0]
        identity = station.identity
        before = await wait_ready(api, station)
        assert len(await inbound(api, identity, "BootNotification")) == 1
        answer = await command(api, identity, "reset", type="hard")
        assert answer["status"] == "Accepted", answer

        async def rebooted() -> dict[str, Any]:
            boots = await inbound(api, identity, "BootNotification")
            assert len(boots) == 2, boots
            info = await api.station(identity)
            assert info["connected"] and info["last_boot"] != before["last_boot"], info
            return boots[1]

        boot = await eventually(rebooted)
        if version != "1.6":
            assert boot["reason"] == "RemoteReset"
        # After the reboot the station is back in service: it reports its connectors again.
        info = await wait_ready(api, station)
        assert status_of(info, version, 1) == "Available"
        assert simulation.stats.connections == 2 and simulation.stats.boots == 2


@pytest.mark.parametrize("version", VERSIONS)
async def test_hard_reset_during_session(server: KilowattServer, api: Api, version: str) -> None:
    """A hard reset ends the running session, delivers it, then reboots once: an OnIdle reset
    scheduled before (2.x) is superseded, and no call is cut off by the reboot (errors 0)."""
    async with simulate(server, COMMANDS, version=version) as simulation:
        station = simulation.stations[0]
        identity = station.identity
        await wait_ready(api, station)
        answer = await command(api, identity, "start-transaction", id_token="RESET1", evse_id=1)
        assert answer["status"] == "Accepted", answer

        async def active() -> None:
            txs = await api.transactions(station_id=identity, status="active")
            assert len(txs) == 1, txs

        await eventually(active)
        if version != "1.6":
            answer = await command(api, identity, "reset", type="soft")
            assert answer["status"] == "Scheduled", answer
        answer = await command(api, identity, "reset", type="hard")
        assert answer["status"] == "Accepted", answer

        async def rebooted() -> list[dict[str, Any]]:
            txs = await api.transactions(station_id=identity, status="completed")
            assert len(txs) == 1, txs
            assert len(await inbound(api, identity, "BootNotification")) == 2
            info = await wait_ready(api, station)
            assert status_of(info, version, 1) == "Available", info
            assert not station.queue
            return txs

        (tx,) = await eventually(rebooted)
        assert tx["stop_reason"] == ("HardReset" if version == "1.6" else "ImmediateReset")
        assert station.reboots == 1 and simulation.stats.boots == 2
        assert simulation.stats.errors == 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_change_availability(server: KilowattServer, api: Api, version: str) -> None:
    async with simulate(server, COMMANDS, version=version) as simulation:
        station = simulation.stations[0]
        identity = station.identity
        await wait_ready(api, station)

        async def statuses(one: str, two: str) -> dict[str, Any]:
            info = await api.station(identity)
            assert (status_of(info, version, 1), status_of(info, version, 2)) == (one, two)
            return info

        await eventually(lambda: statuses("Available", "Available"))
        answer = await command(api, identity, "change-availability", operative=False, evse_id=1)
        assert answer["status"] == "Accepted", answer
        await eventually(lambda: statuses("Unavailable", "Available"))
        # An unavailable connector refuses a remote start.
        refused = await command(api, identity, "start-transaction", id_token="X1", evse_id=1)
        assert refused["status"] == "Rejected"
        answer = await command(api, identity, "change-availability", operative=True, evse_id=1)
        assert answer["status"] == "Accepted", answer
        await eventually(lambda: statuses("Available", "Available"))


# --- offline queue ------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_outage_queue_drained_in_order(
    server: KilowattServer, api: Api, version: str
) -> None:
    scenario = load_scenario(EXAMPLES / "outage.toml")
    async with simulate(server, scenario, version=version) as simulation:
        station = simulation.stations[0]
        identity = station.identity

        async def done() -> None:
            assert station.completed and not station.queue
            txs = await api.transactions(station_id=identity)
            assert [t["status"] for t in txs] == ["completed"], txs

        await eventually(done)
    assert simulation.stats.connections >= 2, "the outage should force a reconnect"
    (session,) = station.completed
    assert session.updates >= 8  # 60 s at a 5 s sample interval
    (tx,) = await api.transactions(station_id=identity)
    assert tx["energy_wh"] > 0 and tx["stop_reason"] == "Local"
    # Every sample the station took reached the CSMS, once, in order.
    samples = periodic_samples(await api.meter_values(tx["id"]))
    assert len(samples) == session.updates
    assert len({s["timestamp"] for s in samples}) == session.updates
    energies = [s["value"] for s in samples]
    assert energies == sorted(energies)
    # The journal shows the replay in order: start, samples by time, end.
    if version == "1.6":
        starts = await inbound(api, identity, "StartTransaction")
        meter = await inbound(api, identity, "MeterValues")
        stops = await inbound(api, identity, "StopTransaction")
        assert len(starts) == 1 and len(stops) == 1
        assert len(meter) == session.updates
        assert {m["transactionId"] for m in meter} == {tx["id"]}
        assert stops[0]["transactionId"] == tx["id"]
        stamps = [m["meterValue"][0]["timestamp"] for m in meter]
    else:
        events = await inbound(api, identity, "TransactionEvent")
        assert [e["seqNo"] for e in events] == list(range(len(events)))
        assert events[0]["eventType"] == "Started" and events[-1]["eventType"] == "Ended"
        assert {e["transactionInfo"]["transactionId"] for e in events} == {tx["station_tx_id"]}
        assert any(e.get("offline") for e in events), "events created offline say so"
        assert tx["last_seq_no"] == len(events) - 1
        stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)


# --- lifecycle and CLI --------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_end_of_run_completes_the_transactions(
    server: KilowattServer, api: Api, version: str
) -> None:
    """The end of a run stops its sessions before the stations go (issue 10): the CSMS is not
    left with transactions that stay active for ever."""
    scenario = msgspec.structs.replace(
        COMMANDS,
        sessions=msgspec.structs.replace(
            COMMANDS.sessions, auto=True, first_delay_s=(0.0, 0.0), duration_s=(36000.0, 36000.0)
        ),
    )
    async with simulate(server, scenario, version=version) as simulation:
        identity = simulation.stations[0].identity

        async def both_active() -> None:
            active = await api.transactions(station_id=identity, status="active")
            assert len(active) == 2, active

        await eventually(both_active)
    assert simulation.summary()["stopped_at_end"] == 2

    async def both_completed() -> None:
        txs = await api.transactions(station_id=identity)
        assert [t["status"] for t in txs] == ["completed", "completed"], txs
        assert {t["stop_reason"] for t in txs} == {"Other"}, txs

    await eventually(both_completed)


async def test_stop_disconnects_stations(server: KilowattServer, api: Api) -> None:
    """Stopping a simulation closes its connections: the CSMS sees the stations go."""
    async with simulate(server, COMMANDS, stations=2) as simulation:
        for station in simulation.stations:
            await wait_ready(api, station)
    for station in simulation.stations:

        async def gone(identity: str = station.identity) -> None:
            info = await api.station(identity)
            assert not info["connected"], info

        await eventually(gone)


async def test_known_registration_with_passwords(tmp_path: Path) -> None:
    """Registration ``known`` and security profile 1: stations registered through the API
    with a password connect with it; an unregistered simulated station never gets in."""
    kilowatt = KilowattServer(
        data_dir=tmp_path, database_url=None, extra_args=["--registration", "known"]
    )
    kilowatt.start()
    try:
        async with Api(kilowatt.api_url, API_KEY) as api:
            stations_prefix = prefix()
            password = "sim-password-0123456789"
            for n in (1, 2):
                body = {"id": f"{stations_prefix}{n:04d}", "security_profile": 1}
                await api.json("POST", "/stations", 201, json={**body, "password": password})
            scenario = msgspec.structs.replace(COMMANDS, stations=3)
            async with simulate(
                kilowatt, scenario, password=password, prefix=stations_prefix
            ) as simulation:
                registered, stranger = simulation.stations[:2], simulation.stations[2]
                for station in registered:
                    info = await wait_ready(api, station)
                    assert info["security_profile"] == 1 and info["has_password"]

                async def refused() -> None:
                    assert simulation.stats.errors >= 2  # failed connection attempts
                    assert not stranger.ready

                await eventually(refused)
            response = await api.request("GET", f"/stations/{stranger.identity}")
            assert response.status_code == 404, response.text
        # The same site from the command line: it says which station cannot get in and why,
        # and fails (issue 10).
        result = await asyncio.to_thread(
            subprocess.run,
            [str(KILOWATT), "simulate", ocpp_url(kilowatt), "--stations", "3", "--prefix",
             stations_prefix, "--password", password, "--duration", "2"],
            capture_output=True, text=True, timeout=SAFETY, check=False,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert "error: 1 of 3 stations never connected" in result.stderr
        assert (
            f"error: cannot connect to {ocpp_url(kilowatt)}/{stranger.identity}: the CSMS "
            "refused the handshake with HTTP 404 Not Found" in result.stderr
        )
    finally:
        kilowatt.stop()


def test_cli_json_summary(server: KilowattServer, tmp_path: Path) -> None:
    """``kilowatt simulate ... --json`` against the server prints one JSON summary."""
    stations_prefix = prefix()
    command = [
        str(KILOWATT),
        "simulate",
        ocpp_url(server),
        "--stations",
        "2",
        "--version",
        "1.6",
        "--duration",
        "6",
        "--time-scale",
        "100",
        "--sample-interval",
        "10",
        "--prefix",
        stations_prefix,
        "--seed",
        "5",
        "--json",
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=SAFETY * 2,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["stations"] == 2 and summary["connected"] == 2, summary
    assert summary["sessions_completed"] >= 1 and summary["energy_wh"] > 0, summary
    assert summary["calls"] > 10 and summary["errors"] == 0, summary
    assert summary["version"] == "1.6"

    async def check() -> None:
        async with Api(server.api_url, API_KEY) as client:
            completed = []
            for n in (1, 2):
                identity = f"{stations_prefix}{n:04d}"
                assert (await client.station(identity))["ocpp_version"] == "1.6"
                completed += await client.transactions(station_id=identity, status="completed")
            # A session that ended just before the run stopped may not have been delivered.
            assert len(completed) >= 1
            pending = summary["sessions_completed"] - summary["queued"]
            assert pending <= len(completed) <= summary["sessions_completed"]
            assert all(t["energy_wh"] > 0 for t in completed)

    asyncio.run(check())
