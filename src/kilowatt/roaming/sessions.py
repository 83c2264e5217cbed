"""OCPI Sessions and CDRs from CSMS transactions (OCPI 2.2.1 ``mod_sessions``, ``mod_cdrs``).

Lifecycle of a session row (:mod:`.state`):

- ``REQUESTED``: START_SESSION is being sent to the charger (not shown to eMSPs). Stored
  *before* the OCPP call so that the charger's StartTransaction, which may overtake the call's
  answer, finds it. Rejected → ``DISCARDED`` (never shown).
- ``PENDING``: the charger accepted the remote start; no transaction yet.
- ``ACTIVE``: a transaction started (1.6: same station and idTag; 2.x: same ``remoteStartId``),
  or a charger-side start with a token pushed by an eMSP.
- ``COMPLETED``: the transaction ended; a CDR is created, priced by the tariff of the location.
- ``INVALID``: PENDING for longer than ``pending_timeout`` without a transaction (the driver
  never plugged in, or the charger dropped the remote start): PATCHed INVALID to the eMSP
  by :class:`PendingSweeper`; a transaction starting later is no longer linked to it.

Pushes: the first time a session is visible it is PUT (``session_created``); every later
change is a PATCH with ``last_updated`` (``session_updated``); the CDR is POSTed once.

Units: kWh = transaction energy (Wh) / 1000; charging periods from the
Energy.Active.Import.Register readings (one period between consecutive readings; periods
without energy after the last energy increase are PARKING_TIME).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from kilowatt.csms.errors import NotFound
from kilowatt.csms.model import MeterValueInfo, TransactionInfo
from kilowatt.csms.transactions import energy_wh
from kilowatt.ocpi.cdrs import build_cdr, cdr_token, charging_periods
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    AuthMethod,
    PriceComponent,
    SessionStatus,
    TariffDimensionType,
    TariffElement,
)
from kilowatt.ocpi.outbox import Push
from kilowatt.ocpi.pricing import UsagePeriod, price_session
from kilowatt.roaming.authorizer import Authorizations
from kilowatt.roaming.objects import evse_uid
from kilowatt.roaming.state import RoamingState, SessionRow
from kilowatt.roaming.view import CsmsView

__all__ = ["PendingSweeper", "SessionTracker", "usage_periods"]

log = logging.getLogger("kilowatt.roaming")

_SESSION_FIELDS = ("status", "kwh", "charging_periods", "total_cost", "end_date_time")


def usage_periods(tx: TransactionInfo, samples: list[MeterValueInfo]) -> list[UsagePeriod]:
    """Usage periods of a transaction from its register readings (Wh), chronological.

    Points: (start, meter start), every reading after the start, and (stop, meter stop) once
    completed. A period between two points carries the energy difference; zero-energy periods
    after the last energy increase are parking.
    """
    readings: dict[datetime, Decimal] = {}
    for s in samples:
        wh = energy_wh(s)
        if wh is not None and s.timestamp >= tx.started_at:
            readings[s.timestamp] = max(wh, readings.get(s.timestamp, wh))
    points = sorted(readings.items())
    start_wh = tx.meter_start_wh if tx.meter_start_wh is not None else None
    if start_wh is None and points:
        start_wh = points[0][1]
    if start_wh is None:
        return []
    points = [(tx.started_at, start_wh), *[p for p in points if p[0] > tx.started_at]]
    if tx.stopped_at is not None and tx.meter_stop_wh is not None:
        points = [p for p in points if p[0] < tx.stopped_at]
        points.append((tx.stopped_at, tx.meter_stop_wh))
    periods = []
    for (t0, e0), (t1, e1) in itertools.pairwise(points):
        if t1 > t0:
            periods.append(UsagePeriod(start=t0, end=t1, energy_wh=max(e1 - e0, Decimal(0))))
    last_charging = max((i for i, p in enumerate(periods) if p.energy_wh > 0), default=None)
    if last_charging is None:
        return periods
    return [
        p
        if i <= last_charging
        else UsagePeriod(start=p.start, end=p.end, energy_wh=p.energy_wh, parking=True)
        for i, p in enumerate(periods)
    ]


def _free_tariff(currency: str, party: Any, now: datetime) -> v230.Tariff:
    return v230.Tariff(
        country_code=party.country_code,
        party_id=party.party_id,
        id="FREE",
        currency=currency,
        elements=[
            TariffElement(
                price_components=[
                    PriceComponent(type=TariffDimensionType.FLAT, price=Decimal(0), step_size=0)
                ]
            )
        ],
        last_updated=now,
    )


class SessionTracker:
    """Keeps OCPI sessions in step with transactions and pushes them; serialised by a lock.

    Args:
        view: the CSMS as OCPI objects.
        state: the roaming tables.
        push: where sessions and CDRs are pushed to eMSPs.
        authorizations: what the OCPI authorizer accepted, per id tag (read to link a session
            started at the charger to its eMSP token).
        default_currency: currency of sessions at locations without any tariff (ISO 4217).
        pending_timeout: seconds a session may stay PENDING (remote start accepted, no
            transaction yet) before :meth:`expire_pending` makes it INVALID.
    """

    def __init__(
        self,
        view: CsmsView,
        state: RoamingState,
        push: Push,
        authorizations: Authorizations,
        *,
        clock: Callable[[], datetime],
        default_currency: str = "EUR",
        pending_timeout: float = 300.0,
    ) -> None:
        self.view = view
        self.state = state
        self.pending_timeout = pending_timeout
        self.push = push
        self.clock = clock
        self.default_currency = default_currency
        self.lock = asyncio.Lock()
        self.authorizations = authorizations

    # --- building objects -----------------------------------------------------------------------

    async def _samples(self, transaction_id: int) -> list[MeterValueInfo]:
        out: list[MeterValueInfo] = []
        while True:
            page = await self.view.services.transactions.meter_values(
                transaction_id, limit=1000, offset=len(out)
            )
            out.extend(page.items)
            if not page.items or len(out) >= page.total:
                return out

    async def usage(self, row: SessionRow) -> tuple[TransactionInfo | None, list[UsagePeriod]]:
        """The linked transaction and its usage periods."""
        if row.transaction_id is None:
            return None, []
        try:
            tx = await self.view.services.transactions.get(row.transaction_id)
        except NotFound:
            return None, []
        return tx, usage_periods(tx, await self._samples(tx.id))

    async def _tariff(self, location_id: str) -> tuple[v230.Tariff | None, str]:
        try:
            info = await self.view.services.locations.get(location_id)
        except NotFound:
            return None, "UTC"
        return await self.view.tariff(info), info.time_zone

    async def build(self, row: SessionRow) -> v230.Session:
        """The OCPI Session of a row (canonical 2.3.0 model)."""
        tx, periods = await self.usage(row)
        tariff, tz = await self._tariff(row.location_id)
        evse = tx.evse_id if tx is not None and tx.evse_id is not None else row.evse_id
        connector = (
            tx.connector_id if tx is not None and tx.connector_id is not None else row.connector_id
        )
        cost = None
        if tariff is not None and periods:
            cost = price_session(tariff, periods, time_zone=tz).total_price()
        energy = tx.energy_wh if tx is not None and tx.energy_wh is not None else Decimal(0)
        updated = row.updated_at if tx is None else max(row.updated_at, tx.updated_at)
        return v230.Session(
            country_code=self.view.party.country_code,
            party_id=self.view.party.party_id,
            id=row.id,
            start_date_time=tx.started_at if tx is not None else row.created_at,
            end_date_time=tx.stopped_at if tx is not None else None,
            kwh=(energy / 1000).quantize(Decimal("0.0001")),
            cdr_token=v230.CdrToken.model_validate(row.cdr_token),
            auth_method=AuthMethod(row.auth_method),
            authorization_reference=row.authorization_reference,
            location_id=row.location_id,
            evse_uid=evse_uid(row.station_id, evse or 1),
            connector_id=str(connector or 1),
            currency=tariff.currency if tariff is not None else self.default_currency,
            charging_periods=charging_periods(periods, tariff.id if tariff else None) or None,
            total_cost=cost,
            status=SessionStatus(row.status),
            last_updated=updated,
        )

    # --- transitions ----------------------------------------------------------------------------

    async def requested(
        self,
        *,
        token: v230.Token,
        location_id: str,
        station_id: str,
        evse_id: int | None,
        connector_id: int | None,
        id_tag: str,
        remote_start_id: int,
        authorization_reference: str | None,
    ) -> str:
        """Store a START_SESSION about to be sent; returns the session id."""
        now = self.clock()
        session_id = str(uuid.uuid4())
        async with self.lock:
            await self.state.add_session(
                {
                    "id": session_id,
                    "status": "REQUESTED",
                    "station_id": station_id,
                    "evse_id": evse_id,
                    "connector_id": connector_id,
                    "location_id": location_id,
                    "id_tag": id_tag,
                    "remote_start_id": remote_start_id,
                    "transaction_id": None,
                    "cdr_token": cdr_token(token).to_wire(),
                    "auth_method": AuthMethod.COMMAND.value,
                    "authorization_reference": authorization_reference,
                    "announced": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        return session_id

    async def answered(self, session_id: str, accepted: bool) -> None:
        """The charger answered START_SESSION: PENDING (and pushed) or DISCARDED."""
        async with self.lock:
            row = await self.state.session(session_id)
            if row is None:
                return
            if row.status == "REQUESTED":
                status = "PENDING" if accepted else "DISCARDED"
                row = await self.state.update_session(
                    session_id, status=status, updated_at=self.clock()
                )
            if row is not None and accepted:
                await self._announce(row)

    async def transaction_started(self, tx: TransactionInfo) -> None:
        """Link a new transaction to its session (or open one for an eMSP token)."""
        async with self.lock:
            if await self.state.session_of_transaction(tx.id) is not None:
                return
            row = await self.state.open_session(
                tx.station_id,
                remote_start_id=tx.remote_start_id,
                id_tag=tx.id_token,
                evse_id=tx.evse_id,
            )
            now = self.clock()
            if row is not None:
                # Still REQUESTED: the charger started before its answer arrived; the session
                # is announced now that it exists (answered() keeps it).
                row = await self.state.update_session(
                    row.id,
                    status="ACTIVE",
                    transaction_id=tx.id,
                    evse_id=tx.evse_id,
                    connector_id=tx.connector_id,
                    updated_at=now,
                )
            else:
                row = await self._from_token(tx, now)
            if row is not None:
                await self._announce(row)

    async def _from_token(self, tx: TransactionInfo, now: datetime) -> SessionRow | None:
        if tx.id_token is None or tx.id_token not in self.authorizations:
            return None
        ref = await self.view.evse_of_station(tx.station_id, tx.evse_id or 1)
        if ref is None:
            return None
        token, method, reference = self.authorizations[tx.id_token]
        return await self.state.add_session(
            {
                "id": str(uuid.uuid4()),
                "status": "ACTIVE",
                "station_id": tx.station_id,
                "evse_id": tx.evse_id,
                "connector_id": tx.connector_id,
                "location_id": ref.location_id,
                "id_tag": tx.id_token,
                "remote_start_id": tx.remote_start_id,
                "transaction_id": tx.id,
                "cdr_token": cdr_token(token).to_wire(),
                "auth_method": method.value,
                "authorization_reference": reference,
                "announced": False,
                "created_at": now,
                "updated_at": now,
            }
        )

    async def expire_pending(self) -> int:
        """PENDING sessions older than ``pending_timeout`` with no transaction → INVALID,
        PATCHed to their eMSP; returns how many."""
        async with self.lock:
            now = self.clock()
            stale = await self.state.pending_before(now - timedelta(seconds=self.pending_timeout))
            for row in stale:
                updated = await self.state.update_session(row.id, status="INVALID", updated_at=now)
                if updated is not None:
                    log.info("OCPI session %s: no transaction started, INVALID", row.id)
                    await self._announce(updated)
            return len(stale)

    async def transaction_updated(self, tx: TransactionInfo) -> None:
        """New meter values: PATCH kwh, charging periods and cost."""
        async with self.lock:
            row = await self.state.session_of_transaction(tx.id)
            if row is None or row.status != "ACTIVE":
                return
            row = await self.state.update_session(row.id, updated_at=self.clock())
            if row is not None:
                await self._announce(row)

    async def transaction_ended(self, tx: TransactionInfo) -> None:
        """COMPLETED: PATCH the session, then create and POST the priced CDR."""
        async with self.lock:
            row = await self.state.session_of_transaction(tx.id)
            if row is None or row.status == "COMPLETED":
                return
            now = self.clock()
            row = await self.state.update_session(row.id, status="COMPLETED", updated_at=now)
            if row is None:
                return
            await self._announce(row)
            await self._cdr(row, now)

    async def _announce(self, row: SessionRow) -> None:
        if row.status in ("REQUESTED", "DISCARDED"):
            return
        session = await self.build(row)
        if not row.announced:
            await self.push.session_created(session)
            await self.state.update_session(row.id, announced=True)
        else:
            await self.push.session_updated(session, _SESSION_FIELDS)

    async def _cdr(self, row: SessionRow, now: datetime) -> None:
        session = await self.build(row)
        found = await self.view.location(row.location_id)
        if found is None:
            log.warning("OCPI session %s: location %s gone, no CDR", row.id, row.location_id)
            return
        location = found[0]
        tariff, _ = await self._tariff(row.location_id)
        _, periods = await self.usage(row)
        priced = tariff or _free_tariff(session.currency, self.view.party, now)
        try:
            cdr = build_cdr(
                cdr_id=row.id,
                session=session,
                location=location,
                tariff=priced,
                periods=periods,
                end=session.end_date_time or now,
                last_updated=now,
            )
        except ValueError:
            log.exception("OCPI session %s: cannot build its CDR", row.id)
            return
        if tariff is None:
            cdr = cdr.model_copy(update={"tariffs": None})
        if await self.state.add_cdr(cdr.id, row.id, cdr.to_wire(), now):
            await self.push.cdr_created(cdr)


class PendingSweeper:
    """Runs :meth:`SessionTracker.expire_pending` every ``interval`` seconds."""

    def __init__(self, sessions: SessionTracker, interval: float) -> None:
        self.sessions = sessions
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ocpi-pending-sessions")

    async def stop(self) -> None:
        """Stop the loop (the rows stay; the next start picks them up)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sessions.expire_pending()
            except Exception:
                log.exception("OCPI: expiring PENDING sessions failed")
