"""The SQL of the message journal (SQLite, PostgreSQL), and its write buffer.

Implements :class:`kilowatt.csms.repositories.JournalRepository`. Where the frames go:

- a file-backed SQLite database with the inline driver has a journal file of its own,
  written by a thread of its own (:mod:`kilowatt.storage.journal_file`,
  :attr:`Database.journal_file <kilowatt.storage.database.Database.journal_file>`);
  :meth:`SqlJournalRepository.append` *is* :meth:`JournalFile.append
  <kilowatt.storage.journal_file.JournalFile.append>` (no call in between);
- otherwise (PostgreSQL, an in-memory SQLite) the ``journal`` table of the database: frames
  wait in memory at most ``write_delay`` s, then one INSERT (executemany of one long-lived
  statement) joins whatever group commit the writer runs then.

Why the delay: the journal's ``(station_id, id)`` index receives rows of every connected
station, so each INSERT batch dirties about one index page per station, whatever the number
of rows. Writing it with every group commit (~40 per s under load) made those page writes the
largest part of the COMMIT; writing it four times a second costs the same pages a tenth as
often (measured under the 1.6 benchmark mix: COMMIT time −45 %, calls/s +8 %).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement, FunctionElement, Select

from kilowatt.csms.repositories import JournalRow, Row
from kilowatt.storage import hotpath
from kilowatt.storage.database import Database
from kilowatt.storage.journal_file import COLUMNS
from kilowatt.storage.sql.common import page as _paged
from kilowatt.storage.tables import journal

__all__ = ["SqlJournalRepository", "delete_station", "page", "prune", "prune_bytes"]

log = logging.getLogger(__name__)

_INSERT = journal.insert()  # one long-lived statement: compiled once (hotpath.executemany)


async def page(
    conn: AsyncConnection, station_id: str, *, limit: int, offset: int, action: str | None = None
) -> tuple[list[Row], int]:
    """The station's frames on ``conn`` (optionally of one action), newest first, and the
    total."""
    query = select(journal).where(journal.c.station_id == station_id)
    if action is not None:
        query = query.where(journal.c.action == action)
    return await _paged(conn, query.order_by(journal.c.id.desc()), limit, offset)


async def prune(conn: AsyncConnection, *, before: datetime | None, keep: int | None) -> int:
    """Delete frames older than ``before`` and all but the newest ``keep``; return how many."""
    removed = 0
    if before is not None:
        result = await conn.execute(delete(journal).where(journal.c.at < before))
        removed += result.rowcount
    if keep is not None:
        cutoff = await conn.scalar(
            select(journal.c.id).order_by(journal.c.id.desc()).offset(keep).limit(1)
        )
        if cutoff is not None:
            result = await conn.execute(delete(journal).where(journal.c.id <= cutoff))
            removed += result.rowcount
    return removed


class _frame_bytes(FunctionElement[int]):
    """The UTF-8 length in bytes of a text column: ``octet_length(x)`` (PostgreSQL), ``length(
    CAST(x AS BLOB))`` on SQLite (whose ``length`` of text counts characters, and which has
    ``octet_length`` only from 3.43)."""

    type = Integer()
    inherit_cache = True


@compiles(_frame_bytes)
def _frame_bytes_default(element: _frame_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    return f"octet_length({compiler.process(element.clauses, **kw)})"


@compiles(_frame_bytes, "sqlite")
def _frame_bytes_sqlite(element: _frame_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    return f"length(CAST({compiler.process(element.clauses, **kw)} AS BLOB))"


_STATIONS_PER_STATEMENT = 500  # bound parameters per IN list (SQLite allows 32,766)


def _beyond(limit: int, stations: Sequence[str] | None, *, per_station: bool) -> Select[Any]:
    """Ids of the frames beyond ``limit`` bytes of newer frames (per station, or in all)."""
    running: ColumnElement[Any] = func.sum(_frame_bytes(journal.c.frame)).over(
        partition_by=journal.c.station_id if per_station else None,
        order_by=journal.c.id.desc(),
    )
    sizes = select(journal.c.id, running.label("running"))
    if stations is not None:
        sizes = sizes.where(journal.c.station_id.in_(stations))
    inner = sizes.subquery()
    return select(inner.c.id).where(inner.c.running > limit)


async def prune_bytes(
    conn: AsyncConnection,
    *,
    station_bytes: int | None,
    stations: Sequence[str] | None,
    total_bytes: int | None,
) -> int:
    """Delete the oldest frames beyond ``station_bytes`` per station (of ``stations``; None:
    all) and then beyond ``total_bytes`` in all; return how many.

    One window query per limit (a running sum of the frames' UTF-8 bytes, newest first): it
    reads the frames it sums, i.e. the station's frames, or the whole journal for
    ``total_bytes``.
    """
    removed = 0
    if station_bytes is not None:
        if stations is None:
            groups: list[Sequence[str] | None] = [None]
        else:
            groups = [
                stations[i : i + _STATIONS_PER_STATEMENT]
                for i in range(0, len(stations), _STATIONS_PER_STATEMENT)
            ]
        for group in groups:
            doomed = _beyond(station_bytes, group, per_station=True)
            result = await conn.execute(delete(journal).where(journal.c.id.in_(doomed)))
            removed += result.rowcount
    if total_bytes is not None:
        doomed = _beyond(total_bytes, None, per_station=False)
        result = await conn.execute(delete(journal).where(journal.c.id.in_(doomed)))
        removed += result.rowcount
    return removed


async def delete_station(conn: AsyncConnection, station_id: str) -> int:
    """Delete every frame of a station; return how many."""
    result = await conn.execute(delete(journal).where(journal.c.station_id == station_id))
    return int(result.rowcount)


class SqlJournalRepository:
    """The journal of ``db``: its journal file, or its ``journal`` table (see the module
    docstring and the protocol :class:`~kilowatt.csms.repositories.JournalRepository`).

    Args:
        write_delay: most s an appended frame waits before it is written (0: with the next
            group commit).
    """

    def __init__(self, db: Database, *, write_delay: float = 0.25) -> None:
        self._db = db
        self._file = db.journal_file
        self._timer: asyncio.TimerHandle | None = None
        self._pending: list[JournalRow] = []
        self._taken: list[dict[str, Any]] | None = None
        self._future: asyncio.Future[None] | None = None
        self.append: Callable[[JournalRow], None]
        """Queue one frame (see the protocol)."""
        if self._file is not None:
            self.append = self._file.append  # the hot path: no frame of ours in between
        else:
            self.append = self._append
        self.write_delay = write_delay

    @property
    def write_delay(self) -> float:
        """Most s an appended frame waits in memory before it is written."""
        return self._file.write_delay if self._file is not None else self._write_delay

    @write_delay.setter
    def write_delay(self, value: float) -> None:
        self._write_delay = value
        if self._file is not None:
            self._file.write_delay = value

    def _append(self, row: JournalRow) -> None:
        self._pending.append(row)
        if self._future is None and self._timer is None:
            self._arm()

    def _arm(self) -> None:
        if self._write_delay > 0:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._write_delay, self._schedule)
        else:
            self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        future = self._db.batcher.submit_nowait(self._write)
        future.add_done_callback(self._written)
        self._future = future

    async def _write(self, conn: AsyncConnection) -> None:
        # Take the buffer once; if the batch is retried after a rollback, write the same rows.
        if self._taken is None:
            pending, self._pending = self._pending, []
            self._taken = [dict(zip(COLUMNS, row, strict=True)) for row in pending]
        await hotpath.executemany(conn, _INSERT, self._taken)

    def _written(self, future: asyncio.Future[None]) -> None:
        if not future.cancelled() and (exc := future.exception()) is not None:
            log.warning("lost %d journal frames: %r", len(self._taken or ()), exc)
        self._taken = None
        self._future = None
        if self._pending:
            self._arm()

    async def flush(self) -> None:
        """Wait until every frame appended so far is written (without the write delay)."""
        if self._file is not None:
            await self._file.flush()
            return
        if self._timer is not None:
            self._schedule()
        while self._future is not None:
            await asyncio.shield(self._future)
            # The done callback has run (it is called before awaiters resume) and may have
            # scheduled the next batch; loop until the buffer is empty.

    async def page(
        self, station_id: str, *, limit: int, offset: int, action: str | None = None
    ) -> tuple[list[Row], int]:
        """The station's written frames, newest first, and the total."""
        async with self._file.read() if self._file is not None else self._db.read() as conn:
            return await page(conn, station_id, limit=limit, offset=offset, action=action)

    async def prune(self, *, before: datetime | None, keep: int | None) -> int:
        """Delete frames older than ``before`` and beyond the newest ``keep``; how many."""

        async def op(conn: AsyncConnection) -> int:
            return await prune(conn, before=before, keep=keep)

        return await self._store_write(op)

    async def prune_bytes(
        self,
        *,
        station_bytes: int | None,
        stations: Sequence[str] | None,
        total_bytes: int | None,
    ) -> int:
        """Delete the oldest frames beyond the byte limits (see the protocol); how many."""

        async def op(conn: AsyncConnection) -> int:
            return await prune_bytes(
                conn, station_bytes=station_bytes, stations=stations, total_bytes=total_bytes
            )

        return await self._store_write(op)

    async def delete_station(self, station_id: str) -> int:
        """Delete the station's written frames; how many."""

        async def op(conn: AsyncConnection) -> int:
            return await delete_station(conn, station_id)

        return await self._store_write(op)

    async def _store_write(self, op: Callable[[AsyncConnection], Awaitable[int]]) -> int:
        """Run ``op`` where the journal lives: its own file, or the database."""
        if self._file is not None:
            return int(await self._file.write(op))
        return await self._db.write(op)
