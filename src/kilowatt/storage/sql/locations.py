"""The SQL of locations (SQLite, PostgreSQL).

Implements :class:`kilowatt.csms.repositories.LocationRepository`.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.csms.repositories import Row
from kilowatt.storage.database import Database
from kilowatt.storage.sql.common import insert, page
from kilowatt.storage.tables import locations, stations

__all__ = ["SqlLocationRepository"]


class SqlLocationRepository:
    """Locations in the database of ``db`` (see the protocol
    :class:`~kilowatt.csms.repositories.LocationRepository`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, location_id: str) -> Row | None:
        """The location, or None."""
        query = select(locations).where(locations.c.id == location_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return dict(row) if row is not None else None

    async def page(self, *, limit: int, offset: int) -> tuple[list[Row], int]:
        """Oldest first, and the total."""
        query = select(locations).order_by(locations.c.created_at, locations.c.id)
        async with self._db.read() as conn:
            return await page(conn, query, limit, offset)

    async def insert(self, values: Row) -> bool:
        """Insert; False when the id exists."""

        async def op(conn: AsyncConnection) -> bool:
            stmt = (
                insert(conn, locations)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(locations.c.id)
            )
            return (await conn.execute(stmt)).first() is not None

        return await self._db.write(op)

    async def update(self, location_id: str, values: Row) -> bool:
        """Set columns; False when unknown."""
        stmt = update(locations).where(locations.c.id == location_id).values(**values)

        async def op(conn: AsyncConnection) -> bool:
            return (await conn.execute(stmt)).rowcount > 0

        return await self._db.write(op)

    async def delete(self, location_id: str) -> bool:
        """Delete the location and unassign its stations; False when unknown."""

        async def op(conn: AsyncConnection) -> bool:
            await conn.execute(
                update(stations)
                .where(stations.c.location_id == location_id)
                .values(location_id=None)
            )
            result = await conn.execute(delete(locations).where(locations.c.id == location_id))
            return result.rowcount > 0

        return await self._db.write(op)

    async def station_ids(self, location_id: str) -> list[str]:
        """Stations at the location, by identity."""
        query = (
            select(stations.c.id)
            .where(stations.c.location_id == location_id)
            .order_by(stations.c.id)
        )
        async with self._db.read() as conn:
            return list((await conn.execute(query)).scalars().all())
