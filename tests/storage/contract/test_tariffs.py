"""Contract: :class:`kilowatt.csms.repositories.TariffRepository`, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kilowatt.csms.repositories import Repositories
from tests.storage.samples import location

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ELEMENTS = [{"price_components": [{"type": "ENERGY", "price": "0.35", "step_size": 1}]}]


def _tariff(tariff_id: str, *, at: datetime = AT, **values: Any) -> dict[str, Any]:
    return {
        "id": tariff_id,
        "currency": "EUR",
        "type": None,
        "tax_included": "NO",
        "elements": ELEMENTS,
        "alt_text": None,
        "alt_url": None,
        "min_price": None,
        "max_price": None,
        "start_date_time": None,
        "end_date_time": None,
        "is_default": False,
        "created_at": at,
        "updated_at": at,
        **values,
    }


async def test_insert_get_and_insert_again(repos: Repositories) -> None:
    tariffs = repos.tariffs
    assert await tariffs.insert(_tariff("T1"))
    assert not await tariffs.insert(_tariff("T1", currency="USD"))
    row = await tariffs.get("T1")
    assert row is not None
    assert (row["currency"], row["elements"], row["is_default"]) == ("EUR", ELEMENTS, False)
    assert await tariffs.get("T2") is None
    assert await tariffs.default() is None


async def test_there_is_at_most_one_default(repos: Repositories) -> None:
    tariffs = repos.tariffs
    await tariffs.insert(_tariff("A", is_default=True))
    await tariffs.insert(_tariff("B", is_default=True))
    default = await tariffs.default()
    assert default is not None and default["id"] == "B"
    assert await tariffs.update("A", {"is_default": True, "updated_at": AT})
    default = await tariffs.default()
    assert default is not None and default["id"] == "A"
    b = await tariffs.get("B")
    assert b is not None and b["is_default"] is False
    assert not await tariffs.update("NOPE", {"is_default": True})
    default = await tariffs.default()
    assert default is not None and default["id"] == "A"


async def test_page_oldest_first_with_an_updated_window(repos: Repositories) -> None:
    tariffs = repos.tariffs
    for i, tariff_id in enumerate(("C", "A", "B")):
        at = AT + timedelta(hours=i)
        await tariffs.insert(_tariff(tariff_id, at=at))
    rows, total = await tariffs.page(limit=10, offset=0)
    assert [r["id"] for r in rows] == ["C", "A", "B"] and total == 3
    rows, total = await tariffs.page(
        limit=10, offset=0, updated_from=AT + timedelta(hours=1), updated_to=AT + timedelta(hours=2)
    )
    assert [r["id"] for r in rows] == ["A"] and total == 1
    rows, total = await tariffs.page(limit=1, offset=1)
    assert [r["id"] for r in rows] == ["A"] and total == 3


async def test_delete_clears_the_tariff_of_its_locations(repos: Repositories) -> None:
    tariffs = repos.tariffs
    await tariffs.insert(_tariff("T1"))
    await repos.locations.insert(location("L2", tariff_id="T1"))
    await repos.locations.insert(location("L1", tariff_id="T1"))
    await repos.locations.insert(location("L3"))
    assert sorted(await tariffs.delete("T1") or []) == ["L1", "L2"]
    assert await tariffs.get("T1") is None
    row = await repos.locations.get("L1")
    assert row is not None and row["tariff_id"] is None
    assert await tariffs.delete("T1") is None
