# The `ocpp` package ships no type information: its base classes and `@on` are Any.
# mypy: disable-error-code="misc,untyped-decorator"
"""The peer CSMS: an in-memory CSMS written the way the `ocpp` package's tutorial shows.

It is the reference Kilowatt is measured against (see docs/benchmarks.md). It deliberately
follows the package's documented pattern and nothing more: a `websockets` server, one
`ocpp.v16.ChargePoint` or `ocpp.v201.ChargePoint` subclass per connection chosen by the
negotiated subprotocol, `@on` handlers for the actions the load generator sends, the package's
default JSON-schema validation (on, run in a thread), transactions and meter values kept in
dicts and lists. The default asyncio event loop is used, as in the tutorial; logging stays at
WARNING so the package's per-message INFO logs cost only a level check.

Run it with::

    .venv/bin/python -m bench.peer_ocpp_csms --host 127.0.0.1 --port 9100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import signal
from datetime import UTC, datetime
from itertools import count
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16 import datatypes as types16
from ocpp.v16.enums import Action as Action16
from ocpp.v16.enums import AuthorizationStatus, RegistrationStatus
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201 import datatypes as types201
from ocpp.v201.enums import Action as Action201
from ocpp.v201.enums import AuthorizationStatusEnumType, RegistrationStatusEnumType
from websockets.asyncio.server import ServerConnection

LOGGER = logging.getLogger("peer")

HEARTBEAT_INTERVAL_S = 300
"""Heartbeat interval the peer hands out in BootNotification responses (seconds)."""


class Store:
    """The peer's whole state, in memory: stations, transactions and their meter values."""

    def __init__(self) -> None:
        self.stations: dict[str, dict[str, Any]] = {}
        self.statuses: dict[tuple[str, int], str] = {}
        self.transactions: dict[int | str, dict[str, Any]] = {}
        self.meter_values: dict[object, list[Any]] = {}
        self.heartbeats: dict[str, str] = {}
        self._next_transaction_id = count(1)

    def next_transaction_id(self) -> int:
        """Return the next OCPP 1.6 transaction id (an incrementing integer)."""
        return next(self._next_transaction_id)


STORE = Store()


def now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string, as the tutorial does."""
    return datetime.now(UTC).isoformat()


class PeerChargePoint16(ChargePoint16):
    """OCPP 1.6 handlers in the tutorial's style."""

    @on(Action16.boot_notification)
    def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> result16.BootNotification:
        STORE.stations[self.id] = {"vendor": charge_point_vendor, "model": charge_point_model}
        return result16.BootNotification(
            current_time=now_iso(),
            interval=HEARTBEAT_INTERVAL_S,
            status=RegistrationStatus.accepted,
        )

    @on(Action16.heartbeat)
    def on_heartbeat(self) -> result16.Heartbeat:
        current_time = now_iso()
        STORE.heartbeats[self.id] = current_time
        return result16.Heartbeat(current_time=current_time)

    @on(Action16.status_notification)
    def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **kwargs: Any
    ) -> result16.StatusNotification:
        STORE.statuses[(self.id, connector_id)] = status
        return result16.StatusNotification()

    @on(Action16.authorize)
    def on_authorize(self, id_tag: str) -> result16.Authorize:
        return result16.Authorize(
            id_tag_info=types16.IdTagInfo(status=AuthorizationStatus.accepted)
        )

    @on(Action16.start_transaction)
    def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kwargs: Any
    ) -> result16.StartTransaction:
        transaction_id = STORE.next_transaction_id()
        STORE.transactions[transaction_id] = {
            "station": self.id,
            "connector_id": connector_id,
            "id_tag": id_tag,
            "meter_start": meter_start,
            "started": timestamp,
        }
        STORE.meter_values[transaction_id] = []
        return result16.StartTransaction(
            transaction_id=transaction_id,
            id_tag_info=types16.IdTagInfo(status=AuthorizationStatus.accepted),
        )

    @on(Action16.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: list[Any], **kwargs: Any
    ) -> result16.MeterValues:
        transaction_id = kwargs.get("transaction_id")
        STORE.meter_values.setdefault(transaction_id or (self.id, connector_id), []).extend(
            meter_value
        )
        return result16.MeterValues()

    @on(Action16.stop_transaction)
    def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **kwargs: Any
    ) -> result16.StopTransaction:
        transaction = STORE.transactions.setdefault(transaction_id, {"station": self.id})
        transaction["meter_stop"] = meter_stop
        transaction["stopped"] = timestamp
        return result16.StopTransaction(
            id_tag_info=types16.IdTagInfo(status=AuthorizationStatus.accepted)
        )


class PeerChargePoint201(ChargePoint201):
    """OCPP 2.0.1 handlers in the tutorial's style."""

    @on(Action201.boot_notification)
    def on_boot_notification(
        self, charging_station: dict[str, Any], reason: str, **kwargs: Any
    ) -> result201.BootNotification:
        STORE.stations[self.id] = {"charging_station": charging_station, "reason": reason}
        return result201.BootNotification(
            current_time=now_iso(),
            interval=HEARTBEAT_INTERVAL_S,
            status=RegistrationStatusEnumType.accepted,
        )

    @on(Action201.heartbeat)
    def on_heartbeat(self, **kwargs: Any) -> result201.Heartbeat:
        current_time = now_iso()
        STORE.heartbeats[self.id] = current_time
        return result201.Heartbeat(current_time=current_time)

    @on(Action201.status_notification)
    def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **kwargs: Any
    ) -> result201.StatusNotification:
        STORE.statuses[(self.id, evse_id * 100 + connector_id)] = connector_status
        return result201.StatusNotification()

    @on(Action201.authorize)
    def on_authorize(self, id_token: dict[str, Any], **kwargs: Any) -> result201.Authorize:
        return result201.Authorize(
            id_token_info=types201.IdTokenInfoType(status=AuthorizationStatusEnumType.accepted)
        )

    @on(Action201.transaction_event)
    def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **kwargs: Any,
    ) -> result201.TransactionEvent:
        transaction_id = transaction_info["transaction_id"]
        transaction = STORE.transactions.setdefault(transaction_id, {"station": self.id})
        transaction["state"] = event_type
        transaction["seq_no"] = seq_no
        transaction["updated"] = timestamp
        if "meter_value" in kwargs:
            STORE.meter_values.setdefault(transaction_id, []).extend(kwargs["meter_value"])
        if "id_token" in kwargs:
            return result201.TransactionEvent(
                id_token_info=types201.IdTokenInfoType(status=AuthorizationStatusEnumType.accepted)
            )
        return result201.TransactionEvent()

    @on(Action201.meter_values)
    def on_meter_values(
        self, evse_id: int, meter_value: list[Any], **kwargs: Any
    ) -> result201.MeterValues:
        STORE.meter_values.setdefault((self.id, evse_id), []).extend(meter_value)
        return result201.MeterValues()


async def on_connect(websocket: ServerConnection) -> None:
    """Serve one station: pick the ChargePoint class from the negotiated subprotocol."""
    if websocket.subprotocol is None:
        LOGGER.warning("no OCPP subprotocol negotiated, closing")
        await websocket.close()
        return
    assert websocket.request is not None
    charge_point_id = websocket.request.path.rstrip("/").rsplit("/", 1)[-1]
    charge_point: ChargePoint16 | ChargePoint201
    if websocket.subprotocol == "ocpp1.6":
        charge_point = PeerChargePoint16(charge_point_id, websocket)
    else:
        charge_point = PeerChargePoint201(charge_point_id, websocket)
    with contextlib.suppress(websockets.ConnectionClosed):
        await charge_point.start()


def raise_fd_limit() -> None:
    """Raise the soft open-files limit to the hard limit (many connections need many fds)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def main(host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(
        on_connect,
        host,
        port,
        subprotocols=["ocpp1.6", "ocpp2.0.1"],  # type: ignore[list-item]
    ):
        LOGGER.warning("peer CSMS listening on ws://%s:%d/", host, port)
        await stop


def cli() -> None:
    """Parse ``--host`` and ``--port`` and run the peer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    raise_fd_limit()
    asyncio.run(main(args.host, args.port))


if __name__ == "__main__":
    cli()
