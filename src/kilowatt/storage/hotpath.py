"""Prebuilt statements for the per-message and per-connection writes (transactions, meter values,
events, station connect/boot).

The repositories build a new SQLAlchemy statement on every call (``select(...).where(...)``,
``update(...).values(**values)``): constructing it, coercing each value into a bind parameter
and computing its cache key costs more CPU than SQLite needs to run it. Under the benchmark's
charging-session mix that construction was about a third of the server's CPU. The statements
here are built once at import, with bind parameters, so each execution goes straight to the
compiled-statement cache. Same tables, same SQL and results as the repository methods of the
same names (:class:`~kilowatt.storage.repositories.TransactionRepository`,
:class:`~kilowatt.storage.repositories.MeterValueRepository`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.storage.repositories import (
    connectors,
    evses,
    meter_values,
    station_events,
    stations,
    transaction_events,
    transactions,
)

__all__ = [
    "add_event",
    "add_meter_values",
    "add_station_event",
    "get_station",
    "get_transaction",
    "get_transaction_by_key",
    "insert_station",
    "update_station",
    "update_transaction",
    "upsert_connector_status",
]

_GET = select(transactions).where(transactions.c.id == bindparam("hp_id"))
_GET_BY_KEY = select(transactions).where(
    transactions.c.station_id == bindparam("hp_station"),
    transactions.c.dedup_key == bindparam("hp_key"),
)
# No .values(): the SET clause is made of the keys of the parameters given at execution
# (compiled once per set of keys).
_UPDATE = update(transactions).where(transactions.c.id == bindparam("hp_id"))


_GET_STATION = select(stations).where(stations.c.id == bindparam("hp_id"))
_UPDATE_STATION = update(stations).where(stations.c.id == bindparam("hp_id"))
_ADD_STATION_EVENT = station_events.insert().returning(station_events.c.id)


def _by_dialect(make: Any) -> dict[str, Any]:
    return {"sqlite": make(sqlite.insert), "postgresql": make(postgresql.insert)}


_ADD_SAMPLES = _by_dialect(
    lambda insert: insert(meter_values).on_conflict_do_nothing().returning(meter_values.c.id)
)
_ADD_EVENT = _by_dialect(
    lambda insert: (
        insert(transaction_events)
        .on_conflict_do_nothing(index_elements=["transaction_id", "seq_no"])
        .returning(transaction_events.c.seq_no)
    )
)


STATUS_COLUMNS = ("status", "error_code", "info", "vendor_error_code", "status_at")
"""The connector columns :func:`upsert_connector_status` sets."""


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


_INSERT_STATION = _by_dialect(
    lambda insert: (
        insert(stations).on_conflict_do_nothing(index_elements=["id"]).returning(stations.c.id)
    )
)
_EVSE_UPSERT = _by_dialect(_evse_upsert)
_CONNECTOR_UPSERT = _by_dialect(_connector_upsert)


async def upsert_connector_status(
    conn: AsyncConnection,
    station_id: str,
    evse_id: int,
    connector_id: int | None,
    values: Mapping[str, Any],
    now: datetime,
) -> None:
    """Create the EVSE (and connector) if needed and store the latest status; ``values`` has
    exactly the :data:`STATUS_COLUMNS`. ``connector_id`` None records the EVSE alone."""
    dialect = conn.dialect.name
    key = {"hp_station": station_id, "hp_evse": evse_id}
    await conn.execute(_EVSE_UPSERT[dialect], {**key, "hp_now": now})
    if connector_id is None:
        return
    params = {**key, "hp_connector": connector_id}
    for name in STATUS_COLUMNS:
        params["hp_" + name] = values[name]
    await conn.execute(_CONNECTOR_UPSERT[dialect], params)


async def get_transaction(conn: AsyncConnection, transaction_id: int) -> RowMapping | None:
    """The transaction row, or None."""
    result = await conn.execute(_GET, {"hp_id": transaction_id})
    return result.mappings().first()


async def get_transaction_by_key(
    conn: AsyncConnection, station_id: str, dedup_key: str
) -> RowMapping | None:
    """The transaction of ``station_id`` with ``dedup_key``, or None."""
    result = await conn.execute(_GET_BY_KEY, {"hp_station": station_id, "hp_key": dedup_key})
    return result.mappings().first()


async def update_transaction(
    conn: AsyncConnection, transaction_id: int, values: Mapping[str, Any]
) -> None:
    """Set ``values`` (column name → value) on the transaction."""
    if values:
        await conn.execute(_UPDATE, {**values, "hp_id": transaction_id})


async def add_meter_values(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert sampled values, skipping replays (unique key); return how many were new."""
    if not rows:
        return 0
    result = await conn.execute(_ADD_SAMPLES[conn.dialect.name], list(rows))
    return len(result.all())


async def add_event(conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
    """Record a processed (transaction_id, seq_no); False when it was already recorded."""
    result = await conn.execute(_ADD_EVENT[conn.dialect.name], dict(values))
    return result.first() is not None


# --- stations (connect, boot) -------------------------------------------------------------------


async def get_station(conn: AsyncConnection, station_id: str) -> RowMapping | None:
    """The station row, or None."""
    return (await conn.execute(_GET_STATION, {"hp_id": station_id})).mappings().first()


async def insert_station(conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
    """Insert a station; False when the identity already exists (nothing changed)."""
    result = await conn.execute(_INSERT_STATION[conn.dialect.name], dict(values))
    return result.first() is not None


async def update_station(conn: AsyncConnection, station_id: str, values: Mapping[str, Any]) -> bool:
    """Update columns of a station; False when it does not exist."""
    if not values:
        return await get_station(conn, station_id) is not None
    result = await conn.execute(_UPDATE_STATION, {**values, "hp_id": station_id})
    return result.rowcount > 0


async def add_station_event(conn: AsyncConnection, values: Mapping[str, Any]) -> int:
    """Store a station event; return its id."""
    return int((await conn.execute(_ADD_STATION_EVENT, dict(values))).scalar_one())
