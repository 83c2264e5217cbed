"""Transactions: 1.6 start/meter values/stop and 2.x TransactionEvent (as the handlers translate
them into begin/update/end), idempotent under replay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from kilowatt.csms import Services
from kilowatt.csms.events import TransactionEnded, TransactionStarted, TransactionUpdated
from kilowatt.csms.model import (
    AuthorizationResult,
    AuthStatus,
    IdTokenInput,
    SampledValue,
    TransactionInfo,
    TransactionMessage,
    TransactionResult,
    TransactionStatus,
)
from kilowatt.csms.transactions import SUPERSEDED

T0 = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


def reg(wh: str, minutes: int, **kw: str) -> SampledValue:
    return SampledValue(Decimal(wh), T0 + timedelta(minutes=minutes), **kw)


async def _station(services: Services, station_id: str = "CP1", version: str = "1.6") -> None:
    await services.stations.connected(station_id, version)


def _tx(result: TransactionResult) -> TransactionInfo:
    assert result.transaction is not None
    return result.transaction


def _auth(result: TransactionResult) -> AuthorizationResult:
    assert result.authorization is not None
    return result.authorization


def _start(**kw: object) -> TransactionMessage:
    """A 1.6 StartTransaction (the EVSE is the connector, as the 1.6 handler maps it)."""
    values: dict[str, object] = {
        "station_id": "CP1",
        "connector_id": 1,
        "id_token": "TAG1",
        "meter_start_wh": Decimal("1000.5"),
        "timestamp": T0,
    }
    values.update(kw)
    values.setdefault("evse_id", values["connector_id"])
    return TransactionMessage(**values)  # type: ignore[arg-type]


async def test_new_begin_supersedes_the_active_transaction_on_its_evse(
    services: Services,
) -> None:
    """One active transaction per EVSE: the older one ends ``Superseded`` at the new start
    with the new meter start as its meter stop; the station's late end still applies."""
    await _station(services)
    first = _tx(await services.transactions.begin(_start()))
    later = T0 + timedelta(hours=1)
    second = _tx(
        await services.transactions.begin(_start(timestamp=later, meter_start_wh=Decimal(1500)))
    )
    elsewhere = _tx(await services.transactions.begin(_start(connector_id=2)))
    old = await services.transactions.get(first.id)
    assert (old.status, old.stop_reason, old.stopped_at) == (
        TransactionStatus.COMPLETED,
        SUPERSEDED,
        later,
    )
    assert (old.meter_stop_wh, old.energy_wh) == (Decimal(1500), Decimal("499.5"))
    active = {t.id for t in await services.transactions.active("CP1")}
    assert active == {second.id, elsewhere.id}

    late_end = TransactionMessage(
        "CP1", T0 + timedelta(minutes=50), transaction_id=first.id, meter_stop_wh=Decimal(1400)
    )
    result = await services.transactions.end(late_end)
    assert not result.ended  # it was already completed; its end is corrected
    old = await services.transactions.get(first.id)
    assert (old.stop_reason, old.meter_stop_wh, old.stopped_at) == (
        "Local",
        Decimal(1400),
        T0 + timedelta(minutes=50),
    )
    again = await services.transactions.end(late_end)
    assert again.transaction == old  # a second end changes nothing


async def test_v16_session_with_replays(services: Services) -> None:
    await _station(services)
    await services.authorization.put("TAG1", IdTokenInput())
    sub = services.bus.subscribe()

    first = await services.transactions.begin(_start())
    assert first.created and _auth(first).status is AuthStatus.ACCEPTED
    replay = await services.transactions.begin(_start())
    assert not replay.created and _tx(replay).id == _tx(first).id
    assert _auth(replay).status is AuthStatus.ACCEPTED  # not ConcurrentTx with itself
    # Another start (another time) is another transaction; on another connector, since a new
    # one on a busy connector would supersede the first (test_new_begin_supersedes_...).
    other = await services.transactions.begin(
        _start(timestamp=T0 + timedelta(hours=1), connector_id=2)
    )
    assert _tx(other).id != _tx(first).id

    tx_id = _tx(first).id
    mv = TransactionMessage(
        "CP1",
        T0 + timedelta(minutes=5),
        transaction_id=tx_id,
        evse_id=1,
        connector_id=1,
        samples=[reg("1500.5", 5), reg("230.1", 5, measurand="Voltage", phase="L1")],
    )
    assert (await services.transactions.update(mv)).new_samples == 2
    assert (await services.transactions.update(mv)).new_samples == 0  # replay: no duplicates
    tx = await services.transactions.get(tx_id)
    assert tx.energy_wh == Decimal("500.0")

    stop = TransactionMessage(
        "CP1",
        T0 + timedelta(minutes=30),
        transaction_id=tx_id,
        meter_stop_wh=Decimal("2000.75"),
        stopped_reason="EVDisconnected",
        id_token="TAG1",
        samples=[reg("1800", 20), reg("1500.5", 5)],
    )
    result = await services.transactions.end(stop)
    assert result.ended
    assert _auth(result).status is AuthStatus.ACCEPTED
    tx = _tx(result)
    assert tx.status is TransactionStatus.COMPLETED
    assert tx.meter_stop_wh == Decimal("2000.75")
    assert tx.energy_wh == Decimal("1000.25")
    assert tx.stop_reason == "EVDisconnected"
    assert tx.duration_s == 1800
    again = await services.transactions.end(stop)
    assert not again.ended and again.transaction == tx

    values = await services.transactions.meter_values(tx_id)
    assert values.total == 3  # 1500.5 and voltage at 5 min (not duplicated), 1800 at 20 min
    assert [v.value for v in values.items] == [Decimal("1500.5"), Decimal("230.1"), Decimal(1800)]
    assert values.items[1].phase == "L1" and values.items[0].phase is None

    events = []
    while not sub._queue.empty():
        events.append(await sub.get())
    kinds = [type(e) for e in events]
    assert kinds.count(TransactionStarted) == 2
    assert kinds.count(TransactionEnded) == 1
    assert kinds.count(TransactionUpdated) == 1


async def test_concurrent_replays_create_one_transaction(services: Services) -> None:
    await _station(services)
    results = await asyncio.gather(*(services.transactions.begin(_start()) for _ in range(20)))
    assert len({_tx(r).id for r in results}) == 1
    assert sum(r.created for r in results) == 1


async def test_start_with_unknown_or_blocked_token_is_recorded(services: Services) -> None:
    await _station(services)
    unknown = await services.transactions.begin(_start(id_token="NOPE"))
    assert _auth(unknown).status is AuthStatus.UNKNOWN
    assert _tx(unknown).status is TransactionStatus.ACTIVE


async def test_concurrent_transaction_limit(services: Services) -> None:
    await _station(services)
    await services.authorization.put("TAG1", IdTokenInput(max_concurrent_transactions=1))
    first = await services.transactions.begin(_start())
    assert _auth(first).status is AuthStatus.ACCEPTED
    second = await services.transactions.begin(_start(connector_id=2))
    assert _auth(second).status is AuthStatus.CONCURRENT_TX
    auth = await services.authorization.authorize("TAG1")
    assert auth.status is AuthStatus.CONCURRENT_TX


async def test_stop_of_unknown_transaction(services: Services) -> None:
    await _station(services)
    stop = TransactionMessage(
        "CP1", T0, transaction_id=12345, meter_stop_wh=Decimal(10), samples=[reg("10", 1)]
    )
    result = await services.transactions.end(stop)
    assert result.transaction is None and not result.ended


_Event = tuple[str, TransactionMessage]
"""A 2.x TransactionEvent: its eventType and what it says."""


def _event(event_type: str, seq_no: int, minutes: int, **kw: object) -> _Event:
    values: dict[str, object] = {
        "station_id": "CP2",
        "station_tx_id": "abc-1",
        "seq_no": seq_no,
        "timestamp": T0 + timedelta(minutes=minutes),
    }
    values.update(kw)
    return event_type, TransactionMessage(**values)  # type: ignore[arg-type]


async def _send(services: Services, event: _Event) -> TransactionResult:
    """The event as the 2.x handler translates it: Started/Updated/Ended → begin/update/end."""
    event_type, data = event
    lifecycle = services.transactions
    method = {"Started": lifecycle.begin, "Updated": lifecycle.update, "Ended": lifecycle.end}
    return await method[event_type](data)


async def test_v2_transaction_events_idempotent(services: Services) -> None:
    await _station(services, "CP2", "2.0.1")
    await services.authorization.put("TOK", IdTokenInput(type="ISO14443"))
    started = _event(
        "Started",
        0,
        0,
        trigger_reason="CablePluggedIn",
        evse_id=1,
        connector_id=1,
        charging_state="EVConnected",
        samples=[reg("0.5", 0, unit="kWh", context="Transaction.Begin")],
        remote_start_id=42,
    )
    r1 = await _send(services, started)
    assert r1.created and not r1.duplicate and r1.authorization is None
    assert _tx(r1).meter_start_wh == Decimal("500.0")
    assert _tx(r1).remote_start_id == 42
    r1b = await _send(services, started)
    assert r1b.duplicate and _tx(r1b).id == _tx(r1).id

    authorized = _event(
        "Updated",
        1,
        1,
        trigger_reason="Authorized",
        id_token="TOK",
        id_token_type="ISO14443",
        charging_state="Charging",
    )
    r2 = await _send(services, authorized)
    assert _auth(r2).status is AuthStatus.ACCEPTED
    assert _tx(r2).id_token == "TOK" and _tx(r2).charging_state == "Charging"

    periodic = _event("Updated", 2, 10, samples=[reg("3.5", 10, unit="kWh")])
    r3 = await _send(services, periodic)
    assert _tx(r3).energy_wh == Decimal("3000.0")
    assert (await _send(services, periodic)).duplicate

    ended = _event(
        "Ended",
        3,
        20,
        trigger_reason="EVCommunicationLost",
        stopped_reason="EVDisconnected",
        samples=[reg("4500", 20, context="Transaction.End")],
    )
    r4 = await _send(services, ended)
    tx = _tx(r4)
    assert tx.status is TransactionStatus.COMPLETED
    assert (tx.meter_start_wh, tx.meter_stop_wh, tx.energy_wh) == (
        Decimal("500.0"),
        Decimal(4500),
        Decimal("4000.0"),
    )
    assert tx.stop_reason == "EVDisconnected" and tx.last_seq_no == 3
    assert (await _send(services, ended)).duplicate
    assert (await services.transactions.meter_values(tx.id)).total == 3
    found = await services.transactions.find_by_station_tx_id("CP2", "abc-1")
    assert found is not None and found.id == tx.id
    page = await services.transactions.list(station_id="CP2", status="completed")
    assert page.total == 1


async def test_v2_out_of_order_events(services: Services) -> None:
    await _station(services, "CP2", "2.0.1")
    # An offline station may deliver Updated before Started; neither reopens after Ended.
    r1 = await _send(services, _event("Updated", 1, 5, evse_id=1))
    assert r1.created
    r0 = await _send(services, _event("Started", 0, 0))
    assert not r0.created and _tx(r0).started_at == T0
    await _send(services, _event("Ended", 3, 9))
    late = await _send(services, _event("Updated", 2, 7))
    assert _tx(late).status is TransactionStatus.COMPLETED
    assert _tx(late).last_seq_no == 3


async def test_meter_values_outside_transactions_are_kept_once(services: Services) -> None:
    await _station(services)
    mv = TransactionMessage(
        "CP1",
        T0,
        evse_id=0,
        connector_id=0,
        samples=[reg("12", 1, measurand="Power.Active.Import", unit="W")],
    )
    assert (await services.transactions.update(mv)).new_samples == 1
    assert (await services.transactions.update(mv)).new_samples == 0


async def test_decimal_precision_survives(services: Services) -> None:
    await _station(services)
    precise = Decimal("123456789.123456789")
    result = await services.transactions.begin(_start(meter_start_wh=precise))
    tx = await services.transactions.get(_tx(result).id)
    assert tx.meter_start_wh == precise and str(tx.meter_start_wh) == "123456789.123456789"
