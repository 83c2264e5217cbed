"""Migration 0004: meter values keyed by time first, no foreign key on the station; deleting a
station still deletes every sample of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from kilowatt.storage import Database
from kilowatt.storage.sql.stations import SqlStationRepository
from kilowatt.storage.sql.transactions import add_samples
from kilowatt.storage.tables import transactions
from tests.storage.samples import AT, sample


def _sample(station_id: str, transaction_id: int | None, i: int) -> dict[str, Any]:
    return sample(i, station_id=station_id, transaction_id=transaction_id)


async def _station_with_samples(db: Database, station_id: str) -> None:
    await SqlStationRepository(db).insert({"id": station_id, "created_at": AT, "updated_at": AT})

    async def op(conn: Any) -> None:
        await conn.execute(
            transactions.insert(),
            {
                "station_id": station_id,
                "dedup_key": "tx:1",
                "status": "active",
                "started_at": AT,
                "updated_at": AT,
            },
        )
        query = select(transactions.c.id).where(transactions.c.station_id == station_id)
        row = {"id": (await conn.execute(query)).scalar_one()}
        # Two in the transaction, one outside any (e.g. a clock-aligned connector reading).
        rows = [_sample(station_id, row["id"], 0), _sample(station_id, row["id"], 1)]
        assert await add_samples(conn, rows) == 2
        assert await add_samples(conn, [_sample(station_id, None, 2)]) == 1

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
    assert await SqlStationRepository(db).delete("CP1")
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
        assert await db.write(lambda conn: add_samples(conn, replay)) == 1
        assert await SqlStationRepository(db).delete("CP1")
        assert await _count(db, "CP1") == 0
    finally:
        await db.close()
