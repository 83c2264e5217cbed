"""Floods and garbage against ``kilowatt serve`` (issue 12 item 5), with its default limits:
a 50,000-frame garbage flood ends in a 1008 close after a bounded number of log lines and is
journaled; deep nesting gets the prescribed CALLERROR and the connection lives; a binary
message is closed with 1003. The latency of a neighbour during a flood is measured by
``bench/flood.py``, not here."""

from __future__ import annotations

import contextlib
import json

import pytest
from websockets.exceptions import ConnectionClosed

from .support import Api, KilowattServer, boot_raw, eventually, raw_station, unique

GARBAGE = 50_000


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_garbage_flood_is_closed_1008_with_bounded_logs(
    server: KilowattServer, api: Api, subprotocol: str
) -> None:
    identity = unique("FLOOD")
    async with raw_station(server, identity, subprotocol) as st:
        await boot_raw(st, subprotocol)
        with contextlib.suppress(ConnectionClosed):
            for _ in range(GARBAGE):
                await st.ws.send("this is not json")
        await st.ws.wait_closed()
        assert st.ws.close_code == 1008

    async def journaled() -> list[str]:
        frames = [m["frame"] for m in await api.messages(identity)]
        assert any(frame.startswith("close 1008: too many protocol") for frame in frames)
        return frames

    frames = await eventually(journaled)
    assert len(frames) < 1_000  # read until the budget was exceeded, not 50,000 frames
    lines = [line for line in server.log_tail(2_000_000).splitlines() if identity in line]
    # connected, first violation, summary, close, disconnected (and the boot's own lines)
    assert len(lines) <= 10, lines


@pytest.mark.parametrize(
    ("subprotocol", "code"),
    [
        ("ocpp1.6", "FormationViolation"),
        ("ocpp2.0.1", "RpcFrameworkError"),
        ("ocpp2.1", "RpcFrameworkError"),
    ],
)
async def test_deep_nesting_gets_the_prescribed_answer(
    server: KilowattServer, api: Api, subprotocol: str, code: str
) -> None:
    """990 levels (once a RecursionError and a 1011 close): refused before any decode."""
    identity = unique("DEEP")
    deep = "[" * 990 + "]" * 990
    async with raw_station(server, identity, subprotocol) as st:
        await boot_raw(st, subprotocol)
        await st.send_raw('[2,"deep-1","Heartbeat",{"a":' + deep + "}]")
        answer = await st.next_unsolicited()
        assert answer[:3] == [4, "deep-1", code] and answer[4] == {}
        if subprotocol != "ocpp1.6":  # no readable id: "-1" (2.0.1/2.1 Part 4 §4.2.3)
            await st.send_raw(deep)
            answer = await st.next_unsolicited()
            assert answer[:3] == [4, "-1", code]
        assert "currentTime" in await st.result("Heartbeat", {})  # the connection lives

    async def journaled() -> None:
        frames = [m["frame"] for m in await api.messages(identity)]
        assert any(deep in frame for frame in frames)

    await eventually(journaled)


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_binary_message_is_closed_1003(server: KilowattServer, subprotocol: str) -> None:
    """OCPP-J frames are UTF-8 JSON text (OCPP-J 1.6 §4.1.2, 2.x Part 4 §4.1.2); RFC 6455
    §7.4.1 gives 1003 for data of a type the endpoint cannot accept."""
    async with raw_station(server, unique("BIN"), subprotocol) as st:
        await boot_raw(st, subprotocol)
        await st.send_raw(json.dumps([2, "bin-1", "Heartbeat", {}]).encode())
        await st.ws.wait_closed()
        assert st.ws.close_code == 1003
