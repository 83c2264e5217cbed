"""The SQL of transactions, their 2.x sequence numbers and meter values (SQLite, PostgreSQL).

Implements :class:`kilowatt.csms.repositories.TransactionRepository`. The statements of the
charging-session hot path (StartTransaction, MeterValues, StopTransaction, TransactionEvent)
are built once at import and run through :mod:`kilowatt.storage.hotpath`; the operator reads
build their queries per call.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.csms.model import SampledValue
from kilowatt.csms.repositories import Row, StepOutcome, TransactionStep
from kilowatt.storage import hotpath
from kilowatt.storage.database import Database
from kilowatt.storage.sql.common import as_rows, page
from kilowatt.storage.tables import meter_values, transaction_events, transactions

__all__ = ["SqlTransactionRepository", "add_samples", "sample_rows"]

_GET = select(transactions).where(transactions.c.id == bindparam("hp_id"))
_GET_BY_KEY = select(transactions).where(
    transactions.c.station_id == bindparam("hp_station"),
    transactions.c.dedup_key == bindparam("hp_key"),
)
# No .values(): the SET clause is made of the keys of the parameters given at execution
# (compiled once per set of keys).
_UPDATE = update(transactions).where(transactions.c.id == bindparam("hp_id"))
_INSERT = hotpath.by_dialect(
    lambda insert: (
        insert(transactions)
        .on_conflict_do_nothing(index_elements=["station_id", "dedup_key"])
        .returning(transactions.c.id)
    )
)
_ADD_EVENT = hotpath.by_dialect(
    lambda insert: (
        insert(transaction_events)
        .on_conflict_do_nothing(index_elements=["transaction_id", "seq_no"])
        .returning(transaction_events.c.seq_no)
    )
)
_ADD_SAMPLES = hotpath.by_dialect(
    lambda insert: insert(meter_values).on_conflict_do_nothing().returning(meter_values.c.id)
)
_ADD_SAMPLES_NO_RETURNING = sqlite.insert(meter_values).on_conflict_do_nothing()
# Asked inside the unit that creates a transaction (the one-active-per-EVSE rule), so a new
# transaction costs one indexed SELECT on the writer's connection, not a read of its own.
_ACTIVE_ON_EVSE = (
    select(transactions)
    .where(
        transactions.c.status == bindparam("hp_status"),
        transactions.c.station_id == bindparam("hp_station"),
        transactions.c.evse_id == bindparam("hp_evse"),
    )
    .order_by(transactions.c.id)
)


def sample_rows(
    station_id: str,
    transaction_id: int | None,
    evse_id: int,
    connector_id: int,
    samples: Sequence[SampledValue],
) -> list[dict[str, Any]]:
    """``meter_values`` rows for ``samples`` (absent phase, location and context are '': they
    take part in the unique key, where NULLs would be distinct)."""
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


async def add_samples(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``meter_values`` rows, skipping replays (unique key); return how many were new.

    SQLite (inline driver): one multi-row INSERT … ON CONFLICT DO NOTHING per 64 rows, the new
    rows being the connection's changes; elsewhere an executemany with RETURNING.
    """
    if not rows:
        return 0
    raw = hotpath.raw_sqlite(conn)
    if raw is not None:
        sql = hotpath.compiled(_ADD_SAMPLES_NO_RETURNING, conn.dialect, tuple(rows[0]))
        before = raw.total_changes
        start = 0
        while start < len(rows):
            chunk = rows[start : start + hotpath.MULTI_ROW_MAX]
            params: list[Any] = []
            for row in chunk:
                params += sql.params(row)
            raw.execute(hotpath.multi_row_sql(sql.text, len(chunk)), params)
            start += len(chunk)
        return raw.total_changes - before
    result = await conn.execute(_ADD_SAMPLES[conn.dialect.name], list(rows))
    return len(result.all())


def _merged(row: Row, changes: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` after ``changes`` were written, as a re-read would return it (saves a SELECT per
    write): datetimes come back in UTC (``UtcDateTime``); decimals round-trip exactly."""
    merged = dict(row)
    for name, value in changes.items():
        merged[name] = value.astimezone(UTC) if isinstance(value, datetime) else value
    return merged


async def _record(conn: AsyncConnection, step: TransactionStep) -> StepOutcome:
    # Statement counts per message (kept as before the repositories): MeterValues and
    # StopTransaction SELECT, INSERT samples, UPDATE; StartTransaction INSERT, SELECT;
    # TransactionEvent SELECT (+ INSERT, SELECT when new), INSERT event, samples, UPDATE.
    station_id = step.station_id
    row: Row | None = None
    created = False
    if step.transaction_id is not None:
        row = await hotpath.first(conn, _GET, {"hp_id": step.transaction_id})
    elif step.key is not None and (step.find_first or step.create is None):
        row = await hotpath.first(conn, _GET_BY_KEY, {"hp_station": station_id, "hp_key": step.key})
    if row is not None and row["station_id"] != station_id:
        row = None
    if row is None and step.create is not None:
        insert = _INSERT[conn.dialect.name]
        created = await hotpath.first(conn, insert, step.create) is not None
        params = {"hp_station": station_id, "hp_key": step.create["dedup_key"]}
        row = await hotpath.first(conn, _GET_BY_KEY, params)
        assert row is not None
    if row is not None and step.event is not None:
        event = {"transaction_id": row["id"], **step.event}
        if await hotpath.first(conn, _ADD_EVENT[conn.dialect.name], event) is None:
            return StepOutcome(row, created, True, 0, {})
    new = 0
    if step.samples:
        evse_id = step.evse_id
        connector_id = step.connector_id
        if row is not None:
            evse_id = row["evse_id"] if evse_id is None else evse_id
            connector_id = row["connector_id"] if connector_id is None else connector_id
        rows = sample_rows(
            station_id,
            row["id"] if row is not None else None,
            evse_id or 0,
            connector_id or 0,
            step.samples,
        )
        new = await add_samples(conn, rows)
    if row is None:
        return StepOutcome(None, False, False, new, {})
    changes = step.decide(row, created, new)
    if changes:
        await hotpath.execute(conn, _UPDATE, {**changes, "hp_id": row["id"]})
        row = _merged(row, changes)
    others: tuple[int, ...] = ()
    if created and row["evse_id"]:
        params = {"hp_status": "active", "hp_station": station_id, "hp_evse": row["evse_id"]}
        active, _ = await hotpath.execute(conn, _ACTIVE_ON_EVSE, params)
        others = tuple(r["id"] for r in active if r["id"] != row["id"])
    return StepOutcome(row, created, False, new, changes, others)


class SqlTransactionRepository:
    """Transactions and meter values in the database of ``db`` (see the protocol
    :class:`~kilowatt.csms.repositories.TransactionRepository`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, step: TransactionStep) -> Coroutine[Any, Any, StepOutcome]:
        """See :meth:`kilowatt.csms.repositories.TransactionRepository.record`."""
        # The group commit's coroutine itself, and _record as the operation: no coroutine
        # frame of our own around either (this runs for every transaction message).
        return self._db.write(partial(_record, step=step))

    async def get(self, transaction_id: int) -> Row | None:
        """The transaction, or None."""
        async with self._db.read() as conn:
            return await hotpath.first(conn, _GET, {"hp_id": transaction_id})

    async def get_by_key(self, station_id: str, key: str) -> Row | None:
        """The station's transaction with idempotency key ``key``, or None."""
        async with self._db.read() as conn:
            return await hotpath.first(conn, _GET_BY_KEY, {"hp_station": station_id, "hp_key": key})

    async def page(
        self, *, station_id: str | None, status: str | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """Newest first, optionally of one station and status; and the total."""
        query = select(transactions)
        if station_id is not None:
            query = query.where(transactions.c.station_id == station_id)
        if status is not None:
            query = query.where(transactions.c.status == status)
        async with self._db.read() as conn:
            return await page(conn, query.order_by(transactions.c.id.desc()), limit, offset)

    async def active_on(self, station_id: str, evse_id: int | None) -> list[Row]:
        """Active transactions of a station (optionally one EVSE), oldest first."""
        query = select(transactions).where(
            transactions.c.station_id == station_id, transactions.c.status == "active"
        )
        if evse_id is not None:
            query = query.where(transactions.c.evse_id == evse_id)
        async with self._db.read() as conn:
            result = await conn.execute(query.order_by(transactions.c.id))
            return as_rows(result.mappings().all())

    async def meter_values(
        self, transaction_id: int, *, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """The transaction's samples by time, then id; and the total."""
        query = (
            select(meter_values)
            .where(meter_values.c.transaction_id == transaction_id)
            .order_by(meter_values.c.timestamp, meter_values.c.id)
        )
        async with self._db.read() as conn:
            return await page(conn, query, limit, offset)
