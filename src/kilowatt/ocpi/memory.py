"""In-memory reference implementations of the OCPI protocols (tests, examples, demos).

:class:`InMemoryBackend` is a :class:`~kilowatt.ocpi.protocols.CpoBackend` over dicts, with
the session lifecycle helpers a CSMS would drive from OCPP events (start → ACTIVE, meter
values → kWh, stop → COMPLETED + priced CDR), each returning the object so the caller can
hand it to :class:`~kilowatt.ocpi.outbox.Push`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from kilowatt.ocpi.cdrs import build_cdr, cdr_token, charging_periods
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import AuthMethod, SessionStatus, Status
from kilowatt.ocpi.pagination import ListQuery, Page, paginate
from kilowatt.ocpi.pricing import UsagePeriod, price_session
from kilowatt.ocpi.settings import utcnow


class InMemoryBackend:
    """Dict-backed CpoBackend. Insertion order is the stable list order (oldest first)."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self.locations: dict[str, v230.Location] = {}
        self.sessions: dict[str, v230.Session] = {}
        self.cdrs: dict[str, v230.CDR] = {}
        self.tariffs: dict[str, v230.Tariff] = {}
        self.usage: dict[str, list[UsagePeriod]] = {}

    # -------------------------------------------------------------- CpoBackend

    async def list_locations(self, query: ListQuery) -> Page[v230.Location]:
        """Published locations matching the date filter."""
        items = [
            loc
            for loc in self.locations.values()
            if loc.publish and query.matches(loc.last_updated)
        ]
        return paginate(items, query)

    async def get_location(self, location_id: str) -> v230.Location | None:
        """One location."""
        return self.locations.get(location_id)

    async def list_sessions(self, query: ListQuery) -> Page[v230.Session]:
        """Sessions of the requesting parties matching the date filter."""
        items = [
            s
            for s in self.sessions.values()
            if query.matches(s.last_updated)
            and query.visible(s.cdr_token.country_code, s.cdr_token.party_id)
        ]
        return paginate(items, query)

    async def get_session(
        self, session_id: str, parties: frozenset[tuple[str, str]] | None = None
    ) -> v230.Session | None:
        """One session (``None`` when it belongs to none of ``parties``)."""
        session = self.sessions.get(session_id)
        if session is None or not ListQuery(parties=parties).visible(
            session.cdr_token.country_code, session.cdr_token.party_id
        ):
            return None
        return session

    async def list_cdrs(self, query: ListQuery) -> Page[v230.CDR]:
        """CDRs of the requesting parties matching the date filter."""
        items = [
            c
            for c in self.cdrs.values()
            if query.matches(c.last_updated)
            and query.visible(c.cdr_token.country_code, c.cdr_token.party_id)
        ]
        return paginate(items, query)

    async def list_tariffs(self, query: ListQuery) -> Page[v230.Tariff]:
        """Tariffs matching the date filter."""
        return paginate([t for t in self.tariffs.values() if query.matches(t.last_updated)], query)

    async def get_tariff(self, tariff_id: str) -> v230.Tariff | None:
        """One tariff."""
        return self.tariffs.get(tariff_id)

    # -------------------------------------------------------------- CSMS-side helpers

    def set_evse_status(self, location_id: str, evse_uid: str, status: Status) -> v230.EVSE:
        """Change an EVSE's status (and ``last_updated`` of EVSE and location)."""
        now = self.clock()
        loc = self.locations[location_id]
        evses = []
        changed: v230.EVSE | None = None
        for e in loc.evses or []:
            if e.uid == evse_uid:
                e = e.model_copy(update={"status": status, "last_updated": now})
                changed = e
            evses.append(e)
        if changed is None:
            raise KeyError(evse_uid)
        self.locations[location_id] = loc.model_copy(update={"evses": evses, "last_updated": now})
        return changed

    def start_session(
        self,
        session_id: str,
        token: v230.Token,
        location_id: str,
        evse_uid: str,
        connector_id: str,
        *,
        currency: str = "EUR",
        auth_method: AuthMethod = AuthMethod.COMMAND,
        authorization_reference: str | None = None,
        status: SessionStatus = SessionStatus.PENDING,
    ) -> v230.Session:
        """Create a session (as the CSMS does when the transaction starts)."""
        now = self.clock()
        loc = self.locations[location_id]
        session = v230.Session(
            country_code=loc.country_code,
            party_id=loc.party_id,
            id=session_id,
            start_date_time=now,
            kwh=Decimal(0),
            cdr_token=cdr_token(token),
            auth_method=auth_method,
            authorization_reference=authorization_reference,
            location_id=location_id,
            evse_uid=evse_uid,
            connector_id=connector_id,
            currency=currency,
            status=status,
            last_updated=now,
        )
        self.sessions[session_id] = session
        self.usage[session_id] = []
        return session

    def _tariff_for(self, session: v230.Session) -> v230.Tariff | None:
        loc = self.locations[session.location_id]
        for e in loc.evses or []:
            for c in e.connectors:
                if e.uid == session.evse_uid and c.id == session.connector_id and c.tariff_ids:
                    return self.tariffs.get(c.tariff_ids[0])
        return None

    def add_usage(self, session_id: str, period: UsagePeriod) -> v230.Session:
        """Record a usage period (meter values): session becomes ACTIVE, kWh and cost grow."""
        self.usage[session_id].append(period)
        session = self.sessions[session_id]
        periods = self.usage[session_id]
        tariff = self._tariff_for(session)
        loc = self.locations[session.location_id]
        cost = (
            price_session(tariff, periods, time_zone=loc.time_zone).total_price()
            if tariff
            else None
        )
        session = session.model_copy(
            update={
                "status": SessionStatus.ACTIVE,
                "kwh": sum((p.energy_wh for p in periods), Decimal(0)) / 1000,
                "charging_periods": charging_periods(periods, tariff.id if tariff else None),
                "total_cost": cost,
                "last_updated": self.clock(),
            }
        )
        self.sessions[session_id] = session
        return session

    def stop_session(
        self, session_id: str, cdr_id: str | None = None
    ) -> tuple[v230.Session, v230.CDR]:
        """Complete a session and create its priced CDR (tariff of the session's connector)."""
        now = self.clock()
        session = self.sessions[session_id].model_copy(
            update={"status": SessionStatus.COMPLETED, "end_date_time": now, "last_updated": now}
        )
        self.sessions[session_id] = session
        tariff = self._tariff_for(session)
        if tariff is None:
            raise LookupError("no tariff for the session's connector")
        cdr = build_cdr(
            cdr_id=cdr_id or session_id,
            session=session,
            location=self.locations[session.location_id],
            tariff=tariff,
            periods=self.usage[session_id],
            end=now,
            last_updated=now,
        )
        self.cdrs[cdr.id] = cdr
        return session, cdr
