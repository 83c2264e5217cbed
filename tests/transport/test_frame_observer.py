"""The frame observer hook (:mod:`kilowatt.transport.frames`): every frame in and out, in wire
order, with its header; and :func:`frame_header` itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import connect

from kilowatt.ocpp import v16
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import OcppConnection, StationPeer, frame_header, on, serve_ocpp

pytestmark = pytest.mark.usefixtures("fast_paths")

SAFETY = 10  # s, a safety net only
Seen = list[tuple[str, Any, int, str | None, str | None]]


class Csms(StationPeer):
    @on(v16.HeartbeatRequest)
    async def heartbeat(self, request: Any) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time="2024-01-01T00:00:00Z")


def observed(seen: Seen) -> Any:
    def factory(connection: OcppConnection) -> Csms:
        connection.frame_observer = lambda *frame: seen.append(frame)
        return Csms(connection)

    return factory


@pytest.mark.parametrize(
    ("frame", "header"),
    [
        ('[2,"a","Heartbeat",{}]', (2, "a", "Heartbeat")),
        (b'[6,"b","NotifyPeriodicEventStream",{}]', (6, "b", "NotifyPeriodicEventStream")),
        ('[3,"a",{"currentTime":"x"}]', (3, "a", None)),
        ('[4,"a","NotSupported","",{}]', (4, "a", None)),
        ("[2,7,8,{}]", (2, None, None)),
        ("[]", (0, None, None)),
        ('["2","a"]', (0, None, None)),
        ("[true]", (0, None, None)),
        ("{not json", (0, None, None)),
    ],
)
def test_frame_header(frame: str | bytes, header: tuple[int, str | None, str | None]) -> None:
    assert frame_header(frame) == header


async def test_observer_sees_every_frame_in_wire_order() -> None:
    seen: Seen = []
    async with (
        asyncio.timeout(SAFETY),
        serve_ocpp(observed(seen), "127.0.0.1", 0, versions=[OcppVersion.V16]) as server,
        connect(
            f"ws://127.0.0.1:{server.port}/ocpp/CP-1",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        ) as ws,
    ):
        await ws.send('[2,"1","Heartbeat",{}]')
        answer = await ws.recv()
        await ws.send("not a frame")  # 1.6: not answered
        await ws.send('[2,"2","Nope",{}]')  # answered by the core: NotImplemented
        error = await ws.recv()
        call = asyncio.ensure_future(
            server.peers["CP-1"].call(v16.GetConfigurationRequest(), timeout=5)
        )
        ours = await ws.recv()
        our_id = frame_header(ours)[1]
        reply = f'[3,"{our_id}",{{"configurationKey":[]}}]'
        await ws.send(reply)
        await call
    assert seen == [
        ("in", '[2,"1","Heartbeat",{}]', 2, "1", "Heartbeat"),
        ("out", answer, 3, "1", None),
        ("in", "not a frame", 0, None, None),
        ("in", '[2,"2","Nope",{}]', 2, "2", "Nope"),
        ("out", error, 4, "2", None),
        ("out", ours, 2, our_id, "GetConfiguration"),
        ("in", reply, 3, our_id, None),
    ]
