"""The execution engine of the fast statements: long-lived statements run without rebuilding.

The statements themselves live in the SQL repository of the aggregate they serve
(:mod:`kilowatt.storage.sql`); this module only runs them.

Why: building a SQLAlchemy statement on every call (``select(...).where(...)``,
``update(...).values(**values)``), coercing each value into a bind parameter and computing its
cache key costs more CPU than SQLite needs to run it. Under the benchmark's charging-session
mix that construction was about a third of the server's CPU. Statements built once at import,
with bind parameters, go straight to the compiled-statement cache.

On SQLite with the inline driver (:mod:`.inline_sqlite`, the default) they do not go through
SQLAlchemy's execution machinery either: each statement is compiled by SQLAlchemy once per
set of parameter keys (:func:`execute`), and then runs as that SQL text on the raw ``sqlite3``
connection under the SQLAlchemy connection, with the column types' bind and result
processors applied directly (the same conversions SQLAlchemy would apply). SQLAlchemy's
per-statement Python (execution context, cache key, parameter and result objects, the
greenlet bridge) was ~30–60 µs around a few µs of SQLite per statement. The writes stay in the
transaction SQLAlchemy opened (same connection: BEGIN IMMEDIATE … COMMIT by the batcher).
On PostgreSQL (asyncpg) and with the thread-based aiosqlite driver the same statements run
through SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from kilowatt.storage.inline_sqlite import InlineConnection

__all__ = [
    "MULTI_ROW_MAX",
    "Row",
    "by_dialect",
    "compiled",
    "execute",
    "executemany",
    "first",
    "multi_row_sql",
    "raw_sqlite",
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

MULTI_ROW_MAX = 64
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


def compiled(stmt: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Sql:
    """``stmt`` compiled for ``dialect`` with the parameter names ``keys`` (cached by the
    statement's identity: pass long-lived statements only)."""
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
    sql = compiled(stmt, conn.dialect, tuple(params))
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
    sql = compiled(stmt, conn.dialect, tuple(params[0]))
    before = raw.total_changes
    raw.executemany(sql.text, [sql.params(p) for p in params])
    return raw.total_changes - before


async def first(conn: AsyncConnection, stmt: Executable, params: Mapping[str, Any]) -> Row | None:
    """The first row ``stmt`` returns with ``params`` (see :func:`execute`), or None."""
    rows, _ = await execute(conn, stmt, params)
    return rows[0] if rows else None


def by_dialect(make: Callable[[Any], Any]) -> dict[str, Any]:
    """``{dialect name: make(insert)}`` for SQLite and PostgreSQL, whose ``insert`` constructs
    offer ``on_conflict_do_nothing/do_update`` (the statement then differs per dialect)."""
    return {"sqlite": make(sqlite.insert), "postgresql": make(postgresql.insert)}
