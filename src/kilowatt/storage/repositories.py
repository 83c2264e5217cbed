"""Repositories: the SQL of each aggregate, one class per aggregate.

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

from sqlalchemy import Select, Table, and_, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.storage import models

__all__ = [
    "DeviceModelRepository",
    "IdTokenRepository",
    "JournalRepository",
    "LocationRepository",
    "MeterValueRepository",
    "Repositories",
    "StationEventRepository",
    "StationMetadataRepository",
    "StationRepository",
    "TariffRepository",
    "TransactionRepository",
]

stations: Table = models.Station.__table__  # type: ignore[assignment]
evses: Table = models.Evse.__table__  # type: ignore[assignment]
connectors: Table = models.Connector.__table__  # type: ignore[assignment]
id_tokens: Table = models.IdToken.__table__  # type: ignore[assignment]
transactions: Table = models.Transaction.__table__  # type: ignore[assignment]
transaction_events: Table = models.TransactionEvent.__table__  # type: ignore[assignment]
meter_values: Table = models.MeterValue.__table__  # type: ignore[assignment]
journal: Table = models.JournalEntry.__table__  # type: ignore[assignment]
station_events: Table = models.StationEvent.__table__  # type: ignore[assignment]
device_variables: Table = models.DeviceVariable.__table__  # type: ignore[assignment]
configuration_keys: Table = models.ConfigurationKey.__table__  # type: ignore[assignment]
locations: Table = models.Location.__table__  # type: ignore[assignment]
tariffs: Table = models.Tariff.__table__  # type: ignore[assignment]
evse_metadata: Table = models.EvseMetadata.__table__  # type: ignore[assignment]
connector_metadata: Table = models.ConnectorMetadata.__table__  # type: ignore[assignment]


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


class StationRepository:
    """Stations, their EVSEs and connectors, and 1.6 configuration keys."""

    async def get(self, conn: AsyncConnection, station_id: str) -> RowMapping | None:
        query = select(stations).where(stations.c.id == station_id)
        return (await conn.execute(query)).mappings().first()

    async def page(
        self, conn: AsyncConnection, *, limit: int, offset: int, connected: bool | None = None
    ) -> tuple[list[RowMapping], int]:
        query = select(stations).order_by(stations.c.id)
        if connected is not None:
            query = query.where(stations.c.connected == connected)
        return await _page(conn, query, limit, offset)

    async def connectors(
        self, conn: AsyncConnection, station_ids: Sequence[str]
    ) -> list[RowMapping]:
        """EVSEs (with or without connectors) of the stations, ordered by EVSE and connector.

        Rows have ``station_id``, ``evse_id`` and the connector columns (NULL when the EVSE
        has no connector row).
        """
        if not station_ids:
            return []
        query = (
            select(
                evses.c.station_id,
                evses.c.evse_id,
                connectors.c.connector_id,
                connectors.c.status,
                connectors.c.error_code,
                connectors.c.info,
                connectors.c.vendor_error_code,
                connectors.c.status_at,
            )
            .select_from(
                evses.outerjoin(
                    connectors,
                    and_(
                        connectors.c.station_id == evses.c.station_id,
                        connectors.c.evse_id == evses.c.evse_id,
                    ),
                )
            )
            .where(evses.c.station_id.in_(station_ids))
            .order_by(evses.c.station_id, evses.c.evse_id, connectors.c.connector_id)
        )
        return list((await conn.execute(query)).mappings().all())

    async def insert(self, conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
        """Insert a station; False when the identity already exists (nothing changed)."""
        stmt = (
            _insert(conn, stations)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(stations.c.id)
        )
        return (await conn.execute(stmt)).first() is not None

    async def update(
        self, conn: AsyncConnection, station_id: str, values: Mapping[str, Any]
    ) -> bool:
        """Update columns of a station; False when it does not exist."""
        stmt = update(stations).where(stations.c.id == station_id).values(**values)
        return (await conn.execute(stmt)).rowcount > 0

    async def delete(self, conn: AsyncConnection, station_id: str) -> bool:
        """Delete a station with everything that belongs to it (ON DELETE CASCADE; meter
        values through their transactions, and those outside one here: ``meter_values`` has
        no foreign key on the station, see :class:`~kilowatt.storage.models.MeterValue`).
        Its journal frames are the journal's to delete
        (:meth:`~kilowatt.csms.journal.JournalService.forget`): they may live in another file."""
        await conn.execute(
            delete(meter_values).where(
                meter_values.c.station_id == station_id, meter_values.c.transaction_id.is_(None)
            )
        )
        await conn.execute(delete(connectors).where(connectors.c.station_id == station_id))
        result = await conn.execute(delete(stations).where(stations.c.id == station_id))
        return result.rowcount > 0

    async def upsert_connector_status(
        self,
        conn: AsyncConnection,
        station_id: str,
        evse_id: int,
        connector_id: int | None,
        values: Mapping[str, Any],
        now: datetime,
    ) -> None:
        """Create the EVSE (and connector) if needed and store the latest status.

        ``connector_id`` None records the EVSE alone (no connector row).
        """
        stmt = _insert(conn, evses).values(station_id=station_id, evse_id=evse_id, updated_at=now)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["station_id", "evse_id"], set_={"updated_at": now}
            )
        )
        if connector_id is None:
            return
        row = {"station_id": station_id, "evse_id": evse_id, "connector_id": connector_id}
        stmt2 = _insert(conn, connectors).values(**row, **values)
        await conn.execute(
            stmt2.on_conflict_do_update(
                index_elements=["station_id", "evse_id", "connector_id"], set_=dict(values)
            )
        )

    async def upsert_configuration(
        self, conn: AsyncConnection, station_id: str, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Insert or replace 1.6 configuration keys (rows: key, value, readonly, updated_at)."""
        if not rows:
            return
        stmt = _insert(conn, configuration_keys).values(
            [{"station_id": station_id, **row} for row in rows]
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["station_id", "key"],
                set_={
                    "value": stmt.excluded.value,
                    "readonly": stmt.excluded.readonly,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
        )

    async def configuration(self, conn: AsyncConnection, station_id: str) -> list[RowMapping]:
        query = (
            select(configuration_keys)
            .where(configuration_keys.c.station_id == station_id)
            .order_by(configuration_keys.c.key)
        )
        return list((await conn.execute(query)).mappings().all())


class DeviceModelRepository:
    """2.x device-model variables per station."""

    KEY = (
        "station_id",
        "component",
        "component_instance",
        "evse_id",
        "connector_id",
        "variable",
        "variable_instance",
        "attribute_type",
    )

    async def upsert(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert or update variable attributes (rows hold every column of the table).

        ``value`` and ``updated_at`` are replaced; ``mutability``, ``data_type`` and ``unit``
        keep their stored value when the new row has None, because only NotifyReport states
        them (OCPP 2.0.1 B07/B08) while NotifyEvent and Get/SetVariables answers do not.
        """
        if not rows:
            return
        stmt = _insert(conn, device_variables).values(list(rows))
        set_: dict[str, Any] = {
            "value": stmt.excluded.value,
            "updated_at": stmt.excluded.updated_at,
        }
        for name in ("mutability", "data_type", "unit"):
            set_[name] = func.coalesce(stmt.excluded[name], device_variables.c[name])
        await conn.execute(stmt.on_conflict_do_update(index_elements=list(self.KEY), set_=set_))

    async def for_station(
        self, conn: AsyncConnection, station_id: str, *, component: str | None = None
    ) -> list[RowMapping]:
        query = select(device_variables).where(device_variables.c.station_id == station_id)
        if component is not None:
            query = query.where(device_variables.c.component == component)
        query = query.order_by(*(device_variables.c[name] for name in self.KEY))
        return list((await conn.execute(query)).mappings().all())


class StationEventRepository:
    """Notifications stored as kind + JSON."""

    async def add(self, conn: AsyncConnection, values: Mapping[str, Any]) -> int:
        stmt = station_events.insert().values(**values).returning(station_events.c.id)
        return int((await conn.execute(stmt)).scalar_one())

    async def page(
        self,
        conn: AsyncConnection,
        station_id: str,
        *,
        kind: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[RowMapping], int]:
        query = select(station_events).where(station_events.c.station_id == station_id)
        if kind is not None:
            query = query.where(station_events.c.kind == kind)
        return await _page(conn, query.order_by(station_events.c.id.desc()), limit, offset)


class IdTokenRepository:
    """Id tokens and the count of their active transactions."""

    async def get(self, conn: AsyncConnection, id_token: str) -> RowMapping | None:
        query = select(id_tokens).where(id_tokens.c.id_token == id_token)
        return (await conn.execute(query)).mappings().first()

    async def page(
        self, conn: AsyncConnection, *, limit: int, offset: int
    ) -> tuple[list[RowMapping], int]:
        return await _page(conn, select(id_tokens).order_by(id_tokens.c.id_token), limit, offset)

    async def put(self, conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
        """Insert or replace a token (``created_at`` kept on replace); True when created."""
        existed = await self.get(conn, values["id_token"]) is not None
        stmt = _insert(conn, id_tokens).values(**values)
        changes = {k: v for k, v in values.items() if k not in {"id_token", "created_at"}}
        await conn.execute(stmt.on_conflict_do_update(index_elements=["id_token"], set_=changes))
        return not existed

    async def delete(self, conn: AsyncConnection, id_token: str) -> bool:
        result = await conn.execute(delete(id_tokens).where(id_tokens.c.id_token == id_token))
        return result.rowcount > 0

    async def active_transactions(
        self, conn: AsyncConnection, id_token: str, *, exclude_transaction: int | None = None
    ) -> int:
        query = (
            select(func.count())
            .select_from(transactions)
            .where(transactions.c.id_token == id_token, transactions.c.status == "active")
        )
        if exclude_transaction is not None:
            query = query.where(transactions.c.id != exclude_transaction)
        return int(await conn.scalar(query) or 0)


class TransactionRepository:
    """Transactions and their processed 2.x TransactionEvent sequence numbers."""

    async def insert_or_get(
        self, conn: AsyncConnection, values: Mapping[str, Any]
    ) -> tuple[RowMapping, bool]:
        """Insert unless a transaction with the same (station_id, dedup_key) exists.

        Returns the stored row and whether it was created now (False on a replay).
        """
        stmt = (
            _insert(conn, transactions)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["station_id", "dedup_key"])
            .returning(transactions.c.id)
        )
        created = (await conn.execute(stmt)).first() is not None
        query = select(transactions).where(
            transactions.c.station_id == values["station_id"],
            transactions.c.dedup_key == values["dedup_key"],
        )
        return (await conn.execute(query)).mappings().one(), created

    async def get(self, conn: AsyncConnection, transaction_id: int) -> RowMapping | None:
        query = select(transactions).where(transactions.c.id == transaction_id)
        return (await conn.execute(query)).mappings().first()

    async def get_by_dedup_key(
        self, conn: AsyncConnection, station_id: str, dedup_key: str
    ) -> RowMapping | None:
        query = select(transactions).where(
            transactions.c.station_id == station_id, transactions.c.dedup_key == dedup_key
        )
        return (await conn.execute(query)).mappings().first()

    async def page(
        self,
        conn: AsyncConnection,
        *,
        station_id: str | None,
        status: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[RowMapping], int]:
        query = select(transactions)
        if station_id is not None:
            query = query.where(transactions.c.station_id == station_id)
        if status is not None:
            query = query.where(transactions.c.status == status)
        return await _page(conn, query.order_by(transactions.c.id.desc()), limit, offset)

    async def active_on(
        self, conn: AsyncConnection, station_id: str, evse_id: int | None
    ) -> list[RowMapping]:
        query = select(transactions).where(
            transactions.c.station_id == station_id, transactions.c.status == "active"
        )
        if evse_id is not None:
            query = query.where(transactions.c.evse_id == evse_id)
        return list((await conn.execute(query.order_by(transactions.c.id))).mappings().all())

    async def update(
        self, conn: AsyncConnection, transaction_id: int, values: Mapping[str, Any]
    ) -> None:
        stmt = update(transactions).where(transactions.c.id == transaction_id).values(**values)
        await conn.execute(stmt)

    async def add_event(self, conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
        """Record a processed (transaction_id, seq_no); False when it was already recorded."""
        stmt = (
            _insert(conn, transaction_events)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["transaction_id", "seq_no"])
            .returning(transaction_events.c.seq_no)
        )
        return (await conn.execute(stmt)).first() is not None


class MeterValueRepository:
    """Sampled meter values; inserts skip rows whose unique key already exists."""

    async def add(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert sampled values, ignoring replays; return how many were new."""
        if not rows:
            return 0
        # executemany form (one cached statement, "insertmanyvalues" batches the rows): a
        # multi-row .values(rows) is compiled anew on every call.
        stmt = _insert(conn, meter_values).on_conflict_do_nothing().returning(meter_values.c.id)
        return len((await conn.execute(stmt, list(rows))).all())

    async def page(
        self, conn: AsyncConnection, transaction_id: int, *, limit: int, offset: int
    ) -> tuple[list[RowMapping], int]:
        query = (
            select(meter_values)
            .where(meter_values.c.transaction_id == transaction_id)
            .order_by(meter_values.c.timestamp, meter_values.c.id)
        )
        return await _page(conn, query, limit, offset)


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


class Repositories:
    """All repositories, for services to share (they hold no state)."""

    def __init__(self) -> None:
        self.stations = StationRepository()
        self.device_model = DeviceModelRepository()
        self.station_events = StationEventRepository()
        self.id_tokens = IdTokenRepository()
        self.transactions = TransactionRepository()
        self.meter_values = MeterValueRepository()
        self.journal = JournalRepository()
        self.locations = LocationRepository()
        self.tariffs = TariffRepository()
        self.metadata = StationMetadataRepository()
