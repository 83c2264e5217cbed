"""The in-memory connection pair (:mod:`kilowatt.transport.memory`): both RPC cores, no sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed as WsConnectionClosed

from kilowatt.ocpp import v16
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import CallError, StationClient, StationPeer, on
from kilowatt.transport.memory import MemorySocket, connection_pair


class Csms(StationPeer):
    events: list[str]

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.events = []

    async def on_connect(self) -> None:
        self.events.append("connect")

    async def on_disconnect(self) -> None:
        self.events.append("disconnect")

    @on(v16.HeartbeatRequest)
    def heartbeat(self, request: Any) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time="2024-01-01T00:00:00Z")


class Station(StationClient):
    @on(v16.ResetRequest)
    def reset(self, request: v16.ResetRequest) -> v16.ResetResponse:
        return v16.ResetResponse(status=v16.ResetStatus.ACCEPTED)


async def test_calls_both_ways_and_lifecycle_hooks() -> None:
    async with asyncio.timeout(5):
        async with connection_pair(OcppVersion.V16, Csms, Station, identity="CP-9") as pair:
            beat = await pair.station.call(v16.HeartbeatRequest())
            assert beat.current_time == "2024-01-01T00:00:00Z"
            reset = await pair.csms.call(v16.ResetRequest(type=v16.ResetType.HARD))
            assert reset.status == v16.ResetStatus.ACCEPTED
            with pytest.raises(CallError):  # the station has no handler: NotSupported
                await pair.csms.call(v16.ClearCacheRequest())
            assert pair.csms.identity == pair.station.identity == "CP-9"
            assert pair.csms_connection.remote_address == ("memory", 1)
        assert pair.csms.events == ["connect", "disconnect"]
        assert pair.csms_connection.closed and pair.station_connection.closed


async def test_memory_socket_close() -> None:
    a, b = MemorySocket.pair()
    await a.send("one")
    await b.close(1001, "going away")
    assert [m async for m in b] == ["one"]  # what a sent before the close, then the end
    assert (a.close_code, a.close_reason) == (b.close_code, b.close_reason) == (1001, "going away")
    with pytest.raises(WsConnectionClosed):
        await a.send("two")
    await a.close()  # closing again changes nothing
    assert a.close_code == 1001
