"""The SQL of stations, EVSEs, connectors, configuration keys, the device model and station
events (SQLite, PostgreSQL).

Implements :class:`kilowatt.csms.repositories.StationRepository`. The statements of connect,
boot, heartbeat and StatusNotification are built once at import and run through
:mod:`kilowatt.storage.hotpath`; the operator reads and writes build theirs per call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Dialect, and_, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.csms.repositories import Row
from kilowatt.storage import hotpath
from kilowatt.storage.database import Database
from kilowatt.storage.sql.common import as_rows, insert, page
from kilowatt.storage.tables import (
    DEVICE_VARIABLE_KEY,
    configuration_keys,
    connectors,
    device_variables,
    evses,
    meter_values,
    station_events,
    stations,
)

__all__ = ["STATUS_COLUMNS", "SqlStationRepository"]

_GET = select(stations).where(stations.c.id == bindparam("hp_id"))
# No .values(): the SET clause is made of the keys given at execution.
_UPDATE = update(stations).where(stations.c.id == bindparam("hp_id"))
_INSERT = hotpath.by_dialect(
    lambda insert: (
        insert(stations).on_conflict_do_nothing(index_elements=["id"]).returning(stations.c.id)
    )
)
_ADD_EVENT = station_events.insert().returning(station_events.c.id)
_SET_LAST_SEEN = (
    update(stations)
    .where(stations.c.id == bindparam("hp_station"))
    .values(last_seen=bindparam("hp_seen"))
)

STATUS_COLUMNS = ("status", "error_code", "info", "vendor_error_code", "status_at")
"""The connector columns :meth:`SqlStationRepository.set_connector_status` sets."""


def _evse_upsert(insert: Any) -> Any:
    stmt = insert(evses).values(
        station_id=bindparam("hp_station"),
        evse_id=bindparam("hp_evse"),
        updated_at=bindparam("hp_now"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["station_id", "evse_id"], set_={"updated_at": stmt.excluded.updated_at}
    )


def _connector_upsert(insert: Any) -> Any:
    stmt = insert(connectors).values(
        station_id=bindparam("hp_station"),
        evse_id=bindparam("hp_evse"),
        connector_id=bindparam("hp_connector"),
        **{name: bindparam("hp_" + name) for name in STATUS_COLUMNS},
    )
    return stmt.on_conflict_do_update(
        index_elements=["station_id", "evse_id", "connector_id"],
        set_={name: stmt.excluded[name] for name in STATUS_COLUMNS},
    )


_EVSE_UPSERT = hotpath.by_dialect(_evse_upsert)
_CONNECTOR_UPSERT = hotpath.by_dialect(_connector_upsert)


_LAST_SEEN_TEXT: list[Callable[[Any], Any]] = []


def _last_seen_text(dialect: Dialect) -> Callable[[Any], Any]:
    """The SQLite text of a ``last_seen`` value (the column type's bind processor, built once:
    building it per group commit also threw away its memo of the last value)."""
    if not _LAST_SEEN_TEXT:
        process = stations.c.last_seen.type.dialect_impl(dialect).bind_processor(dialect)
        assert process is not None
        _LAST_SEEN_TEXT.append(process)
    return _LAST_SEEN_TEXT[0]


async def set_last_seen(conn: AsyncConnection, seen: Mapping[str, datetime]) -> None:
    """Set ``last_seen`` of many stations (identity → aware UTC time) at once.

    On SQLite (inline driver) one ``UPDATE … FROM (VALUES …)`` per 256 stations: one SQLite
    step instead of one per station (see :func:`~kilowatt.storage.hotpath.multi_row_sql` for
    why). Elsewhere an executemany UPDATE.
    """
    if not seen:
        return
    raw = hotpath.raw_sqlite(conn)
    if raw is None:
        await conn.execute(
            _SET_LAST_SEEN, [{"hp_station": k, "hp_seen": v} for k, v in seen.items()]
        )
        return
    text = _last_seen_text(conn.dialect)
    items = list(seen.items())
    for start in range(0, len(items), 256):
        chunk = items[start : start + 256]
        params: list[Any] = []
        for station_id, at in chunk:
            params += (station_id, text(at))
        raw.execute(
            "UPDATE stations SET last_seen = v.column2 FROM (VALUES "
            + ", ".join(["(?, ?)"] * len(chunk))
            + ") AS v WHERE stations.id = v.column1",
            params,
        )


class _SeenBatch:
    """``last_seen`` updates that share one UPDATE in one group commit."""

    __slots__ = ("future", "rows", "taken")

    def __init__(self) -> None:
        self.rows: dict[str, datetime] = {}
        self.taken = False
        self.future: asyncio.Future[None] | None = None

    async def write(self, conn: AsyncConnection) -> None:
        # Later touches go to a new batch from here on; a retry after a rollback re-runs the
        # same rows.
        self.taken = True
        await set_last_seen(conn, self.rows)


async def _update(conn: AsyncConnection, station_id: str, values: Mapping[str, Any]) -> bool:
    if not values:
        return await hotpath.first(conn, _GET, {"hp_id": station_id}) is not None
    _, count = await hotpath.execute(conn, _UPDATE, {**values, "hp_id": station_id})
    return count > 0


class SqlStationRepository:
    """Stations and what belongs to them in the database of ``db`` (see the protocol
    :class:`~kilowatt.csms.repositories.StationRepository`)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._seen: _SeenBatch | None = None

    async def get(self, station_id: str) -> Row | None:
        """The station, or None."""
        async with self._db.read() as conn:
            return await hotpath.first(conn, _GET, {"hp_id": station_id})

    async def page(
        self, *, limit: int, offset: int, connected: bool | None = None
    ) -> tuple[list[Row], int]:
        """Stations by id, and the total."""
        query = select(stations).order_by(stations.c.id)
        if connected is not None:
            query = query.where(stations.c.connected == connected)
        async with self._db.read() as conn:
            rows, total = await page(conn, query, limit, offset)
        return list(rows), total

    async def connectors(self, station_ids: Sequence[str]) -> list[Row]:
        """EVSEs with their connectors (``connector_id`` None for a bare EVSE)."""
        if not station_ids:
            return []
        query = (
            select(
                evses.c.station_id,
                evses.c.evse_id,
                connectors.c.connector_id,
                connectors.c.status,
                connectors.c.error_code,
                connectors.c.info,
                connectors.c.vendor_error_code,
                connectors.c.status_at,
            )
            .select_from(
                evses.outerjoin(
                    connectors,
                    and_(
                        connectors.c.station_id == evses.c.station_id,
                        connectors.c.evse_id == evses.c.evse_id,
                    ),
                )
            )
            .where(evses.c.station_id.in_(station_ids))
            .order_by(evses.c.station_id, evses.c.evse_id, connectors.c.connector_id)
        )
        async with self._db.read() as conn:
            return as_rows((await conn.execute(query)).mappings().all())

    async def insert(self, values: Row) -> Row | None:
        """Insert a station; the stored row, or None when the id exists."""

        async def op(conn: AsyncConnection) -> Row | None:
            if await hotpath.first(conn, _INSERT[conn.dialect.name], values) is None:
                return None
            return await hotpath.first(conn, _GET, {"hp_id": values["id"]})

        return await self._db.write(op)

    async def update(self, station_id: str, values: Row) -> bool:
        """Set columns; False when the station does not exist."""
        return await self._db.write(lambda conn: _update(conn, station_id, values))

    async def record_connect(
        self, station_id: str, values: Row, *, create: Row | None
    ) -> tuple[Row | None, bool]:
        """Update the station with ``values`` or insert ``create``; the row and whether new."""

        async def op(conn: AsyncConnection) -> tuple[Row | None, bool]:
            created = False
            if create is not None:
                # A new station is inserted connected: no UPDATE after the INSERT.
                created = await hotpath.first(conn, _INSERT[conn.dialect.name], create) is not None
            if not created:
                await _update(conn, station_id, values)
            return await hotpath.first(conn, _GET, {"hp_id": station_id}), created

        return await self._db.write(op)

    async def record_boot(self, station_id: str, values: Row, event: Row | None) -> None:
        """Set ``values`` and store ``event`` (if any) in one unit."""

        async def op(conn: AsyncConnection) -> None:
            await _update(conn, station_id, values)
            if event is not None:
                await hotpath.first(conn, _ADD_EVENT, {"station_id": station_id, **event})

        await self._db.write(op)

    def touch(self, station_id: str, at: datetime) -> Awaitable[None]:
        """Queue ``last_seen`` = ``at``; all touches queued before the writer takes the batch
        share one statement. The future resolves after its COMMIT."""
        batch = self._seen
        if batch is None or batch.taken:
            batch = self._seen = _SeenBatch()
            batch.future = self._db.batcher.submit_nowait(batch.write)
        batch.rows[station_id] = at
        assert batch.future is not None
        return batch.future

    async def touched(self) -> None:
        """Wait for the queued ``last_seen`` writes (their errors were logged by the writer)."""
        batch = self._seen
        if batch is not None and batch.future is not None and not batch.future.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(batch.future)

    async def mark_all_disconnected(self) -> int:
        """Set every station disconnected; return how many were connected."""
        stmt = update(stations).where(stations.c.connected.is_(True)).values(connected=False)

        async def op(conn: AsyncConnection) -> int:
            return (await conn.execute(stmt)).rowcount

        return await self._db.write(op)

    async def set_connector_status(
        self,
        station_id: str,
        evse_id: int,
        connector_id: int | None,
        values: Row,
        now: datetime,
    ) -> None:
        """Upsert the EVSE and connector with the latest status (:data:`STATUS_COLUMNS`)."""

        async def op(conn: AsyncConnection) -> None:
            dialect = conn.dialect.name
            key = {"hp_station": station_id, "hp_evse": evse_id}
            await hotpath.execute(conn, _EVSE_UPSERT[dialect], {**key, "hp_now": now})
            if connector_id is None:
                return
            params = {**key, "hp_connector": connector_id}
            for name in STATUS_COLUMNS:
                params["hp_" + name] = values[name]
            await hotpath.execute(conn, _CONNECTOR_UPSERT[dialect], params)

        await self._db.write(op)

    async def delete(self, station_id: str) -> bool:
        """Delete the station with everything that belongs to it (ON DELETE CASCADE; meter
        values through their transactions, and those outside one here: ``meter_values`` has
        no foreign key on the station, see :class:`~kilowatt.storage.models.MeterValue`)."""

        async def op(conn: AsyncConnection) -> bool:
            await conn.execute(
                delete(meter_values).where(
                    meter_values.c.station_id == station_id,
                    meter_values.c.transaction_id.is_(None),
                )
            )
            await conn.execute(delete(connectors).where(connectors.c.station_id == station_id))
            result = await conn.execute(delete(stations).where(stations.c.id == station_id))
            return result.rowcount > 0

        return await self._db.write(op)

    async def put_configuration(self, station_id: str, rows: Sequence[Row]) -> None:
        """Insert or replace configuration keys."""
        if not rows:
            return

        async def op(conn: AsyncConnection) -> None:
            stmt = insert(conn, configuration_keys).values(
                [{"station_id": station_id, **row} for row in rows]
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["station_id", "key"],
                    set_={
                        "value": stmt.excluded.value,
                        "readonly": stmt.excluded.readonly,
                        "updated_at": stmt.excluded.updated_at,
                    },
                )
            )

        await self._db.write(op)

    async def configuration(self, station_id: str) -> list[Row]:
        """Configuration keys by key."""
        query = (
            select(configuration_keys)
            .where(configuration_keys.c.station_id == station_id)
            .order_by(configuration_keys.c.key)
        )
        async with self._db.read() as conn:
            return as_rows((await conn.execute(query)).mappings().all())

    async def put_variables(self, rows: Sequence[Row]) -> None:
        """Upsert device-model attributes; None keeps a stored mutability/data_type/unit."""
        if not rows:
            return

        async def op(conn: AsyncConnection) -> None:
            stmt = insert(conn, device_variables).values(list(rows))
            set_: dict[str, Any] = {
                "value": stmt.excluded.value,
                "updated_at": stmt.excluded.updated_at,
            }
            for name in ("mutability", "data_type", "unit"):
                set_[name] = func.coalesce(stmt.excluded[name], device_variables.c[name])
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=list(DEVICE_VARIABLE_KEY), set_=set_)
            )

        await self._db.write(op)

    async def variables(self, station_id: str, *, component: str | None = None) -> list[Row]:
        """The device model ordered by its key."""
        query = select(device_variables).where(device_variables.c.station_id == station_id)
        if component is not None:
            query = query.where(device_variables.c.component == component)
        query = query.order_by(*(device_variables.c[name] for name in DEVICE_VARIABLE_KEY))
        async with self._db.read() as conn:
            return as_rows((await conn.execute(query)).mappings().all())

    async def add_event(self, values: Row) -> int:
        """Store a station event; its id."""

        async def op(conn: AsyncConnection) -> int:
            row = await hotpath.first(conn, _ADD_EVENT, values)
            assert row is not None
            return int(row["id"])

        return await self._db.write(op)

    async def events(
        self, station_id: str, *, kind: str | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """Events newest first, and the total."""
        query = select(station_events).where(station_events.c.station_id == station_id)
        if kind is not None:
            query = query.where(station_events.c.kind == kind)
        async with self._db.read() as conn:
            rows, total = await page(
                conn, query.order_by(station_events.c.id.desc()), limit, offset
            )
        return list(rows), total
