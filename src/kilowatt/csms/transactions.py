"""Transactions and meter values: one lifecycle for every OCPP version.

:class:`TransactionService` offers ``begin`` / ``update`` / ``end``, each taking a
version-neutral :class:`~kilowatt.csms.model.TransactionMessage`. The handlers translate:
1.6 StartTransaction → ``begin``, MeterValues → ``update``, StopTransaction → ``end``;
2.x TransactionEvent Started/Updated/Ended → ``begin``/``update``/``end``, MeterValues →
``update`` without a transaction. The business rules live here, once.

Idempotency under replay and reordering (a station resends its offline queue after
reconnecting, GUIDE §3):

- A transaction has an idempotency key, unique per station: the station's own id when it
  names one (``tx:<station_tx_id>``, 2.x), else what began it
  (``start:<connector>|<id token>|<meter start>|<timestamp>``, 1.6), so a replayed begin
  finds the same transaction (and the same CSMS id to answer).
- A message naming a station id may arrive before its begin (an offline station delivers
  late): the first message seen creates the transaction, whatever its kind. A message naming
  a CSMS id never creates one (the id is ours: an unknown one is answered normally and its
  samples kept without a transaction).
- With a sequence number (2.x seqNo) a (transaction, seq_no) is processed once; a replay is a
  duplicate that changes nothing. ``last_seq_no`` is the highest seen; ``started_at`` the
  earliest time any message gave.
- Samples are unique by (station, EVSE, connector, timestamp, measurand, phase, location,
  context, value); replays are skipped. The value belongs to the key: two readings stamped
  with the same second are both kept.
- Ending a completed transaction changes nothing but stores new samples, except one that was
  superseded (below): the station's own end then replaces the one the CSMS inferred.

One active transaction per EVSE (1.6: per connector, each its own EVSE). A begin that creates a
transaction on an EVSE (id > 0) that still has an active one ends the older one: a station
starts a transaction only on a free connector (1.6 §4.8; 2.0.1 E01-E03 start on an EVSE that
is not occupied), so an older active one is a transaction whose end was lost (a reboot
without StopTransaction, a discarded offline queue). It gets ``stop_reason``
:data:`SUPERSEDED`, ``stopped_at`` = the new begin's timestamp and, when the begin states it,
``meter_stop_wh`` = the new meter start (the same meter, read at that moment); else the last
register reading. The new transaction is answered normally (refusing it would leave the
station charging without a transaction id). This is what SteVe does for such a transaction
("manually" stopped at the next transaction's start, with its start value), and a late
StopTransaction / TransactionEvent Ended for it still applies.

Every write is one atomic unit of the transaction repository
(:meth:`~kilowatt.csms.repositories.TransactionRepository.record`), group-committed: the
methods return only once it is durable, so a handler may acknowledge the station then.

Energy: ``energy_wh`` = latest Energy.Active.Import.Register (in Wh) − ``meter_start_wh``, or
meter stop − meter start when the end states the meter stop (1.6).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from kilowatt.csms.authorization import AuthorizationService
from kilowatt.csms.clock import utcnow
from kilowatt.csms.errors import NotFound
from kilowatt.csms.events import (
    EventBus,
    TransactionEnded,
    TransactionStarted,
    TransactionUpdated,
)
from kilowatt.csms.model import (
    ENERGY_REGISTER,
    MeterValueInfo,
    Page,
    Sample,
    SampledValue,
    TransactionInfo,
    TransactionMessage,
    TransactionResult,
    TransactionStatus,
    from_row,
)
from kilowatt.csms.repositories import Changes, Repositories, Row, TransactionStep

__all__ = ["SUPERSEDED", "TransactionService", "energy_wh"]

SUPERSEDED = "Superseded"
"""``stop_reason`` of a transaction the CSMS ended because a newer one began on its EVSE.

Not an OCPP Reason value (those say why the *station* stopped); see the module docstring."""


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


_BEGIN, _UPDATE, _END = "Started", "Updated", "Ended"
_FACTS = (
    "evse_id",
    "connector_id",
    "id_token",
    "id_token_type",
    "charging_state",
    "remote_start_id",
    "reservation_id",
)
"""Columns a message may state at any time; a stated value replaces the stored one."""
_PLACE = ("evse_id", "connector_id")
"""Where the transaction is: filled in once known (2.x may name the EVSE only after the
start), never moved by a later message (a 1.6 MeterValues' connector says where its samples
were taken, not where the transaction is)."""


def _key(data: TransactionMessage) -> str | None:
    """The idempotency key of the transaction ``data`` is about (see the module docstring)."""
    if data.station_tx_id is not None:
        return "tx:" + data.station_tx_id
    if data.transaction_id is not None:
        return None
    return (
        f"start:{data.connector_id}|{data.id_token}|{data.meter_start_wh}"
        f"|{data.timestamp.isoformat()}"
    )


def _new_row(data: TransactionMessage, key: str, now: datetime) -> dict[str, Any]:
    """The transaction a message creates (the first one seen of it)."""
    return {
        "station_id": data.station_id,
        "dedup_key": key,
        "station_tx_id": data.station_tx_id,
        "evse_id": data.evse_id,
        "connector_id": data.connector_id,
        "id_token": data.id_token,
        "id_token_type": data.id_token_type,
        "status": TransactionStatus.ACTIVE.value,
        "started_at": data.timestamp,
        "meter_start_wh": data.meter_start_wh,
        # Known meter start: nothing delivered yet; unknown: the first register reading
        # sets both (_energy_changes).
        "energy_wh": Decimal(0) if data.meter_start_wh is not None else None,
        "charging_state": data.charging_state,
        "remote_start_id": data.remote_start_id,
        "reservation_id": data.reservation_id,
        "last_seq_no": data.seq_no,
        "updated_at": now,
    }


def _decide(
    data: TransactionMessage, kind: str, now: datetime
) -> Callable[[Row, bool, int], Changes]:
    """The business rules of one message, as the pure function the repository calls.

    The function gets the stored transaction, ``created`` (this message created it) and
    ``new`` (samples stored now), and returns the column changes.
    """
    ending = kind == _END

    def decide(row: Row, created: bool, new: int) -> Changes:
        changes: Changes = {}
        for name in _FACTS:
            value = getattr(data, name)
            if value is not None and row[name] != value:
                if name in _PLACE and row[name] is not None:
                    continue  # a transaction does not move (see _PLACE)
                changes[name] = value
        if not created:
            if data.seq_no is not None and data.seq_no > (row["last_seq_no"] or -1):
                changes["last_seq_no"] = data.seq_no
            if kind == _BEGIN and data.timestamp < row["started_at"]:
                changes["started_at"] = data.timestamp
        # A superseded transaction's end was inferred: the station's own end replaces it.
        superseded = row["status"] != TransactionStatus.ACTIVE and row["stop_reason"] == SUPERSEDED
        active = row["status"] == TransactionStatus.ACTIVE or (superseded and ending)
        if active and new:
            changes.update(_energy_changes({**row, **changes}, data.samples))
        if ending and active:
            start = changes.get("meter_start_wh", row["meter_start_wh"])
            stop: Decimal | None
            if data.meter_stop_wh is not None:
                stop = data.meter_stop_wh
                changes["energy_wh"] = stop - start if start is not None else None
            else:
                energy = changes.get("energy_wh", row["energy_wh"])
                readings = [
                    (s.timestamp, wh) for s in data.samples if (wh := energy_wh(s)) is not None
                ]
                stop = max(readings)[1] if readings else None
                if stop is None and start is not None and energy is not None:
                    stop = start + energy
            changes.update(stopped_at=data.timestamp, stop_reason=data.stopped_reason or "Local")
            if not superseded:
                changes["status"] = TransactionStatus.COMPLETED.value
            if stop is not None:
                changes["meter_stop_wh"] = stop
        if changes:
            changes["updated_at"] = now
        return changes

    return decide


class TransactionService:
    """The transaction lifecycle (:meth:`begin`, :meth:`update`, :meth:`end`) and meter values.

    Publishes :class:`~kilowatt.csms.events.TransactionStarted`, ``TransactionUpdated`` and
    ``TransactionEnded`` after the write is durable.
    """

    def __init__(
        self,
        repositories: Repositories,
        bus: EventBus,
        authorization: AuthorizationService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Create the service over the transaction repository.

        Args:
            repositories: where transactions live (:attr:`Repositories.transactions`).
            bus: where the events go.
            authorization: answers idTagInfo/idTokenInfo for the tokens in the messages.
            clock: returns the current aware UTC time (``updated_at``, event times).
        """
        self._transactions = repositories.transactions
        self._bus = bus
        self._auth = authorization
        self._clock = clock

    # --- the lifecycle ----------

    async def begin(self, data: TransactionMessage) -> TransactionResult:
        """A transaction began (1.6 StartTransaction, 2.x TransactionEvent Started).

        Finds the transaction by its idempotency key or creates it: a replayed begin returns
        the same transaction with ``created`` False (answer the same id). A new one ends any
        other active transaction on its EVSE (:data:`SUPERSEDED`, see the module docstring).
        The transaction is recorded even when the token is not Accepted: the station decides
        whether to stop it (1.6 4.8, 2.0.1 E05). ``transaction`` is never None.
        """
        return await self._apply(data, _BEGIN)

    async def update(self, data: TransactionMessage) -> TransactionResult:
        """A transaction went on, or the station sent samples outside one.

        Within a transaction: samples, charging state, token, EVSE (1.6 MeterValues, 2.x
        TransactionEvent Updated). Naming no transaction: samples of the station alone (2.x
        MeterValues, 1.6 MeterValues without transactionId).

        Samples of an active transaction update its energy. A CSMS id that does not exist
        (or is another station's) gives ``transaction`` None, the samples kept without one;
        a station id not seen before creates the transaction.
        """
        return await self._apply(data, _UPDATE)

    async def end(self, data: TransactionMessage) -> TransactionResult:
        """A transaction ended (1.6 StopTransaction, 2.x TransactionEvent Ended).

        Completes it: ``stopped_at`` = ``data.timestamp``, the meter stop as stated or the
        last register sample (else start + energy), ``stop_reason`` as stated or ``Local``.
        Ending a completed transaction only stores new samples (``ended`` False). Unknown
        ids behave as in :meth:`update`.
        """
        return await self._apply(data, _END)

    async def _apply(self, data: TransactionMessage, kind: str) -> TransactionResult:
        now = self._clock()
        key = _key(data)
        named = data.transaction_id is not None or data.station_tx_id is not None
        # A CSMS id is never created by a message; a station id or a begin is (see module).
        create = _new_row(data, key, now) if key is not None and (named or kind == _BEGIN) else None
        event = None
        if data.seq_no is not None:
            event = {
                "seq_no": data.seq_no,
                "event_type": kind,
                "trigger_reason": data.trigger_reason,
                "timestamp": data.timestamp,
            }
        step = TransactionStep(
            station_id=data.station_id,
            decide=_decide(data, kind, now),
            transaction_id=data.transaction_id,
            key=key if named or kind == _BEGIN else None,
            create=create,
            # A station-named transaction may exist already (messages out of order); one the
            # CSMS keys by its begin is new unless replayed: INSERT first saves a SELECT.
            find_first=data.station_tx_id is not None,
            event=event,
            samples=data.samples,
            evse_id=data.evse_id,
            connector_id=data.connector_id,
        )
        outcome = await self._transactions.record(step)
        tx = _tx(outcome.transaction) if outcome.transaction is not None else None
        authorization = None
        if data.id_token is not None:
            authorization = await self._auth.authorize(
                data.id_token,
                token_type=data.id_token_type,
                station_id=data.station_id,
                exclude_transaction=tx.id if tx is not None else None,
                check_concurrency=kind != _END,
            )
        ended = outcome.changes.get("status") == TransactionStatus.COMPLETED.value
        if tx is not None and not outcome.duplicate:
            if outcome.created:
                self._bus.publish(
                    TransactionStarted(station_id=tx.station_id, at=now, transaction=tx)
                )
            if ended:
                self._bus.publish(
                    TransactionEnded(station_id=tx.station_id, at=now, transaction=tx)
                )
            elif not outcome.created and (outcome.new_samples or outcome.changes):
                self._bus.publish(
                    TransactionUpdated(
                        station_id=tx.station_id,
                        at=now,
                        transaction=tx,
                        new_samples=outcome.new_samples,
                    )
                )
        if kind == _BEGIN and outcome.others_active and tx is not None:
            await self._supersede(tx, data, outcome.others_active)
        return TransactionResult(
            tx, authorization, outcome.created, outcome.duplicate, ended, outcome.new_samples
        )

    async def _supersede(
        self, tx: TransactionInfo, data: TransactionMessage, others: tuple[int, ...]
    ) -> None:
        """End ``others``, the older active transactions on ``tx``'s EVSE (module docstring)."""
        for other in others:
            await self._apply(
                TransactionMessage(
                    station_id=tx.station_id,
                    timestamp=data.timestamp,
                    transaction_id=other,
                    meter_stop_wh=data.meter_start_wh,
                    stopped_reason=SUPERSEDED,
                ),
                _END,
            )

    # --- queries ----------

    async def get(self, transaction_id: int) -> TransactionInfo:
        """Raises :class:`NotFound`."""
        row = await self._transactions.get(transaction_id)
        if row is None:
            raise NotFound(f"transaction {transaction_id} not found")
        return _tx(row)

    async def find_by_station_tx_id(
        self, station_id: str, station_tx_id: str
    ) -> TransactionInfo | None:
        """The transaction a 2.x station calls ``station_tx_id``, if known."""
        row = await self._transactions.get_by_key(station_id, "tx:" + station_tx_id)
        return _tx(row) if row is not None else None

    async def active(self, station_id: str, *, evse_id: int | None = None) -> list[TransactionInfo]:
        """Active transactions of a station (optionally of one EVSE), oldest first."""
        return [_tx(r) for r in await self._transactions.active_on(station_id, evse_id)]

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
        rows, total = await self._transactions.page(
            station_id=station_id, status=status_value, limit=limit, offset=offset
        )
        return Page([_tx(r) for r in rows], total)

    async def meter_values(
        self, transaction_id: int, *, limit: int = 100, offset: int = 0
    ) -> Page[MeterValueInfo]:
        """Sampled values of a transaction by time. Raises :class:`NotFound`."""
        if await self._transactions.get(transaction_id) is None:
            raise NotFound(f"transaction {transaction_id} not found")
        rows, total = await self._transactions.meter_values(
            transaction_id, limit=limit, offset=offset
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
