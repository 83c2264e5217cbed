"""hotpath multi-row writes on SQLite (meter values, last_seen): same results everywhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest

from kilowatt.storage import Database, hotpath
from kilowatt.storage.sql.stations import SqlStationRepository, set_last_seen
from kilowatt.storage.sql.transactions import add_samples
from tests.storage.samples import AT, sample


def _sample(i: int, value: str = "1.50") -> dict[str, Any]:
    return sample(i, value=value)


def test_multi_row_text_repeats_the_values_group_and_keeps_the_tail() -> None:
    one = "INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT DO NOTHING"
    assert hotpath.multi_row_sql(one, 3) == (
        "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?) ON CONFLICT DO NOTHING"
    )
    with pytest.raises(ValueError):
        hotpath.multi_row_sql("UPDATE t SET a = ?", 2)


@pytest.mark.parametrize("count", [1, 5, 64, 65, 130])
async def test_new_rows_are_counted_and_replays_skipped(db: Database, count: int) -> None:
    await SqlStationRepository(db).insert({"id": "CP1", "created_at": AT, "updated_at": AT})
    rows = [_sample(i, f"{i}.10") for i in range(count)]
    assert await db.write(lambda conn: add_samples(conn, rows)) == count
    # A replay (offline queue) adds nothing; a duplicate inside one call is stored once.
    assert await db.write(lambda conn: add_samples(conn, rows)) == 0
    twice = [_sample(10_000), _sample(10_000), _sample(10_001)]
    assert await db.write(lambda conn: add_samples(conn, twice)) == 2
    async with db.read() as conn:
        stored = await conn.exec_driver_sql("SELECT count(*), min(value) FROM meter_values")
        total, smallest = cast(tuple[int, str], tuple(stored.one()))
    assert total == count + 2
    assert smallest == "0.10"  # exact decimal text, as the column type stores it


async def test_set_last_seen_updates_many_stations_at_once(db: Database) -> None:
    repo = SqlStationRepository(db)
    ids = [f"CP{i:03d}" for i in range(300)]  # more than one statement's worth (256)
    for station_id in ids:
        await repo.insert({"id": station_id, "created_at": AT, "updated_at": AT})
    seen = {station_id: AT + timedelta(seconds=i) for i, station_id in enumerate(ids)}
    await db.write(lambda conn: set_last_seen(conn, seen))
    await db.write(lambda conn: set_last_seen(conn, {}))
    rows = [await repo.get(station_id) for station_id in ("CP000", "CP299")]
    assert [r["last_seen"] for r in rows if r is not None] == [AT, AT + timedelta(seconds=299)]
