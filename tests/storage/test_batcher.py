"""Group commit: concurrent writes share COMMITs, are durable, and fail independently."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.storage import BatcherClosed, Database
from kilowatt.storage.tables import journal


def _journal_row(i: int) -> dict[str, object]:
    from datetime import UTC, datetime

    return {
        "station_id": "CP1",
        "at": datetime(2025, 1, 1, tzinfo=UTC),
        "direction": "in",
        "message_type": 2,
        "message_id": str(i),
        "action": "Heartbeat",
        "frame": f'[2,"{i}","Heartbeat",{{}}]',
    }


def _insert_op(i: int):  # type: ignore[no-untyped-def]
    async def op(conn: AsyncConnection) -> int:
        await conn.execute(journal.insert().values([_journal_row(i)]))
        return i

    return op


async def _count(database_url: str) -> int:
    # A fresh engine: proves the rows are committed, not just visible to the writer.
    other = Database(database_url)
    try:
        async with other.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(journal)) or 0)
    finally:
        await other.close()


async def test_concurrent_writes_share_commits_and_are_durable(
    db: Database, database_url: str
) -> None:
    n = 200
    results = await asyncio.gather(*(db.write(_insert_op(i)) for i in range(n)))
    assert results == list(range(n))
    stats = db.batcher.stats
    assert stats.ops == n
    assert stats.commits < n / 10  # they queued together: a handful of group commits
    assert stats.largest_batch > 1
    assert await _count(database_url) == n


async def test_a_failing_write_fails_only_its_caller(db: Database, database_url: str) -> None:
    async def bad(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO no_such_table VALUES (1)"))

    ops = [db.write(_insert_op(i)) for i in range(10)]
    ops.insert(5, db.write(bad))
    results = await asyncio.gather(*ops, return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1
    assert [r for r in results if not isinstance(r, Exception)] == list(range(10))
    assert db.batcher.stats.retried_batches >= 1
    assert db.batcher.stats.failed_ops == 1
    assert await _count(database_url) == 10


async def test_close_commits_pending_writes_then_refuses(db: Database, database_url: str) -> None:
    futures = [db.batcher.submit_nowait(_insert_op(i)) for i in range(50)]
    await db.batcher.close()
    assert all(f.done() and f.result() == i for i, f in enumerate(futures))
    with pytest.raises(BatcherClosed):
        await db.write(_insert_op(99))
    assert await _count(database_url) == 50


async def test_ops_in_a_batch_see_earlier_ops(db: Database) -> None:
    async def count(conn: AsyncConnection) -> int:
        return int(await conn.scalar(select(func.count()).select_from(journal)) or 0)

    first, seen = await asyncio.gather(db.write(_insert_op(1)), db.write(count))
    assert (first, seen) == (1, 1)


async def test_max_batch_bounds_a_transaction(database_url: str) -> None:
    database = Database(database_url, max_batch=7)
    await database.migrate()
    try:
        await asyncio.gather(*(database.write(_insert_op(i)) for i in range(50)))
        assert database.batcher.stats.largest_batch <= 7
        assert database.batcher.stats.commits >= 50 // 7
    finally:
        await database.close()


async def _64_ops_with_a_ticker(db: Database) -> list[str]:
    """Run 64 writes while a task appends "tick" on every loop turn; the order of events."""
    events: list[str] = []

    def op(i: int):  # type: ignore[no-untyped-def]
        async def run(conn: AsyncConnection) -> None:
            events.append(f"op{i}")

        return run

    writes = [asyncio.ensure_future(db.write(op(i))) for i in range(64)]

    async def ticker() -> None:
        while sum(e.startswith("op") for e in events) < 64:
            events.append("tick")
            await asyncio.sleep(0)

    ticking = asyncio.ensure_future(ticker())
    await asyncio.gather(*writes)
    await ticking
    return events


def _between_first_and_last_op(events: list[str]) -> list[str]:
    ops = [i for i, e in enumerate(events) if e.startswith("op")]
    return events[ops[0] : ops[-1]]


async def test_a_large_batch_lets_the_loop_run_between_chunks(db: Database) -> None:
    db.batcher._yield_every = 16  # opt-in (the default runs a batch in one go)
    commits = db.batcher.stats.commits
    events = await _64_ops_with_a_ticker(db)
    assert db.batcher.stats.commits == commits + 1  # one transaction for all 64
    assert "tick" in _between_first_and_last_op(events)  # the loop ran while it was open


async def test_by_default_a_batch_runs_without_giving_the_loop_a_turn(db: Database) -> None:
    events = await _64_ops_with_a_ticker(db)
    assert "tick" not in _between_first_and_last_op(events)
