"""Contract: :class:`kilowatt.csms.repositories.LocationRepository`, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kilowatt.csms.repositories import Repositories
from tests.storage.samples import location

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


async def test_insert_get_and_insert_again(repos: Repositories) -> None:
    locations = repos.locations
    assert await locations.insert(location("L1"))
    assert not await locations.insert(location("L1", city="Elsewhere"))
    row = await locations.get("L1")
    assert row is not None
    assert (row["city"], row["facilities"], row["opening_times"]) == (
        "Utrecht",
        ["CAFE"],
        {"twentyfourseven": True},
    )
    assert row["created_at"] == AT and row["publish"] is True
    assert await locations.get("L2") is None


async def test_page_is_oldest_first_then_by_id(repos: Repositories) -> None:
    locations = repos.locations
    await locations.insert(location("C", at=AT))
    await locations.insert(location("A", at=AT + timedelta(hours=1)))
    await locations.insert(location("B", at=AT))
    rows, total = await locations.page(limit=2, offset=1)
    assert [r["id"] for r in rows] == ["C", "A"] and total == 3


async def test_update(repos: Repositories) -> None:
    locations = repos.locations
    await locations.insert(location("L1"))
    later = AT + timedelta(hours=1)
    assert await locations.update("L1", {"name": "Depot", "updated_at": later})
    row = await locations.get("L1")
    assert row is not None and (row["name"], row["updated_at"]) == ("Depot", later)
    assert not await locations.update("NOPE", {"name": "x"})


async def test_station_ids_and_delete_unassigns_the_stations(repos: Repositories) -> None:
    locations = repos.locations
    await locations.insert(location("L1"))
    for station_id in ("CP2", "CP1", "CP3"):
        await repos.stations.insert(
            {
                "id": station_id,
                "created_at": AT,
                "updated_at": AT,
                "location_id": None if station_id == "CP3" else "L1",
            }
        )
    assert await locations.station_ids("L1") == ["CP1", "CP2"]
    assert await locations.delete("L1")
    assert not await locations.delete("L1")
    assert await locations.get("L1") is None
    station = await repos.stations.get("CP1")
    assert station is not None and station["location_id"] is None
    assert await locations.station_ids("L1") == []
