"""The SQL of tariffs (SQLite, PostgreSQL).

Implements :class:`kilowatt.csms.repositories.TariffRepository`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.csms.repositories import Row
from kilowatt.storage.database import Database
from kilowatt.storage.sql.common import insert, page
from kilowatt.storage.tables import locations, tariffs

__all__ = ["SqlTariffRepository"]


async def _get(conn: AsyncConnection, tariff_id: str) -> Row | None:
    query = select(tariffs).where(tariffs.c.id == tariff_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def _clear_default(conn: AsyncConnection, *, keep: str) -> None:
    stmt = (
        update(tariffs)
        .where(tariffs.c.is_default.is_(True), tariffs.c.id != keep)
        .values(is_default=False)
    )
    await conn.execute(stmt)


class SqlTariffRepository:
    """Tariffs in the database of ``db`` (see the protocol
    :class:`~kilowatt.csms.repositories.TariffRepository`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, tariff_id: str) -> Row | None:
        """The tariff, or None."""
        async with self._db.read() as conn:
            return await _get(conn, tariff_id)

    async def default(self) -> Row | None:
        """The default tariff, or None."""
        query = select(tariffs).where(tariffs.c.is_default.is_(True)).order_by(tariffs.c.id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return dict(row) if row is not None else None

    async def page(
        self,
        *,
        limit: int,
        offset: int,
        updated_from: datetime | None = None,
        updated_to: datetime | None = None,
    ) -> tuple[list[Row], int]:
        """Oldest first; ``updated_from`` inclusive, ``updated_to`` exclusive."""
        query = select(tariffs).order_by(tariffs.c.created_at, tariffs.c.id)
        if updated_from is not None:
            query = query.where(tariffs.c.updated_at >= updated_from)
        if updated_to is not None:
            query = query.where(tariffs.c.updated_at < updated_to)
        async with self._db.read() as conn:
            return await page(conn, query, limit, offset)

    async def insert(self, values: Row) -> bool:
        """Insert (a default one becomes the only default); False when the id exists."""

        async def op(conn: AsyncConnection) -> bool:
            stmt = (
                insert(conn, tariffs)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(tariffs.c.id)
            )
            if (await conn.execute(stmt)).first() is None:
                return False
            if values.get("is_default"):
                await _clear_default(conn, keep=values["id"])
            return True

        return await self._db.write(op)

    async def update(self, tariff_id: str, values: Row) -> bool:
        """Set columns (``is_default`` True clears it elsewhere); False when unknown."""
        stmt = update(tariffs).where(tariffs.c.id == tariff_id).values(**values)

        async def op(conn: AsyncConnection) -> bool:
            if (await conn.execute(stmt)).rowcount == 0:
                return False
            if values.get("is_default"):
                await _clear_default(conn, keep=tariff_id)
            return True

        return await self._db.write(op)

    async def delete(self, tariff_id: str) -> list[str] | None:
        """Delete the tariff and clear it from its locations; their ids (None: unknown)."""

        async def op(conn: AsyncConnection) -> list[str] | None:
            if await _get(conn, tariff_id) is None:
                return None
            query = select(locations.c.id).where(locations.c.tariff_id == tariff_id)
            ids = list((await conn.execute(query)).scalars().all())
            if ids:
                await conn.execute(
                    update(locations).where(locations.c.id.in_(ids)).values(tariff_id=None)
                )
            await conn.execute(delete(tariffs).where(tariffs.c.id == tariff_id))
            return ids

        return await self._db.write(op)
