"""Inline SQLite: a lock held by another connection is waited for on the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.storage import Database
from kilowatt.storage.tables import journal


def _row() -> dict[str, object]:
    return {
        "station_id": "CP1",
        "at": datetime(2025, 1, 1, tzinfo=UTC),
        "direction": "in",
        "message_type": 2,
        "message_id": "1",
        "action": "Heartbeat",
        "frame": '[2,"1","Heartbeat",{}]',
    }


async def _insert(conn: AsyncConnection) -> int:
    await conn.execute(journal.insert().values([_row()]))
    return 1


def _hold_write_lock(path: Path, locked: threading.Event, seconds: float) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        threading.Event().wait(seconds)
        other.execute("COMMIT")
    finally:
        other.close()


async def test_a_write_waits_for_another_connections_lock_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kilowatt.db"
    db = Database(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=5000)
    await db.migrate()
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, locked, 0.3))
    ticking = asyncio.create_task(ticker())
    try:
        holder.start()
        await asyncio.to_thread(locked.wait)
        ticks_before = ticks
        assert await db.write(_insert) == 1
        ticks_during = ticks - ticks_before
        async with db.read() as conn:
            assert await conn.scalar(select(func.count()).select_from(journal)) == 1
    finally:
        stop.set()
        await ticking
        await asyncio.to_thread(holder.join)
        await db.close()
    # The write waited ~0.3 s for the lock; a ticker every 10 ms ran meanwhile (with SQLite's
    # busy handler on the loop thread it would not have advanced at all).
    assert ticks_during >= 5


async def test_a_lock_held_longer_than_the_busy_timeout_fails_the_write(tmp_path: Path) -> None:
    path = tmp_path / "kilowatt.db"
    db = Database(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=100)
    await db.migrate()
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, locked, 0.5))
    try:
        holder.start()
        await asyncio.to_thread(locked.wait)
        # The lock outlived the timeout: the write fails with SQLite's SQLITE_BUSY, identified
        # by its result code (the message is SQLite's wording, not ours).
        with pytest.raises(OperationalError) as failed:
            await db.write(_insert)
        orig = failed.value.orig
        assert isinstance(orig, sqlite3.OperationalError), repr(orig)
        assert orig.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY, orig.sqlite_errorname
    finally:
        await asyncio.to_thread(holder.join)
        await db.close()
