"""Interop with the PyPI ``ocpp`` package over real sockets, both directions, errors included.

The ``ocpp`` package plays the charge point against a Kilowatt server (1.6, 2.0.1, 2.1), and the
central system (written as its tutorial shows) against a Kilowatt client (1.6, 2.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import ocpp.exceptions
import ocpp.v16
import ocpp.v21
import ocpp.v201
import pytest
from ocpp.routing import after as ocpp_after
from ocpp.routing import on as ocpp_on
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from kilowatt.ocpp import v16, v21, v201
from kilowatt.ocpp.errors import CallError, CallTimeout, ErrorCode
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import (
    OcppConnection,
    StationClient,
    StationPeer,
    connect_ocpp,
    on,
    serve_ocpp,
)

NOW = "2024-05-01T12:00:00Z"
SAFETY = 15  # s, a safety net only
V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21
OCPP_CP = {V16: ocpp.v16.ChargePoint, V201: ocpp.v201.ChargePoint, V21: ocpp.v21.ChargePoint}
OCPP_CALL: dict[OcppVersion, Any] = {V16: ocpp.v16.call, V201: ocpp.v201.call, V21: ocpp.v21.call}
OCPP_RESULT: dict[OcppVersion, Any] = {
    V16: ocpp.v16.call_result,
    V201: ocpp.v201.call_result,
    V21: ocpp.v21.call_result,
}


class KilowattCsms(StationPeer):
    """Kilowatt CSMS handling every version by action name."""

    @on("BootNotification")
    def boot(self, request: Any) -> Any:
        if self.version is V16:
            return v16.BootNotificationResponse(
                status=v16.BootNotificationStatus.ACCEPTED, current_time=NOW, interval=10
            )
        module = v201 if self.version is V201 else v21
        return module.BootNotificationResponse(
            status=module.RegistrationStatus.ACCEPTED, current_time=NOW, interval=10
        )

    @on("Authorize")
    def authorize(self, request: Any) -> Any:
        raise CallError(ErrorCode.SECURITY_ERROR, "token blocked", {"reason": "test"})


def ocpp_station_class(version: OcppVersion) -> type[Any]:
    """A charge point written with the ``ocpp`` package that accepts remote starts."""
    result = OCPP_RESULT[version]
    action = "RemoteStartTransaction" if version is V16 else "RequestStartTransaction"
    response = (
        result.RemoteStartTransaction(status="Accepted")
        if version is V16
        else result.RequestStartTransaction(status="Accepted")
    )

    class OcppStation(OCPP_CP[version]):  # type: ignore[misc, valid-type]
        started: dict[str, Any] | None = None

        @ocpp_on(action)
        def on_start(self, **kwargs: Any) -> Any:
            self.started = kwargs
            return response

    return OcppStation


def boot_payload(version: OcppVersion) -> Any:
    call = OCPP_CALL[version]
    if version is V16:
        return call.BootNotification(charge_point_model="M1", charge_point_vendor="PyPI-ocpp")
    return call.BootNotification(
        charging_station={"model": "M1", "vendor_name": "PyPI-ocpp"}, reason="PowerUp"
    )


def authorize_payload(version: OcppVersion) -> Any:
    call = OCPP_CALL[version]
    if version is V16:
        return call.Authorize(id_tag="BLOCKED")
    return call.Authorize(id_token={"id_token": "BLOCKED", "type": "ISO14443"})


def start_request(version: OcppVersion) -> Any:
    if version is V16:
        return v16.RemoteStartTransactionRequest(id_tag="TAG-1", connector_id=1)
    module = v201 if version is V201 else v21
    return module.RequestStartTransactionRequest(
        id_token=module.IdToken(id_token="TAG-1", type="ISO14443"), remote_start_id=7
    )


def reset_request(version: OcppVersion) -> Any:
    if version is V16:
        return v16.ResetRequest(type=v16.ResetType.SOFT)
    module = v201 if version is V201 else v21
    return module.ResetRequest(type="Immediate")


@pytest.mark.parametrize("version", [V16, V201, V21], ids=lambda v: v.value)
async def test_ocpp_package_station_against_kilowatt_server(version: OcppVersion) -> None:
    async with (
        asyncio.timeout(SAFETY),
        serve_ocpp(KilowattCsms, "127.0.0.1", 0, versions=[version]) as server,
        connect(
            f"ws://127.0.0.1:{server.port}/ocpp/PY-1",
            subprotocols=[version.subprotocol],  # type: ignore[list-item]
        ) as ws,
    ):
        station = ocpp_station_class(version)("PY-1", ws)
        reader = asyncio.create_task(station.start())
        try:
            boot = await station.call(boot_payload(version))
            assert boot.status == "Accepted" and boot.interval == 10

            # A CallError raised by a Kilowatt handler arrives as the ocpp exception.
            with pytest.raises(ocpp.exceptions.SecurityError) as raised:
                await station.call(authorize_payload(version), suppress=False)
            assert raised.value.description == "token blocked"

            # Kilowatt CSMS -> ocpp station: typed request, typed response.
            csms = server.peers["PY-1"]
            answer = await csms.call(start_request(version))
            assert answer.status == "Accepted"
            assert station.started is not None
            assert station.started["remote_start_id" if version.is_2x else "id_tag"] in (7, "TAG-1")

            # No handler on the ocpp side: its answer reaches call() as a CallError (1.6 and
            # 2.0.1; the ocpp package answers NotImplemented where the spec wants NotSupported).
            # For 2.1 it answers nothing at all, so the call times out.
            if version is V21:
                with pytest.raises(CallTimeout):
                    await csms.call(reset_request(version), timeout=0.2)
            else:
                with pytest.raises(CallError) as info:
                    await csms.call(reset_request(version))
                assert info.value.code is ErrorCode.NOT_IMPLEMENTED
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await reader


class KilowattStation(StationClient):
    """Kilowatt station accepting remote starts of any version."""

    def __init__(self, connection: OcppConnection) -> None:
        super().__init__(connection)
        self.started = asyncio.Event()

    @on(v16.RemoteStartTransactionRequest)
    def remote_start(self, request: v16.RemoteStartTransactionRequest) -> Any:
        self.started.set()
        return v16.RemoteStartTransactionResponse(status=v16.RemoteStartTransactionStatus.ACCEPTED)

    @on(v201.RequestStartTransactionRequest)
    def request_start(self, request: v201.RequestStartTransactionRequest) -> Any:
        self.started.set()
        return v201.RequestStartTransactionResponse(status=v201.RequestStartStopStatus.ACCEPTED)

    @on("ChangeAvailability")
    def change_availability(self, request: Any) -> Any:
        raise CallError(ErrorCode.NOT_SUPPORTED, "no availability control here")


def ocpp_csms_class(version: OcppVersion) -> type[Any]:
    """A central system as the ``ocpp`` package's tutorial writes it."""
    call, result = OCPP_CALL[version], OCPP_RESULT[version]

    class OcppCentralSystem(OCPP_CP[version]):  # type: ignore[misc, valid-type]
        remote: Any = None
        availability_error: Exception | None = None
        done: asyncio.Event

        @ocpp_on("BootNotification")
        def on_boot(self, **kwargs: Any) -> Any:
            return result.BootNotification(current_time=NOW, interval=10, status="Accepted")

        @ocpp_after("BootNotification")
        async def after_boot(self, **kwargs: Any) -> None:
            if version is V16:
                self.remote = await self.call(call.RemoteStartTransaction(id_tag="TAG-9"))
                availability = call.ChangeAvailability(connector_id=1, type="Inoperative")
            else:
                self.remote = await self.call(
                    call.RequestStartTransaction(
                        id_token={"id_token": "TAG-9", "type": "ISO14443"}, remote_start_id=9
                    )
                )
                availability = call.ChangeAvailability(operational_status="Inoperative")
            try:
                await self.call(availability, suppress=False)
            except ocpp.exceptions.OCPPError as exc:
                self.availability_error = exc
            self.done.set()

    return OcppCentralSystem


@pytest.fixture
async def ocpp_central_system(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    version: OcppVersion = request.param
    systems: list[Any] = []
    ready = asyncio.Event()

    async def handler(websocket: ServerConnection) -> None:
        assert websocket.request is not None
        system = ocpp_csms_class(version)(websocket.request.path.rsplit("/", 1)[-1], websocket)
        system.done = asyncio.Event()
        systems.append(system)
        ready.set()
        with contextlib.suppress(ConnectionClosed):
            await system.start()

    async with serve(handler, "127.0.0.1", 0, subprotocols=[version.subprotocol]) as server:  # type: ignore[list-item]
        port = server.sockets[0].getsockname()[1]
        yield version, f"ws://127.0.0.1:{port}", systems, ready


@pytest.mark.parametrize("ocpp_central_system", [V16, V201], indirect=True, ids=["1.6", "2.0.1"])
async def test_kilowatt_station_against_ocpp_package_central_system(
    ocpp_central_system: Any,
) -> None:
    version, url, systems, ready = ocpp_central_system
    async with (
        asyncio.timeout(SAFETY),
        connect_ocpp(url, "KW-1", KilowattStation, versions=[version]) as station,
    ):
        if version is V16:
            boot = await station.call(
                v16.BootNotificationRequest(charge_point_vendor="Kilowatt", charge_point_model="K")
            )
        else:
            boot = await station.call(
                v201.BootNotificationRequest(
                    charging_station=v201.ChargingStation(model="K", vendor_name="Kilowatt"),
                    reason=v201.BootReason.POWER_UP,
                )
            )
        assert boot.status == "Accepted"
        await ready.wait()
        (system,) = systems
        await station.started.wait()
        await system.done.wait()
        assert system.remote.status == "Accepted"
        assert isinstance(system.availability_error, ocpp.exceptions.NotSupportedError)

        # The ocpp central system has no Heartbeat handler: it answers NotImplemented.
        heartbeat = v16.HeartbeatRequest() if version is V16 else v201.HeartbeatRequest()
        with pytest.raises(CallError) as info:
            await station.call(heartbeat)
        assert info.value.code is ErrorCode.NOT_IMPLEMENTED
