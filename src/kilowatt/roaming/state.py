"""The bridge's own tables (revision ``0003_locations``): OCPI sessions linked to transactions,
the OCPI ↔ OCPP reservation id map, and the CDRs created.

All writes go through :meth:`kilowatt.storage.Database.write` (group commit), reads through
:meth:`~kilowatt.storage.Database.read`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    Table,
    and_,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.storage import Database
from kilowatt.storage import models as m

__all__ = ["RoamingState", "SessionRow"]

sessions: Table = m.OcpiSession.__table__  # type: ignore[assignment]
reservations: Table = m.OcpiReservation.__table__  # type: ignore[assignment]
cdrs: Table = m.OcpiCdr.__table__  # type: ignore[assignment]

OPEN = ("REQUESTED", "PENDING")
"""Session states waiting for their transaction."""


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A row of ``ocpi_sessions`` (see :class:`kilowatt.storage.models.OcpiSession`)."""

    id: str
    status: str
    station_id: str
    evse_id: int | None
    connector_id: int | None
    location_id: str
    id_tag: str
    remote_start_id: int | None
    transaction_id: int | None
    cdr_token: dict[str, Any]
    auth_method: str
    authorization_reference: str | None
    announced: bool
    created_at: datetime
    updated_at: datetime


def owned_by(parties: frozenset[tuple[str, str]] | None) -> ColumnElement[bool] | None:
    """SQL condition: the session's ``cdr_token`` belongs to one of ``parties`` (``None``: no
    condition; empty: nothing matches)."""
    if parties is None:
        return None
    if not parties:
        return false()
    cc = func.upper(sessions.c.cdr_token["country_code"].as_string())
    pid = func.upper(sessions.c.cdr_token["party_id"].as_string())
    return or_(*(and_(cc == c, pid == p) for c, p in sorted(parties)))


def _row(r: Any) -> SessionRow:
    return SessionRow(**{k: r[k] for k in SessionRow.__slots__})


class RoamingState:
    """SQL of the bridge tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- sessions -------------------------------------------------------------------------------

    async def add_session(self, values: dict[str, Any]) -> SessionRow:
        """Insert a session row (all columns of :class:`SessionRow`)."""

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(sessions.insert().values(**values))

        await self.db.write(op)
        found = await self.session(values["id"])
        assert found is not None
        return found

    async def update_session(self, session_id: str, **values: Any) -> SessionRow | None:
        """Change columns of a session; returns the new row."""

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(update(sessions).where(sessions.c.id == session_id).values(**values))

        await self.db.write(op)
        return await self.session(session_id)

    async def session(self, session_id: str) -> SessionRow | None:
        async with self.db.read() as conn:
            r = (
                (await conn.execute(select(sessions).where(sessions.c.id == session_id)))
                .mappings()
                .first()
            )
        return _row(r) if r is not None else None

    async def session_of_transaction(self, transaction_id: int) -> SessionRow | None:
        async with self.db.read() as conn:
            query = select(sessions).where(sessions.c.transaction_id == transaction_id)
            r = (await conn.execute(query)).mappings().first()
        return _row(r) if r is not None else None

    async def open_session(
        self,
        station_id: str,
        *,
        remote_start_id: int | None,
        id_tag: str | None,
        evse_id: int | None,
    ) -> SessionRow | None:
        """The oldest session waiting for a transaction that this start belongs to.

        2.x: the same ``remote_start_id``; otherwise (1.6, or a 2.x station that left it out)
        the same station and id tag, on the same EVSE when the session names one.
        """
        async with self.db.read() as conn:
            base = select(sessions).where(
                sessions.c.station_id == station_id,
                sessions.c.status.in_(OPEN),
                sessions.c.transaction_id.is_(None),
            )
            if remote_start_id is not None:
                query = base.where(sessions.c.remote_start_id == remote_start_id)
                r = (await conn.execute(query.order_by(sessions.c.created_at))).mappings().first()
                if r is not None:
                    return _row(r)
            if id_tag is None:
                return None
            query = base.where(sessions.c.id_tag == id_tag)
            rows = (await conn.execute(query.order_by(sessions.c.created_at))).mappings().all()
        for r in rows:
            if r["evse_id"] is None or evse_id is None or r["evse_id"] == evse_id:
                return _row(r)
        return None

    async def pending_before(self, before: datetime) -> list[SessionRow]:
        """PENDING sessions without a transaction that became PENDING before ``before``."""
        async with self.db.read() as conn:
            query = (
                select(sessions)
                .where(
                    sessions.c.status == "PENDING",
                    sessions.c.transaction_id.is_(None),
                    sessions.c.updated_at < before,
                )
                .order_by(sessions.c.updated_at)
            )
            rows = (await conn.execute(query)).mappings().all()
        return [_row(r) for r in rows]

    async def open_id_tag(self, id_tag: str) -> SessionRow | None:
        """A session not yet completed whose charger-side id tag is ``id_tag``."""
        async with self.db.read() as conn:
            query = (
                select(sessions)
                .where(
                    sessions.c.id_tag == id_tag,
                    sessions.c.status.in_((*OPEN, "ACTIVE")),
                )
                .order_by(sessions.c.created_at.desc())
            )
            r = (await conn.execute(query)).mappings().first()
        return _row(r) if r is not None else None

    async def page_sessions(
        self,
        *,
        offset: int,
        limit: int,
        date_from: datetime | None,
        date_to: datetime | None,
        parties: frozenset[tuple[str, str]] | None = None,
    ) -> tuple[list[SessionRow], int]:
        """Sessions shown to eMSPs (not REQUESTED), oldest first, ``updated_at`` in [from, to),
        of ``parties`` only (see :func:`owned_by`)."""
        query = select(sessions).where(sessions.c.status != "REQUESTED")
        owned = owned_by(parties)
        if owned is not None:
            query = query.where(owned)
        rows, total = await self._page(
            query, sessions, sessions.c.updated_at, date_from, date_to, offset, limit
        )
        return [_row(r) for r in rows], total

    async def _page(
        self,
        query: Select[Any],
        table: Table,
        changed: ColumnElement[datetime],
        date_from: datetime | None,
        date_to: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[RowMapping], int]:
        """One page of ``query`` over ``table`` with ``changed`` in [from, to), oldest created
        first, and the total count of the filtered query."""
        if date_from is not None:
            query = query.where(changed >= date_from)
        if date_to is not None:
            query = query.where(changed < date_to)
        async with self.db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(query.subquery()))
            rows = (
                (
                    await conn.execute(
                        query.order_by(table.c.created_at, table.c.id).offset(offset).limit(limit)
                    )
                )
                .mappings()
                .all()
            )
        return rows, int(total or 0)

    # --- CDRs -----------------------------------------------------------------------------------

    async def add_cdr(
        self, cdr_id: str, session_id: str, data: dict[str, Any], now: datetime
    ) -> bool:
        """Store a CDR once per session; False when the session already has one."""

        async def op(conn: AsyncConnection) -> bool:
            existing = await conn.scalar(select(cdrs.c.id).where(cdrs.c.session_id == session_id))
            if existing is not None:
                return False
            await conn.execute(
                cdrs.insert().values(
                    id=cdr_id, session_id=session_id, data=data, created_at=now, last_updated=now
                )
            )
            return True

        return await self.db.write(op)

    async def page_cdrs(
        self,
        *,
        offset: int,
        limit: int,
        date_from: datetime | None,
        date_to: datetime | None,
        parties: frozenset[tuple[str, str]] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """CDR JSON (canonical model), oldest first, ``last_updated`` in [from, to), of the
        sessions of ``parties`` only."""
        query = select(cdrs)
        owned = owned_by(parties)
        if owned is not None:
            query = query.where(
                cdrs.c.session_id.in_(select(sessions.c.id).where(owned).scalar_subquery())
            )
        rows, total = await self._page(
            query, cdrs, cdrs.c.last_updated, date_from, date_to, offset, limit
        )
        return [dict(r["data"]) for r in rows], total

    # --- reservations ---------------------------------------------------------------------------

    async def reservation_id(
        self,
        country_code: str,
        party_id: str,
        reservation_id: str,
        *,
        station_id: str,
        evse_id: int | None,
        expiry: datetime,
        now: datetime,
    ) -> int:
        """The OCPP (integer) id for an OCPI reservation; a RESERVE_NOW with a known id
        replaces that reservation (OCPI ``mod_commands`` §ReserveNow) and keeps its number."""
        key = (
            reservations.c.country_code == country_code,
            reservations.c.party_id == party_id,
            reservations.c.reservation_id == reservation_id,
        )

        async def op(conn: AsyncConnection) -> int:
            found = await conn.scalar(select(reservations.c.id).where(*key))
            values = {"station_id": station_id, "evse_id": evse_id, "expiry": expiry}
            if found is not None:
                await conn.execute(update(reservations).where(*key).values(**values))
                return int(found)
            result = await conn.execute(
                reservations.insert()
                .values(
                    country_code=country_code,
                    party_id=party_id,
                    reservation_id=reservation_id,
                    created_at=now,
                    **values,
                )
                .returning(reservations.c.id)
            )
            return int(result.scalar_one())

        return await self.db.write(op)

    async def find_reservation(
        self, country_codes: list[tuple[str, str]], reservation_id: str
    ) -> tuple[int, str, int | None] | None:
        """``(ocpp id, station, evse)`` of an OCPI reservation of one of the parties."""
        async with self.db.read() as conn:
            for cc, pid in country_codes:
                query = select(reservations).where(
                    reservations.c.country_code == cc,
                    reservations.c.party_id == pid,
                    reservations.c.reservation_id == reservation_id,
                )
                r = (await conn.execute(query)).mappings().first()
                if r is not None:
                    return int(r["id"]), str(r["station_id"]), r["evse_id"]
        return None
