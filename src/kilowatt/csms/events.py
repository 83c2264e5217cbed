"""A small in-process event bus and the typed domain events the services publish.

Events are published *after* the change is committed, so a subscriber that reads the database
sees it. Publishing never blocks the publisher: each queue subscriber has a bounded queue and,
when it falls behind, loses its oldest events (``Subscription.dropped`` counts them); listener
callbacks run synchronously and their exceptions are logged, not raised.

Subscribers: OCPI push (sessions, locations), server-sent events for the dashboard, a cluster bus.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kilowatt.csms.model import TransactionInfo

__all__ = [
    "DomainEvent",
    "EventBus",
    "StationBooted",
    "StationConnected",
    "StationDeleted",
    "StationDisconnected",
    "StationEventRecorded",
    "StationRegistered",
    "StatusChanged",
    "Subscription",
    "TransactionEnded",
    "TransactionStarted",
    "TransactionUpdated",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base of all events: the station concerned and the CSMS time of the change (UTC)."""

    station_id: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StationConnected(DomainEvent):
    """A station's WebSocket was accepted; ``created`` when open registration created it."""

    ocpp_version: str
    created: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StationDisconnected(DomainEvent):
    """A station's WebSocket closed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StationRegistered(DomainEvent):
    """An operator registered (or open registration created) a station."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StationDeleted(DomainEvent):
    """An operator deleted a station."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StationBooted(DomainEvent):
    """A BootNotification was recorded and answered with ``status``."""

    status: str
    vendor: str
    model: str
    firmware_version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChanged(DomainEvent):
    """A StatusNotification for an EVSE/connector (``connector_id`` None: EVSE level)."""

    evse_id: int
    connector_id: int | None
    status: str
    error_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionStarted(DomainEvent):
    """A transaction was created (first time only; replays publish nothing)."""

    transaction: TransactionInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionUpdated(DomainEvent):
    """New meter values or state of an active transaction (``new_samples`` stored now)."""

    transaction: TransactionInfo
    new_samples: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionEnded(DomainEvent):
    """A transaction completed (first time only)."""

    transaction: TransactionInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class StationEventRecorded(DomainEvent):
    """A station notification was stored (``kind`` e.g. ``FirmwareStatusNotification``)."""

    event_id: int
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


Listener = Callable[[DomainEvent], None]


class Subscription:
    """A queue of events for one consumer; iterate it with ``async for``, end it with close()."""

    def __init__(self, bus: EventBus, types: tuple[type[DomainEvent], ...], maxsize: int) -> None:
        """Create an unregistered queue; use :meth:`EventBus.subscribe`, which registers it.

        Args:
            bus: the bus that :meth:`close` removes the subscription from.
            types: the event types to keep (empty: every event).
            maxsize: the queue's capacity in events; when it is full the oldest event is
                dropped and counted in :attr:`dropped`.
        """
        self._bus = bus
        self._types = types
        self._queue: asyncio.Queue[DomainEvent | None] = asyncio.Queue(maxsize)
        self.dropped = 0
        """Events lost because the queue was full (oldest first)."""

    def _offer(self, event: DomainEvent) -> None:
        if self._types and not isinstance(event, self._types):
            return
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()
                self.dropped += 1

    async def get(self) -> DomainEvent:
        """The next event; raises :class:`StopAsyncIteration` after :meth:`close`."""
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    def __aiter__(self) -> AsyncIterator[DomainEvent]:
        """The subscription itself: ``async for`` reads it until :meth:`close`."""
        return self

    async def __anext__(self) -> DomainEvent:
        """The next event, as :meth:`get` (which ends the iteration after :meth:`close`)."""
        return await self.get()

    def close(self) -> None:
        """Stop receiving; a pending ``async for`` ends."""
        self._bus._subscriptions.discard(self)
        while True:
            try:
                self._queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()

    def __enter__(self) -> Subscription:
        """The subscription itself; leaving the ``with`` block closes it."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the subscription (exceptions propagate)."""
        self.close()


class EventBus:
    """Fan-out of domain events to queue subscribers and synchronous listeners."""

    def __init__(self) -> None:
        """Create a bus without subscribers or listeners."""
        self._subscriptions: set[Subscription] = set()
        self._listeners: list[Listener] = []

    def subscribe(self, *types: type[DomainEvent], maxsize: int = 1000) -> Subscription:
        """A new queue of events of the given types (all events when none are given)."""
        subscription = Subscription(self, types, maxsize)
        self._subscriptions.add(subscription)
        return subscription

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every event; returns a function that removes it.

        Listeners run inside :meth:`publish`: keep them short and never block.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def publish(self, event: DomainEvent) -> None:
        """Deliver ``event`` to every subscriber and listener; never blocks or raises."""
        for subscription in list(self._subscriptions):
            subscription._offer(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed on %s", listener, type(event).__name__)
