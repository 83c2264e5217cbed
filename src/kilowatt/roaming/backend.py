"""The CSMS as :class:`kilowatt.ocpi.CpoBackend`: what eMSPs GET from the sender modules."""

from __future__ import annotations

from kilowatt.csms.errors import NotFound
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.pagination import ListQuery, Page, paginate
from kilowatt.roaming.objects import build_tariff
from kilowatt.roaming.sessions import SessionTracker
from kilowatt.roaming.state import RoamingState
from kilowatt.roaming.view import CsmsView

__all__ = ["CsmsCpoBackend"]


class CsmsCpoBackend:
    """Locations from locations + stations, sessions from transactions, stored CDRs, tariffs.

    Order is oldest first everywhere (stable between pages, OCPI 2.2.1 Part I §Pagination);
    date filters apply to ``last_updated``. Locations are built in memory (their
    ``last_updated`` depends on live station status), the rest is paged in SQL.
    """

    def __init__(self, view: CsmsView, state: RoamingState, sessions: SessionTracker) -> None:
        self.view = view
        self.state = state
        self.sessions = sessions

    async def list_locations(self, query: ListQuery) -> Page[v230.Location]:
        """Published locations whose ``last_updated`` is in the window."""
        items = [
            loc
            for loc in await self.view.locations()
            if loc.publish and query.matches(loc.last_updated)
        ]
        return paginate(items, query)

    async def get_location(self, location_id: str) -> v230.Location | None:
        """One location with its EVSEs, or None (→ 2003)."""
        found = await self.view.location(location_id)
        return found[0] if found is not None else None

    async def list_sessions(self, query: ListQuery) -> Page[v230.Session]:
        """Sessions linked to tokens of the requesting eMSP (``query.parties``)."""
        rows, total = await self.state.page_sessions(
            offset=query.offset,
            limit=query.limit,
            date_from=query.date_from,
            date_to=query.date_to,
            parties=query.parties,
        )
        return Page([await self.sessions.build(r) for r in rows], total)

    async def get_session(
        self, session_id: str, parties: frozenset[tuple[str, str]] | None = None
    ) -> v230.Session | None:
        """One session (also while REQUESTED, so STOP_SESSION is not UNKNOWN_SESSION);
        ``None`` when its token belongs to none of ``parties``."""
        row = await self.state.session(session_id)
        if row is None or row.status == "DISCARDED":
            return None
        token = row.cdr_token
        if not ListQuery(parties=parties).visible(
            str(token.get("country_code", "")), str(token.get("party_id", ""))
        ):
            return None
        return await self.sessions.build(row)

    async def list_cdrs(self, query: ListQuery) -> Page[v230.CDR]:
        """Stored CDRs of sessions of the requesting eMSP (``query.parties``)."""
        data, total = await self.state.page_cdrs(
            offset=query.offset,
            limit=query.limit,
            date_from=query.date_from,
            date_to=query.date_to,
            parties=query.parties,
        )
        return Page([v230.CDR.model_validate(d) for d in data], total)

    async def list_tariffs(self, query: ListQuery) -> Page[v230.Tariff]:
        """Tariffs updated in the window."""
        page = await self.view.services.tariffs.list(
            limit=query.limit,
            offset=query.offset,
            updated_from=query.date_from,
            updated_to=query.date_to,
        )
        party = self.view.party
        items = [
            build_tariff(t, country_code=party.country_code, party_id=party.party_id)
            for t in page.items
        ]
        return Page(items, page.total)

    async def get_tariff(self, tariff_id: str) -> v230.Tariff | None:
        """One tariff, or None."""
        try:
            info = await self.view.services.tariffs.get(tariff_id)
        except NotFound:
            return None
        party = self.view.party
        return build_tariff(info, country_code=party.country_code, party_id=party.party_id)
