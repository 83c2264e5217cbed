"""The message journal's byte limits (issue 12, item 1): truncated frames, trimming as frames
arrive, the byte-bounded page, on the SQLite journal file and in memory."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kilowatt import fastpaths
from kilowatt.csms.journal import (
    MIN_FRAME_BYTES,
    TRUNCATED_HEAD_BYTES,
    JournalService,
    truncate_frame,
)
from kilowatt.csms.repositories import JournalRepository
from kilowatt.handlers.recorder import FrameRecorder
from kilowatt.storage import Database
from kilowatt.storage.memory import MemoryRepositories
from kilowatt.storage.sql import SqlRepositories

MIB = 1024 * 1024


def _data_transfer(size: int, message_id: str = "m1") -> str:
    """A 1.6 DataTransfer CALL of exactly ``size`` bytes (as a flooding station sends it)."""
    head = f'[2,"{message_id}","DataTransfer",{{"vendorId":"V","data":"'
    tail = '"}]'
    return head + "A" * (size - len(head) - len(tail)) + tail


def test_a_frame_within_the_cap_is_kept_whole() -> None:
    frame = _data_transfer(64 * 1024)
    assert truncate_frame(frame, 64 * 1024) is frame


def test_a_truncated_frame_keeps_its_size_hash_and_head() -> None:
    frame = _data_transfer(4 * MIB)
    stored = truncate_frame(frame, 64 * 1024)
    placeholder = json.loads(stored)
    assert placeholder["truncated"] is True
    assert placeholder["size"] == 4 * MIB
    assert placeholder["sha256"] == hashlib.sha256(frame.encode()).hexdigest()
    assert frame.startswith(placeholder["head"])
    assert len(placeholder["head"].encode()) == TRUNCATED_HEAD_BYTES
    assert len(stored.encode()) < 64 * 1024


def test_size_counts_utf8_bytes_and_the_head_ends_on_a_whole_character() -> None:
    # 3 bytes per character: 1,000 characters are 3,000 bytes, over a 2,048-byte cap.
    frame = "€" * 1000
    stored = truncate_frame(frame, 2048)
    placeholder = json.loads(stored)
    assert placeholder["size"] == 3000
    assert placeholder["head"] == "€" * (256 // 3)  # head budget 2048 // 8 = 256 bytes
    assert truncate_frame("€" * 600, 2048) == "€" * 600  # 1,800 bytes fit


@pytest.mark.parametrize("fill", ["\x00", '"', "€", "\U0001f600"])
def test_the_placeholder_fits_the_smallest_cap_whatever_the_frame_holds(fill: str) -> None:
    stored = truncate_frame(fill * 5000, MIN_FRAME_BYTES)
    assert len(stored.encode()) <= MIN_FRAME_BYTES
    assert json.loads(stored)["truncated"] is True


def test_a_cap_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match=str(MIN_FRAME_BYTES)):
        JournalService(MemoryRepositories().journal, max_frame_bytes=MIN_FRAME_BYTES - 1)
    with pytest.raises(ValueError):
        JournalService(MemoryRepositories().journal, max_bytes=-1)


@pytest.fixture(params=["sqlite-file", "memory"])
async def repository(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[JournalRepository]:
    """The journal of a SQLite database file (as ``kilowatt serve`` has it), or in memory."""
    if request.param == "memory":
        yield MemoryRepositories().journal
        return
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'kilowatt.db'}")
    await db.migrate()
    # A journal file of its own, or (KILOWATT_FAST_PATHS=0) the database's journal table.
    assert (db.journal_file is not None) == fastpaths.enabled()
    try:
        yield SqlRepositories(db).journal
    finally:
        await db.close()


async def test_secrets_are_masked_before_the_frame_is_truncated(
    repository: JournalRepository,
) -> None:
    journal = JournalService(repository, max_frame_bytes=MIN_FRAME_BYTES)
    recorder = FrameRecorder(lambda d, t, i, a, f: journal.record("CP1", d, t, i, a, f))
    password = "S3cret-password-0123456789"
    padding = "x" * 4000
    frame = json.dumps(
        [2, "c1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": password}]
    )
    # The secret sits in the head; a long frame around it makes the placeholder necessary.
    long_frame = frame[:-2] + f', "pad": "{padding}"}}]'
    recorder("out", long_frame, 2, "c1", "ChangeConfiguration")
    page = await journal.list("CP1")
    stored = page.items[0].frame
    assert password not in stored
    placeholder = json.loads(stored)
    assert placeholder["truncated"] is True and "AuthorizationKey" in placeholder["head"]
    # The hash is of the masked frame: the clear password cannot be confirmed from it.
    assert placeholder["sha256"] != hashlib.sha256(long_frame.encode()).hexdigest()


async def test_a_flooding_station_is_trimmed_as_frames_arrive(
    repository: JournalRepository,
) -> None:
    limit = 256 * 1024
    journal = JournalService(repository, max_frame_bytes=16 * 1024, max_station_bytes=limit)
    journal.record("QUIET", "in", 2, "q", "Heartbeat", '[2,"q","Heartbeat",{}]')
    for i in range(200):  # 200 frames of 16 KiB: 3.2 MiB, 12.5 times the station's limit
        journal.record("FLOOD", "in", 2, str(i), "DataTransfer", _data_transfer(16 * 1024, str(i)))
    await journal.wait_trimmed()
    await journal.flush()
    assert journal.trimmed > 0
    page = await journal.list("FLOOD", limit=1000)
    kept = sum(len(e.frame.encode()) for e in page.items)
    # Amortised: trimmed each time a quarter of the limit has arrived.
    assert kept <= limit * 1.25
    assert page.items[0].message_id == "199"  # the newest are kept
    assert (await journal.list("QUIET")).total == 1  # a neighbour loses nothing


async def test_the_whole_journal_is_trimmed_as_frames_arrive_and_by_prune(
    repository: JournalRepository,
) -> None:
    limit = 512 * 1024
    journal = JournalService(repository, max_frame_bytes=8 * 1024, max_bytes=limit, retention=0)
    for i in range(300):  # 300 stations of one 8 KiB frame each: 2.4 MiB
        journal.record(f"CP{i}", "in", 2, str(i), "DataTransfer", _data_transfer(8 * 1024, str(i)))
    await journal.wait_trimmed()
    await journal.prune()
    assert (await journal.list("CP0")).total == 0  # oldest first
    assert (await journal.list("CP299")).total == 1
    survivors = [i for i in range(300) if (await journal.list(f"CP{i}")).total]
    assert len(survivors) * 8 * 1024 <= limit
    assert survivors == list(range(300 - len(survivors), 300))


async def test_the_page_is_bounded_in_bytes_as_well_as_count(
    repository: JournalRepository,
) -> None:
    journal = JournalService(repository, max_frame_bytes=64 * 1024)
    for i in range(50):
        journal.record("CP1", "in", 2, str(i), "DataTransfer", _data_transfer(60 * 1024, str(i)))
    page = await journal.list("CP1", limit=50, max_bytes=1 * MIB)
    assert page.total == 50
    assert len(page.items) == 17  # 17 × 60 KiB ≤ 1 MiB < 18 × 60 KiB
    assert sum(len(e.frame.encode()) for e in page.items) <= MIB
    rest = await journal.list("CP1", limit=50, offset=17, max_bytes=1 * MIB)
    assert rest.items[0].message_id == "32"
    # One frame larger than the page budget still comes alone.
    single = await journal.list("CP1", limit=50, max_bytes=1024)
    assert len(single.items) == 1
