"""The message journal in its own SQLite file, written by its own thread (storage.journal_file)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kilowatt.storage import Database
from kilowatt.storage.database import open_journal_file
from kilowatt.storage.journal_file import journal_path
from kilowatt.storage.sql import journal

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_the_journal_file_sits_beside_the_database_not_on_sqlites_own_journal_name() -> None:
    assert journal_path(Path("/data/kilowatt.db")) == Path("/data/kilowatt.journal.db")


async def test_only_a_file_backed_sqlite_database_gets_a_journal_file(tmp_path: Path) -> None:
    on_file = Database(f"sqlite+aiosqlite:///{tmp_path / 'kw.db'}", inline=True)
    in_memory = Database("sqlite+aiosqlite:///:memory:", inline=True)
    without = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'other.db'}", inline=True, journal_file=False
    )
    plain = Database(f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}", inline=False)
    try:
        assert on_file.journal_file is not None
        assert on_file.journal_file.path == tmp_path / "kw.journal.db"
        assert in_memory.journal_file is None and without.journal_file is None
        # Without the inline driver (KILOWATT_FAST_PATHS=0) the journal stays a table.
        assert plain.journal_file is None
    finally:
        for db in (on_file, in_memory, without, plain):
            await db.close()


async def test_rows_are_written_in_order_with_their_text_and_flush_waits(tmp_path: Path) -> None:
    file = open_journal_file(tmp_path / "j.db", write_delay=3600)
    try:
        for i in range(600):  # several power-of-two chunks (256, 256, 64, 16, 8)
            file.append(("CP1", AT + timedelta(seconds=i), "in", 2, "Heartbeat", str(i), f"[{i}]"))
        file.append(("CP2", AT, "out", 3, None, None, '[3,"x",{}]'))
        await file.flush()  # at once, not after the hour of write delay
        async with file.read() as conn:
            rows, total = await journal.page(conn, "CP1", limit=1000, offset=0)
            other, _ = await journal.page(conn, "CP2", limit=10, offset=0)
        assert total == 600
        assert [r["message_id"] for r in reversed(rows)] == [str(i) for i in range(600)]
        assert rows[-1]["at"] == AT and rows[0]["at"] == AT + timedelta(seconds=599)
        assert (other[0]["action"], other[0]["message_id"], other[0]["frame"]) == (
            None,
            None,
            '[3,"x",{}]',
        )
        assert file.lost == 0
    finally:
        await file.close()
    # The same text a SQLAlchemy insert stores (naive UTC, microseconds).
    with sqlite3.connect(tmp_path / "j.db") as raw:
        assert raw.execute("SELECT at FROM journal ORDER BY id LIMIT 1").fetchone() == (
            "2026-11-21 12:00:00.000000",
        )


async def test_close_writes_what_is_queued(tmp_path: Path) -> None:
    file = open_journal_file(tmp_path / "j.db", write_delay=3600)
    file.append(("CP1", AT, "in", 2, "Heartbeat", "1", "[]"))
    await file.close()
    with sqlite3.connect(tmp_path / "j.db") as raw:
        assert raw.execute("SELECT count(*) FROM journal").fetchone() == (1,)


async def test_pruning_runs_on_the_journal_file(tmp_path: Path) -> None:
    file = open_journal_file(tmp_path / "j.db", write_delay=0)
    try:
        for i in range(5):
            file.append(("CP1", AT + timedelta(hours=i), "in", 2, "Heartbeat", str(i), "[]"))
        await file.flush()

        async def prune(conn):  # type: ignore[no-untyped-def]
            return await journal.prune(conn, before=AT + timedelta(hours=2), keep=None)

        assert await file.write(prune) == 2
        async with file.read() as conn:
            _, total = await journal.page(conn, "CP1", limit=1, offset=0)
        assert total == 3
    finally:
        await file.close()


async def test_frames_that_cannot_be_written_are_counted_and_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = open_journal_file(tmp_path, write_delay=0)  # a directory: SQLite cannot open it
    try:
        file.append(("CP1", AT, "in", 2, None, "1", "[]"))
        await file.flush()  # returns: the frame is given up, not waited for forever
        assert file.lost == 1
        assert "lost 1 journal frames" in caplog.text
    finally:
        await file.close()


async def test_a_naive_time_is_refused_when_appended(tmp_path: Path) -> None:
    file = open_journal_file(tmp_path / "j.db")
    try:
        with pytest.raises(ValueError, match="naive"):
            file.append(("CP1", AT.replace(tzinfo=None), "in", 2, None, "1", "[]"))
    finally:
        await file.close()
