"""A minimal CSMS built on the PyPI ``ocpp`` package, for testing the simulator against a
third-party implementation (1.6, 2.0.1 and 2.1).

It accepts every station, records every message it receives (in order, per station), answers
Authorize with ``authorize_status`` (Accepted unless a test says otherwise), assigns
1.6 transaction ids idempotently (a replayed StartTransaction gets the same id back) and lets a
test send CALLs to a connected station.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import websockets
from ocpp.routing import on

from kilowatt.ocpp.version import OcppVersion


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Received:
    """One CALL the CSMS received: the action and its payload (snake_case, as ``ocpp`` gives)."""

    action: str
    payload: dict[str, Any]


@dataclass
class Csms:
    """State shared by all connections of the test CSMS."""

    version: OcppVersion
    heartbeat_interval: int = 60
    boot_status: str = "Accepted"
    authorize_status: str = "Accepted"
    messages: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    connected: dict[str, Any] = field(default_factory=dict)
    connections: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _tx_ids: dict[tuple[Any, ...], int] = field(default_factory=dict)
    _next_tx: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def record(self, identity: str, action: str, payload: dict[str, Any]) -> None:
        self.messages[identity].append(Received(action, payload))
        self.changed.set()

    def actions(self, identity: str, action: str | None = None) -> list[Received]:
        """The messages of ``identity`` (only ``action`` ones if given)."""
        return [m for m in self.messages[identity] if action is None or m.action == action]

    def transaction_id(self, key: tuple[Any, ...]) -> int:
        """The id of the 1.6 transaction ``key`` (same key, same id: replays are idempotent)."""
        if key not in self._tx_ids:
            self._tx_ids[key] = next(self._next_tx)
        return self._tx_ids[key]

    async def wait(self, predicate: Any, timeout: float = 30.0) -> None:
        """Wait until ``predicate()`` is true (a safety net, not a test time limit)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), 0.2)


def _make_cp_class(csms: Csms) -> type:
    if csms.version is OcppVersion.V16:
        from ocpp.v16 import ChargePoint as Base
        from ocpp.v16 import call_result as r

        class CP16(Base):  # type: ignore[misc,valid-type]
            def _rec(self, action: str, kwargs: dict[str, Any]) -> None:
                csms.record(self.id, action, kwargs)

            @on("BootNotification")
            def on_boot(self, **kw: Any) -> Any:
                self._rec("BootNotification", kw)
                return r.BootNotification(
                    current_time=_now(), interval=csms.heartbeat_interval, status=csms.boot_status
                )

            @on("Heartbeat")
            def on_heartbeat(self, **kw: Any) -> Any:
                self._rec("Heartbeat", kw)
                return r.Heartbeat(current_time=_now())

            @on("StatusNotification")
            def on_status(self, **kw: Any) -> Any:
                self._rec("StatusNotification", kw)
                return r.StatusNotification()

            @on("Authorize")
            def on_authorize(self, **kw: Any) -> Any:
                self._rec("Authorize", kw)
                return r.Authorize(id_tag_info={"status": csms.authorize_status})

            @on("StartTransaction")
            def on_start(self, **kw: Any) -> Any:
                self._rec("StartTransaction", kw)
                tx = csms.transaction_id((self.id, kw["connector_id"], kw["timestamp"]))
                return r.StartTransaction(transaction_id=tx, id_tag_info={"status": "Accepted"})

            @on("MeterValues")
            def on_meter_values(self, **kw: Any) -> Any:
                self._rec("MeterValues", kw)
                return r.MeterValues()

            @on("StopTransaction")
            def on_stop(self, **kw: Any) -> Any:
                self._rec("StopTransaction", kw)
                return r.StopTransaction(id_tag_info={"status": "Accepted"})

        return CP16

    if csms.version is OcppVersion.V201:
        from ocpp.v201 import ChargePoint as Base2
        from ocpp.v201 import call_result as r2
    else:
        from ocpp.v21 import ChargePoint as Base2  # type: ignore[assignment]
        from ocpp.v21 import call_result as r2  # type: ignore[no-redef]

    class CP2(Base2):  # type: ignore[misc,valid-type]
        def _rec(self, action: str, kwargs: dict[str, Any]) -> None:
            csms.record(self.id, action, kwargs)

        @on("BootNotification")
        def on_boot(self, **kw: Any) -> Any:
            self._rec("BootNotification", kw)
            return r2.BootNotification(
                current_time=_now(), interval=csms.heartbeat_interval, status=csms.boot_status
            )

        @on("Heartbeat")
        def on_heartbeat(self, **kw: Any) -> Any:
            self._rec("Heartbeat", kw)
            return r2.Heartbeat(current_time=_now())

        @on("StatusNotification")
        def on_status(self, **kw: Any) -> Any:
            self._rec("StatusNotification", kw)
            return r2.StatusNotification()

        @on("Authorize")
        def on_authorize(self, **kw: Any) -> Any:
            self._rec("Authorize", kw)
            return r2.Authorize(id_token_info={"status": csms.authorize_status})

        @on("TransactionEvent")
        def on_transaction_event(self, **kw: Any) -> Any:
            self._rec("TransactionEvent", kw)
            if kw.get("id_token") is not None:
                return r2.TransactionEvent(id_token_info={"status": "Accepted"})
            return r2.TransactionEvent()

        @on("MeterValues")
        def on_meter_values(self, **kw: Any) -> Any:
            self._rec("MeterValues", kw)
            return r2.MeterValues()

        @on("NotifyReport")
        def on_notify_report(self, **kw: Any) -> Any:
            self._rec("NotifyReport", kw)
            return r2.NotifyReport()

    return CP2


@contextlib.asynccontextmanager
async def run_csms(version: OcppVersion, **options: Any) -> Any:
    """Start the test CSMS on a free 127.0.0.1 port; yield ``(csms, url)``."""
    csms = Csms(version, **options)
    cp_class = _make_cp_class(csms)

    async def handler(websocket: Any) -> None:
        identity = unquote(websocket.request.path.rstrip("/").rsplit("/", 1)[-1])
        cp = cp_class(identity, websocket)
        csms.connected[identity] = cp
        csms.connections[identity] += 1
        csms.changed.set()
        try:
            await cp.start()
        except websockets.ConnectionClosed:
            pass
        finally:
            if csms.connected.get(identity) is cp:
                del csms.connected[identity]
            csms.changed.set()

    async with websockets.serve(
        handler, "127.0.0.1", 0, subprotocols=[websockets.Subprotocol(version.subprotocol)]
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield csms, f"ws://127.0.0.1:{port}/ocpp"
