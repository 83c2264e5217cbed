"""Contract: :meth:`JournalRepository.prune_bytes`, on every backend (issue 12, item 1).

A frame's size is the UTF-8 length of its text in bytes, so multi-byte characters count as
such on SQLite (whose ``length()`` of text counts characters) as they do on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kilowatt.csms.repositories import JournalRepository, Repositories

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def _fill(journal: JournalRepository, station_id: str, sizes: list[int], fill: str) -> None:
    """Append one frame per size, ``size`` UTF-8 bytes of ``fill`` (a 1- or 2-byte character)."""
    for i, size in enumerate(sizes):
        text = fill * (size // len(fill.encode()))
        assert len(text.encode()) == size
        journal.append(
            (station_id, AT + timedelta(seconds=i), "in", 2, "DataTransfer", str(i), text)
        )
    await journal.flush()


async def _ids(journal: JournalRepository, station_id: str) -> list[str]:
    rows, total = await journal.page(station_id, limit=100, offset=0)
    assert total == len(rows)
    return [str(r["message_id"]) for r in rows]


async def test_each_station_keeps_its_newest_frames_within_its_bytes(repos: Repositories) -> None:
    journal = repos.journal
    await _fill(journal, "A", [100, 100, 100, 100], "é")  # 2 bytes per character
    await _fill(journal, "B", [100, 100], "x")
    removed = await journal.prune_bytes(station_bytes=250, stations=None, total_bytes=None)
    assert removed == 2
    assert await _ids(journal, "A") == ["3", "2"]  # 200 bytes; a third would make 300
    assert await _ids(journal, "B") == ["1", "0"]
    # Within the limit: nothing more to delete (retry-safe).
    assert await journal.prune_bytes(station_bytes=250, stations=None, total_bytes=None) == 0


async def test_only_the_named_stations_are_trimmed(repos: Repositories) -> None:
    journal = repos.journal
    await _fill(journal, "A", [100, 100, 100], "x")
    await _fill(journal, "B", [100, 100, 100], "x")
    assert await journal.prune_bytes(station_bytes=100, stations=["B"], total_bytes=None) == 2
    assert await _ids(journal, "A") == ["2", "1", "0"]
    assert await _ids(journal, "B") == ["2"]
    assert await journal.prune_bytes(station_bytes=100, stations=[], total_bytes=None) == 0


async def test_the_whole_journal_keeps_its_newest_frames_within_the_total(
    repos: Repositories,
) -> None:
    journal = repos.journal
    await _fill(journal, "OLD", [300, 300], "x")
    await _fill(journal, "NEW", [300, 300], "x")
    removed = await journal.prune_bytes(station_bytes=None, stations=None, total_bytes=1000)
    assert removed == 1
    assert await _ids(journal, "OLD") == ["1"]
    assert await _ids(journal, "NEW") == ["1", "0"]


async def test_station_limit_applies_before_the_total(repos: Repositories) -> None:
    journal = repos.journal
    await _fill(journal, "A", [400, 400], "x")
    await _fill(journal, "B", [400, 400], "x")
    # Per station 400 leaves 800 in all, within the total: nothing else goes.
    removed = await journal.prune_bytes(station_bytes=400, stations=None, total_bytes=800)
    assert removed == 2
    assert await _ids(journal, "A") == ["1"] and await _ids(journal, "B") == ["1"]
