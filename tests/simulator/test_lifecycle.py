"""How a simulated run begins and ends, against real sockets (issue 10): failed connection
attempts are remembered in our words, the end of a run stops the sessions it leaves behind,
and the timestamps a station reports are wall-clock time whatever ``time_scale`` says.

No wall-clock limits: conditions are polled (``Csms.wait``); its timeout is a safety net.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from typing import Any

import msgspec
import pytest
import websockets

from kilowatt.ocpp.version import OcppVersion
from kilowatt.simulator.scenario import parse_scenario
from kilowatt.simulator.simulation import Simulation
from tests.simulator.csms import Csms, run_csms
from tests.simulator.test_integration import tx_ends, tx_starts

VERSIONS = ["1.6", "2.0.1", "2.1"]

# Sessions that outlast any test: only the end of the run stops them.
LONG_SESSIONS = parse_scenario(
    """
    stations = 1
    evses = 2
    time_scale = 20
    sample_interval_s = 5
    reconnect_initial_s = 0.05
    reconnect_max_s = 0.2
    seed = 5
    [sessions]
    first_delay_s = [0, 0]
    duration_s = [36000, 36000]
    """
)


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``predicate`` (a safety net, not a time limit of the test)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


# --- the end of a run ---------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_end_of_run_stops_the_sessions(version: str) -> None:
    """Stopping a simulation ends each running session the way a charger that is switched off
    would, before it disconnects: 1.6 StopTransaction reason Other, 2.x TransactionEvent Ended
    with stoppedReason Other and triggerReason AbnormalCondition."""
    scenario = msgspec.structs.replace(LONG_SESSIONS, version=version)
    async with run_csms(OcppVersion(version)) as (csms, url):
        simulation = Simulation(url, scenario)
        station = simulation.stations[0]
        identity = station.identity
        simulation.start()
        try:
            await csms.wait(lambda: len(tx_starts(csms, identity, version)) == 2)
            await wait_until(lambda: not station.queue)  # both starts answered
        finally:
            await simulation.stop()
        ends = [m.payload for m in tx_ends(csms, identity, version)]
    assert len(ends) == 2
    if version == "1.6":
        assert [e["reason"] for e in ends] == ["Other", "Other"]
        keys = [(identity, m.payload["connector_id"], m.payload["timestamp"])
                for m in tx_starts(csms, identity, version)]  # fmt: skip
        started = {csms.transaction_id(key) for key in keys}
        assert {e["transaction_id"] for e in ends} == started
    else:
        assert [e["transaction_info"]["stopped_reason"] for e in ends] == ["Other", "Other"]
        assert [e["trigger_reason"] for e in ends] == ["AbnormalCondition"] * 2
    summary = simulation.summary()
    assert summary["stopped_at_end"] == 2 and summary["sessions_completed"] == 2
    assert summary["sessions_active"] == 0 and summary["queued"] == 0
    assert summary["connected"] == 1  # the state at the end, before the stations went


async def test_end_of_run_while_offline_keeps_the_queue() -> None:
    """A station that is offline when the run ends stops its session but cannot deliver the
    end message: it stays queued (and goes with the process), as before; the end of the run
    does not wait for a connection that is not there."""
    scenario = msgspec.structs.replace(
        LONG_SESSIONS,
        evses=1,
        outages=parse_scenario("[[outages]]\nat_s = 20\nduration_s = 36000").outages,
    )
    async with run_csms(OcppVersion.V16) as (csms, url):
        simulation = Simulation(url, scenario)
        station = simulation.stations[0]
        identity = station.identity
        simulation.start()
        try:
            await csms.wait(lambda: bool(tx_starts(csms, identity, "1.6")))
            await wait_until(lambda: station.link is None and station.offline_until > 0)
        finally:
            await simulation.stop()
    assert tx_ends(csms, identity, "1.6") == []
    assert [m.action for m in station.queue][-1] == "StopTransaction"
    assert simulation.summary()["stopped_at_end"] == 1


async def test_end_stops_a_run_without_duration() -> None:
    """``Simulation.end()`` (what Ctrl-C and SIGTERM call) makes ``run()`` return its summary,
    sessions stopped, like an elapsed duration."""
    async with run_csms(OcppVersion.V16) as (csms, url):
        simulation = Simulation(url, LONG_SESSIONS)
        identity = simulation.stations[0].identity
        runner = asyncio.create_task(simulation.run())
        await csms.wait(lambda: len(tx_starts(csms, identity, "1.6")) == 2)
        simulation.end()
        summary = await runner
        assert len(tx_ends(csms, identity, "1.6")) == 2
    assert summary["stopped_at_end"] == 2 and summary["sessions_active"] == 0


# --- failed connection attempts -------------------------------------------------------------


async def test_refused_handshake_is_remembered_in_our_words() -> None:
    """A CSMS answering the upgrade with HTTP 401: the station keeps retrying (as a charger
    does) and remembers why it cannot get in."""

    def refuse(connection: Any, request: Any) -> Any:
        return connection.respond(HTTPStatus.UNAUTHORIZED, "who are you?\n")

    async def handler(websocket: Any) -> None:  # pragma: no cover - never upgraded
        await websocket.close()

    async with websockets.serve(handler, "127.0.0.1", 0, process_request=refuse) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        simulation = Simulation(
            f"ws://127.0.0.1:{port}/ocpp", LONG_SESSIONS, reconnect_initial_s=0.01
        )
        station = simulation.stations[0]
        simulation.start()
        try:
            await wait_until(
                lambda: station.connect_failure is not None and station.failed_attempts >= 2
            )
        finally:
            await simulation.stop()
    failure = station.connect_failure
    assert failure is not None
    assert failure.url == f"ws://127.0.0.1:{port}/ocpp/{station.identity}"
    assert "refused the handshake with HTTP 401" in failure.reason
    assert str(failure).startswith(f"cannot connect to {failure.url}: ")
    assert simulation.never_connected() == [(station, failure)]
    assert simulation.summary()["never_connected"] == 1


async def test_unresolvable_host_is_remembered_in_our_words() -> None:
    """``.invalid`` never resolves (RFC 6761 §6.4)."""
    simulation = Simulation("ws://no-such-csms.invalid:9000/ocpp", LONG_SESSIONS)
    station = simulation.stations[0]
    simulation.start()
    try:
        await wait_until(lambda: station.connect_failure is not None)
    finally:
        await simulation.stop()
    assert station.connect_failure is not None
    assert "cannot resolve the host name 'no-such-csms.invalid'" in station.connect_failure.reason


async def test_a_station_that_connected_is_not_reported() -> None:
    async with run_csms(OcppVersion.V16) as (csms, url):
        simulation = Simulation(url, LONG_SESSIONS)
        simulation.start()
        try:
            await csms.wait(lambda: simulation.stations[0].identity in csms.connected)
        finally:
            await simulation.stop()
    assert simulation.never_connected() == []
    assert simulation.summary()["never_connected"] == 0


# --- which clock the stations report --------------------------------------------------------


def _timestamps(csms: Csms, identity: str) -> list[str]:
    """Every timestamp of every message ``identity`` sent (statuses, transactions, meter
    values), as received."""
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif key == "timestamp" and isinstance(value, str):
            found.append(value)

    for message in csms.messages[identity]:
        walk(message.payload)
    return found


@pytest.mark.parametrize("version", VERSIONS)
async def test_timestamps_are_wall_clock_time_under_time_scale(version: str) -> None:
    """At ``time_scale`` 600 a 600-s session with a sample every 60 s takes about a second:
    every timestamp the CSMS receives lies within the real time of the run (before issue 10 the
    end of the session was dated 10 minutes into the future)."""
    scenario = parse_scenario(
        f"""
        version = "{version}"
        stations = 1
        evses = 1
        time_scale = 600
        sample_interval_s = 60
        seed = 9
        [sessions]
        first_delay_s = [0, 0]
        duration_s = [600, 600]
        max_sessions = 1
        """
    )
    async with run_csms(OcppVersion(version)) as (csms, url):
        before = time.time()
        simulation = Simulation(url, scenario)
        identity = simulation.stations[0].identity
        simulation.start()
        try:
            await csms.wait(lambda: bool(tx_ends(csms, identity, version)))
        finally:
            await simulation.stop()
        after = time.time()
    stamps = [datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() for s in
              _timestamps(csms, identity)]  # fmt: skip
    assert len(stamps) >= 10  # statuses, start, ~10 samples, end
    # 1 ms of slack: timestamps are rounded to the millisecond.
    assert all(before - 0.001 <= stamp <= after + 0.001 for stamp in stamps), (before, after)
    session = simulation.stations[0].completed[0]
    assert session.ended is not None
    assert session.ended - session.started >= 600  # the simulated duration is kept
