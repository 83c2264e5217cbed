"""An ``aiosqlite``-shaped driver that runs ``sqlite3`` calls inline, on the event loop thread.

Why: ``aiosqlite`` runs every statement on a worker thread; each ``execute``/``fetchall`` is a
queue hand-off, a thread wake-up and a ``call_soon_threadsafe`` back, i.e. tens of µs of
overhead and two context switches per statement, far more than SQLite itself needs for the
small indexed statements of a CSMS (a few µs each; with WAL and ``synchronous=NORMAL`` a COMMIT
does not fsync). Profiling ``kilowatt serve`` under the 1.6 benchmark mix showed the group
commit writer spending most of its wall time waiting for those hand-offs.

SQLAlchemy's ``sqlite+aiosqlite`` dialect is given this module instead of ``aiosqlite`` (see
:func:`dbapi`): every coroutine below completes without suspending, so SQLAlchemy's greenlet
bridge never yields to the loop and a whole group commit runs as one uninterrupted step.

Lock waits do not block the loop: the ``sqlite3`` connection has ``busy_timeout`` 0 and a
statement that meets another connection's lock (SQLITE_BUSY, "database is locked": another
process, a CLI command while the server runs) is retried after ``await asyncio.sleep(backoff)``,
up to :attr:`InlineConnection.busy_timeout_ms` in all; SQLAlchemy's greenlet bridge carries
that real await to the loop, so other tasks run meanwhile.

What it costs: a statement blocks the loop while SQLite runs it. That is what we want for the
short statements on the hot path, and for the COMMIT too (with WAL and ``synchronous=NORMAL``
it writes the WAL pages without an fsync, ~2 ms per group commit under the 1.6 benchmark mix
once the message journal moved to its own file). Running the COMMIT on a thread was measured:
it saved that CPU on the loop but the result then needed three loop iterations to reach the
waiting handlers, and p99 latency rose from ~53 to ~62–75 ms. The one slow SQLite operation,
the WAL checkpoint (which fsyncs the database file), is moved off the loop: connections are
opened with ``wal_autocheckpoint`` off and :class:`Checkpointer` runs passive checkpoints on
its own thread and connection (:class:`~kilowatt.storage.database.Database` starts it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["Checkpointer", "InlineConnection", "dbapi"]

log = logging.getLogger(__name__)

__version__ = "0.22.1"  # the aiosqlite API level this imitates (read by SQLAlchemy)

# The names SQLAlchemy's aiosqlite adapter reads from the driver module.
DatabaseError = sqlite3.DatabaseError
Error = sqlite3.Error
IntegrityError = sqlite3.IntegrityError
NotSupportedError = sqlite3.NotSupportedError
OperationalError = sqlite3.OperationalError
ProgrammingError = sqlite3.ProgrammingError
sqlite_version = sqlite3.sqlite_version
sqlite_version_info = sqlite3.sqlite_version_info


_SQLITE_BUSY = 5
_SQLITE_BUSY_SNAPSHOT = (
    517  # a stale read snapshot: waiting does not help, the caller must roll back
)
_FIRST_BACKOFF = 0.001
_MAX_BACKOFF = 0.05


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # pragma: no cover - Python < 3.11
        return "database is locked" in str(exc)
    return code & 0xFF == _SQLITE_BUSY and code != _SQLITE_BUSY_SNAPSHOT


async def _retry_busy(owner: InlineConnection, function: Callable[[], T]) -> T:
    """Run ``function``; while SQLite says the database is locked, sleep on the event loop (a
    growing backoff) and run it again, for at most ``owner.busy_timeout_ms`` in all."""
    try:
        return function()
    except sqlite3.OperationalError as exc:
        if not _is_busy(exc) or owner.busy_timeout_ms <= 0:
            raise
    deadline = time.monotonic() + owner.busy_timeout_ms / 1000
    backoff = _FIRST_BACKOFF
    waits = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            log.warning(
                "SQLite database still locked after %d ms (%d waits); giving up",
                owner.busy_timeout_ms,
                waits,
            )
            return function()  # one last try: raises "database is locked" if still held
        await asyncio.sleep(min(backoff, remaining))
        waits += 1
        backoff = min(backoff * 2, _MAX_BACKOFF)
        try:
            return function()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise


class _Cursor:
    """An aiosqlite-like cursor whose coroutines run ``sqlite3`` directly."""

    __slots__ = ("_cursor", "_owner")

    def __init__(self, cursor: sqlite3.Cursor, owner: InlineConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _Cursor:
        cursor = self._cursor
        try:
            if parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            if parameters is None:
                await _retry_busy(self._owner, lambda: cursor.execute(sql))
            else:
                await _retry_busy(self._owner, lambda: cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> _Cursor:
        cursor = self._cursor
        rows = parameters if isinstance(parameters, list) else list(parameters)
        in_transaction = self._owner._live().in_transaction
        try:
            cursor.executemany(sql, rows)
        except sqlite3.OperationalError as exc:
            # Outside a transaction each row commits on its own: a retry could repeat rows.
            if not _is_busy(exc) or (not in_transaction and len(rows) > 1):
                raise
            await _retry_busy(self._owner, lambda: cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if size is None:
            return self._cursor.fetchmany()
        return self._cursor.fetchmany(size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _Immediate:
    """Stands in for aiosqlite's request queue (SQLAlchemy sets ``isolation_level`` through it):
    runs the function at once and resolves the future."""

    __slots__ = ()

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)


class InlineConnection:
    """An aiosqlite-like connection over one ``sqlite3`` connection, used on one thread.

    ``busy_timeout_ms``: how long a statement waits, on the event loop (asyncio.sleep), for a
    lock another connection holds; the ``sqlite3`` connection itself must not wait (PRAGMA
    busy_timeout=0, as :func:`connect` opens it and the Database configures it).
    """

    def __init__(self, connection: sqlite3.Connection, *, busy_timeout_ms: int = 5000) -> None:
        self._conn: sqlite3.Connection | None = connection
        self._tx = _Immediate()
        self.busy_timeout_ms = busy_timeout_ms

    @property
    def _connection(self) -> sqlite3.Connection | None:  # aiosqlite's name, read by SQLAlchemy
        return self._conn

    def cursor(self) -> _Cursor:
        return _Cursor(self._live().cursor(), self)

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _Cursor:
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        conn = self._live()
        try:
            conn.commit()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            await _retry_busy(self, conn.commit)  # a busy COMMIT leaves the transaction open

    async def rollback(self) -> None:
        self._live().rollback()

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._live().create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._live().isolation_level

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn


Connection = InlineConnection  # SQLAlchemy checks ``hasattr(aiosqlite.Connection, "stop")``


class _Pending:
    """What :func:`connect` returns: awaitable (like aiosqlite's), with the ``_thread`` that
    SQLAlchemy marks as a daemon."""

    __slots__ = ("_args", "_kwargs", "_thread")

    class _NoThread:
        daemon = True

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._args = args
        self._kwargs = kwargs
        self._thread = self._NoThread()

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        kwargs = dict(self._kwargs)
        kwargs["check_same_thread"] = False  # the pool may close it from a GC callback
        # sqlite3's ``timeout`` is its busy timeout; the waiting is done on the loop instead.
        timeout = float(kwargs.pop("timeout", 5.0))
        kwargs["timeout"] = 0.0
        connection = InlineConnection(
            sqlite3.connect(*self._args, **kwargs), busy_timeout_ms=int(timeout * 1000)
        )
        return connection
        yield  # pragma: no cover - makes this a generator


def connect(*args: Any, **kwargs: Any) -> _Pending:
    """Like ``aiosqlite.connect``: returns an awaitable that opens the connection."""
    return _Pending(args, kwargs)


def dbapi() -> Any:
    """The DBAPI object to pass as ``module=`` to ``create_async_engine`` for a
    ``sqlite+aiosqlite`` URL."""
    import sys

    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

    return AsyncAdapt_aiosqlite_dbapi(sys.modules[__name__], sqlite3)


WAL_MAX_BYTES = 64 * 1024 * 1024
"""Past this size (bytes) after a passive checkpoint, :class:`Checkpointer` truncates the WAL."""

TRUNCATE_BUSY_TIMEOUT_MS = 200
"""How long a truncating checkpoint waits for the writer and readers (ms) before it gives up
until the next interval; meanwhile it holds up new writers, so it must stay short."""


class Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval`` s on its own thread and
    connection, so the event loop never waits for the checkpoint's fsync; truncates the WAL
    when it has grown past ``wal_max_bytes``.

    A passive checkpoint never blocks writers or readers; it copies what it can from the WAL
    into the database file. But SQLite only rewinds the WAL to its start when a writer finds
    it wholly copied, and under sustained load a commit may always land while the checkpoint
    runs. So when the WAL file is larger than ``wal_max_bytes`` after the passive
    checkpoint, a ``wal_checkpoint(TRUNCATE)`` follows at once: it copies the few
    frames committed meanwhile, waits (at most :data:`TRUNCATE_BUSY_TIMEOUT_MS`) until no
    reader uses the WAL, and truncates it to 0 bytes. Writers wait during that step only (a
    few ms; a busy writer on the event loop retries with ``asyncio.sleep``). If readers hold
    on, it is tried again after the next interval. The WAL stays below about
    ``wal_max_bytes`` plus what one ``interval`` of writes adds.

    Stop it with :meth:`stop` (runs a last checkpoint).

    Args:
        path: the database file.
        interval: s between checkpoints.
        busy_timeout_ms: how long the passive checkpoint waits for a lock (ms).
        wal_max_bytes: truncate the WAL when it is larger than this (bytes).
    """

    def __init__(
        self,
        path: str,
        *,
        interval: float = 1.0,
        busy_timeout_ms: int = 5000,
        wal_max_bytes: int = WAL_MAX_BYTES,
    ) -> None:
        """Prepare the thread (not started: :meth:`start`)."""
        self._path = path
        self._wal = path + "-wal"
        self._interval = interval
        self._busy_timeout_ms = busy_timeout_ms
        self._wal_max_bytes = wal_max_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kw-sqlite-checkpoint", daemon=True)
        self.checkpoints = 0
        """Checkpoints run so far (for tests)."""
        self.truncations = 0
        """Truncating checkpoints that completed (the WAL was emptied) so far."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, check_same_thread=False)
        except sqlite3.Error:
            log.exception("WAL checkpointer cannot open %s", self._path)
            return
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            while True:
                stopping = self._stop.wait(self._interval)
                try:
                    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames == -1:
                        # This connection has not seen the WAL: it was opened before the
                        # database was switched to WAL mode (a new data directory), and a
                        # checkpoint alone never reads the file's header again, so every
                        # checkpoint was a no-op and the WAL grew without end. A read opens
                        # the WAL for this connection.
                        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                    if self._wal_size() > self._wal_max_bytes:
                        self._truncate(conn)
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint failed: %r", exc)
                if stopping:
                    return
        finally:
            conn.close()

    def _wal_size(self) -> int:
        try:
            return os.path.getsize(self._wal)
        except OSError:  # no WAL (yet): nothing to truncate
            return 0

    def _truncate(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout={TRUNCATE_BUSY_TIMEOUT_MS}")
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
        if not busy:
            self.truncations += 1
