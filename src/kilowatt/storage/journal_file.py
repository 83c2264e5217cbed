"""The message journal in a SQLite file of its own, written by a thread of its own.

Why: the journal receives two rows per OCPP call (the CALL and its answer, verbatim). In the
main database those INSERTs ran on the event loop thread inside the group commits of the
acknowledged writes, and the journal's ``(station_id, id)`` index made each batch dirty
about one page per connected station. Under the 1.6 benchmark mix (200 stations) switching
the journal off raised calls/s by ~15 % and cut p99 from ~90 to ~60 ms: it was the largest
single cost left on the loop. Here the rows go to ``<database>.journal.db`` (for
``kilowatt.db``: ``kilowatt.journal.db``) through a thread that writes them with multi-row
INSERTs and commits on its own connection. ``sqlite3`` releases the GIL while SQLite runs a
statement, so the B-tree work and the COMMIT happen on the machine's other core, and a
separate file means a separate write lock: the journal never waits for, or holds up, the
writes a station's answer depends on.

What it guarantees: nothing more than before. Journal rows were never part of the durable
acknowledgement (:mod:`kilowatt.csms.journal`); a crash loses at most the last
``write_delay`` seconds of frames. Rows are written in the order they were appended, so
their ids follow the order of the frames.

Only a file-backed SQLite database with the inline driver gets a journal file
(:attr:`kilowatt.storage.database.Database.journal_file`); on PostgreSQL (or an in-memory
SQLite) the journal stays a table of the main database, written by the group commit.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateIndex, CreateTable

from kilowatt.csms.repositories import JournalRow
from kilowatt.storage.hotpath import multi_row_sql
from kilowatt.storage.tables import journal

__all__ = ["COLUMNS", "JournalFile", "JournalStore", "journal_path"]

T = TypeVar("T")
log = logging.getLogger(__name__)

COLUMNS = ("station_id", "at", "direction", "message_type", "action", "message_id", "frame")
"""The journal columns a :data:`~kilowatt.csms.repositories.JournalRow` gives, in this order
(``id`` is assigned)."""


class JournalStore(Protocol):
    """What :class:`JournalFile` reads and prunes through: a
    :class:`~kilowatt.storage.database.Database` on the same file (passed in by the database
    that owns the journal file, so that this module does not import that one)."""

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for reads."""
        ...

    def write(self, op: Callable[[AsyncConnection], Awaitable[T]]) -> Awaitable[T]:
        """Run a write operation in a transaction of its own; its result once committed."""
        ...

    async def close(self) -> None:
        """Close the connections."""
        ...


_SHORTEST_DELAY = 0.001
"""The thread sleeps at least this long between writes (a delay of 0 must not spin)."""

_INSERT_ONE = f"INSERT INTO journal ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

_WAL_SIZE_LIMIT = 16 * 1024 * 1024
"""Bytes the journal file's WAL is truncated to when SQLite rewinds it."""

_LARGEST_CHUNK = 256
"""Rows per INSERT statement at most (× 7 parameters, well under SQLite's 32,766)."""


def journal_path(database: Path) -> Path:
    """The journal file that belongs to the SQLite database file ``database``:
    ``/data/kilowatt.db`` → ``/data/kilowatt.journal.db``. (Not ``kilowatt.db-journal``:
    that name is SQLite's own rollback journal.)"""
    return database.with_name(database.stem + ".journal.db")


class JournalFile:
    """Appends journal rows from the event loop; a daemon thread writes them to ``path``.

    Args:
        path: the SQLite file (created with the journal table and its indexes if missing).
        database: a :class:`~kilowatt.storage.database.Database` on ``path`` (no checkpoint
            thread, no journal file of its own; :func:`kilowatt.storage.database.open_journal_file`
            builds both), closed with us.
        write_delay: the thread writes every this many s (and at once when flushed).
        busy_timeout_ms: how long the thread waits for a lock held by another connection to
            the same file (the pruning DELETE, a reader's checkpoint).

    :attr:`database` serves reads and pruning. Call :meth:`close` at shutdown (writes what is
    queued).
    """

    def __init__(
        self,
        path: Path,
        *,
        database: JournalStore,
        write_delay: float = 0.25,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self.path = path
        self.write_delay = write_delay
        self._busy_timeout_ms = busy_timeout_ms
        self.database = database
        self._queue: collections.deque[tuple[Any, ...]] = collections.deque()
        dialect = sqlite.dialect()
        # The text a SQLAlchemy INSERT stores (UtcDateTime on SQLite), so reads parse it back.
        at_text = journal.c.at.type.dialect_impl(dialect).bind_processor(dialect)
        assert at_text is not None
        self._at_text: Callable[[datetime], str] = at_text
        self._appended = 0  # rows appended (event loop thread only)
        self._written = 0  # rows taken and committed (or given up) by the thread
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._lock = threading.Lock()  # guards _waiters and _written
        self._wake = threading.Event()
        self._stopping = False
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = 0
        """Rows the thread could not write (logged); for tests and metrics."""

    def append(self, row: JournalRow) -> None:
        """Queue one frame; never blocks, never raises for a full disk (the thread logs).

        Raises:
            ValueError: ``at`` is a naive datetime.
        """
        station_id, at, direction, message_type, action, message_id, frame = row
        # Converted here, so that the thread only hands finished tuples to SQLite: Python code
        # on the thread would hold the GIL the event loop needs back after its own statements.
        self._queue.append(
            (station_id, self._at_text(at), direction, message_type, action, message_id, frame)
        )
        self._appended += 1
        if self._thread is None:
            self._start()

    async def flush(self) -> None:
        """Wait until every row appended before this call is committed (or given up)."""
        target = self._appended
        if target == 0:
            await self._opened()
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._written >= target:
                return
            self._waiters.append((target, loop, future))
        self._wake.set()
        await future

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection to the journal file for reads (after :meth:`flush` for the latest)."""
        await self._opened()
        async with self.database.read() as conn:
            yield conn

    async def write(self, op: Callable[[AsyncConnection], Any]) -> Any:
        """Run a write operation (pruning, deleting a station's frames) on the journal file,
        in its own transaction."""
        await self._opened()
        return await self.database.write(op)

    async def close(self) -> None:
        """Write what is queued, stop the thread, close the read connections. Idempotent."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._stopping = True
            self._wake.set()
            await asyncio.to_thread(thread.join)
        await self.database.close()

    async def _opened(self) -> None:
        """Wait until the thread has created the file and its table (reads need them)."""
        if self._thread is None:
            self._start()
        if not self._ready.is_set():
            await asyncio.to_thread(self._ready.wait)

    # -- the thread -------------------------------------------------------------------------

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kw-journal", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn = self._open()
        except sqlite3.Error:
            log.exception("journal file %s cannot be opened; frames are not journaled", self.path)
            conn = None
        self._ready.set()
        try:
            while True:
                self._wake.wait(max(self.write_delay, _SHORTEST_DELAY))
                self._wake.clear()
                stopping = self._stopping
                rows = []
                queue = self._queue
                while queue:
                    rows.append(queue.popleft())
                if rows:
                    if conn is None:
                        self._give_up(len(rows), "no journal file")
                    else:
                        self._write(conn, rows)
                self._release()
                if stopping and not self._queue:
                    return
        finally:
            if conn is not None:
                conn.close()

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # The WAL shrinks back to this after an automatic checkpoint rewinds it (a trim of the
        # journal to its byte limits may write a burst of pages); SQLite's automatic
        # checkpoint (every 1000 pages, on this thread) keeps it bounded otherwise.
        conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
        dialect = sqlite.dialect()
        conn.execute(str(CreateTable(journal, if_not_exists=True).compile(dialect=dialect)))
        for index in sorted(journal.indexes, key=lambda i: str(i.name)):
            conn.execute(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
        return conn

    def _write(self, conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            start = 0
            while start < len(rows):
                # Power-of-two chunks: at most 9 distinct statement texts stay prepared in
                # sqlite3's statement cache, and every statement is one sqlite3_step (the GIL
                # is released once per chunk, not once per row as with executemany).
                size = _LARGEST_CHUNK
                while size > len(rows) - start:
                    size //= 2
                params = list(chain.from_iterable(rows[start : start + size]))
                conn.execute(multi_row_sql(_INSERT_ONE, size), params)
                start += size
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            self._give_up(len(rows), repr(exc))
            return
        with self._lock:
            self._written += len(rows)

    def _give_up(self, count: int, reason: str) -> None:
        log.warning("lost %d journal frames: %s", count, reason)
        self.lost += count
        with self._lock:
            self._written += count

    def _release(self) -> None:
        with self._lock:
            written = self._written
            ready = [w for w in self._waiters if w[0] <= written]
            self._waiters = [w for w in self._waiters if w[0] > written]
        for _, loop, future in ready:
            # A closed loop raises RuntimeError: nobody waits any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
