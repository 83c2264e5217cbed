"""StationHandler.handle_call hands back Peer's coroutine once the station is recorded, and
otherwise waits for on_connect (or refuses): both paths, before and after readiness."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from kilowatt.handlers.base import StationHandler
from kilowatt.ocpp import v16
from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.transport import CallContext, on

NOW = "2024-01-01T00:00:00Z"


class Handler(StationHandler):
    @on(v16.HeartbeatRequest)
    async def heartbeat(self, request: Any) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time=NOW)


def make() -> Handler:
    connection = SimpleNamespace(identity="CP-1", handler=None)
    return Handler(connection, None, None)  # type: ignore[arg-type]


def beat(handler: Handler) -> Any:
    context = CallContext("1", "Heartbeat", handler.connection)
    return handler.handle_call(context, v16.HeartbeatRequest())


async def test_a_call_before_on_connect_waits_then_dispatches() -> None:
    handler = make()
    early = asyncio.ensure_future(beat(handler))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not early.done()
    handler._ready.set()
    assert (await early).current_time == NOW
    assert (await beat(handler)).current_time == NOW  # ready: Peer's coroutine directly


async def test_a_refused_station_gets_security_error_before_and_after() -> None:
    handler = make()
    early = asyncio.ensure_future(beat(handler))
    await asyncio.sleep(0)
    handler._refused = True
    handler._ready.set()
    for call in (early, beat(handler)):
        with pytest.raises(CallError) as info:
            await call
        assert info.value.code is ErrorCode.SECURITY_ERROR
