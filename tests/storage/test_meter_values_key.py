"""Migration 0004: meter values keyed by time first, no foreign key on the station; deleting a
station still deletes every sample of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from kilowatt.storage import Database, hotpath
from kilowatt.storage.repositories import StationRepository
from tests.storage.samples import AT, sample


def _sample(station_id: str, transaction_id: int | None, i: int) -> dict[str, Any]:
    return sample(i, station_id=station_id, transaction_id=transaction_id)


async def _station_with_samples(db: Database, station_id: str) -> None:
    async def op(conn: Any) -> None:
        await StationRepository().insert(
            conn, {"id": station_id, "created_at": AT, "updated_at": AT}
        )
        row, _ = await hotpath.insert_or_get_transaction(
            conn,
            {
                "station_id": station_id,
                "dedup_key": "tx:1",
                "status": "active",
                "started_at": AT,
                "updated_at": AT,
            },
        )
        # Two in the transaction, one outside any (e.g. a clock-aligned connector reading).
        rows = [_sample(station_id, row["id"], 0), _sample(station_id, row["id"], 1)]
        assert await hotpath.add_meter_values(conn, rows) == 2
        assert await hotpath.add_meter_values(conn, [_sample(station_id, None, 2)]) == 1

    await db.write(op)


async def _count(db: Database, station_id: str) -> int:
    async with db.read() as conn:
        result = await conn.execute(
            text("SELECT count(*) FROM meter_values WHERE station_id = :s"), {"s": station_id}
        )
        return int(result.scalar_one())


async def test_deleting_a_station_deletes_its_samples_in_and_outside_transactions(
    db: Database,
) -> None:
    await _station_with_samples(db, "CP1")
    await _station_with_samples(db, "CP2")
    assert await db.write(lambda conn: StationRepository().delete(conn, "CP1"))
    assert await _count(db, "CP1") == 0
    assert await _count(db, "CP2") == 3


async def test_upgrade_from_0003_keeps_the_samples_and_their_uniqueness(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        await db.migrate("0003_locations")
        await _station_with_samples(db, "CP1")
        await db.migrate()
        assert await _count(db, "CP1") == 3
        replay = [_sample("CP1", None, 2), _sample("CP1", None, 3)]
        assert await db.write(lambda conn: hotpath.add_meter_values(conn, replay)) == 1
        assert await db.write(lambda conn: StationRepository().delete(conn, "CP1"))
        assert await _count(db, "CP1") == 0
    finally:
        await db.close()
