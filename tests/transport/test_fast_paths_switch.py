"""The fast-path switch (:mod:`kilowatt.fastpaths`): how it reads the environment, and that each
transport trick behind it falls back to the public websockets API when it is off."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from kilowatt import fastpaths
from kilowatt.ocpp import v16
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import StationPeer, on, serve_ocpp

SAFETY = 10  # s, a safety net only


class Csms(StationPeer):
    @on(v16.HeartbeatRequest)
    def heartbeat(self, request: Any) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time="2024-01-01T00:00:00Z")


@pytest.fixture
def fresh_switch() -> Iterator[None]:
    fastpaths.override(None)
    try:
        yield
    finally:
        fastpaths.override(None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        ("1", True),
        ("yes", True),
        ("0", False),
        ("false", False),
        (" OFF ", False),
        ("No", False),
    ],
)
def test_switch_reads_the_environment_once(
    monkeypatch: pytest.MonkeyPatch, fresh_switch: None, value: str | None, expected: bool
) -> None:
    if value is None:
        monkeypatch.delenv(fastpaths.ENV, raising=False)
    else:
        monkeypatch.setenv(fastpaths.ENV, value)
    assert fastpaths.enabled() is expected
    monkeypatch.setenv(fastpaths.ENV, "1" if not expected else "0")
    assert fastpaths.enabled() is expected  # cached: read once


async def test_each_trick_follows_the_switch(fast_paths: bool) -> None:
    async with (
        asyncio.timeout(SAFETY),
        serve_ocpp(
            Csms, "127.0.0.1", 0, versions=[OcppVersion.V16], ping_interval=0.05, ping_timeout=1
        ) as server,
    ):
        options = server._ws_options
        if fast_paths:
            assert server._keepalive_task is not None
            assert (options["ping_interval"], options["ping_timeout"]) == (None, None)
        else:  # websockets' own keepalive, with the same interval and timeout
            assert server._keepalive_task is None
            assert (options["ping_interval"], options["ping_timeout"]) == (0.05, 1)
        async with connect(
            f"ws://127.0.0.1:{server.port}/ocpp/CP-1",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        ) as ws:
            while "CP-1" not in server.connections:
                await asyncio.sleep(0.005)
            connection = server.connections["CP-1"]
            assert connection._direct is fast_paths
            await asyncio.sleep(0.2)  # a few keepalive rounds, answered by the client
            await ws.send('[2,"1","Heartbeat",{}]')
            assert await ws.recv() == '[3,"1",{"currentTime":"2024-01-01T00:00:00Z"}]'
            assert not connection.closed
