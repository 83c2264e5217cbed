"""Kilowatt server ↔ Kilowatt client over real sockets: calls, errors, concurrency, reconnect."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.client import connect

from kilowatt.ocpp import v16, v21
from kilowatt.ocpp.errors import CallError, CallTimeout, ErrorCode
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import (
    CallContext,
    ConnectionClosed,
    HandshakeFailed,
    OcppClient,
    OcppServer,
    StationClient,
    StationPeer,
    after,
    connect_ocpp,
    on,
    serve_ocpp,
)

# Every test runs with the fast paths on and off (the plain paths must behave the same).
pytestmark = pytest.mark.usefixtures("fast_paths")

NOW = "2024-01-01T00:00:00Z"
SAFETY = 10  # s, a safety net only: every test finishes on events, not on time


def boot_request() -> v16.BootNotificationRequest:
    return v16.BootNotificationRequest(charge_point_vendor="Kilowatt", charge_point_model="T1")


class Csms(StationPeer):
    """CSMS side: boots stations; its boot handler calls the station back before answering."""

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.events: list[str] = []
        self.release = asyncio.Event()

    @on(v16.BootNotificationRequest)
    async def boot(self, request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
        # A CALL from inside an inbound handler: must not deadlock.
        config = await self.call(v16.GetConfigurationRequest(key=["HeartbeatInterval"]))
        self.events.append(f"config:{config.unknown_key}")
        return v16.BootNotificationResponse(
            status=v16.BootNotificationStatus.ACCEPTED, current_time=NOW, interval=300
        )

    @after(v16.BootNotificationRequest)
    async def booted(self, request: v16.BootNotificationRequest) -> None:
        self.events.append("after-boot")

    @on("Heartbeat")
    async def heartbeat(self, request: Any, context: CallContext) -> v16.HeartbeatResponse:
        self.events.append(f"heartbeat:{context.message_id}")
        if context.message_id == "slow":
            await self.release.wait()
        else:
            self.release.set()
        return v16.HeartbeatResponse(current_time=NOW)

    @on("Authorize")
    def authorize(self, request: v16.AuthorizeRequest) -> v16.AuthorizeResponse:
        if request.id_tag == "boom":
            raise RuntimeError("handler bug")
        raise CallError(ErrorCode.SECURITY_ERROR, "tag blocked", {"tag": request.id_tag})

    @on("StatusNotification")
    def wrong(self, request: Any) -> Any:
        return v16.HeartbeatResponse(current_time=NOW)  # wrong response type


class Station(StationClient):
    """Station side: answers GetConfiguration; RemoteStart waits until released."""

    boots = 0

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.gate = asyncio.Event()

    async def on_connect(self) -> None:
        type(self).boots += 1

    @on(v16.GetConfigurationRequest)
    def get_configuration(
        self, request: v16.GetConfigurationRequest
    ) -> v16.GetConfigurationResponse:
        return v16.GetConfigurationResponse(unknown_key=request.key)

    @on(v16.RemoteStartTransactionRequest)
    async def remote_start(
        self, request: v16.RemoteStartTransactionRequest
    ) -> v16.RemoteStartTransactionResponse:
        await self.gate.wait()
        return v16.RemoteStartTransactionResponse(status=v16.RemoteStartTransactionStatus.ACCEPTED)


@pytest.fixture
async def server() -> AsyncIterator[OcppServer[Csms]]:
    async with serve_ocpp(Csms, "127.0.0.1", 0, versions=[OcppVersion.V16]) as srv:
        yield srv


def base(srv: OcppServer[Any]) -> str:
    return f"ws://127.0.0.1:{srv.port}/ocpp"


async def station_peer(srv: OcppServer[Csms], identity: str) -> Csms:
    while identity not in srv.peers:
        await asyncio.sleep(0.005)
    return srv.peers[identity]


async def test_call_inside_inbound_handler_and_after_hook(server: OcppServer[Csms]) -> None:
    async with asyncio.timeout(SAFETY), connect_ocpp(base(server), "CP-1", Station) as station:
        response = await station.call(boot_request())
        assert response.status is v16.BootNotificationStatus.ACCEPTED
        csms = server.peers["CP-1"]
        while "after-boot" not in csms.events:
            await asyncio.sleep(0.005)
        assert csms.events == ["config:['HeartbeatInterval']", "after-boot"]


async def test_call_errors_reach_the_caller(server: OcppServer[Csms]) -> None:
    async with asyncio.timeout(SAFETY), connect_ocpp(base(server), "CP-1", Station) as station:
        with pytest.raises(CallError) as info:
            await station.call(v16.AuthorizeRequest(id_tag="ABC"))
        assert info.value.code is ErrorCode.SECURITY_ERROR
        assert info.value.details == {"tag": "ABC"}
        with pytest.raises(CallError) as info:
            await station.call(v16.AuthorizeRequest(id_tag="boom"))
        assert info.value.code is ErrorCode.INTERNAL_ERROR
        with pytest.raises(CallError) as info:  # no handler: NotSupported
            await station.call(v16.DataTransferRequest(vendor_id="x"))
        assert info.value.code is ErrorCode.NOT_SUPPORTED
        with pytest.raises(CallError) as info:  # handler returned the wrong type
            await station.call(
                v16.StatusNotificationRequest(
                    connector_id=0,
                    error_code=v16.StatusNotificationErrorCode.NO_ERROR,
                    status=v16.StatusNotificationStatus.AVAILABLE,
                )
            )
        assert info.value.code is ErrorCode.INTERNAL_ERROR
        # The connection is still usable.
        assert (await station.call(v16.HeartbeatRequest())).current_time == NOW


async def test_csms_calls_queue_fifo_and_time_out(server: OcppServer[Csms]) -> None:
    async with asyncio.timeout(SAFETY), connect_ocpp(base(server), "CP-1", Station) as station:
        csms = await station_peer(server, "CP-1")
        start = v16.RemoteStartTransactionRequest(id_tag="T1")
        first = asyncio.create_task(csms.call(start))
        second = asyncio.create_task(csms.call(v16.GetConfigurationRequest(key=["A"])))
        await asyncio.sleep(0.05)
        assert not second.done()  # queued behind the outstanding RemoteStart
        station.gate.set()
        assert (await first).status is v16.RemoteStartTransactionStatus.ACCEPTED
        assert (await second).unknown_key == ["A"]
        station.gate.clear()
        with pytest.raises(CallTimeout):  # the behaviour under test is the deadline itself
            await csms.call(start, timeout=0.05)
        station.gate.set()


async def test_pending_call_fails_when_the_connection_closes(server: OcppServer[Csms]) -> None:
    async with asyncio.timeout(SAFETY):
        station = await connect_ocpp(base(server), "CP-1", Station)
        csms = await station_peer(server, "CP-1")
        pending = asyncio.create_task(csms.call(v16.RemoteStartTransactionRequest(id_tag="T")))
        await asyncio.sleep(0.05)
        await station.close()
        with pytest.raises(ConnectionClosed):
            await pending
        with pytest.raises(ConnectionClosed):
            await csms.call(v16.RemoteStartTransactionRequest(id_tag="T"))


async def test_inbound_calls_are_handled_concurrently_and_answered_as_they_finish(
    server: OcppServer[Csms],
) -> None:

    async with (
        asyncio.timeout(SAFETY),
        connect(
            base(server) + "/RAW",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        ) as ws,
    ):
        await ws.send('[2,"slow","Heartbeat",{}]')
        await ws.send('[2,"fast","Heartbeat",{}]')
        first = json.loads(await ws.recv())
        second = json.loads(await ws.recv())
        assert [first[1], second[1]] == ["fast", "slow"]
        assert first[0] == second[0] == 3


async def test_unknown_action_is_not_implemented(server: OcppServer[Csms]) -> None:
    async with (
        asyncio.timeout(SAFETY),
        connect(
            base(server) + "/RAW",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        ) as ws,
    ):
        await ws.send('[2,"1","FlyToTheMoon",{}]')
        assert json.loads(await ws.recv())[:3] == [4, "1", "NotImplemented"]
        await ws.send('[2,"2","Reset",{"type":"Hard"}]')  # CSMS-initiated: not for us
        assert json.loads(await ws.recv())[:3] == [4, "2", "NotSupported"]


async def test_send_frames_in_21() -> None:
    received: list[Any] = []

    class Csms21(StationPeer):
        @on("NotifyPeriodicEventStream")
        def stream(self, request: Any) -> None:
            received.append(request)

    request = v21.NotifyPeriodicEventStreamRequest(
        id=1, pending=0, basetime=NOW, data=[v21.StreamDataElement(t=Decimal("0.5"), v="230.1")]
    )
    async with (
        asyncio.timeout(SAFETY),
        serve_ocpp(Csms21, "127.0.0.1", 0, versions=[OcppVersion.V21]) as srv,
        connect_ocpp(base(srv), "CP-21", StationClient, versions=[OcppVersion.V21]) as st,
    ):
        assert st.version is OcppVersion.V21
        await st.send(request)
        while not received:
            await asyncio.sleep(0.005)
    assert received == [request]


async def test_client_handshake_failures() -> None:
    async with serve_ocpp(
        Csms, "127.0.0.1", 0, versions=[OcppVersion.V201], auth=lambda r: _status(404)
    ) as srv:
        with pytest.raises(HandshakeFailed) as info:
            await connect_ocpp(base(srv), "CP-1", Station)
        assert info.value.status == 404
    async with serve_ocpp(Csms, "127.0.0.1", 0, versions=[OcppVersion.V201]) as srv:
        with pytest.raises(HandshakeFailed) as info:  # offers 1.6 only: no subprotocol agreed
            await connect_ocpp(base(srv), "CP-1", Station)
        assert info.value.status is None


async def _status(status: int) -> int:
    return status


async def test_client_backs_off_with_full_jitter_then_gives_up() -> None:
    waited: list[float] = []

    async def sleep(delay: float) -> None:
        waited.append(delay)

    async with serve_ocpp(Csms, "127.0.0.1", 0) as srv:
        port = srv.port
    client = OcppClient(
        f"ws://127.0.0.1:{port}/ocpp",
        "CP-1",
        Station,
        backoff_initial=1.0,
        backoff_max=3.0,
        max_attempts=4,
        random=lambda: 0.5,
        sleep=sleep,
    )
    with pytest.raises(OSError):
        await client.run()
    assert waited == [0.5, 1.0, 1.5]  # 0.5 x min(3, 1, 2, 4)


async def test_client_reconnects_and_boots_again(server: OcppServer[Csms]) -> None:
    Station.boots = 0
    connected: list[str] = []

    async def on_connected(handler: Station) -> None:
        connected.append(handler.identity)

    async def no_wait(delay: float) -> None:
        return None

    client = OcppClient(base(server), "CP-R", Station, sleep=no_wait, on_connected=on_connected)
    async with asyncio.timeout(SAFETY), client:
        first = await client.wait_connected()
        csms = await station_peer(server, "CP-R")
        await csms.close(1001, "maintenance")
        while client.connections < 2:
            await asyncio.sleep(0.005)
        second = await client.wait_connected()
        assert second is not first
        assert (await second.call(v16.HeartbeatRequest())).current_time == NOW
    assert connected == ["CP-R", "CP-R"]
    assert Station.boots == 2
    assert client.delays and all(0 <= d <= 1.0 for d in client.delays)
