"""Message journal (buffered group-committed writes, retention) and the event bus."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any as Clock  # the settable clock fixture of conftest.py

from kilowatt.csms import EventBus, Services
from kilowatt.csms.events import DomainEvent, StationConnected, StationDisconnected


async def test_journal_records_and_lists(services: Services) -> None:
    for i in range(5):
        services.journal.record("CP1", "in", 2, str(i), "Heartbeat", f'[2,"{i}","Heartbeat",{{}}]')
        services.journal.record("CP1", "out", 3, str(i), "Heartbeat", f'[3,"{i}",{{}}]')
    services.journal.record("CP2", "in", 2, "x", "Authorize", '[2,"x","Authorize",{}]')
    page = await services.journal.list("CP1", limit=3)
    assert page.total == 10
    assert [(e.direction, e.message_id) for e in page.items] == [
        ("out", "4"),
        ("in", "4"),
        ("out", "3"),
    ]
    only = await services.journal.list("CP2", action="Authorize")
    assert only.total == 1 and only.items[0].frame == '[2,"x","Authorize",{}]'


async def test_journal_retention(services: Services, clock: Clock) -> None:
    services.journal.retention = 60
    services.journal.record("CP1", "in", 2, "old", "Heartbeat", "[]")
    await services.journal.flush()
    clock.advance(120)
    for i in range(4):
        services.journal.record("CP1", "in", 2, str(i), "Heartbeat", "[]")
    assert await services.journal.prune() == 1
    services.journal.max_messages = 2
    assert await services.journal.prune() == 2
    page = await services.journal.list("CP1")
    assert [e.message_id for e in page.items] == ["3", "2"]


async def test_event_bus_subscriptions_and_listeners() -> None:
    bus = EventBus()
    at = datetime(2025, 1, 1, tzinfo=UTC)
    seen: list[DomainEvent] = []
    remove = bus.add_listener(seen.append)

    def failing(event: DomainEvent) -> None:
        raise ZeroDivisionError

    bus.add_listener(failing)  # a failing listener does not stop the others
    only_connected = bus.subscribe(StationConnected)
    small = bus.subscribe(maxsize=1)
    bus.publish(StationConnected(station_id="A", at=at, ocpp_version="1.6"))
    bus.publish(StationDisconnected(station_id="A", at=at))
    assert [type(e) for e in seen] == [StationConnected, StationDisconnected]
    assert isinstance(await only_connected.get(), StationConnected)
    assert isinstance(await small.get(), StationDisconnected) and small.dropped == 1
    remove()
    only_connected.close()
    assert [e async for e in only_connected] == []
    bus.publish(StationDisconnected(station_id="A", at=at))
    assert len(seen) == 2


async def _stored(services: Services, station_id: str) -> int:
    # Straight from the repository (without the flush that journal.list does first).
    _, total = await services.journal._repository.page(station_id, limit=1, offset=0)
    return total


async def test_journal_write_waits_for_the_write_delay(services: Services) -> None:
    # Frames wait in memory for write_delay s, then join a group commit on their own
    # (nobody calls flush); flush writes at once.
    services.journal.write_delay = 0.05
    services.journal.record("CP9", "in", 2, "a", "Heartbeat", "[]")
    assert await _stored(services, "CP9") == 0
    for _ in range(200):
        await asyncio.sleep(0.01)
        if await _stored(services, "CP9") == 1:
            break
    assert await _stored(services, "CP9") == 1
    services.journal.write_delay = 3600
    await asyncio.sleep(0.15)  # a writer thread finishes the wait it began with the old delay
    services.journal.record("CP9", "in", 2, "b", "Heartbeat", "[]")
    services.journal.record("CP9", "out", 3, "b", "Heartbeat", "[]")
    await asyncio.sleep(0.05)
    assert await _stored(services, "CP9") == 1
    await services.journal.flush()
    assert await _stored(services, "CP9") == 3


async def test_journal_without_write_delay_writes_promptly(services: Services) -> None:
    services.journal.write_delay = 0
    services.journal.record("CP8", "in", 2, "a", "Heartbeat", "[]")
    for _ in range(500):
        if await _stored(services, "CP8") == 1:
            break
        await asyncio.sleep(0.01)
    assert await _stored(services, "CP8") == 1


async def test_deleting_a_station_deletes_its_journal(services: Services) -> None:
    await services.stations.connected("GONE", "1.6")
    await services.stations.connected("KEPT", "1.6")
    services.journal.record("GONE", "in", 2, "a", "Heartbeat", "[]")
    services.journal.record("KEPT", "in", 2, "b", "Heartbeat", "[]")
    await services.stations.delete("GONE")
    assert (await services.journal.list("GONE")).total == 0
    assert (await services.journal.list("KEPT")).total == 1
    assert await _stored(services, "GONE") == 0
