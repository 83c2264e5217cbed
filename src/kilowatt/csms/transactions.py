"""Transactions and meter values: 1.6 Start/Stop/MeterValues and 2.x TransactionEvent.

Idempotency under replay (a station resends its offline queue after reconnecting, GUIDE §3):

- 1.6 StartTransaction: the same (station, connectorId, idTag, meterStart, timestamp) maps to
  the same transaction (unique ``dedup_key``), so the replay gets the same transactionId.
- 2.x TransactionEvent: (station, transactionId) finds the transaction; (transaction, seqNo)
  is recorded once, a replayed event changes nothing.
- Meter values: a sample's (station, EVSE, connector, timestamp, measurand, phase, location,
  context, value) is unique; replayed samples are skipped by ``ON CONFLICT DO NOTHING``. The
  value belongs to the key: two readings stamped with the same second are both kept.
- StopTransaction of a completed transaction changes nothing.

Every write is group-committed (:mod:`kilowatt.storage.batcher`): the methods return only
after COMMIT, so a handler may acknowledge the station as soon as they return.
Energy: ``energy_wh`` = latest Energy.Active.Import.Register (in Wh) − ``meter_start_wh``,
or meterStop − meterStart at a 1.6 stop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.csms.authorization import AuthorizationService
from kilowatt.csms.errors import NotFound, ValidationError
from kilowatt.csms.events import (
    EventBus,
    TransactionEnded,
    TransactionStarted,
    TransactionUpdated,
)
from kilowatt.csms.model import (
    ENERGY_REGISTER,
    MeterValueInfo,
    MeterValuesInput,
    Page,
    Sample,
    SampledValue,
    StartResult,
    StartTransactionInput,
    StopResult,
    StopTransactionInput,
    TransactionEventInput,
    TransactionEventResult,
    TransactionInfo,
    TransactionStatus,
    from_row,
)
from kilowatt.storage import Database, Repositories, hotpath
from kilowatt.storage.types import utcnow

__all__ = ["TransactionService", "energy_wh"]

_EVENT_TYPES = {"Started", "Updated", "Ended"}


def energy_wh(sample: Sample) -> Decimal | None:
    """The sample's value in Wh if it is a whole-meter Energy.Active.Import.Register reading.

    Phase-specific readings and readings at the EV/cable are not the energy delivered by the
    meter; ``kWh`` is converted (the spec default unit is Wh).
    """
    if sample.measurand != ENERGY_REGISTER or sample.phase is not None:
        return None
    if sample.location not in (None, "Outlet"):
        return None
    if sample.unit in (None, "Wh"):
        return sample.value
    if sample.unit == "kWh":
        return sample.value * 1000
    return None


def _tx(row: Mapping[Any, Any]) -> TransactionInfo:
    return from_row(TransactionInfo, row, status=TransactionStatus(row["status"]))


def _merged(row: Mapping[Any, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` after ``changes`` were written, as a re-read would return it (saves a SELECT per
    write): datetimes come back in UTC (``UtcDateTime``); decimals round-trip exactly."""
    merged = dict(row)
    for name, value in changes.items():
        merged[name] = value.astimezone(UTC) if isinstance(value, datetime) else value
    return merged


def _sample_rows(
    station_id: str,
    transaction_id: int | None,
    evse_id: int,
    connector_id: int,
    samples: Sequence[SampledValue],
) -> list[dict[str, Any]]:
    return [
        {
            "station_id": station_id,
            "transaction_id": transaction_id,
            "evse_id": evse_id,
            "connector_id": connector_id,
            "timestamp": s.timestamp,
            "measurand": s.measurand,
            "phase": s.phase or "",
            "location": s.location or "",
            "context": s.context or "",
            "unit": s.unit,
            "value": s.value,
        }
        for s in samples
    ]


def _energy_changes(row: Mapping[Any, Any], samples: Sequence[SampledValue]) -> dict[str, Any]:
    """Column updates from new register readings: meter start if missing, then energy.

    The register only grows, so the energy is the maximum seen; out-of-order replays of older
    readings cannot lower it.
    """
    readings = [(s.timestamp, wh) for s in samples if (wh := energy_wh(s)) is not None]
    if not readings:
        return {}
    changes: dict[str, Any] = {}
    start = row["meter_start_wh"]
    if start is None:
        begin = [energy_wh(s) for s in samples if s.context == "Transaction.Begin"]
        start = next((wh for wh in begin if wh is not None), min(readings)[1])
        changes["meter_start_wh"] = start
    latest = max(readings)[1]
    energy = max(latest - start, row["energy_wh"] or Decimal(0))
    if energy != row["energy_wh"]:
        changes["energy_wh"] = energy
    return changes


class TransactionService:
    """Creates, updates and ends transactions; stores meter values; publishes events.

    Args:
        authorization: used to answer idTagInfo/idTokenInfo for the tokens in the messages.
    """

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        authorization: AuthorizationService,
        *,
        clock: Callable[[], datetime] = utcnow,
        repositories: Repositories | None = None,
    ) -> None:
        self._db = db
        self._bus = bus
        self._auth = authorization
        self._repos = repositories or Repositories()
        self._clock = clock

    # --- OCPP 1.6 ----------

    async def start(self, data: StartTransactionInput) -> StartResult:
        """Record a 1.6 StartTransaction; return the transaction (``id`` = transactionId).

        A replay (same station, connector, idTag, meterStart, timestamp) returns the same
        transaction with ``created`` False. The transaction is recorded even when the token is
        not Accepted: the station decides whether to stop it (1.6 4.8).
        """
        evse_id = data.connector_id if data.evse_id is None else data.evse_id
        dedup = (
            f"start:{data.connector_id}|{data.id_token}|{data.meter_start_wh}"
            f"|{data.timestamp.isoformat()}"
        )
        now = self._clock()
        values = {
            "station_id": data.station_id,
            "dedup_key": dedup,
            "evse_id": evse_id,
            "connector_id": data.connector_id,
            "id_token": data.id_token,
            "status": TransactionStatus.ACTIVE.value,
            "started_at": data.timestamp,
            "meter_start_wh": data.meter_start_wh,
            "energy_wh": Decimal(0),
            "reservation_id": data.reservation_id,
            "updated_at": now,
        }

        async def op(conn: AsyncConnection) -> tuple[hotpath.Row, bool]:
            return await hotpath.insert_or_get_transaction(conn, values)

        row, created = await self._db.write(op)
        tx = _tx(row)
        authorization = await self._auth.authorize(
            data.id_token, station_id=data.station_id, exclude_transaction=tx.id
        )
        if created:
            self._bus.publish(TransactionStarted(station_id=tx.station_id, at=now, transaction=tx))
        return StartResult(tx, authorization, created)

    async def stop(self, data: StopTransactionInput) -> StopResult:
        """Record a 1.6 StopTransaction with its transactionData; idempotent.

        An unknown transaction id (or one of another station) gives ``transaction`` None; the
        samples are then kept without a transaction.
        """
        now = self._clock()

        async def op(conn: AsyncConnection) -> tuple[Mapping[Any, Any] | None, bool]:
            row = await hotpath.get_transaction(conn, data.transaction_id)
            if row is None or row["station_id"] != data.station_id:
                if data.transaction_data:
                    evse = 0
                    rows = _sample_rows(data.station_id, None, evse, evse, data.transaction_data)
                    await hotpath.add_meter_values(conn, rows)
                return None, False
            rows = _sample_rows(
                data.station_id,
                row["id"],
                row["evse_id"] or 0,
                row["connector_id"] or 0,
                data.transaction_data,
            )
            await hotpath.add_meter_values(conn, rows)
            if row["status"] == TransactionStatus.COMPLETED:
                return row, False
            start = row["meter_start_wh"]
            energy = data.meter_stop_wh - start if start is not None else None
            changes = {
                "status": TransactionStatus.COMPLETED.value,
                "stopped_at": data.timestamp,
                "meter_stop_wh": data.meter_stop_wh,
                "energy_wh": energy,
                "stop_reason": data.reason or "Local",
                "updated_at": now,
            }
            await hotpath.update_transaction(conn, row["id"], changes)
            return _merged(row, changes), True

        row, stopped = await self._db.write(op)
        authorization = None
        if data.id_token is not None:
            authorization = await self._auth.authorize(
                data.id_token, station_id=data.station_id, check_concurrency=False
            )
        tx = _tx(row) if row is not None else None
        if tx is not None and stopped:
            self._bus.publish(TransactionEnded(station_id=tx.station_id, at=now, transaction=tx))
        return StopResult(tx, authorization, stopped)

    # --- any version ----------

    async def add_meter_values(self, data: MeterValuesInput) -> int:
        """Store MeterValues samples (replays skipped); return how many were new.

        Samples of an active transaction update its energy. A transaction id that does not
        exist (or belongs to another station) is ignored and the samples kept without it.
        """
        now = self._clock()

        async def op(conn: AsyncConnection) -> tuple[Mapping[Any, Any] | None, int]:
            row: Mapping[Any, Any] | None = None
            if data.transaction_id is not None:
                row = await hotpath.get_transaction(conn, data.transaction_id)
            elif data.station_tx_id is not None:
                row = await hotpath.get_transaction_by_key(
                    conn, data.station_id, "tx:" + data.station_tx_id
                )
            if row is not None and row["station_id"] != data.station_id:
                row = None
            tx_id = row["id"] if row is not None else None
            rows = _sample_rows(
                data.station_id, tx_id, data.evse_id, data.connector_id, data.samples
            )
            new = await hotpath.add_meter_values(conn, rows)
            if row is None or new == 0 or row["status"] != TransactionStatus.ACTIVE:
                return row, new
            changes = _energy_changes(row, data.samples)
            if changes:
                changes["updated_at"] = now
                await hotpath.update_transaction(conn, row["id"], changes)
                row = _merged(row, changes)
            return row, new

        row, new = await self._db.write(op)
        if row is not None and new:
            tx = _tx(row)
            self._bus.publish(
                TransactionUpdated(
                    station_id=tx.station_id, at=now, transaction=tx, new_samples=new
                )
            )
        return new

    # --- OCPP 2.x ----------

    async def transaction_event(self, data: TransactionEventInput) -> TransactionEventResult:
        """Apply a 2.x TransactionEvent (Started/Updated/Ended); idempotent by seqNo.

        The first event seen for a station transaction id creates the transaction, whatever
        its type (an offline station may deliver them late). Fields arrive over time: EVSE,
        id token (e.g. after ``Authorized``), charging state and remoteStartId are filled in
        as they come. ``Ended`` completes the transaction with the last register reading as
        meter stop and ``stoppedReason`` (default ``Local``) as stop reason.
        """
        if data.event_type not in _EVENT_TYPES:
            raise ValidationError(f"unknown TransactionEvent eventType {data.event_type!r}")
        now = self._clock()
        ended = data.event_type == "Ended"
        values = {
            "station_id": data.station_id,
            "dedup_key": "tx:" + data.station_tx_id,
            "station_tx_id": data.station_tx_id,
            "evse_id": data.evse_id,
            "connector_id": data.connector_id,
            "id_token": data.id_token,
            "id_token_type": data.id_token_type,
            "status": TransactionStatus.ACTIVE.value,
            "started_at": data.timestamp,
            "charging_state": data.charging_state,
            "remote_start_id": data.remote_start_id,
            "reservation_id": data.reservation_id,
            "last_seq_no": data.seq_no,
            "updated_at": now,
        }

        async def op(conn: AsyncConnection) -> tuple[Mapping[Any, Any], bool, bool, bool]:
            # Most events (Updated, Ended) find their transaction: a keyed SELECT is far
            # cheaper than the 14-column INSERT ... ON CONFLICT plus SELECT of insert_or_get.
            row: Mapping[Any, Any] | None = await hotpath.get_transaction_by_key(
                conn, data.station_id, "tx:" + data.station_tx_id
            )
            created = False
            if row is None:
                row, created = await hotpath.insert_or_get_transaction(conn, values)
            event = {
                "transaction_id": row["id"],
                "seq_no": data.seq_no,
                "event_type": data.event_type,
                "trigger_reason": data.trigger_reason,
                "timestamp": data.timestamp,
            }
            if not await hotpath.add_event(conn, event):
                return row, False, True, False
            changes: dict[str, Any] = {}
            for name in ("evse_id", "connector_id", "id_token", "id_token_type"):
                if values[name] is not None and row[name] != values[name]:
                    changes[name] = values[name]
            for name in ("charging_state", "remote_start_id", "reservation_id"):
                if values[name] is not None and row[name] != values[name]:
                    changes[name] = values[name]
            if not created:
                if data.seq_no > (row["last_seq_no"] or -1):
                    changes["last_seq_no"] = data.seq_no
                if data.event_type == "Started" or data.timestamp < row["started_at"]:
                    changes["started_at"] = min(data.timestamp, row["started_at"])
            evse_id = data.evse_id if data.evse_id is not None else row["evse_id"]
            connector_id = (
                data.connector_id if data.connector_id is not None else row["connector_id"]
            )
            rows = _sample_rows(
                data.station_id, row["id"], evse_id or 0, connector_id or 0, data.meter_values
            )
            await hotpath.add_meter_values(conn, rows)
            stopping = ended and row["status"] == TransactionStatus.ACTIVE
            if row["status"] == TransactionStatus.ACTIVE:
                changes.update(_energy_changes({**row, **changes}, data.meter_values))
            if stopping:
                start = changes.get("meter_start_wh", row["meter_start_wh"])
                energy = changes.get("energy_wh", row["energy_wh"])
                readings = [
                    (s.timestamp, wh) for s in data.meter_values if (wh := energy_wh(s)) is not None
                ]
                if readings:
                    changes["meter_stop_wh"] = max(readings)[1]
                elif start is not None and energy is not None:
                    changes["meter_stop_wh"] = start + energy
                changes.update(
                    status=TransactionStatus.COMPLETED.value,
                    stopped_at=data.timestamp,
                    stop_reason=data.stopped_reason or "Local",
                )
            if changes:
                changes["updated_at"] = now
                await hotpath.update_transaction(conn, row["id"], changes)
                row = _merged(row, changes)
            return row, created, False, stopping

        row, created, duplicate, stopping = await self._db.write(op)
        tx = _tx(row)
        authorization = None
        if data.id_token is not None:
            authorization = await self._auth.authorize(
                data.id_token,
                token_type=data.id_token_type,
                station_id=data.station_id,
                exclude_transaction=tx.id,
                check_concurrency=data.event_type != "Ended",
            )
        if not duplicate:
            if created:
                self._bus.publish(
                    TransactionStarted(station_id=tx.station_id, at=now, transaction=tx)
                )
            if stopping:
                self._bus.publish(
                    TransactionEnded(station_id=tx.station_id, at=now, transaction=tx)
                )
            elif not created:
                self._bus.publish(
                    TransactionUpdated(
                        station_id=tx.station_id,
                        at=now,
                        transaction=tx,
                        new_samples=len(data.meter_values),
                    )
                )
        return TransactionEventResult(tx, created, duplicate, authorization)

    # --- queries ----------

    async def get(self, transaction_id: int) -> TransactionInfo:
        """Raises :class:`NotFound`."""
        async with self._db.read() as conn:
            row = await self._repos.transactions.get(conn, transaction_id)
        if row is None:
            raise NotFound(f"transaction {transaction_id} not found")
        return _tx(row)

    async def find_by_station_tx_id(
        self, station_id: str, station_tx_id: str
    ) -> TransactionInfo | None:
        """The transaction a 2.x station calls ``station_tx_id``, if known."""
        async with self._db.read() as conn:
            row = await self._repos.transactions.get_by_dedup_key(
                conn, station_id, "tx:" + station_tx_id
            )
        return _tx(row) if row is not None else None

    async def active(self, station_id: str, *, evse_id: int | None = None) -> list[TransactionInfo]:
        """Active transactions of a station (optionally of one EVSE), oldest first."""
        async with self._db.read() as conn:
            rows = await self._repos.transactions.active_on(conn, station_id, evse_id)
        return [_tx(r) for r in rows]

    async def list(
        self,
        *,
        station_id: str | None = None,
        status: TransactionStatus | str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[TransactionInfo]:
        """Transactions, newest first, optionally filtered by station and status."""
        status_value = TransactionStatus(status).value if status is not None else None
        async with self._db.read() as conn:
            rows, total = await self._repos.transactions.page(
                conn, station_id=station_id, status=status_value, limit=limit, offset=offset
            )
        return Page([_tx(r) for r in rows], total)

    async def meter_values(
        self, transaction_id: int, *, limit: int = 100, offset: int = 0
    ) -> Page[MeterValueInfo]:
        """Sampled values of a transaction by time. Raises :class:`NotFound`."""
        async with self._db.read() as conn:
            if await self._repos.transactions.get(conn, transaction_id) is None:
                raise NotFound(f"transaction {transaction_id} not found")
            rows, total = await self._repos.meter_values.page(
                conn, transaction_id, limit=limit, offset=offset
            )
        items = [
            from_row(
                MeterValueInfo,
                r,
                phase=r["phase"] or None,
                location=r["location"] or None,
                context=r["context"] or None,
            )
            for r in rows
        ]
        return Page(items, total)
