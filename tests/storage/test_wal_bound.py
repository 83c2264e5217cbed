"""The SQLite WAL stays bounded under sustained writes (issue 12, item 1).

``python -m bench.run --stations 200 --duration 20 --version 1.6`` grew the WAL to 387 MB
next to a 12 MB database (1.26 GB in longer runs), and it shrank only at shutdown. Two causes:
the checkpoint thread's connection, opened before a new database was switched to WAL mode,
never saw the WAL, so each of its checkpoints did nothing (and automatic checkpoints are off
on the writer's connections); and a passive checkpoint never rewinds the WAL while commits
keep landing. :class:`kilowatt.storage.inline_sqlite.Checkpointer` now opens the WAL with a
read when its checkpoint reports none, and truncates the WAL once it passes ``wal_max_bytes``.
No wall-clock limits: the tests wait for checkpoints by count.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt import fastpaths
from kilowatt.storage import Database
from kilowatt.storage.inline_sqlite import Checkpointer

MIB = 1024 * 1024
WAL_MAX = 1 * MIB
ROW = os.urandom(2048)  # incompressible, 2 KiB: about one WAL page per row


async def _checkpoints(checkpointer: Checkpointer, count: int) -> None:
    """Wait until ``count`` more checkpoints have run (each starts after the previous one)."""
    target = checkpointer.checkpoints + count
    while checkpointer.checkpoints < target:
        await asyncio.sleep(0.001)


async def test_a_checkpointer_started_before_the_wal_exists_still_checkpoints(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fresh.db"
    checkpointer = Checkpointer(str(path), interval=0.001, wal_max_bytes=0)
    checkpointer.start()
    try:
        await _checkpoints(checkpointer, 2)  # it has run against a file not yet in WAL mode
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("CREATE TABLE t (data BLOB)")
        writer.executemany("INSERT INTO t VALUES (?)", [(ROW,)] * 256)
        assert Path(f"{path}-wal").stat().st_size > 0
        await _checkpoints(checkpointer, 3)
        assert checkpointer.truncations > 0
        assert Path(f"{path}-wal").stat().st_size == 0
        assert writer.execute("SELECT count(*) FROM t").fetchone() == (256,)
        writer.close()
    finally:
        checkpointer.stop()


async def _insert(conn: AsyncConnection) -> None:
    await conn.execute(text("INSERT INTO load (data) VALUES (:data)"), [{"data": ROW}] * 16)


@pytest.mark.skipif(not fastpaths.enabled(), reason="the checkpoint thread is a fast path")
async def test_wal_is_truncated_during_and_bounded_after_sustained_group_commits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kilowatt.db"
    db = Database(
        f"sqlite+aiosqlite:///{path}",
        checkpoint_interval=0.005,
        wal_max_bytes=WAL_MAX,
        journal_file=False,
    )
    checkpointer = db._checkpointer
    assert isinstance(checkpointer, Checkpointer)
    wal = Path(f"{path}-wal")
    try:
        await db.write(
            lambda conn: conn.execute(
                text("CREATE TABLE load (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
            )
        )
        shrunk = 0
        previous = 0
        written = 0
        # 64 MiB of rows (64 times the bound) with 8 group commits always in flight: the WAL
        # has no quiet moment in which a passive checkpoint alone would let it rewind.
        while written < 64 * MIB:
            await asyncio.gather(*(db.write(_insert) for _ in range(8)))
            written += 8 * 16 * len(ROW)
            size = wal.stat().st_size
            shrunk += size < previous
            previous = size
            if written % (4 * MIB) == 0:  # keep the database small: only the WAL could grow
                await db.write(lambda conn: conn.execute(text("DELETE FROM load")))
        assert checkpointer.truncations > 0
        assert shrunk > 0  # emptied while the writes went on, not only at the end
        await _checkpoints(checkpointer, 2)
        assert wal.stat().st_size <= WAL_MAX
    finally:
        await db.close()
