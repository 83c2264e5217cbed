"""Transactions: 1.6 start/meter values/stop and 2.x TransactionEvent, idempotent under replay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from kilowatt.csms import Services
from kilowatt.csms.events import TransactionEnded, TransactionStarted, TransactionUpdated
from kilowatt.csms.model import (
    AuthStatus,
    IdTokenInput,
    MeterValuesInput,
    SampledValue,
    StartTransactionInput,
    StopTransactionInput,
    TransactionEventInput,
    TransactionStatus,
)

T0 = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


def reg(wh: str, minutes: int, **kw: str) -> SampledValue:
    return SampledValue(Decimal(wh), T0 + timedelta(minutes=minutes), **kw)


async def _station(services: Services, station_id: str = "CP1", version: str = "1.6") -> None:
    await services.stations.connected(station_id, version)


def _start(**kw: object) -> StartTransactionInput:
    values: dict[str, object] = {
        "station_id": "CP1",
        "connector_id": 1,
        "id_token": "TAG1",
        "meter_start_wh": Decimal("1000.5"),
        "timestamp": T0,
    }
    values.update(kw)
    return StartTransactionInput(**values)  # type: ignore[arg-type]


async def test_v16_session_with_replays(services: Services) -> None:
    await _station(services)
    await services.authorization.put("TAG1", IdTokenInput())
    sub = services.bus.subscribe()

    first = await services.transactions.start(_start())
    assert first.created and first.authorization.status is AuthStatus.ACCEPTED
    replay = await services.transactions.start(_start())
    assert not replay.created and replay.transaction.id == first.transaction.id
    assert replay.authorization.status is AuthStatus.ACCEPTED  # not ConcurrentTx with itself
    other = await services.transactions.start(_start(timestamp=T0 + timedelta(hours=1)))
    assert other.transaction.id != first.transaction.id

    tx_id = first.transaction.id
    mv = MeterValuesInput(
        "CP1", 1, 1, [reg("1500.5", 5), reg("230.1", 5, measurand="Voltage", phase="L1")], tx_id
    )
    assert await services.transactions.add_meter_values(mv) == 2
    assert await services.transactions.add_meter_values(mv) == 0  # replay: no duplicates
    tx = await services.transactions.get(tx_id)
    assert tx.energy_wh == Decimal("500.0")

    stop = StopTransactionInput(
        "CP1",
        tx_id,
        Decimal("2000.75"),
        T0 + timedelta(minutes=30),
        reason="EVDisconnected",
        id_token="TAG1",
        transaction_data=[reg("1800", 20), reg("1500.5", 5)],
    )
    result = await services.transactions.stop(stop)
    assert result.stopped and result.transaction is not None
    assert result.authorization is not None
    assert result.authorization.status is AuthStatus.ACCEPTED
    tx = result.transaction
    assert tx.status is TransactionStatus.COMPLETED
    assert tx.meter_stop_wh == Decimal("2000.75")
    assert tx.energy_wh == Decimal("1000.25")
    assert tx.stop_reason == "EVDisconnected"
    assert tx.duration_s == 1800
    again = await services.transactions.stop(stop)
    assert not again.stopped and again.transaction == tx

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
    results = await asyncio.gather(*(services.transactions.start(_start()) for _ in range(20)))
    assert len({r.transaction.id for r in results}) == 1
    assert sum(r.created for r in results) == 1


async def test_start_with_unknown_or_blocked_token_is_recorded(services: Services) -> None:
    await _station(services)
    unknown = await services.transactions.start(_start(id_token="NOPE"))
    assert unknown.authorization.status is AuthStatus.UNKNOWN
    assert unknown.transaction.status is TransactionStatus.ACTIVE


async def test_concurrent_transaction_limit(services: Services) -> None:
    await _station(services)
    await services.authorization.put("TAG1", IdTokenInput(max_concurrent_transactions=1))
    first = await services.transactions.start(_start())
    assert first.authorization.status is AuthStatus.ACCEPTED
    second = await services.transactions.start(_start(connector_id=2))
    assert second.authorization.status is AuthStatus.CONCURRENT_TX
    auth = await services.authorization.authorize("TAG1")
    assert auth.status is AuthStatus.CONCURRENT_TX


async def test_stop_of_unknown_transaction(services: Services) -> None:
    await _station(services)
    stop = StopTransactionInput("CP1", 12345, Decimal(10), T0, transaction_data=[reg("10", 1)])
    result = await services.transactions.stop(stop)
    assert result.transaction is None and not result.stopped


def _event(event_type: str, seq_no: int, minutes: int, **kw: object) -> TransactionEventInput:
    values: dict[str, object] = {
        "station_id": "CP2",
        "event_type": event_type,
        "station_tx_id": "abc-1",
        "seq_no": seq_no,
        "timestamp": T0 + timedelta(minutes=minutes),
    }
    values.update(kw)
    return TransactionEventInput(**values)  # type: ignore[arg-type]


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
        meter_values=[reg("0.5", 0, unit="kWh", context="Transaction.Begin")],
        remote_start_id=42,
    )
    r1 = await services.transactions.transaction_event(started)
    assert r1.created and not r1.duplicate and r1.authorization is None
    assert r1.transaction.meter_start_wh == Decimal("500.0")
    assert r1.transaction.remote_start_id == 42
    r1b = await services.transactions.transaction_event(started)
    assert r1b.duplicate and r1b.transaction.id == r1.transaction.id

    authorized = _event(
        "Updated",
        1,
        1,
        trigger_reason="Authorized",
        id_token="TOK",
        id_token_type="ISO14443",
        charging_state="Charging",
    )
    r2 = await services.transactions.transaction_event(authorized)
    assert r2.authorization is not None and r2.authorization.status is AuthStatus.ACCEPTED
    assert r2.transaction.id_token == "TOK" and r2.transaction.charging_state == "Charging"

    periodic = _event("Updated", 2, 10, meter_values=[reg("3.5", 10, unit="kWh")])
    r3 = await services.transactions.transaction_event(periodic)
    assert r3.transaction.energy_wh == Decimal("3000.0")
    assert (await services.transactions.transaction_event(periodic)).duplicate

    ended = _event(
        "Ended",
        3,
        20,
        trigger_reason="EVCommunicationLost",
        stopped_reason="EVDisconnected",
        meter_values=[reg("4500", 20, context="Transaction.End")],
    )
    r4 = await services.transactions.transaction_event(ended)
    tx = r4.transaction
    assert tx.status is TransactionStatus.COMPLETED
    assert (tx.meter_start_wh, tx.meter_stop_wh, tx.energy_wh) == (
        Decimal("500.0"),
        Decimal(4500),
        Decimal("4000.0"),
    )
    assert tx.stop_reason == "EVDisconnected" and tx.last_seq_no == 3
    assert (await services.transactions.transaction_event(ended)).duplicate
    assert (await services.transactions.meter_values(tx.id)).total == 3
    found = await services.transactions.find_by_station_tx_id("CP2", "abc-1")
    assert found is not None and found.id == tx.id
    page = await services.transactions.list(station_id="CP2", status="completed")
    assert page.total == 1


async def test_v2_out_of_order_events(services: Services) -> None:
    await _station(services, "CP2", "2.0.1")
    # An offline station may deliver Updated before Started; neither reopens after Ended.
    r1 = await services.transactions.transaction_event(_event("Updated", 1, 5, evse_id=1))
    assert r1.created
    r0 = await services.transactions.transaction_event(_event("Started", 0, 0))
    assert not r0.created and r0.transaction.started_at == T0
    await services.transactions.transaction_event(_event("Ended", 3, 9))
    late = await services.transactions.transaction_event(_event("Updated", 2, 7))
    assert late.transaction.status is TransactionStatus.COMPLETED
    assert late.transaction.last_seq_no == 3


async def test_meter_values_outside_transactions_are_kept_once(services: Services) -> None:
    await _station(services)
    mv = MeterValuesInput("CP1", 0, 0, [reg("12", 1, measurand="Power.Active.Import", unit="W")])
    assert await services.transactions.add_meter_values(mv) == 1
    assert await services.transactions.add_meter_values(mv) == 0


async def test_decimal_precision_survives(services: Services) -> None:
    await _station(services)
    precise = Decimal("123456789.123456789")
    result = await services.transactions.start(_start(meter_start_wh=precise))
    tx = await services.transactions.get(result.transaction.id)
    assert tx.meter_start_wh == precise and str(tx.meter_start_wh) == "123456789.123456789"
