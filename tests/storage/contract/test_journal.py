"""Contract: :class:`kilowatt.csms.repositories.JournalRepository`, on every backend.

On SQLite (a file) the journal is a file of its own written by a thread; on PostgreSQL it is
a table written by the group commit after the write delay; in memory it is stored at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kilowatt.csms.repositories import JournalRow, Repositories

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _frame(i: int, station_id: str = "CP1", action: str | None = "Heartbeat") -> JournalRow:
    return (station_id, AT + timedelta(seconds=i), "in", 2, action, str(i), f"[{i}]")


async def test_appended_frames_read_back_newest_first_after_flush(repos: Repositories) -> None:
    journal = repos.journal
    journal.write_delay = 3600  # flush must not wait for it
    for i in range(5):
        journal.append(_frame(i))
    journal.append(("CP2", AT, "out", 3, None, None, '[3,"x",{}]'))
    journal.append(_frame(9, action="Authorize"))
    await journal.flush()
    rows, total = await journal.page("CP1", limit=3, offset=1)
    assert total == 6
    assert [r["message_id"] for r in rows] == ["4", "3", "2"]
    assert rows[0]["at"] == AT + timedelta(seconds=4)
    assert (rows[0]["direction"], rows[0]["message_type"], rows[0]["frame"]) == ("in", 2, "[4]")
    assert rows[0]["id"] > rows[1]["id"]
    only, total = await journal.page("CP1", limit=10, offset=0, action="Authorize")
    assert [r["message_id"] for r in only] == ["9"] and total == 1
    other, _ = await journal.page("CP2", limit=10, offset=0)
    assert [(r["action"], r["message_id"], r["frame"]) for r in other] == [
        (None, None, '[3,"x",{}]')
    ]


async def test_write_delay_is_settable(repos: Repositories) -> None:
    repos.journal.write_delay = 0.5
    assert repos.journal.write_delay == 0.5


async def test_prune_by_age_and_by_count(repos: Repositories) -> None:
    journal = repos.journal
    for i in range(6):
        journal.append(_frame(i * 3600))
    await journal.flush()
    assert await journal.prune(before=AT + timedelta(hours=2), keep=None) == 2
    assert await journal.prune(before=None, keep=3) == 1
    rows, total = await journal.page("CP1", limit=10, offset=0)
    assert total == 3 and [r["message_id"] for r in rows] == ["18000", "14400", "10800"]
    assert await journal.prune(before=None, keep=3) == 0


async def test_delete_station_deletes_only_its_frames(repos: Repositories) -> None:
    journal = repos.journal
    journal.append(_frame(1, "GONE"))
    journal.append(_frame(2, "GONE"))
    journal.append(_frame(3, "KEPT"))
    await journal.flush()
    assert await journal.delete_station("GONE") == 2
    assert (await journal.page("GONE", limit=1, offset=0))[1] == 0
    assert (await journal.page("KEPT", limit=1, offset=0))[1] == 1
