"""Connection-level repositories of the aggregates not yet behind a protocol (journal,
locations, tariffs, EVSE/connector metadata); stations, id tokens and transactions live in
:mod:`kilowatt.storage.sql` and :mod:`kilowatt.storage.memory`.

Every method takes the :class:`~sqlalchemy.ext.asyncio.AsyncConnection` to run on as its first
argument and never commits: the caller (a service) decides the unit of work, either a read
(``async with db.read() as conn``) or a group-committed write (``await db.write(op)``, where
``op`` calls several repository methods on the connection it receives). Reads return
``RowMapping`` objects keyed by column name; hot-path writes are Core multi-row INSERTs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "ConnectionRepositories",
    "JournalRepository",
    "LocationRepository",
    "StationMetadataRepository",
    "TariffRepository",
]

from kilowatt.storage.tables import (
    connector_metadata,
    evse_metadata,
    journal,
    locations,
    stations,
    tariffs,
)


def _insert(conn: AsyncConnection, table: Table) -> sqlite.Insert | postgresql.Insert:
    # Both dialects spell upserts the same way (on_conflict_do_nothing/do_update, excluded).
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def _page(
    conn: AsyncConnection, query: Select[Any], limit: int, offset: int
) -> tuple[list[RowMapping], int]:
    total = await conn.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await conn.execute(query.limit(limit).offset(offset))).mappings().all()
    return list(rows), int(total or 0)


class JournalRepository:
    """The message journal."""

    async def add(self, conn: AsyncConnection, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            await conn.execute(journal.insert(), rows)  # executemany: compiled once, cached

    async def delete_station(self, conn: AsyncConnection, station_id: str) -> int:
        """Delete every frame of a station; return how many."""
        result = await conn.execute(delete(journal).where(journal.c.station_id == station_id))
        return int(result.rowcount)

    async def page(
        self,
        conn: AsyncConnection,
        station_id: str,
        *,
        limit: int,
        offset: int,
        action: str | None = None,
    ) -> tuple[list[RowMapping], int]:
        query = select(journal).where(journal.c.station_id == station_id)
        if action is not None:
            query = query.where(journal.c.action == action)
        return await _page(conn, query.order_by(journal.c.id.desc()), limit, offset)

    async def prune(
        self, conn: AsyncConnection, *, before: datetime | None, keep: int | None
    ) -> int:
        """Delete frames older than ``before`` and all but the newest ``keep``; return count."""
        removed = 0
        if before is not None:
            result = await conn.execute(delete(journal).where(journal.c.at < before))
            removed += result.rowcount
        if keep is not None:
            cutoff = await conn.scalar(
                select(journal.c.id).order_by(journal.c.id.desc()).offset(keep).limit(1)
            )
            if cutoff is not None:
                result = await conn.execute(delete(journal).where(journal.c.id <= cutoff))
                removed += result.rowcount
        return removed


class LocationRepository:
    """Locations (sites) and which stations stand there."""

    async def get(self, conn: AsyncConnection, location_id: str) -> RowMapping | None:
        query = select(locations).where(locations.c.id == location_id)
        return (await conn.execute(query)).mappings().first()

    async def page(
        self, conn: AsyncConnection, *, limit: int, offset: int
    ) -> tuple[list[RowMapping], int]:
        """Oldest first (stable order for OCPI pagination)."""
        query = select(locations).order_by(locations.c.created_at, locations.c.id)
        return await _page(conn, query, limit, offset)

    async def insert(self, conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
        """Insert a location; False when the id exists."""
        stmt = (
            _insert(conn, locations)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(locations.c.id)
        )
        return (await conn.execute(stmt)).first() is not None

    async def update(
        self, conn: AsyncConnection, location_id: str, values: Mapping[str, Any]
    ) -> bool:
        stmt = update(locations).where(locations.c.id == location_id).values(**values)
        return (await conn.execute(stmt)).rowcount > 0

    async def delete(self, conn: AsyncConnection, location_id: str) -> bool:
        """Delete a location; its stations keep running without one."""
        await conn.execute(
            update(stations).where(stations.c.location_id == location_id).values(location_id=None)
        )
        result = await conn.execute(delete(locations).where(locations.c.id == location_id))
        return result.rowcount > 0

    async def station_ids(self, conn: AsyncConnection, location_id: str) -> list[str]:
        """Stations assigned to the location, by identity."""
        query = (
            select(stations.c.id)
            .where(stations.c.location_id == location_id)
            .order_by(stations.c.id)
        )
        return list((await conn.execute(query)).scalars().all())

    async def clear_tariff(self, conn: AsyncConnection, tariff_id: str) -> list[str]:
        """Remove a deleted tariff from the locations using it; returns their ids."""
        query = select(locations.c.id).where(locations.c.tariff_id == tariff_id)
        ids = list((await conn.execute(query)).scalars().all())
        if ids:
            await conn.execute(
                update(locations).where(locations.c.id.in_(ids)).values(tariff_id=None)
            )
        return ids


class TariffRepository:
    """Tariffs in the OCPI shape."""

    async def get(self, conn: AsyncConnection, tariff_id: str) -> RowMapping | None:
        query = select(tariffs).where(tariffs.c.id == tariff_id)
        return (await conn.execute(query)).mappings().first()

    async def default(self, conn: AsyncConnection) -> RowMapping | None:
        query = select(tariffs).where(tariffs.c.is_default.is_(True)).order_by(tariffs.c.id)
        return (await conn.execute(query)).mappings().first()

    async def page(
        self,
        conn: AsyncConnection,
        *,
        limit: int,
        offset: int,
        updated_from: datetime | None = None,
        updated_to: datetime | None = None,
    ) -> tuple[list[RowMapping], int]:
        """Oldest first; ``updated_from`` inclusive, ``updated_to`` exclusive."""
        query = select(tariffs).order_by(tariffs.c.created_at, tariffs.c.id)
        if updated_from is not None:
            query = query.where(tariffs.c.updated_at >= updated_from)
        if updated_to is not None:
            query = query.where(tariffs.c.updated_at < updated_to)
        return await _page(conn, query, limit, offset)

    async def insert(self, conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
        stmt = (
            _insert(conn, tariffs)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(tariffs.c.id)
        )
        return (await conn.execute(stmt)).first() is not None

    async def update(
        self, conn: AsyncConnection, tariff_id: str, values: Mapping[str, Any]
    ) -> bool:
        stmt = update(tariffs).where(tariffs.c.id == tariff_id).values(**values)
        return (await conn.execute(stmt)).rowcount > 0

    async def clear_default(self, conn: AsyncConnection, *, keep: str) -> None:
        """Make ``keep`` the only default tariff."""
        stmt = (
            update(tariffs)
            .where(tariffs.c.is_default.is_(True), tariffs.c.id != keep)
            .values(is_default=False)
        )
        await conn.execute(stmt)

    async def delete(self, conn: AsyncConnection, tariff_id: str) -> bool:
        result = await conn.execute(delete(tariffs).where(tariffs.c.id == tariff_id))
        return result.rowcount > 0


class StationMetadataRepository:
    """Operator-set EVSE and connector data (what OCPP does not report)."""

    async def evses(self, conn: AsyncConnection, station_ids: Sequence[str]) -> list[RowMapping]:
        if not station_ids:
            return []
        query = (
            select(evse_metadata)
            .where(evse_metadata.c.station_id.in_(station_ids))
            .order_by(evse_metadata.c.station_id, evse_metadata.c.evse_id)
        )
        return list((await conn.execute(query)).mappings().all())

    async def connectors(
        self, conn: AsyncConnection, station_ids: Sequence[str]
    ) -> list[RowMapping]:
        if not station_ids:
            return []
        query = (
            select(connector_metadata)
            .where(connector_metadata.c.station_id.in_(station_ids))
            .order_by(
                connector_metadata.c.station_id,
                connector_metadata.c.evse_id,
                connector_metadata.c.connector_id,
            )
        )
        return list((await conn.execute(query)).mappings().all())

    async def put_evse(self, conn: AsyncConnection, values: Mapping[str, Any]) -> None:
        """Insert or update the given columns of an EVSE's metadata."""
        stmt = _insert(conn, evse_metadata).values(**values)
        changes = {k: v for k, v in values.items() if k not in ("station_id", "evse_id")}
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["station_id", "evse_id"], set_=changes)
        )

    async def put_connector(self, conn: AsyncConnection, values: Mapping[str, Any]) -> None:
        """Insert or update the given columns of a connector's metadata."""
        stmt = _insert(conn, connector_metadata).values(**values)
        key = ("station_id", "evse_id", "connector_id")
        changes = {k: v for k, v in values.items() if k not in key}
        await conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=changes))


class ConnectionRepositories:
    """The repositories not yet behind a protocol of :mod:`kilowatt.csms.repositories`: their
    methods take the connection to run on (they hold no state)."""

    def __init__(self) -> None:
        self.journal = JournalRepository()
        self.locations = LocationRepository()
        self.tariffs = TariffRepository()
        self.metadata = StationMetadataRepository()
