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

On SQLite with the inline driver (:mod:`.inline_sqlite`, the default) they do not go through
SQLAlchemy's execution machinery either: each statement is compiled by SQLAlchemy once per
set of parameter keys (:func:`execute`), and then runs as that SQL text on the raw ``sqlite3``
connection under the SQLAlchemy connection, with the column types' bind and result
processors applied directly (the same conversions SQLAlchemy would apply). SQLAlchemy's
per-statement Python (execution context, cache key, parameter and result objects, the
greenlet bridge) was ~30–60 µs around a few µs of SQLite per statement. The writes stay in the
transaction SQLAlchemy opened (same connection: BEGIN IMMEDIATE … COMMIT by the batcher).
On PostgreSQL (asyncpg) and with the thread-based aiosqlite driver the same statements run
through SQLAlchemy as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Dialect, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from kilowatt.storage.inline_sqlite import InlineConnection
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
    "Row",
    "add_event",
    "add_meter_values",
    "add_station_event",
    "execute",
    "executemany",
    "get_station",
    "get_transaction",
    "get_transaction_by_key",
    "insert_or_get_transaction",
    "insert_station",
    "multi_row_sql",
    "set_last_seen",
    "update_station",
    "update_transaction",
    "upsert_connector_status",
]

Row = Mapping[str, Any]
"""A result row: column name → value (after the column type's result processing)."""


def raw_sqlite(conn: AsyncConnection) -> sqlite3.Connection | None:
    """The ``sqlite3`` connection under ``conn`` when it uses the inline driver, else None."""
    if conn.dialect.name != "sqlite":
        return None
    driver = getattr(conn.sync_connection, "_dbapi_connection", None)
    inline = getattr(getattr(driver, "dbapi_connection", None), "_connection", None)
    if isinstance(inline, InlineConnection):
        return inline._conn
    return None


class _Sql:
    """A statement compiled for one dialect and one set of parameter keys."""

    __slots__ = ("columns", "defaults", "names", "procs", "results", "text")

    def __init__(self, stmt: Any, dialect: Dialect, keys: tuple[str, ...]) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
        self.text: str = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors
        self.procs: tuple[Callable[[Any], Any] | None, ...] = tuple(
            processors.get(name) for name in self.names
        )
        # Columns the statement binds that the caller did not give: their scalar defaults
        # (what SQLAlchemy would fill in at execution).
        self.defaults: dict[str, Any] = {}
        table = getattr(stmt, "table", None)
        for name in self.names:
            if name in keys or table is None or name not in table.c:
                continue
            default = table.c[name].default
            if default is None or not default.is_scalar:
                raise ValueError(f"{name!r} has no value and no scalar default")
            self.defaults[name] = default.arg
        self.columns: tuple[str, ...] = tuple(c[0] for c in compiled._result_columns)
        self.results: tuple[Callable[[Any], Any] | None, ...] = tuple(
            c[3]._cached_result_processor(dialect, None) for c in compiled._result_columns
        )

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        defaults = self.defaults
        out = []
        for name, proc in zip(self.names, self.procs, strict=True):
            value = values[name] if name in values else defaults[name]
            out.append(value if proc is None or value is None else proc(value))
        return tuple(out)

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        return {
            name: value if proc is None or value is None else proc(value)
            for name, proc, value in zip(self.columns, self.results, raw, strict=True)
        }


_COMPILED: dict[tuple[int, str, tuple[str, ...]], _Sql] = {}

_MULTI_ROW_MAX = 64
"""Rows per multi-row INSERT at most (MeterValues carry a handful of samples each)."""

_MULTI_ROW: dict[tuple[str, int], str] = {}


def multi_row_sql(text: str, rows: int) -> str:
    """``INSERT … VALUES (?, …) [tail]`` for one row → the same statement for ``rows`` rows.

    Why: ``executemany`` steps SQLite once per row and releases the GIL around each step; the
    journal writer and WAL checkpoint threads may then take the GIL from the event loop for
    up to a switch interval each time. One statement is one step for all the rows.
    """
    key = (text, rows)
    sql = _MULTI_ROW.get(key)
    if sql is None:
        head, sep, rest = text.partition(" VALUES (")
        if not sep:
            raise ValueError(f"not a single-row INSERT … VALUES: {text!r}")
        group, _, tail = rest.partition(")")
        values = ", ".join([f"({group})"] * rows)
        sql = _MULTI_ROW[key] = f"{head} VALUES {values}{tail}"
    return sql


def _sql(stmt: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Sql:
    key = (id(stmt), dialect.name, keys)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = _Sql(stmt, dialect, keys)
    return compiled


async def execute(
    conn: AsyncConnection, stmt: Executable, params: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """Run a module-level (long-lived) statement with ``params``; return its rows (as dicts)
    and rowcount. Raw ``sqlite3`` under the inline driver, SQLAlchemy otherwise."""
    raw = raw_sqlite(conn)
    if raw is None:
        result = await conn.execute(stmt, dict(params))
        rows = [dict(r) for r in result.mappings().all()] if result.returns_rows else []
        return rows, result.rowcount if not result.returns_rows else len(rows)
    sql = _sql(stmt, conn.dialect, tuple(params))
    cursor = raw.execute(sql.text, sql.params(params))
    if not sql.columns:
        return [], cursor.rowcount
    rows = [sql.row(r) for r in cursor.fetchall()]
    return rows, len(rows)


async def executemany(
    conn: AsyncConnection, stmt: Executable, params: Sequence[Mapping[str, Any]]
) -> int:
    """Run a module-level statement without RETURNING once per parameter set (all with the
    same keys); return how many rows it changed."""
    if not params:
        return 0
    raw = raw_sqlite(conn)
    if raw is None:
        result = await conn.execute(stmt, [dict(p) for p in params])
        return int(result.rowcount)
    sql = _sql(stmt, conn.dialect, tuple(params[0]))
    before = raw.total_changes
    raw.executemany(sql.text, [sql.params(p) for p in params])
    return raw.total_changes - before


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
_ADD_SAMPLES_NO_RETURNING = sqlite.insert(meter_values).on_conflict_do_nothing()
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
_INSERT_TRANSACTION = _by_dialect(
    lambda insert: (
        insert(transactions)
        .on_conflict_do_nothing(index_elements=["station_id", "dedup_key"])
        .returning(transactions.c.id)
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
    await execute(conn, _EVSE_UPSERT[dialect], {**key, "hp_now": now})
    if connector_id is None:
        return
    params = {**key, "hp_connector": connector_id}
    for name in STATUS_COLUMNS:
        params["hp_" + name] = values[name]
    await execute(conn, _CONNECTOR_UPSERT[dialect], params)


async def _first(conn: AsyncConnection, stmt: Executable, params: Mapping[str, Any]) -> Row | None:
    rows, _ = await execute(conn, stmt, params)
    return rows[0] if rows else None


async def get_transaction(conn: AsyncConnection, transaction_id: int) -> Row | None:
    """The transaction row, or None."""
    return await _first(conn, _GET, {"hp_id": transaction_id})


async def get_transaction_by_key(
    conn: AsyncConnection, station_id: str, dedup_key: str
) -> Row | None:
    """The transaction of ``station_id`` with ``dedup_key``, or None."""
    return await _first(conn, _GET_BY_KEY, {"hp_station": station_id, "hp_key": dedup_key})


async def insert_or_get_transaction(
    conn: AsyncConnection, values: Mapping[str, Any]
) -> tuple[Row, bool]:
    """Insert unless the station already has a transaction with this ``dedup_key``; return the
    stored row and whether it was created now (as ``TransactionRepository.insert_or_get``)."""
    created = await _first(conn, _INSERT_TRANSACTION[conn.dialect.name], values) is not None
    row = await get_transaction_by_key(conn, values["station_id"], values["dedup_key"])
    assert row is not None
    return row, created


async def update_transaction(
    conn: AsyncConnection, transaction_id: int, values: Mapping[str, Any]
) -> None:
    """Set ``values`` (column name → value) on the transaction."""
    if values:
        await execute(conn, _UPDATE, {**values, "hp_id": transaction_id})


async def add_meter_values(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert sampled values, skipping replays (unique key); return how many were new."""
    if not rows:
        return 0
    raw = raw_sqlite(conn)
    if raw is not None:
        # One multi-row INSERT … ON CONFLICT DO NOTHING; the new rows are the changes.
        sql = _sql(_ADD_SAMPLES_NO_RETURNING, conn.dialect, tuple(rows[0]))
        before = raw.total_changes
        start = 0
        while start < len(rows):
            chunk = rows[start : start + _MULTI_ROW_MAX]
            params: list[Any] = []
            for row in chunk:
                params += sql.params(row)
            raw.execute(multi_row_sql(sql.text, len(chunk)), params)
            start += len(chunk)
        return raw.total_changes - before
    result = await conn.execute(_ADD_SAMPLES[conn.dialect.name], list(rows))
    return len(result.all())


async def add_event(conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
    """Record a processed (transaction_id, seq_no); False when it was already recorded."""
    return await _first(conn, _ADD_EVENT[conn.dialect.name], values) is not None


# --- stations (connect, boot) -------------------------------------------------------------------


async def get_station(conn: AsyncConnection, station_id: str) -> Row | None:
    """The station row, or None."""
    return await _first(conn, _GET_STATION, {"hp_id": station_id})


async def insert_station(conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
    """Insert a station; False when the identity already exists (nothing changed)."""
    return await _first(conn, _INSERT_STATION[conn.dialect.name], values) is not None


async def update_station(conn: AsyncConnection, station_id: str, values: Mapping[str, Any]) -> bool:
    """Update columns of a station; False when it does not exist."""
    if not values:
        return await get_station(conn, station_id) is not None
    _, count = await execute(conn, _UPDATE_STATION, {**values, "hp_id": station_id})
    return count > 0


async def add_station_event(conn: AsyncConnection, values: Mapping[str, Any]) -> int:
    """Store a station event; return its id."""
    row = await _first(conn, _ADD_STATION_EVENT, values)
    assert row is not None
    return int(row["id"])


_SET_LAST_SEEN = (
    update(stations)
    .where(stations.c.id == bindparam("hp_station"))
    .values(last_seen=bindparam("hp_seen"))
)


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
    step instead of one per station (see :func:`multi_row_sql` for why). Elsewhere an
    executemany UPDATE.
    """
    if not seen:
        return
    raw = raw_sqlite(conn)
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
