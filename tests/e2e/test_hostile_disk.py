"""A station that tries to fill the disk, over real sockets (issue 12, item 1).

Before: 25 DataTransfer frames of 4 MiB added 132 MB to the data directory in 1.6 s and
``GET /stations/{id}/messages?limit=50`` answered 105 MB. Now a frame above
``journal_max_frame_bytes`` is journaled as a placeholder (size, SHA-256, head), each station's
frames are kept to ``journal_max_bytes_per_station`` and a journal page to
``journal_page_max_bytes``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from .conftest import ServerFactory
from .support import API_KEY, Api, KilowattServer, boot_raw, eventually, raw_station, unique

KIB = 1024
MIB = 1024 * KIB
FRAME_CAP = 64 * KIB
STATION_CAP = 1 * MIB
PAGE_CAP = 256 * KIB
LIMITS = {
    "KILOWATT_JOURNAL_MAX_FRAME_BYTES": str(FRAME_CAP),
    "KILOWATT_JOURNAL_MAX_BYTES_PER_STATION": str(STATION_CAP),
    "KILOWATT_JOURNAL_PAGE_MAX_BYTES": str(PAGE_CAP),
}


@pytest.fixture(scope="module")
def limited(server_factory: ServerFactory) -> KilowattServer:
    """A server with small journal limits (the defaults are 64 KiB, 16 MiB and 4 MiB)."""
    return server_factory.start(env=LIMITS)


def _data_transfer(size: int, message_id: str) -> str:
    """A 1.6 DataTransfer CALL of exactly ``size`` bytes."""
    head = f'[2,"{message_id}","DataTransfer",{{"vendorId":"Flood","data":"'
    tail = '"}]'
    return head + "F" * (size - len(head) - len(tail)) + tail


def _journal_bytes(server: KilowattServer) -> int:
    """Bytes of the SQLite journal file and its WAL."""
    return sum(
        path.stat().st_size
        for path in (
            server.data_dir / "kilowatt.journal.db",
            server.data_dir / "kilowatt.journal.db-wal",
        )
        if path.exists()
    )


def _stored_bytes(items: list[dict[str, Any]]) -> int:
    return sum(len(item["frame"].encode()) for item in items)


async def test_a_4_mib_data_transfer_flood_is_journaled_truncated_and_bounded(
    limited: KilowattServer,
) -> None:
    identity = unique("FLOOD")
    sent: dict[str, str] = {}
    async with Api(limited.api_url, API_KEY) as api, raw_station(limited, identity) as st:
        await boot_raw(st, "ocpp1.6")
        await api.items(f"/stations/{identity}/messages")  # flushes the journal
        before = _journal_bytes(limited)
        for i in range(25):
            message_id = f"flood-{i}"
            sent[message_id] = _data_transfer(4 * MIB - 64, message_id)
            await st.send_raw(sent[message_id])
            answer = await st.next_unsolicited()  # the CALLRESULT (the station sent raw)
            assert answer[0] == 3 and answer[1] == message_id, answer
        items = await api.items(f"/stations/{identity}/messages", action="DataTransfer")
        growth = _journal_bytes(limited) - before
    if limited.database_url is None:  # SQLite: the journal is a file of its own
        # 25 × 4 MiB in, 105 MB before: now under the station's configured cap.
        assert growth < STATION_CAP, growth
    by_hash = {hashlib.sha256(frame.encode()).hexdigest(): frame for frame in sent.values()}
    calls = [json.loads(item["frame"]) for item in items if item["direction"] == "in"]
    assert len(calls) == 25
    for placeholder in calls:
        assert placeholder["truncated"] is True
        frame = by_hash.pop(placeholder["sha256"]).encode()
        assert placeholder["size"] == len(frame)
        assert frame.startswith(placeholder["head"].encode())
    assert all(len(item["frame"].encode()) <= FRAME_CAP for item in items)


async def test_a_station_keeps_its_newest_frames_within_its_byte_limit(
    limited: KilowattServer,
) -> None:
    identity, quiet = unique("FILL"), unique("QUIET")
    async with (
        Api(limited.api_url, API_KEY) as api,
        raw_station(limited, quiet) as neighbour,
        raw_station(limited, identity) as st,
    ):
        await boot_raw(neighbour, "ocpp1.6")
        await boot_raw(st, "ocpp1.6")
        # 80 frames just under the frame cap: 5 MiB, five times the station's limit.
        for i in range(80):
            message_id = f"fill-{i}"
            await st.send_raw(_data_transfer(FRAME_CAP - 1, message_id))
            answer = await st.next_unsolicited()
            assert answer[1] == message_id, answer

        async def trimmed() -> list[dict[str, Any]]:
            items = await api.items(f"/stations/{identity}/messages")
            # Trimmed each time a quarter of the limit has arrived since the last trim.
            assert _stored_bytes(items) <= STATION_CAP * 1.25, _stored_bytes(items)
            return items

        items = await eventually(trimmed)
        assert json.loads(items[1]["frame"])[1] == "fill-79"  # newest first, the answer on top
        assert len(await api.items(f"/stations/{quiet}/messages")) == 2  # its boot: untouched


async def test_a_journal_page_is_bounded_in_bytes_whatever_its_limit(
    limited: KilowattServer,
) -> None:
    identity = unique("PAGE")
    async with Api(limited.api_url, API_KEY) as api, raw_station(limited, identity) as st:
        await boot_raw(st, "ocpp1.6")
        for i in range(12):  # 12 × ~60 KiB, under the station limit, over the page cap
            await st.send_raw(_data_transfer(60 * KIB, f"page-{i}"))
            await st.next_unsolicited()
        response = await api.request(
            "GET", f"/stations/{identity}/messages", params={"limit": 1000}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == 26
        assert 0 < len(page["items"]) < page["total"]
        assert _stored_bytes(page["items"]) <= PAGE_CAP
        assert len(response.content) <= PAGE_CAP + 64 * KIB  # JSON framing of ≤ 26 items
        # The rest follows at offset + len(items); paging reaches every frame.
        everything = await api.items(f"/stations/{identity}/messages")
        assert len(everything) == 26
