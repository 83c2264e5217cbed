"""The :class:`Database`: engine, migrations, the group-commit writer and read connections.

All writes go through :meth:`Database.write` (the :class:`~kilowatt.storage.batcher.WriteBatcher`),
so SQLite has a single writer and never returns "database is locked" to a caller, and every
write shares COMMITs with its neighbours. Reads use :meth:`Database.read`, which on SQLite (WAL)
runs concurrently with the writer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from kilowatt import fastpaths
from kilowatt.storage import inline_sqlite
from kilowatt.storage.batcher import WriteBatcher, WriteOp
from kilowatt.storage.journal_file import JournalFile, journal_path

__all__ = ["MIGRATIONS_DIR", "Database", "alembic_config", "open_journal_file"]

T = TypeVar("T")
log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
"""The Alembic script directory shipped inside the package."""

_BEGIN_OPTION = "kilowatt_sqlite_begin"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` for the packaged migrations (no ini file).

    ``url`` is only needed when Alembic should open its own connection (command-line use);
    :meth:`Database.migrate` passes its connection instead.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """Engine plus group-commit writer for one SQLAlchemy async URL.

    Args:
        url: ``sqlite+aiosqlite:///path/kilowatt.db`` (parent directory created) or
            ``postgresql+asyncpg://user@host:5432/db``.
        max_batch: most write operations per group commit.
        busy_timeout_ms: SQLite busy timeout in ms (waits for a lock held by another process).
        echo: log SQL statements.
        inline: run SQLite statements on the event loop thread instead of aiosqlite's
            worker thread (:mod:`.inline_sqlite`: no thread hand-off per statement; WAL
            checkpoints then run on a background thread every ``checkpoint_interval`` s;
            ``checkpoint_interval`` None: no such thread, SQLite checkpoints automatically).
            None (the default): on unless ``KILOWATT_FAST_PATHS=0`` (:mod:`kilowatt.fastpaths`);
            off, SQLAlchemy runs every statement through the real ``aiosqlite``.
        journal_file: on a file-backed SQLite database with the inline driver, keep the
            message journal in a file of its own written by a thread of its own
            (:mod:`.journal_file`, :attr:`journal_file`).
        wal_max_bytes: SQLite: the checkpoint thread truncates the WAL once it is larger than
            this many bytes, and SQLite shrinks it back to this size whenever it rewinds it
            (``PRAGMA journal_size_limit``); see :class:`.inline_sqlite.Checkpointer`.

    Call :meth:`migrate` once at start, :meth:`close` at shutdown (commits pending writes).
    """

    def __init__(
        self,
        url: str,
        *,
        max_batch: int = 500,
        busy_timeout_ms: int = 5000,
        echo: bool = False,
        inline: bool | None = None,
        checkpoint_interval: float | None = 1.0,
        journal_file: bool = True,
        wal_max_bytes: int = inline_sqlite.WAL_MAX_BYTES,
    ) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect: str = parsed.get_backend_name()
        # hide_parameters: a failed statement's exception (logged with its traceback) would
        # otherwise quote its bound values, e.g. an OCPI partner's token (issue 12 item 6).
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        writer_options: dict[str, Any] = {}
        self._checkpointer: inline_sqlite.Checkpointer | None = None
        self.journal_file: JournalFile | None = None
        """Where the message journal lives on a file-backed SQLite database (None: in the
        ``journal`` table of this database)."""
        if inline is None:
            # The inline driver and what builds on it (raw sqlite3 statements with SQLAlchemy's
            # compiled processors in hotpath, the journal file, the checkpointer) are fast paths.
            inline = fastpaths.enabled()
        inline = inline and self.dialect == "sqlite" and parsed.get_driver_name() == "aiosqlite"
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database in {"", ":memory:"}:
                # One shared connection, or every connection would see its own empty database.
                kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                if inline and not database.startswith("file:"):
                    if checkpoint_interval is not None:
                        self._checkpointer = inline_sqlite.Checkpointer(
                            database,
                            interval=checkpoint_interval,
                            busy_timeout_ms=busy_timeout_ms,
                            wal_max_bytes=wal_max_bytes,
                        )
                    if journal_file:
                        self.journal_file = open_journal_file(
                            journal_path(Path(database)), busy_timeout_ms=busy_timeout_ms
                        )
            if inline:
                kwargs["module"] = inline_sqlite.dbapi()
            # The writer takes the write lock up front: a deferred transaction that reads
            # before writing can fail with SQLITE_BUSY instead of waiting for the lock.
            writer_options[_BEGIN_OPTION] = "IMMEDIATE"
        else:
            kwargs.update(pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(
                self.engine,
                busy_timeout_ms,
                autocheckpoint=self._checkpointer is None,
                wal_max_bytes=wal_max_bytes,
            )
            if self._checkpointer is not None:
                self._checkpointer.start()
        self.batcher = WriteBatcher(
            self.engine, max_batch=max_batch, connection_options=writer_options
        )

    async def migrate(self, revision: str = "head") -> None:
        """Apply the packaged Alembic migrations up to ``revision`` (idempotent)."""

        def upgrade(connection: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            before = MigrationContext.configure(connection).get_current_revision()
            command.upgrade(cfg, revision)
            after = MigrationContext.configure(connection).get_current_revision()
            if after != before:
                log.info("database schema upgraded from %s to %s", before or "empty", after)

        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade)

    async def write(self, op: WriteOp[T]) -> T:
        """Run a write operation in the next group commit; return its result once committed.

        ``op`` receives an :class:`AsyncConnection` inside an open transaction; it must not
        commit, and must be safe to run again after a rollback (see :mod:`.batcher`).
        """
        return await self.batcher.submit(op)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (its implicit transaction is rolled back at exit)."""
        async with self.engine.connect() as conn:
            yield conn

    async def close(self) -> None:
        """Commit queued writes, stop the writer and dispose of the engine's connections."""
        await self.batcher.close()
        if self.journal_file is not None:
            await self.journal_file.close()
        await self.engine.dispose()
        if self._checkpointer is not None:
            self._checkpointer.stop()


def open_journal_file(
    path: Path, *, write_delay: float = 0.25, busy_timeout_ms: int = 5000
) -> JournalFile:
    """A :class:`~kilowatt.storage.journal_file.JournalFile` at ``path`` with the
    :class:`Database` it reads and prunes through (no checkpoint thread, no journal file of
    its own)."""
    # Not inline: pruning the journal to its byte limits reads every frame it sums (up to
    # journal_max_bytes), which must not run on the event loop; aiosqlite's thread runs it.
    reader = Database(
        f"sqlite+aiosqlite:///{path}", journal_file=False, checkpoint_interval=None, inline=False
    )
    return JournalFile(
        path, database=reader, write_delay=write_delay, busy_timeout_ms=busy_timeout_ms
    )


def _configure_sqlite(
    engine: AsyncEngine, busy_timeout_ms: int, *, autocheckpoint: bool, wal_max_bytes: int
) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver (it would BEGIN lazily, and only
        # before DML), so that our "begin" hook below decides how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        driver = getattr(dbapi_connection, "_connection", None)
        if isinstance(driver, inline_sqlite.InlineConnection):
            # Lock waits happen on the event loop (asyncio.sleep between retries), never in
            # SQLite's busy handler, which would block the loop for up to the whole timeout.
            driver.busy_timeout_ms = busy_timeout_ms
            cursor.execute("PRAGMA busy_timeout=0")
        else:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # WAL: readers never block the writer. synchronous=NORMAL: a COMMIT survives a process
        # crash (SIGKILL) but the last transactions may be lost on power failure; the fsync per
        # commit that FULL adds would be paid per group anyway.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # When a writer rewinds the WAL (or a checkpoint empties it), shrink the file to this
        # size: without it, the WAL keeps its largest size until the last connection closes.
        cursor.execute(f"PRAGMA journal_size_limit={int(wal_max_bytes)}")
        if not autocheckpoint:
            # The Checkpointer thread does it: a checkpoint fsyncs, and with the inline driver
            # an automatic one would block the event loop inside some COMMIT.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())
