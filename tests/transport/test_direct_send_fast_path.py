"""Pins the websockets internals that :meth:`OcppConnection._write` uses to write a frame
without ``send()`` (``protocol.send_text`` + ``send_data``), and the fallback to ``send()``
under flow control. If websockets changes these, these tests fail before the server does."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.connection import Connection
from websockets.protocol import State
from websockets.version import version as websockets_version

from kilowatt import fastpaths
from kilowatt.ocpp import v16
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import OcppServer, StationPeer, on, serve_ocpp
from kilowatt.transport.connection import _DIRECT_SEND_VERSIONS, _direct_send

SAFETY = 10  # s, a safety net only
BIG = "x" * 200_000  # a DataTransfer answer several times websockets' 32 KiB write limit


class Csms(StationPeer):
    transfers = 0

    @on(v16.HeartbeatRequest)
    def heartbeat(self, request: Any) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time="2024-01-01T00:00:00Z")

    @on(v16.DataTransferRequest)
    def data_transfer(self, request: v16.DataTransferRequest) -> v16.DataTransferResponse:
        self.transfers += 1
        return v16.DataTransferResponse(status=v16.DataTransferStatus.ACCEPTED, data=BIG)


@pytest.fixture
async def server() -> AsyncIterator[OcppServer[Csms]]:
    # These tests are about the fast path itself: on whatever KILOWATT_FAST_PATHS says.
    fastpaths.override(True)
    try:
        async with serve_ocpp(Csms, "127.0.0.1", 0, versions=[OcppVersion.V16]) as srv:
            yield srv
    finally:
        fastpaths.override(None)


async def server_side(srv: OcppServer[Csms], identity: str) -> Any:
    while identity not in srv.connections:
        await asyncio.sleep(0.005)
    return srv.connections[identity]


def test_send_still_does_what_the_direct_write_replicates() -> None:
    """``send(str)`` = ``protocol.send_text(message.encode())`` in ``send_context()``, which
    writes with ``send_data()`` and then drains; a new release must be checked again."""
    assert websockets_version.startswith(_DIRECT_SEND_VERSIONS)
    send = inspect.getsource(Connection.send)
    assert "self.protocol.send_text(message.encode())" in send
    assert "async with self.send_context():" in send
    assert "while self.send_in_progress is not None:" in send
    context = inspect.getsource(Connection.send_context)
    assert "self.protocol.state is expected_state" in context
    assert "self.send_data()" in context
    assert "await self.drain()" in context
    drain = inspect.getsource(Connection.drain)
    assert "if self.transport.is_closing():" in drain
    assert "if self.paused:" in drain


async def test_direct_write_is_used_and_frames_are_intact(server: OcppServer[Csms]) -> None:
    async with (
        asyncio.timeout(SAFETY),
        connect(
            f"ws://127.0.0.1:{server.port}/ocpp/CP-1",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        ) as ws,
    ):
        connection = await server_side(server, "CP-1")
        assert connection._direct
        websocket = connection.websocket
        assert websocket.protocol.state is State.OPEN
        assert websocket.paused is False
        assert websocket.send_in_progress is None

        async def no_send(*args: Any, **kwargs: Any) -> None:
            raise AssertionError("send() used although it need not wait")

        websocket.send = no_send
        for index in range(20):
            await ws.send(f'[2,"h{index}","Heartbeat",{{}}]')
        for index in range(20):
            assert json.loads(await ws.recv()) == [
                3,
                f"h{index}",
                {"currentTime": "2024-01-01T00:00:00Z"},
            ]


async def test_flow_control_falls_back_to_send_and_keeps_order(
    server: OcppServer[Csms],
) -> None:
    """While the transport has paused writing (its buffer is full), frames go through
    ``send()``, which waits in ``drain()``; answers finishing meanwhile queue behind that
    writer; once writing resumes, every answer arrives, in order, written directly again.
    (``pause_writing``/``resume_writing`` are the asyncio flow-control callbacks the transport
    itself calls; loopback sockets absorb too much to fill reliably in a test.)"""
    async with (
        asyncio.timeout(SAFETY),
        connect(
            f"ws://127.0.0.1:{server.port}/ocpp/CP-2",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            max_size=2**20,
        ) as ws,
    ):
        connection = await server_side(server, "CP-2")
        websocket = connection.websocket
        original = websocket.send
        fallbacks = 0

        async def counting_send(message: Any) -> None:
            nonlocal fallbacks
            fallbacks += 1
            await original(message)

        websocket.send = counting_send
        websocket.pause_writing()
        for index in range(5):
            await ws.send(f'[2,"d{index}","DataTransfer",{{"vendorId":"V"}}]')
        peer = server.peers["CP-2"]
        while peer.transfers < 5 or connection.rpc.unanswered_calls or len(connection._tasks) > 1:
            await asyncio.sleep(0.005)
        assert fallbacks == 1  # the first answer's send() waits in drain(); the rest queue
        assert connection._writing
        websocket.resume_writing()
        for index in range(5):
            frame = json.loads(await ws.recv())
            assert frame[:2] == [3, f"d{index}"]
            assert frame[2]["data"] == BIG
        # The same writer wrote the rest once drain() returned, directly (no longer paused).
        assert fallbacks == 1
        assert not connection._writing
        await ws.send('[2,"h","Heartbeat",{}]')
        assert json.loads(await ws.recv())[1] == "h"
        assert fallbacks == 1


def test_only_real_websockets_connections_are_written_directly() -> None:
    class Lookalike:
        protocol = transport = send_in_progress = None
        paused = False

        def send_data(self) -> None: ...

    assert not _direct_send(Lookalike())
