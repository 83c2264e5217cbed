"""CSMS events → OCPI pushes (one task consuming an :class:`~kilowatt.csms.EventBus` queue).

=====================================  ===========================================================
StatusChanged, StationConnected,       ``evse_status_changed`` (PATCH) for each EVSE of the
StationDisconnected                    station whose OCPI status changed (offline → UNKNOWN)
TransactionStarted / Updated / Ended   :class:`~kilowatt.roaming.sessions.SessionTracker`
                                       (session PUT/PATCH, CDR POST)
LocationChanged                        ``location_updated`` (PUT of the whole location)
TariffChanged                          ``tariff_updated`` (PUT)
=====================================  ===========================================================

Events are handled one at a time in publication order; a failure is logged and the next event
handled (the outbox makes the pushes themselves durable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kilowatt.csms.errors import NotFound
from kilowatt.csms.events import (
    DomainEvent,
    EventBus,
    StationConnected,
    StationDisconnected,
    StatusChanged,
    Subscription,
    TransactionEnded,
    TransactionStarted,
    TransactionUpdated,
)
from kilowatt.csms.locations import LocationChanged
from kilowatt.csms.tariffs import TariffChanged
from kilowatt.ocpi.models.common import Status
from kilowatt.ocpi.outbox import Push
from kilowatt.roaming.objects import build_tariff
from kilowatt.roaming.sessions import SessionTracker
from kilowatt.roaming.view import CsmsView

__all__ = ["EventPump"]

log = logging.getLogger("kilowatt.roaming")

_TYPES: tuple[type[DomainEvent], ...] = (
    StatusChanged,
    StationConnected,
    StationDisconnected,
    TransactionStarted,
    TransactionUpdated,
    TransactionEnded,
    LocationChanged,
    TariffChanged,
)


class EventPump:
    """Subscribes at construction (no event is missed) and handles events in :meth:`run`."""

    def __init__(self, bus: EventBus, view: CsmsView, sessions: SessionTracker, push: Push) -> None:
        self.view = view
        self.sessions = sessions
        self.push = push
        self.subscription: Subscription = bus.subscribe(*_TYPES, maxsize=100_000)
        self._last: dict[tuple[str, int], Status] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start consuming events."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="ocpi-events")

    async def stop(self) -> None:
        """Stop consuming (events still queued are dropped)."""
        self.subscription.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Handle events until the subscription closes."""
        async for event in self.subscription:
            self._idle.clear()
            try:
                await self.handle(event)
            except Exception:
                log.exception("OCPI: handling %s failed", type(event).__name__)
            finally:
                if self.subscription._queue.empty():
                    self._idle.set()

    async def idle(self) -> None:
        """Wait until every event published so far has been handled (tests, shutdown)."""
        await asyncio.sleep(0)
        while not self._idle.is_set() or not self.subscription._queue.empty():
            await asyncio.sleep(0.01)

    async def handle(self, event: DomainEvent) -> None:
        """Push what ``event`` changes."""
        if isinstance(event, TransactionStarted):
            await self.sessions.transaction_started(event.transaction)
        elif isinstance(event, TransactionUpdated):
            await self.sessions.transaction_updated(event.transaction)
        elif isinstance(event, TransactionEnded):
            await self.sessions.transaction_ended(event.transaction)
        elif isinstance(event, StatusChanged | StationConnected | StationDisconnected):
            await self._statuses(event.station_id)
        elif isinstance(event, LocationChanged):
            await self._location(event)
        elif isinstance(event, TariffChanged) and not event.deleted:
            await self._tariff(event.tariff_id)

    async def _statuses(self, station_id: str) -> None:
        location_id = await self.view.services.locations.station_location(station_id)
        if location_id is None:
            return
        found = await self.view.location(location_id)
        if found is None:
            return
        location, refs = found
        for ref in refs:
            if ref.station_id != station_id:
                continue
            key = (station_id, ref.evse_id)
            if self._last.get(key) is ref.status:
                continue
            self._last[key] = ref.status
            evse = next(e for e in location.evses or [] if e.uid == ref.uid)
            await self.push.evse_status_changed(location.id, ref.uid, ref.status, evse.last_updated)

    async def _location(self, event: LocationChanged) -> None:
        if event.deleted:
            return
        found = await self.view.location(event.location_id)
        if found is None:
            return
        location, refs = found
        for ref in refs:
            self._last[(ref.station_id, ref.evse_id)] = ref.status
        if location.publish:
            await self.push.location_updated(location)

    async def _tariff(self, tariff_id: str) -> None:
        try:
            info = await self.view.services.tariffs.get(tariff_id)
        except NotFound:
            return
        party = self.view.party
        await self.push.tariff_updated(
            build_tariff(info, country_code=party.country_code, party_id=party.party_id)
        )
