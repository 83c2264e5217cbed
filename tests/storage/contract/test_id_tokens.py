"""Contract: :class:`kilowatt.csms.repositories.IdTokenRepository`, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kilowatt.csms.repositories import Repositories, TransactionStep

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _token(id_token: str, **values: Any) -> dict[str, Any]:
    return {
        "id_token": id_token,
        "type": None,
        "status": "Accepted",
        "expiry": None,
        "group_id": None,
        "max_concurrent_transactions": None,
        "created_at": AT,
        "updated_at": AT,
        **values,
    }


async def test_put_creates_then_replaces_keeping_created_at(repos: Repositories) -> None:
    tokens = repos.id_tokens
    assert await tokens.put(_token("T"))
    later = AT + timedelta(hours=1)
    assert not await tokens.put(_token("T", status="Blocked", created_at=later, updated_at=later))
    row = await tokens.get("T")
    assert row is not None
    assert (row["status"], row["created_at"], row["updated_at"]) == ("Blocked", AT, later)
    assert await tokens.get("U") is None


async def test_page_and_delete(repos: Repositories) -> None:
    tokens = repos.id_tokens
    for name in ("B", "A", "C"):
        await tokens.put(_token(name))
    rows, total = await tokens.page(limit=2, offset=1)
    assert [r["id_token"] for r in rows] == ["B", "C"] and total == 3
    assert await tokens.delete("B")
    assert not await tokens.delete("B")
    assert (await tokens.page(limit=10, offset=0))[1] == 2


async def test_active_transactions_counts_the_token(repos: Repositories) -> None:
    await repos.stations.insert({"id": "CP1", "created_at": AT, "updated_at": AT})
    ids = []
    for n, status in enumerate(["active", "active", "completed"]):
        step = TransactionStep(
            station_id="CP1",
            decide=lambda row, created, new: {},
            key=f"k{n}",
            create={
                "station_id": "CP1",
                "dedup_key": f"k{n}",
                "id_token": "T",
                "status": status,
                "started_at": AT,
                "updated_at": AT,
            },
            find_first=False,
        )
        outcome = await repos.transactions.record(step)
        assert outcome.transaction is not None
        ids.append(outcome.transaction["id"])
    assert await repos.id_tokens.active_transactions("T") == 2
    assert await repos.id_tokens.active_transactions("T", exclude_transaction=ids[0]) == 1
    assert await repos.id_tokens.active_transactions("other") == 0
