"""Contract: :class:`kilowatt.csms.repositories.TransactionRepository`, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from kilowatt.csms.model import SampledValue
from kilowatt.csms.repositories import Changes, Repositories, Row, TransactionStep

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _new(key: str, station_id: str = "CP1", **values: Any) -> dict[str, Any]:
    return {
        "station_id": station_id,
        "dedup_key": key,
        "evse_id": 1,
        "connector_id": 1,
        "status": "active",
        "started_at": AT,
        "meter_start_wh": Decimal("100.5"),
        "updated_at": AT,
        **values,
    }


def _nothing(row: Row, created: bool, new: int) -> Changes:
    return {}


def _samples(*values: int) -> list[SampledValue]:
    return [SampledValue(Decimal(v), AT + timedelta(seconds=v), unit="Wh") for v in values]


@pytest.fixture(autouse=True)
async def _stations(repos: Repositories) -> None:
    for name in ("CP1", "CP2"):
        await repos.stations.insert({"id": name, "created_at": AT, "updated_at": AT})


async def test_a_begin_replayed_finds_the_same_transaction(repos: Repositories) -> None:
    tx = repos.transactions
    for find_first in (False, True):
        key = f"start:{find_first}"
        step = TransactionStep("CP1", _nothing, key=key, create=_new(key), find_first=find_first)
        first = await tx.record(step)
        again = await tx.record(step)
        assert first.created and not again.created
        assert first.transaction is not None and again.transaction is not None
        assert first.transaction["id"] == again.transaction["id"]
        assert again.transaction["meter_start_wh"] == Decimal("100.5")
    # The same key at another station is another transaction.
    other = await tx.record(
        TransactionStep("CP2", _nothing, key="start:False", create=_new("start:False", "CP2"))
    )
    assert other.created


async def test_ids_increase_and_reads_find_them(repos: Repositories) -> None:
    tx = repos.transactions
    ids = []
    for n in range(3):
        step = TransactionStep("CP1", _nothing, key=f"k{n}", create=_new(f"k{n}", evse_id=n))
        outcome = await tx.record(step)
        assert outcome.transaction is not None
        ids.append(outcome.transaction["id"])
    assert ids == sorted(ids)
    row = await tx.get(ids[1])
    assert row is not None and row["dedup_key"] == "k1" and row["energy_wh"] is None
    assert await tx.get(ids[2] + 100) is None
    assert (await tx.get_by_key("CP1", "k2") or {}).get("id") == ids[2]
    assert await tx.get_by_key("CP2", "k2") is None
    rows, total = await tx.page(station_id="CP1", status="active", limit=2, offset=0)
    assert [r["id"] for r in rows] == [ids[2], ids[1]] and total == 3
    assert [r["id"] for r in await tx.active_on("CP1", None)] == ids
    assert [r["id"] for r in await tx.active_on("CP1", 1)] == [ids[1]]
    assert (await tx.page(station_id=None, status="completed", limit=5, offset=0))[1] == 0


async def test_unknown_or_foreign_ids_keep_samples_without_a_transaction(
    repos: Repositories,
) -> None:
    tx = repos.transactions
    created = await tx.record(TransactionStep("CP1", _nothing, key="k", create=_new("k")))
    assert created.transaction is not None
    tx_id = created.transaction["id"]
    called: list[Row] = []

    def decide(row: Row, was_created: bool, new: int) -> Changes:
        called.append(row)
        return {}

    foreign = await tx.record(
        TransactionStep("CP2", decide, transaction_id=tx_id, samples=_samples(1, 2), evse_id=3)
    )
    assert foreign.transaction is None and foreign.new_samples == 2 and called == []
    unknown = await tx.record(TransactionStep("CP1", decide, transaction_id=tx_id + 99))
    assert unknown.transaction is None and not unknown.created
    assert (await tx.meter_values(tx_id, limit=10, offset=0))[1] == 0


async def test_samples_are_deduplicated_and_placed(repos: Repositories) -> None:
    tx = repos.transactions
    outcome = await tx.record(
        TransactionStep("CP1", _nothing, key="k", create=_new("k", evse_id=2, connector_id=3))
    )
    assert outcome.transaction is not None
    tx_id = outcome.transaction["id"]
    news: list[int] = []

    def decide(row: Row, created: bool, new: int) -> Changes:
        news.append(new)
        return {}

    step = TransactionStep("CP1", decide, transaction_id=tx_id, samples=_samples(3, 1, 2, 1))
    assert (await tx.record(step)).new_samples == 3
    assert (await tx.record(step)).new_samples == 0  # a replay
    assert news == [3, 0]
    rows, total = await tx.meter_values(tx_id, limit=2, offset=1)
    assert total == 3
    assert [r["value"] for r in rows] == [Decimal(2), Decimal(3)]
    first = rows[0]
    assert (first["evse_id"], first["connector_id"], first["transaction_id"]) == (2, 3, tx_id)
    assert (first["phase"], first["location"], first["context"], first["unit"]) == (
        "",
        "",
        "",
        "Wh",
    )
    assert first["timestamp"] == AT + timedelta(seconds=2)


async def test_decide_sees_the_row_and_its_changes_are_returned(repos: Repositories) -> None:
    tx = repos.transactions
    seen: list[tuple[Row, bool, int]] = []
    stop = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)

    def decide(row: Row, created: bool, new: int) -> Changes:
        seen.append((dict(row), created, new))
        if created:
            return {}
        return {"status": "completed", "stopped_at": stop, "energy_wh": Decimal("0.25")}

    step = TransactionStep("CP1", decide, key="k", create=_new("k"), samples=_samples(5))
    first = await tx.record(step)
    assert first.created and first.changes == {} and seen[0][1:] == (True, 1)
    assert seen[0][0]["dedup_key"] == "k" and seen[0][0]["status"] == "active"
    second = await tx.record(step)
    assert second.changes["status"] == "completed"
    assert second.transaction is not None and second.transaction["energy_wh"] == Decimal("0.25")
    assert second.transaction["stopped_at"] == stop
    stored = await tx.get(second.transaction["id"])
    assert stored is not None and dict(stored) == dict(second.transaction)


async def test_a_recorded_sequence_number_makes_the_step_a_duplicate(repos: Repositories) -> None:
    tx = repos.transactions
    calls = 0

    def decide(row: Row, created: bool, new: int) -> Changes:
        nonlocal calls
        calls += 1
        return {} if created else {"charging_state": "Charging"}

    def step(seq_no: int, *samples: int) -> TransactionStep:
        event = {"seq_no": seq_no, "event_type": "Updated", "trigger_reason": None, "timestamp": AT}
        return TransactionStep(
            "CP1", decide, key="tx:A", create=_new("tx:A"), event=event, samples=_samples(*samples)
        )

    assert (await tx.record(step(1, 1))).created
    replay = await tx.record(step(1, 2))
    assert replay.duplicate and replay.new_samples == 0 and replay.changes == {}
    assert calls == 1
    later = await tx.record(step(2))
    assert not later.duplicate and later.changes == {"charging_state": "Charging"}
    assert later.transaction is not None
    assert (await tx.meter_values(later.transaction["id"], limit=5, offset=0))[1] == 1


async def test_a_failing_decide_leaves_nothing_behind(repos: Repositories) -> None:
    tx = repos.transactions

    def fail(row: Row, created: bool, new: int) -> Changes:
        raise RuntimeError("rule broken")

    event = {"seq_no": 0, "event_type": "Started", "trigger_reason": None, "timestamp": AT}
    step = TransactionStep("CP1", fail, key="k", create=_new("k"), event=event, samples=_samples(1))
    with pytest.raises(RuntimeError):
        await tx.record(step)
    assert await tx.get_by_key("CP1", "k") is None
    ok = TransactionStep(
        "CP1", _nothing, key="k", create=_new("k"), event=event, samples=_samples(1)
    )
    outcome = await tx.record(ok)
    assert outcome.created and not outcome.duplicate and outcome.new_samples == 1
