"""Floods and garbage over real sockets (:mod:`kilowatt.transport.limits`): summarised violation
logs, the violation budget (close 1008), binary messages (close 1003), deep nesting refused
unread, and the per-station rate limit; plus the token bucket and the violation tracker as data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from kilowatt.handlers.recorder import FrameRecorder
from kilowatt.ocpp import v16, v21, v201
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import OcppConnection, OcppServer, StationPeer, on, serve_ocpp
from kilowatt.transport.limits import InboundLimits, TokenBucket, Violations

pytestmark = pytest.mark.usefixtures("fast_paths")

SAFETY = 60  # s, a safety net against hangs only
GARBAGE = 50_000
Recorded = list[tuple[str, int, str | None, str | None, str]]


class Csms(StationPeer):
    @on(v16.HeartbeatRequest)
    async def heartbeat(self, request: Any) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time="2024-01-01T00:00:00Z")

    @on(v201.HeartbeatRequest)
    async def heartbeat_201(self, request: Any) -> v201.HeartbeatResponse:
        return v201.HeartbeatResponse(current_time="2024-01-01T00:00:00Z")

    @on(v21.HeartbeatRequest)
    async def heartbeat_21(self, request: Any) -> v21.HeartbeatResponse:
        return v21.HeartbeatResponse(current_time="2024-01-01T00:00:00Z")


@asynccontextmanager
async def csms(limits: InboundLimits, journal: Recorded) -> AsyncIterator[OcppServer[Csms]]:
    """A server whose connections record every frame through the journal's FrameRecorder."""

    def factory(connection: OcppConnection) -> Csms:
        connection.frame_observer = FrameRecorder(lambda *entry: journal.append(entry))
        return Csms(connection)

    async with serve_ocpp(factory, "127.0.0.1", 0, limits=limits) as server:
        yield server


@asynccontextmanager
async def station(
    server: OcppServer[Any], identity: str, subprotocol: str
) -> AsyncIterator[ClientConnection]:
    async with connect(
        f"ws://127.0.0.1:{server.port}/ocpp/{identity}",
        subprotocols=[subprotocol],  # type: ignore[list-item]
        max_size=None,
        max_queue=None,  # the test reads answers after the flood: keep them all
    ) as ws:
        yield ws


async def heartbeat(ws: ClientConnection, message_id: str) -> list[Any]:
    """Send a Heartbeat CALL and return its answer, skipping the answers to earlier frames."""
    await ws.send(json.dumps([2, message_id, "Heartbeat", {}]))
    while True:
        answer = json.loads(await ws.recv())
        if answer[1] == message_id:
            return list(answer)


def transport_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "kilowatt.transport" and r.levelno >= logging.WARNING
    ]


async def test_garbage_flood_logs_a_bounded_number_of_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """50,000 unparseable frames (budget off, rate off): one line for the first, one summary."""
    caplog.set_level(logging.INFO, logger="kilowatt.transport")
    journal: Recorded = []
    limits = InboundLimits(rate=0, violation_budget=0, log_interval=3600)
    async with asyncio.timeout(SAFETY), csms(limits, journal) as server:
        async with station(server, "CP-GARBAGE", "ocpp1.6") as ws:
            for _ in range(GARBAGE):
                await ws.send("this is not json")  # 1.6 cannot answer: no id to echo
            # Answered after every garbage frame was read: the connection still works.
            answer = await heartbeat(ws, "hb-1")
            assert answer[0] == 3
        await asyncio.sleep(0)  # let the server finish the connection's cleanup
        while server.connections:
            await asyncio.sleep(0.01)
    warnings = transport_warnings(caplog)
    # The first violation in full, then one summary line (at close) for the 49,999 others.
    assert len(warnings) <= 3, [r.getMessage() for r in warnings]
    summary = warnings[-1].getMessage()
    assert "49,999 more protocol violations" in summary
    assert sum(1 for entry in journal if entry[0] == "in" and entry[1] == 0) == GARBAGE


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_violation_budget_closes_with_1008(
    caplog: pytest.LogCaptureFixture, subprotocol: str
) -> None:
    """Past the budget (100 per 60 s, the default) the station is closed with 1008 and the
    close is journaled; the 50,000-frame flood never gets through."""
    caplog.set_level(logging.INFO, logger="kilowatt.transport")
    journal: Recorded = []
    async with asyncio.timeout(SAFETY), csms(InboundLimits(), journal) as server:
        async with station(server, "CP-BUDGET", subprotocol) as ws:
            with contextlib.suppress(ConnectionClosed):
                for _ in range(GARBAGE):
                    await ws.send('{"not": "a frame"}')
                # Sending may outpace the close frame: read (2.x: the CALLERRORs) until it.
                async for _answer in ws:
                    pass
            assert ws.close_code == 1008
            assert (ws.close_reason or "").startswith("too many protocol violations")
        while server.connections:
            await asyncio.sleep(0.01)
    closes = [entry for entry in journal if entry[0] == "out" and entry[1] == 0]
    assert len(closes) == 1 and closes[0][4].startswith("close 1008: too many protocol")
    inbound = sum(1 for entry in journal if entry[0] == "in")
    assert 100 < inbound < GARBAGE  # read until the 101st violation, then no more
    assert len(transport_warnings(caplog)) <= 4  # first violation, summary, close


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"])
async def test_binary_message_closes_with_1003(subprotocol: str) -> None:
    """OCPP-J frames are UTF-8 JSON text (OCPP-J 1.6 §4.1.2, 2.x Part 4 §4.1.2): a binary
    message, even one holding a valid frame, closes the connection with 1003 (RFC 6455 §7.4.1)."""
    journal: Recorded = []
    async with asyncio.timeout(SAFETY), csms(InboundLimits(), journal) as server:
        async with station(server, "CP-BINARY", subprotocol) as ws:
            await ws.send(b'[2,"bin-1","Heartbeat",{}]')
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1003
        while server.connections:
            await asyncio.sleep(0.01)
    assert [entry[:2] for entry in journal] == [("in", 0), ("out", 0)]
    assert journal[1][4].startswith("close 1003: ")


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def deep_call(levels: int) -> str:
    return '[2,"deep-1","Heartbeat",{"a":' + nested(levels) + "}]"


@pytest.mark.parametrize(
    ("subprotocol", "frame", "expected"),
    [
        # A readable id: echoed, with the version's code for a frame that is no valid RPC frame.
        ("ocpp2.0.1", deep_call(990), ["deep-1", "RpcFrameworkError"]),
        ("ocpp2.1", deep_call(100_000), ["deep-1", "RpcFrameworkError"]),
        ("ocpp1.6", deep_call(990), ["deep-1", "FormationViolation"]),
        # No readable id: "-1" in 2.x (Part 4 §4.2.3); 1.6 has no way to answer.
        ("ocpp2.0.1", nested(5_000), ["-1", "RpcFrameworkError"]),
        ("ocpp2.0.1", "[" * 100_000, ["-1", "RpcFrameworkError"]),
        ("ocpp1.6", nested(5_000), None),
        # A deep CALLRESULT answers no CALL of ours: ignored, not answered.
        ("ocpp2.0.1", '[3,"x",{"a":' + nested(990) + "}]", None),
    ],
)  # fmt: skip
async def test_deep_nesting_is_refused_unread(
    subprotocol: str, frame: str, expected: list[str] | None
) -> None:
    """A frame nested deeper than 64 levels gets the prescribed answer (or none), the journal
    records it without decoding it, and the connection keeps working."""
    journal: Recorded = []
    async with asyncio.timeout(SAFETY), csms(InboundLimits(), journal) as server:
        async with station(server, "CP-DEEP", subprotocol) as ws:
            await ws.send(frame)
            answer = await heartbeat(ws, "hb-after")
            assert answer[0] == 3  # the connection lives
        while server.connections:
            await asyncio.sleep(0.01)
    refused = journal[0]
    assert refused[0] == "in" and refused[3] is None and refused[4] == frame
    answers = [entry for entry in journal if entry[0] == "out" and entry[1] == 4]
    if expected is None:
        assert answers == []
    else:
        assert len(answers) == 1
        error = json.loads(answers[0][4])
        assert error[1:3] == expected and error[4] == {}


async def test_deep_answer_arrives_before_the_next_answer() -> None:
    """The CALLERROR of a refused deep frame is sent in order, before later answers."""
    journal: Recorded = []
    async with (
        asyncio.timeout(SAFETY),
        csms(InboundLimits(), journal) as server,
        station(server, "CP-ORDER", "ocpp2.0.1") as ws,
    ):
        await ws.send('[2,"deep-2","Heartbeat",{"a":' + nested(200) + "}]")
        await ws.send(json.dumps([2, "hb-2", "Heartbeat", {}]))
        first = json.loads(await ws.recv())
        second = json.loads(await ws.recv())
    assert first[:3] == [4, "deep-2", "RpcFrameworkError"]
    assert second[:2] == [3, "hb-2"]


async def test_a_flooding_station_does_not_delay_another() -> None:
    """Rate 20/s, burst 1: while a station's 200 Heartbeats are read at that pace (its frames
    wait in TCP buffers), another station's Heartbeat is answered at once, long before."""
    journal: Recorded = []
    limits = InboundLimits(rate=20, burst=1)
    async with (
        asyncio.timeout(SAFETY),
        csms(limits, journal) as server,
        station(server, "CP-FLOOD", "ocpp1.6") as flooder,
        station(server, "CP-QUIET", "ocpp1.6") as quiet,
    ):
        for i in range(200):
            await flooder.send(json.dumps([2, f"f-{i}", "Heartbeat", {}]))
        answer = await heartbeat(quiet, "quiet-1")
        assert answer[0] == 3
        answered = sum(
            1 for entry in journal if entry[0] == "out" and (entry[2] or "").startswith("f-")
        )
        assert answered < 200
        # Nothing is dropped: the flooder's calls are all answered eventually, in order.
        ids = [json.loads(await flooder.recv())[1] for _ in range(200)]
        assert ids == [f"f-{i}" for i in range(200)]


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=3, now=100.0)
    assert [bucket.delay(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.delay(100.0) == pytest.approx(0.1)  # in debt by one token
    assert bucket.delay(100.0) == pytest.approx(0.2)
    assert bucket.delay(100.3) == pytest.approx(0.0, abs=1e-9)  # 3 tokens back, 3 owed
    assert bucket.delay(200.0) == 0.0  # refilled, but never above the burst
    assert bucket.delay(200.0) == 0.0
    assert bucket.delay(200.0) == 0.0
    assert bucket.delay(200.0) > 0.0


def test_violations_budget_is_a_leaky_bucket(caplog: pytest.LogCaptureFixture) -> None:
    limits = InboundLimits(violation_budget=3, violation_window=30.0, log_interval=10.0)
    violations = Violations("CP-1", limits, logging.getLogger("test.violations"))
    assert [violations.add("bad", 0.0) for _ in range(3)] == [False, False, False]
    assert violations.add("bad", 0.0) is True  # the 4th within the window
    fresh = Violations("CP-2", limits, logging.getLogger("test.violations"))
    # One violation drains every window / budget = 10 s: one every 10 s is tolerated forever.
    assert not any(fresh.add("bad", 10.0 * i) for i in range(100))
    assert fresh.total == 100
    # Only logged, never charged: a CALLRESULTERROR flood cannot close the connection.
    quiet = Violations("CP-3", limits, logging.getLogger("test.violations"))
    assert not any(quiet.add("rejected", 0.0, counts=False) for _ in range(100))


def test_violation_logs_are_summarised_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="test.summary")
    limits = InboundLimits(violation_budget=0, log_interval=10.0)
    violations = Violations("CP-1", limits, logging.getLogger("test.summary"))
    for i in range(5_000):
        violations.add(f"bad {i}", i * 0.01)  # 5,000 over 50 s
    violations.flush(50.0)
    lines = [r.getMessage() for r in caplog.records if r.name == "test.summary"]
    # One full line and one summary per 10 s interval, whatever the number of violations.
    assert len(lines) <= 2 * (50 // 10) + 2
    assert lines[0] == "CP-1: protocol violation: bad 0"
    assert "999 more protocol violations in the last 10.0 s, last: bad 999" in lines[1]


@pytest.mark.parametrize(
    "kwargs",
    [{"rate": -1}, {"burst": 0}, {"violation_budget": -1}, {"violation_window": 0}],
)
def test_limits_refuse_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        InboundLimits(**kwargs)


def test_server_passes_its_limits_to_each_connection() -> None:
    limits = InboundLimits(rate=5)
    server = serve_ocpp(Csms, "127.0.0.1", 0, versions=[OcppVersion.V16], limits=limits)
    assert server.limits is limits
