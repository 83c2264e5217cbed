"""The SQL of operator-set EVSE and connector metadata (SQLite, PostgreSQL).

Implements :class:`kilowatt.csms.repositories.StationMetadataRepository`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.csms.repositories import Row
from kilowatt.storage.database import Database
from kilowatt.storage.sql.common import as_rows, insert
from kilowatt.storage.tables import connector_metadata, evse_metadata

__all__ = ["SqlStationMetadataRepository"]


class SqlStationMetadataRepository:
    """EVSE and connector metadata in the database of ``db`` (see the protocol
    :class:`~kilowatt.csms.repositories.StationMetadataRepository`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def evses(self, station_ids: Sequence[str]) -> list[Row]:
        """EVSE metadata by station and EVSE."""
        if not station_ids:
            return []
        query = (
            select(evse_metadata)
            .where(evse_metadata.c.station_id.in_(station_ids))
            .order_by(evse_metadata.c.station_id, evse_metadata.c.evse_id)
        )
        async with self._db.read() as conn:
            return as_rows((await conn.execute(query)).mappings().all())

    async def connectors(self, station_ids: Sequence[str]) -> list[Row]:
        """Connector metadata by station, EVSE and connector."""
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
        async with self._db.read() as conn:
            return as_rows((await conn.execute(query)).mappings().all())

    async def put_evse(self, values: Row) -> None:
        """Insert, or set the given columns of, an EVSE's metadata."""
        await self._put(evse_metadata, ("station_id", "evse_id"), values)

    async def put_connector(self, values: Row) -> None:
        """Insert, or set the given columns of, a connector's metadata."""
        await self._put(connector_metadata, ("station_id", "evse_id", "connector_id"), values)

    async def _put(self, table: Table, key: tuple[str, ...], values: Row) -> None:
        changes = {k: v for k, v in values.items() if k not in key}

        async def op(conn: AsyncConnection) -> None:
            stmt = insert(conn, table).values(**values)
            await conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=changes))

        await self._db.write(op)
