"""The message journal: every OCPP-J frame in and out, with retention.

Recording must never slow down a station, so :meth:`JournalService.record` is synchronous and
only hands the frame to the repository's buffer (:meth:`JournalRepository.append
<kilowatt.csms.repositories.JournalRepository.append>`), which writes it at most
``write_delay`` seconds later. Journal rows are not part of the durable acknowledgement: a
crash may lose the last ``write_delay`` s of frames, never transaction data.

The journal's disk use is bounded (issue 12, item 1: one station's 25 DataTransfer frames of
4 MiB used to add 132 MB in 1.6 s):

- a frame larger than ``max_frame_bytes`` (UTF-8 bytes of the text, after secrets were masked
  by the handlers' recorder) is stored as a placeholder (:func:`truncate_frame`): its head,
  its size and its SHA-256, never whole;
- a station's frames are kept to ``max_station_bytes`` and all frames to ``max_bytes``, oldest
  deleted first. Both are enforced as frames arrive, amortised: a station is trimmed each time
  it has recorded a quarter of its limit since it was last trimmed, and the whole journal each
  time an eighth of its limit has been recorded; :meth:`JournalService.prune` (hourly) trims
  every station too. Between two trims a station holds at most ``1.25 × max_station_bytes``
  and the journal ``1.125 × max_bytes`` of frames.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from kilowatt.csms.clock import utcnow
from kilowatt.csms.model import JournalEntryInfo, Page, from_row
from kilowatt.csms.repositories import JournalRepository

__all__ = ["MIN_FRAME_BYTES", "TRUNCATED_HEAD_BYTES", "JournalService", "truncate_frame"]

log = logging.getLogger(__name__)

MIN_FRAME_BYTES = 1024
"""The smallest per-frame cap (bytes): a placeholder with its head always fits in it."""

TRUNCATED_HEAD_BYTES = 1024
"""Most bytes of a truncated frame's beginning kept in its placeholder (``head``)."""

_STATION_SHARE = 4  # a station is trimmed after recording 1/4 of its byte limit
_TOTAL_SHARE = 8  # the whole journal after 1/8 of its byte limit


def truncate_frame(frame: str, max_bytes: int) -> str:
    r"""The frame itself when it fits in ``max_bytes`` UTF-8 bytes, else its placeholder.

    The placeholder is a JSON object (not an OCPP-J array, so no reader mistakes it for the
    frame)::

        {"truncated": true, "size": 4194336, "sha256": "<64 hex digits>",
         "head": "[2,\"m1\",\"DataTransfer\",{\"vendorId\":..."}

    ``size`` is the whole frame's length in UTF-8 bytes and ``sha256`` the hex SHA-256 of those
    bytes, so a copy kept by the station can be matched; ``head`` is the first
    ``min(TRUNCATED_HEAD_BYTES, max_bytes // 8)`` bytes (cut back to a whole character). JSON
    escaping grows the head at most sixfold (``\u0000``), so the placeholder never exceeds
    ``max_bytes`` when ``max_bytes >= MIN_FRAME_BYTES``.

    Args:
        frame: the frame text, secrets already masked.
        max_bytes: the cap in bytes (UTF-8).
    """
    if len(frame) * 4 <= max_bytes:  # no UTF-8 character is longer than 4 bytes
        return frame
    data = frame.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return frame
    head = data[: min(TRUNCATED_HEAD_BYTES, max_bytes // 8)].decode("utf-8", "ignore")
    return json.dumps(
        {
            "truncated": True,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "head": head,
        },
        ensure_ascii=False,
    )


class JournalService:
    """Records frames, bounded in bytes, and prunes them."""

    def __init__(
        self,
        repository: JournalRepository,
        *,
        retention: int = 7 * 24 * 3600,
        max_messages: int = 0,
        max_frame_bytes: int = 64 * 1024,
        max_station_bytes: int = 0,
        max_bytes: int = 0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Create the service over a journal repository.

        Args:
            repository: where the frames go (and how long they wait there: its
                ``write_delay``).
            retention: keep frames for this many s (0: forever).
            max_messages: keep at most this many frames (0: no limit).
            max_frame_bytes: a frame above this many UTF-8 bytes is stored as its placeholder
                (:func:`truncate_frame`); at least :data:`MIN_FRAME_BYTES`.
            max_station_bytes: keep at most this many bytes of frame text per station,
                oldest deleted first (0: no limit).
            max_bytes: keep at most this many bytes of frame text in all (0: no limit).
            clock: the current aware UTC time (frame times when ``at`` is not given, and the
                retention cut-off).

        Raises:
            ValueError: ``max_frame_bytes`` below :data:`MIN_FRAME_BYTES`, or a negative limit.
        """
        if max_frame_bytes < MIN_FRAME_BYTES:
            raise ValueError(f"max_frame_bytes must be at least {MIN_FRAME_BYTES}")
        if max_station_bytes < 0 or max_bytes < 0:
            raise ValueError("byte limits must be 0 (no limit) or positive")
        self._repository = repository
        self._append = repository.append  # bound once: record() is on every frame's path
        self.retention = retention
        self.max_messages = max_messages
        self.max_frame_bytes = max_frame_bytes
        self.max_station_bytes = max_station_bytes
        self.max_bytes = max_bytes
        self._clock = clock
        # Frames of up to this many characters fit in max_frame_bytes whatever they contain
        # (4 UTF-8 bytes per character at most): only longer ones are encoded and measured.
        self._short = max_frame_bytes // 4
        # Characters recorded since the last trim, per station and in all. Characters, not
        # bytes: only a trigger (the trim itself measures bytes), and len() is free.
        self._grown: dict[str, int] = {}
        self._grown_total = 0
        self._due: set[str] = set()
        self._due_total = False
        self._trimming: asyncio.Task[None] | None = None
        self.trimmed = 0
        """Frames deleted by the byte limits so far (for tests and metrics)."""

    @property
    def write_delay(self) -> float:
        """Most s a recorded frame waits in memory before it is written."""
        return self._repository.write_delay

    @write_delay.setter
    def write_delay(self, value: float) -> None:
        self._repository.write_delay = value

    def record(
        self,
        station_id: str,
        direction: Literal["in", "out"],
        message_type: int,
        message_id: str | None,
        action: str | None,
        frame: str,
        *,
        at: datetime | None = None,
    ) -> None:
        """Queue one frame (text as sent on the wire). Never blocks; needs a running loop.

        ``message_type`` is the OCPP-J type id (2 CALL, 3 CALLRESULT, 4 CALLERROR,
        5 CALLRESULTERROR, 6 SEND); ``action`` is known for CALLs and, by correlation, for
        their answers. A frame above ``max_frame_bytes`` is stored as its placeholder
        (:func:`truncate_frame`); pass it with its secrets already masked. May start a trim
        in the background (see the module docstring).
        """
        if len(frame) > self._short:
            frame = truncate_frame(frame, self.max_frame_bytes)
        self._append(
            (station_id, at or self._clock(), direction, message_type, action, message_id, frame)
        )
        if self.max_station_bytes:
            grown = self._grown.get(station_id, 0) + len(frame)
            if grown * _STATION_SHARE >= self.max_station_bytes:
                self._grown.pop(station_id, None)
                self._due.add(station_id)
                self._start_trim()
            else:
                self._grown[station_id] = grown
        if self.max_bytes:
            self._grown_total += len(frame)
            if self._grown_total * _TOTAL_SHARE >= self.max_bytes:
                self._grown_total = 0
                self._due_total = True
                self._start_trim()

    def _start_trim(self) -> None:
        if self._trimming is None or self._trimming.done():
            self._trimming = asyncio.get_running_loop().create_task(
                self._trim_due(), name="kw-journal-trim"
            )

    async def _trim_due(self) -> None:
        """Trim the stations (and the whole journal) that grew enough, until none is due."""
        while self._due or self._due_total:
            stations, self._due = sorted(self._due), set()
            total, self._due_total = self._due_total, False
            try:
                await self._repository.flush()
                removed = await self._repository.prune_bytes(
                    station_bytes=self.max_station_bytes if stations else None,
                    stations=stations,
                    total_bytes=self.max_bytes if total else None,
                )
            except Exception:  # the journal must never take a station down; retried later
                log.exception("journal: trimming to the byte limits failed")
                return
            self.trimmed += removed

    async def wait_trimmed(self) -> None:
        """Wait until the trim that recording started (if any) has finished."""
        while self._trimming is not None and not self._trimming.done():
            await asyncio.shield(self._trimming)

    async def flush(self) -> None:
        """Wait until every frame recorded so far is written.

        Does not wait for the write delay: the buffered frames are written at once.
        """
        await self._repository.flush()

    async def prune(self) -> int:
        """Delete frames beyond the retention period, count and byte limits; return how many.

        Frames still waiting for their write delay are flushed first, so they count too.
        Every station is trimmed to ``max_station_bytes`` and the journal to ``max_bytes``.
        """
        await self.flush()
        before = self._clock() - timedelta(seconds=self.retention) if self.retention else None
        keep = self.max_messages or None
        removed = 0
        if before is not None or keep is not None:
            removed += await self._repository.prune(before=before, keep=keep)
        if self.max_station_bytes or self.max_bytes:
            trimmed = await self._repository.prune_bytes(
                station_bytes=self.max_station_bytes or None,
                stations=None,
                total_bytes=self.max_bytes or None,
            )
            self.trimmed += trimmed
            removed += trimmed
        return removed

    async def forget(self, station_id: str) -> int:
        """Delete every frame of a station, those still buffered included; return how many.

        Called when the station is deleted.
        """
        await self.flush()
        return await self._repository.delete_station(station_id)

    async def list(
        self,
        station_id: str,
        *,
        limit: int = 50,
        offset: int = 0,
        action: str | None = None,
        max_bytes: int | None = None,
    ) -> Page[JournalEntryInfo]:
        """Frames of a station, newest first (flushes the buffer first).

        Args:
            station_id: the station.
            limit: most frames in the page.
            offset: frames skipped (newest first).
            action: only frames of this action.
            max_bytes: the page holds frames while their text totals at most this many
                UTF-8 bytes (at least one frame, which ``max_frame_bytes`` bounds); a page
                shorter than ``limit`` continues at ``offset + len(items)``. None: no cap.
        """
        await self.flush()
        rows, total = await self._repository.page(
            station_id, limit=limit, offset=offset, action=action
        )
        if max_bytes is not None:
            size = 0
            for kept, row in enumerate(rows):
                size += len(row["frame"].encode("utf-8", "surrogatepass"))
                if size > max_bytes and kept:
                    rows = rows[:kept]
                    break
        return Page([from_row(JournalEntryInfo, r) for r in rows], total)
