"""Charge points built on the PyPI ``ocpp`` package (1.6, 2.0.1, 2.1), answering CSMS calls as a
charger would, and a version-neutral driver for the station-initiated side of a session.

The ``ocpp`` package validates every payload both ways against the official schemas, so any
schema violation in Kilowatt's answers or calls fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import ocpp.exceptions
import ocpp.v16
import ocpp.v21
import ocpp.v201
from ocpp.routing import on
from websockets.asyncio.client import connect

from .support import SAFETY, KilowattServer, basic_auth, now_iso

SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}
VERSIONS = list(SUBPROTOCOL)
FAIL_VENDOR = "kilowatt.e2e.fail"
HANG_VENDOR = "kilowatt.e2e.hang"
REGISTER = "Energy.Active.Import.Register"


class _Behaviour:
    """What every charger here records and how it treats DataTransfer."""

    received: list[tuple[str, dict[str, Any]]]
    hold: asyncio.Event

    def _init_behaviour(self) -> None:
        self.received = []
        self.hold = asyncio.Event()

    def got(self, action: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.received if name == action]

    async def _data_transfer(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.received.append(("DataTransfer", kwargs))
        vendor = kwargs["vendor_id"]
        if vendor == FAIL_VENDOR:
            raise ocpp.exceptions.GenericError("station refused", {"why": "e2e"})
        if vendor == HANG_VENDOR:
            await self.hold.wait()
        return {"status": "Accepted", "data": kwargs.get("data")}


class Charger16(ocpp.v16.ChargePoint, _Behaviour):  # type: ignore[misc]
    """An OCPP 1.6 charger with a configuration store."""

    def __init__(self, identity: str, connection: Any) -> None:
        super().__init__(identity, connection)
        self._init_behaviour()
        self.config: dict[str, tuple[str, bool]] = {
            "HeartbeatInterval": ("300", False),
            "MeterValueSampleInterval": ("60", False),
            "NumberOfConnectors": ("1", True),
        }

    @on("RemoteStartTransaction")
    def remote_start(self, **kw: Any) -> Any:
        self.received.append(("RemoteStartTransaction", kw))
        return ocpp.v16.call_result.RemoteStartTransaction(status="Accepted")

    @on("RemoteStopTransaction")
    def remote_stop(self, **kw: Any) -> Any:
        self.received.append(("RemoteStopTransaction", kw))
        return ocpp.v16.call_result.RemoteStopTransaction(status="Accepted")

    @on("Reset")
    def reset(self, **kw: Any) -> Any:
        self.received.append(("Reset", kw))
        return ocpp.v16.call_result.Reset(status="Accepted")

    @on("UnlockConnector")
    def unlock(self, **kw: Any) -> Any:
        self.received.append(("UnlockConnector", kw))
        return ocpp.v16.call_result.UnlockConnector(status="Unlocked")

    @on("ChangeAvailability")
    def availability(self, **kw: Any) -> Any:
        self.received.append(("ChangeAvailability", kw))
        return ocpp.v16.call_result.ChangeAvailability(status="Accepted")

    @on("TriggerMessage")
    def trigger(self, **kw: Any) -> Any:
        self.received.append(("TriggerMessage", kw))
        return ocpp.v16.call_result.TriggerMessage(status="Accepted")

    @on("ClearCache")
    def clear_cache(self, **kw: Any) -> Any:
        self.received.append(("ClearCache", kw))
        return ocpp.v16.call_result.ClearCache(status="Accepted")

    @on("GetConfiguration")
    def get_configuration(self, key: list[str] | None = None, **kw: Any) -> Any:
        self.received.append(("GetConfiguration", {"key": key, **kw}))
        names = key or list(self.config)
        known = [
            {"key": k, "readonly": self.config[k][1], "value": self.config[k][0]}
            for k in names
            if k in self.config
        ]
        unknown = [k for k in names if k not in self.config]
        return ocpp.v16.call_result.GetConfiguration(
            configuration_key=known or None, unknown_key=unknown or None
        )

    @on("ChangeConfiguration")
    def change_configuration(self, key: str, value: str, **kw: Any) -> Any:
        self.received.append(("ChangeConfiguration", {"key": key, "value": value}))
        if key not in self.config:
            return ocpp.v16.call_result.ChangeConfiguration(status="NotSupported")
        if self.config[key][1]:
            return ocpp.v16.call_result.ChangeConfiguration(status="Rejected")
        self.config[key] = (value, False)
        return ocpp.v16.call_result.ChangeConfiguration(status="Accepted")

    @on("DataTransfer")
    async def data_transfer(self, **kw: Any) -> Any:
        answer = await self._data_transfer(kw)
        return ocpp.v16.call_result.DataTransfer(**{k: v for k, v in answer.items() if v})


def _charger_2x(base: type[Any], result: Any) -> type[Any]:
    class Charger2x(base, _Behaviour):  # type: ignore[misc, valid-type]
        """An OCPP 2.x charger with a tiny device model."""

        def __init__(self, identity: str, connection: Any) -> None:
            super().__init__(identity, connection)
            self._init_behaviour()
            self.variables: dict[tuple[str, str], str] = {
                ("OCPPCommCtrlr", "HeartbeatInterval"): "300",
                ("SampledDataCtrlr", "TxUpdatedInterval"): "60",
            }

        @on("RequestStartTransaction")
        def remote_start(self, **kw: Any) -> Any:
            self.received.append(("RequestStartTransaction", kw))
            return result.RequestStartTransaction(status="Accepted")

        @on("RequestStopTransaction")
        def remote_stop(self, **kw: Any) -> Any:
            self.received.append(("RequestStopTransaction", kw))
            return result.RequestStopTransaction(status="Accepted")

        @on("Reset")
        def reset(self, **kw: Any) -> Any:
            self.received.append(("Reset", kw))
            return result.Reset(status="Accepted")

        @on("UnlockConnector")
        def unlock(self, **kw: Any) -> Any:
            self.received.append(("UnlockConnector", kw))
            return result.UnlockConnector(status="Unlocked")

        @on("ChangeAvailability")
        def availability(self, **kw: Any) -> Any:
            self.received.append(("ChangeAvailability", kw))
            return result.ChangeAvailability(status="Accepted")

        @on("TriggerMessage")
        def trigger(self, **kw: Any) -> Any:
            self.received.append(("TriggerMessage", kw))
            return result.TriggerMessage(status="Accepted")

        @on("ClearCache")
        def clear_cache(self, **kw: Any) -> Any:
            self.received.append(("ClearCache", kw))
            return result.ClearCache(status="Accepted")

        @on("GetVariables")
        def get_variables(self, get_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
            self.received.append(("GetVariables", {"get_variable_data": get_variable_data}))
            answers = []
            for item in get_variable_data:
                name = (item["component"]["name"], item["variable"]["name"])
                answer: dict[str, Any] = {
                    "component": item["component"],
                    "variable": item["variable"],
                    "attribute_status": "Accepted"
                    if name in self.variables
                    else (
                        "UnknownVariable"
                        if any(c == name[0] for c, _ in self.variables)
                        else "UnknownComponent"
                    ),
                }
                if name in self.variables:
                    answer["attribute_value"] = self.variables[name]
                answers.append(answer)
            return result.GetVariables(get_variable_result=answers)

        @on("SetVariables")
        def set_variables(self, set_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
            self.received.append(("SetVariables", {"set_variable_data": set_variable_data}))
            answers = []
            for item in set_variable_data:
                name = (item["component"]["name"], item["variable"]["name"])
                status = "Accepted" if name in self.variables else "UnknownVariable"
                if status == "Accepted":
                    self.variables[name] = item["attribute_value"]
                answers.append(
                    {
                        "component": item["component"],
                        "variable": item["variable"],
                        "attribute_status": status,
                    }
                )
            return result.SetVariables(set_variable_result=answers)

        @on("DataTransfer")
        async def data_transfer(self, **kw: Any) -> Any:
            answer = await self._data_transfer(kw)
            return result.DataTransfer(**{k: v for k, v in answer.items() if v})

    return Charger2x


CHARGER: dict[str, type[Any]] = {
    "1.6": Charger16,
    "2.0.1": _charger_2x(ocpp.v201.ChargePoint, ocpp.v201.call_result),
    "2.1": _charger_2x(ocpp.v21.ChargePoint, ocpp.v21.call_result),
}
CALL: dict[str, Any] = {"1.6": ocpp.v16.call, "2.0.1": ocpp.v201.call, "2.1": ocpp.v21.call}


@contextlib.asynccontextmanager
async def charger(
    server: KilowattServer,
    identity: str,
    version: str,
    *,
    password: str | None = None,
) -> AsyncIterator[Any]:
    """Connect an ``ocpp``-package charger; yield it with its message loop running."""
    headers = basic_auth(identity, password) if password is not None else None
    async with connect(
        server.ocpp_url(identity),
        subprotocols=[SUBPROTOCOL[version]],  # type: ignore[list-item]
        additional_headers=headers,
        ssl=server.client_ssl(),
        open_timeout=SAFETY,
    ) as ws:
        assert ws.subprotocol == SUBPROTOCOL[version]
        cp = CHARGER[version](identity, ws)
        cp._response_timeout = SAFETY
        loop = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            cp.hold.set()
            loop.cancel()
            with contextlib.suppress(BaseException):
                await loop


def _sample(value: int, version: str, context: str) -> dict[str, Any]:
    if version == "1.6":
        return {"value": str(value), "measurand": REGISTER, "unit": "Wh", "context": context}
    return {
        "value": value,
        "measurand": REGISTER,
        "context": context,
        "unit_of_measure": {"unit": "Wh"},
    }


class Driver:
    """Station-initiated messages of a charging session, whatever the version.

    ``tx`` is the CSMS transactionId (1.6, int) or the station's transactionId (2.x, str).
    """

    def __init__(self, cp: Any, version: str) -> None:
        self.cp = cp
        self.version = version
        self.call = CALL[version]
        self.seq: dict[str, int] = {}

    @property
    def v16(self) -> bool:
        return self.version == "1.6"

    async def send(self, payload: Any) -> Any:
        return await self.cp.call(payload, suppress=False)

    async def boot(self, vendor: str = "E2E-Vendor", model: str = "E2E-Model") -> Any:
        if self.v16:
            payload = self.call.BootNotification(
                charge_point_vendor=vendor,
                charge_point_model=model,
                charge_point_serial_number="SN-1",
                firmware_version="1.2.3",
            )
        else:
            payload = self.call.BootNotification(
                charging_station={
                    "vendor_name": vendor,
                    "model": model,
                    "serial_number": "SN-1",
                    "firmware_version": "1.2.3",
                },
                reason="PowerUp",
            )
        answer = await self.send(payload)
        assert answer.status == "Accepted", answer
        assert answer.interval > 0
        return answer

    async def heartbeat(self) -> Any:
        return await self.send(self.call.Heartbeat())

    async def status(self, connector: int, status: str) -> None:
        """1.6 status names (Available, Preparing, Charging, Faulted...); 2.x gets the mapped
        ConnectorStatusEnumType (Available, Occupied, Reserved, Unavailable, Faulted)."""
        if self.v16:
            await self.send(
                self.call.StatusNotification(
                    connector_id=connector, error_code="NoError", status=status, timestamp=now_iso()
                )
            )
        else:
            await self.send(
                self.call.StatusNotification(
                    timestamp=now_iso(),
                    connector_status=status,
                    evse_id=connector,
                    connector_id=1,
                )
            )

    async def authorize(self, token: str) -> str:
        if self.v16:
            answer = await self.send(self.call.Authorize(id_tag=token))
            return str(answer.id_tag_info["status"])
        answer = await self.send(
            self.call.Authorize(id_token={"id_token": token, "type": "ISO14443"})
        )
        return str(answer.id_token_info["status"])

    async def start(
        self,
        token: str,
        meter_start: int,
        *,
        connector: int = 1,
        remote_start_id: int | None = None,
    ) -> tuple[Any, str]:
        """Start a transaction; return (tx, authorization status)."""
        if self.v16:
            answer = await self.send(
                self.call.StartTransaction(
                    connector_id=connector,
                    id_tag=token,
                    meter_start=meter_start,
                    timestamp=now_iso(),
                )
            )
            return int(answer.transaction_id), str(answer.id_tag_info["status"])
        tx = f"TX-{uuid.uuid4().hex[:10]}"
        self.seq[tx] = 0
        info: dict[str, Any] = {"transaction_id": tx, "charging_state": "Charging"}
        if remote_start_id is not None:
            info["remote_start_id"] = remote_start_id
        answer = await self.send(
            self.call.TransactionEvent(
                event_type="Started",
                timestamp=now_iso(),
                trigger_reason="RemoteStart" if remote_start_id is not None else "Authorized",
                seq_no=0,
                transaction_info=info,
                evse={"id": connector, "connector_id": 1},
                id_token={"id_token": token, "type": "ISO14443"},
                meter_value=[
                    {
                        "timestamp": now_iso(),
                        "sampled_value": [_sample(meter_start, self.version, "Transaction.Begin")],
                    }
                ],
            )
        )
        status = answer.id_token_info["status"] if answer.id_token_info else "Accepted"
        return tx, str(status)

    async def meter(self, tx: Any, value: int, *, connector: int = 1) -> None:
        sample = {
            "timestamp": now_iso(),
            "sampled_value": [_sample(value, self.version, "Sample.Periodic")],
        }
        if self.v16:
            await self.send(
                self.call.MeterValues(
                    connector_id=connector, transaction_id=tx, meter_value=[sample]
                )
            )
            return
        self.seq[tx] += 1
        await self.send(
            self.call.TransactionEvent(
                event_type="Updated",
                timestamp=now_iso(),
                trigger_reason="MeterValuePeriodic",
                seq_no=self.seq[tx],
                transaction_info={"transaction_id": tx, "charging_state": "Charging"},
                meter_value=[sample],
            )
        )

    async def stop(self, tx: Any, meter_stop: int, token: str | None = None) -> None:
        end = {
            "timestamp": now_iso(),
            "sampled_value": [_sample(meter_stop, self.version, "Transaction.End")],
        }
        if self.v16:
            await self.send(
                self.call.StopTransaction(
                    meter_stop=meter_stop,
                    timestamp=now_iso(),
                    transaction_id=tx,
                    reason="Local" if token else "Remote",
                    id_tag=token,
                    transaction_data=[end],
                )
            )
            return
        self.seq[tx] += 1
        await self.send(
            self.call.TransactionEvent(
                event_type="Ended",
                timestamp=now_iso(),
                trigger_reason="StopAuthorized" if token else "RemoteStop",
                seq_no=self.seq[tx],
                transaction_info={
                    "transaction_id": tx,
                    "charging_state": "Idle",
                    "stopped_reason": "Local" if token else "Remote",
                },
                meter_value=[end],
            )
        )
