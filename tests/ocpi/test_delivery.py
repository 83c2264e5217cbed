"""Exactly-once where it can be had: the outbox and command results under concurrency.

On each backend (SQLite through the CSMS's group-commit writer on the inline driver, and
PostgreSQL), with the store writing through :meth:`kilowatt.storage.Database.write` as it does
inside Kilowatt. The partner is an :class:`httpx.MockTransport` whose answers the test holds
back, so the interleavings are forced rather than hoped for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kilowatt.ocpi.client import OcpiClient
from kilowatt.ocpi.models.common import Endpoint
from kilowatt.ocpi.outbox import OutboxWorker
from kilowatt.ocpi.settings import OcpiSettings
from kilowatt.ocpi.store import NewOutbox, OcpiStore
from kilowatt.storage import Database

from .servers import FakeClock

Handler = Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]
OK = {"status_code": 1000, "timestamp": "2026-03-02T10:00:00Z"}


def ok() -> httpx.Response:
    return httpx.Response(200, json=OK)


async def partner(store: OcpiStore, now: datetime) -> str:
    """A registered eMSP with a sessions receiver endpoint."""
    partner_id, _ = await store.create_partner("eMSP", now=now)
    await store.register(
        partner_id,
        version="2.2.1",
        versions_url="http://emsp.test/versions",
        their_token="their-token",
        roles=[{"role": "EMSP", "country_code": "DE", "party_id": "EMS"}],
        hub_party_id=None,
        endpoints=[
            Endpoint.model_validate(
                {"identifier": "sessions", "role": "RECEIVER", "url": "http://emsp.test/sessions"}
            )
        ],
        now=now,
    )
    return partner_id


def worker(store: OcpiStore, clock: FakeClock, handler: Handler) -> OutboxWorker:
    settings = OcpiSettings(
        country_code="NL", party_id="KWT", public_url="http://cpo.test", clock=clock
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return OutboxWorker(settings, store, OcpiClient(http))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


async def test_two_workers_never_send_the_same_row(db: Database, clock: FakeClock) -> None:
    """Two workers on one database (two nodes, or OCPI installed twice): while the first is
    waiting for the partner's answer, the second's pass must neither send that row nor
    overtake it with the partner's next row."""
    store = OcpiStore(db.engine, db.write)
    partner_id = await partner(store, clock())
    await store.enqueue(
        [
            NewOutbox(partner_id, "PUT", "sessions", "/NL/KWT/S1", {"n": 1}),
            NewOutbox(partner_id, "PATCH", "sessions", "/NL/KWT/S1", {"n": 2}),
        ],
        now=clock(),
    )
    received: list[tuple[str, Any]] = []
    arrived = asyncio.Event()
    release = asyncio.Event()

    async def slow_partner(request: httpx.Request) -> httpx.Response:
        received.append((request.method, request.read()))
        if len(received) == 1:  # only the first request is held back
            arrived.set()
            await release.wait()
        return ok()

    first = worker(store, clock, slow_partner)
    second = worker(store, clock, slow_partner)
    pass_one = asyncio.create_task(first.run_once())
    await arrived.wait()  # the PUT is at the partner, unanswered
    assert await second.run_once() == 0
    assert [m for m, _ in received] == ["PUT"]
    release.set()
    assert await pass_one == 2
    assert [m for m, _ in received] == ["PUT", "PATCH"]
    assert await store.undelivered() == []
    assert await second.run_once() == 0


async def test_timed_out_attempt_is_retried_with_the_same_correlation_id(
    db: Database, clock: FakeClock
) -> None:
    """A request that reached the partner but timed out is sent again (at least once); both
    attempts carry one X-Correlation-ID so the partner can tell it is the same push."""
    store = OcpiStore(db.engine, db.write)
    partner_id = await partner(store, clock())
    await store.enqueue(
        [NewOutbox(partner_id, "POST", None, "http://emsp.test/callback/1", {"result": "X"})],
        now=clock(),
    )
    seen: list[httpx.Request] = []

    async def answers_late_once(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ReadTimeout("no answer in time", request=request)
        return ok()

    w = worker(store, clock, answers_late_once)
    assert await w.run_once() == 0
    (row,) = await store.undelivered()
    assert row.attempts == 1
    clock.advance(w.backoff(1))
    assert await w.run_once() == 1
    assert len(seen) == 2
    first, second = (r.headers for r in seen)
    assert first["X-Correlation-ID"] == second["X-Correlation-ID"]
    assert first["X-Request-ID"] != second["X-Request-ID"]


async def test_a_command_result_is_enqueued_once_however_resolutions_race(
    db: Database, clock: FakeClock
) -> None:
    """The charger's answer, the deadline timer and a TransactionEvent may all try to resolve
    one command at the same time: exactly one wins and enqueues its CommandResult (the guard
    is the UPDATE's row count, on each driver)."""
    store = OcpiStore(db.engine, db.write)
    partner_id = await partner(store, clock())
    await store.add_command(
        command_id="C1",
        partner_id=partner_id,
        type_="START_SESSION",
        request={},
        response_url="http://emsp.test/callback/1",
        now=clock(),
        deadline=clock() + timedelta(seconds=30),
    )

    def resolve(result: str) -> Awaitable[bool]:
        body = {"result": result}
        entry = NewOutbox(partner_id, "POST", None, "http://emsp.test/callback/1", body)
        return store.resolve_command("C1", result, entry, now=clock())

    outcomes = await asyncio.gather(*(resolve(r) for r in ("ACCEPTED", "TIMEOUT", "FAILED")))
    assert sorted(outcomes) == [False, False, True]
    (row,) = await store.undelivered()
    winner = ("ACCEPTED", "TIMEOUT", "FAILED")[outcomes.index(True)]
    assert row.body == {"result": winner}
    stored = await store.get_command("C1")
    assert stored is not None and stored.result == winner
    assert not await resolve("ACCEPTED")


async def test_resolutions_on_separate_connections_race_safely(
    db: Database, clock: FakeClock
) -> None:
    """The same without the shared writer (standalone OCPI): concurrent transactions on their
    own connections; the row count still lets exactly one through."""
    store = OcpiStore(db.engine)
    partner_id = await partner(store, clock())
    await store.add_command(
        command_id="C2",
        partner_id=partner_id,
        type_="START_SESSION",
        request={},
        response_url="http://emsp.test/callback/2",
        now=clock(),
        deadline=clock() + timedelta(seconds=30),
    )
    entry = NewOutbox(partner_id, "POST", None, "http://emsp.test/callback/2", {"result": "A"})
    outcomes = await asyncio.gather(
        *(store.resolve_command("C2", "ACCEPTED", entry, now=clock()) for _ in range(3))
    )
    assert sorted(outcomes) == [False, False, True]
    assert len(await store.undelivered()) == 1
