"""The message journal: every OCPP-J frame in and out, with retention.

Recording must never slow down a station, so :meth:`JournalService.record` is synchronous and
only hands the frame to the repository's buffer (:meth:`JournalRepository.append
<kilowatt.csms.repositories.JournalRepository.append>`), which writes it at most
``write_delay`` seconds later. Journal rows are not part of the durable acknowledgement: a
crash may lose the last ``write_delay`` s of frames, never transaction data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from kilowatt.csms.clock import utcnow
from kilowatt.csms.model import JournalEntryInfo, Page, from_row
from kilowatt.csms.repositories import JournalRepository

__all__ = ["JournalService"]


class JournalService:
    """Records frames and prunes them."""

    def __init__(
        self,
        repository: JournalRepository,
        *,
        retention: int = 7 * 24 * 3600,
        max_messages: int = 0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Create the service over a journal repository.

        Args:
            repository: where the frames go (and how long they wait there: its
                ``write_delay``).
            retention: keep frames for this many s (0: forever).
            max_messages: keep at most this many frames (0: no limit).
            clock: the current aware UTC time (frame times when ``at`` is not given, and the
                retention cut-off).
        """
        self._repository = repository
        self._append = repository.append  # bound once: record() is on every frame's path
        self.retention = retention
        self.max_messages = max_messages
        self._clock = clock

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
        their answers.
        """
        self._append(
            (station_id, at or self._clock(), direction, message_type, action, message_id, frame)
        )

    async def flush(self) -> None:
        """Wait until every frame recorded so far is written.

        Does not wait for the write delay: the buffered frames are written at once.
        """
        await self._repository.flush()

    async def prune(self) -> int:
        """Delete frames beyond the retention period and count; return how many.

        Frames still waiting for their write delay are flushed first, so they count too.
        """
        await self.flush()
        before = self._clock() - timedelta(seconds=self.retention) if self.retention else None
        keep = self.max_messages or None
        if before is None and keep is None:
            return 0
        return await self._repository.prune(before=before, keep=keep)

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
    ) -> Page[JournalEntryInfo]:
        """Frames of a station, newest first (flushes the buffer first)."""
        await self.flush()
        rows, total = await self._repository.page(
            station_id, limit=limit, offset=offset, action=action
        )
        return Page([from_row(JournalEntryInfo, r) for r in rows], total)
