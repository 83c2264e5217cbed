"""The version-neutral transaction lifecycle (begin / update / end) on in-memory repositories:
the idempotency and ordering rules both OCPP families translate into."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kilowatt.csms.authorization import AuthorizationService
from kilowatt.csms.events import (
    DomainEvent,
    EventBus,
    TransactionEnded,
    TransactionStarted,
    TransactionUpdated,
)
from kilowatt.csms.model import SampledValue, TransactionMessage, TransactionStatus
from kilowatt.csms.transactions import TransactionService
from kilowatt.storage.memory import MemoryRepositories

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def setup() -> tuple[TransactionService, list[DomainEvent]]:
    repos = MemoryRepositories()
    await repos.stations.insert({"id": "CP", "created_at": T0, "updated_at": T0})
    bus = EventBus()
    seen: list[DomainEvent] = []
    bus.add_listener(seen.append)
    auth = AuthorizationService(repos, accept_unknown=True)
    return TransactionService(repos, bus, auth, clock=lambda: T0), seen


def _register(wh: int, seconds: int) -> SampledValue:
    return SampledValue(Decimal(wh), T0 + timedelta(seconds=seconds), unit="Wh")


async def test_16_start_replayed_after_reconnect_answers_the_same_id(
    setup: tuple[TransactionService, list[DomainEvent]],
) -> None:
    service, seen = setup
    start = TransactionMessage(
        "CP", T0, evse_id=1, connector_id=1, id_token="TAG", meter_start_wh=Decimal(1000)
    )
    first = await service.begin(start)
    again = await service.begin(start)
    assert first.created and not again.created
    assert first.transaction is not None and again.transaction is not None
    assert first.transaction.id == again.transaction.id
    assert [type(e) for e in seen] == [TransactionStarted]
    tx_id = first.transaction.id
    samples = [_register(1500, 60)]
    update = TransactionMessage("CP", T0, transaction_id=tx_id, evse_id=1, samples=samples)
    assert (await service.update(update)).new_samples == 1
    assert (await service.update(update)).new_samples == 0  # replayed MeterValues
    stop = TransactionMessage(
        "CP", T0 + timedelta(hours=1), transaction_id=tx_id, meter_stop_wh=Decimal(2500)
    )
    ended = await service.end(stop)
    replayed = await service.end(stop)
    assert ended.ended and not replayed.ended
    assert ended.transaction is not None and ended.transaction.energy_wh == Decimal(1500)
    assert ended.transaction.stop_reason == "Local"
    assert [type(e) for e in seen] == [TransactionStarted, TransactionUpdated, TransactionEnded]


async def test_16_unknown_transaction_id_keeps_samples_and_creates_nothing(
    setup: tuple[TransactionService, list[DomainEvent]],
) -> None:
    service, seen = setup
    message = TransactionMessage("CP", T0, transaction_id=42, samples=[_register(1, 1)])
    result = await service.end(message)
    assert result.transaction is None and result.new_samples == 1 and not result.created
    assert seen == []


async def test_2x_events_out_of_order_and_replayed(
    setup: tuple[TransactionService, list[DomainEvent]],
) -> None:
    service, seen = setup

    def event(seq_no: int, seconds: int, **values: object) -> TransactionMessage:
        return TransactionMessage(
            "CP",
            T0 + timedelta(seconds=seconds),
            station_tx_id="abc",
            seq_no=seq_no,
            **values,  # type: ignore[arg-type]
        )

    # The Updated (seqNo 1) arrives first: it creates the transaction.
    updated = await service.update(event(1, 60, samples=[_register(200, 60)], evse_id=2))
    assert updated.created and updated.transaction is not None
    started = await service.begin(event(0, 0, id_token="TAG", samples=[_register(100, 0)]))
    assert not started.created and started.transaction is not None
    assert started.transaction.started_at == T0  # the earliest time any message gave
    assert started.transaction.last_seq_no == 1 and started.transaction.evse_id == 2
    assert (await service.begin(event(0, 0))).duplicate
    ended = await service.end(
        event(2, 120, samples=[_register(400, 120)], stopped_reason="EVDisconnected")
    )
    assert ended.ended and ended.transaction is not None
    tx = ended.transaction
    assert tx.status is TransactionStatus.COMPLETED and tx.meter_stop_wh == Decimal(400)
    assert tx.energy_wh == Decimal(200) and tx.stop_reason == "EVDisconnected"
    assert (await service.end(event(2, 120))).duplicate
    assert [type(e) for e in seen] == [TransactionStarted, TransactionUpdated, TransactionEnded]
    assert await service.find_by_station_tx_id("CP", "abc") == tx


async def test_a_later_message_does_not_move_the_transaction(
    setup: tuple[TransactionService, list[DomainEvent]],
) -> None:
    service, _ = setup
    begin = TransactionMessage(
        "CP", T0, evse_id=1, connector_id=1, meter_start_wh=Decimal(0), id_token="T"
    )
    result = await service.begin(begin)
    assert result.transaction is not None
    tx_id = result.transaction.id
    # A 1.6 MeterValues on connector 2 naming this transaction: samples placed there only.
    update = TransactionMessage(
        "CP", T0, transaction_id=tx_id, evse_id=2, connector_id=2, samples=[_register(5, 5)]
    )
    after = await service.update(update)
    assert after.transaction is not None and after.transaction.evse_id == 1
    page = await service.meter_values(tx_id)
    assert [(m.evse_id, m.connector_id) for m in page.items] == [(2, 2)]
