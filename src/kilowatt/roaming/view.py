"""Read the CSMS as OCPI objects: locations (with EVSEs from stations) and tariffs."""

from __future__ import annotations

from dataclasses import dataclass

from kilowatt.csms.errors import NotFound
from kilowatt.csms.locations import LocationInfo
from kilowatt.csms.model import StationInfo
from kilowatt.csms.services import Services
from kilowatt.ocpi.models import v230
from kilowatt.roaming.objects import EvseRef, build_location, build_tariff

__all__ = ["CsmsView", "Party"]


@dataclass(frozen=True, slots=True)
class Party:
    """Our OCPI party (``KILOWATT_OCPI_COUNTRY_CODE`` / ``KILOWATT_OCPI_PARTY_ID``)."""

    country_code: str
    party_id: str


class CsmsView:
    """OCPI objects built from the CSMS services on demand (always current)."""

    def __init__(self, services: Services, party: Party) -> None:
        self.services = services
        self.party = party

    async def _stations(self, location: LocationInfo) -> list[StationInfo]:
        out = []
        for station_id in location.station_ids:
            try:
                out.append(await self.services.stations.get(station_id))
            except NotFound:
                continue
        return out

    async def tariff(self, location: LocationInfo) -> v230.Tariff | None:
        """The tariff that applies at ``location`` (its own, else the default)."""
        info = await self.services.tariffs.applicable(location.tariff_id)
        if info is None:
            return None
        return build_tariff(
            info, country_code=self.party.country_code, party_id=self.party.party_id
        )

    async def location(self, location_id: str) -> tuple[v230.Location, list[EvseRef]] | None:
        """The OCPI Location and its EVSE references; None when unknown."""
        try:
            info = await self.services.locations.get(location_id)
        except NotFound:
            return None
        return await self._build(info)

    async def _build(self, info: LocationInfo) -> tuple[v230.Location, list[EvseRef]]:
        stations = await self._stations(info)
        evse_meta, connector_meta = await self.services.locations.metadata([s.id for s in stations])
        tariff = await self.tariff(info)
        return build_location(
            info,
            stations,
            evse_meta,
            connector_meta,
            tariff_id=tariff.id if tariff else None,
            country_code=self.party.country_code,
            party_id=self.party.party_id,
        )

    async def locations(self) -> list[v230.Location]:
        """Every location, oldest first (pages of 500 from the database)."""
        out: list[v230.Location] = []
        offset = 0
        while True:
            page = await self.services.locations.list(limit=500, offset=offset)
            for info in page.items:
                out.append((await self._build(info))[0])
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return out

    async def evse(self, location_id: str, evse_uid: str | None) -> EvseRef | None:
        """An EVSE of a location by uid (None uid: the first available EVSE, else the first)."""
        found = await self.location(location_id)
        if found is None:
            return None
        refs = found[1]
        if evse_uid is not None:
            return next((r for r in refs if r.uid == evse_uid), None)
        ranked = sorted(refs, key=lambda r: (not r.connected, r.status.value != "AVAILABLE"))
        return ranked[0] if ranked else None

    async def evse_of_station(self, station_id: str, evse_id: int) -> EvseRef | None:
        """The EVSE reference of a station's EVSE, when the station has a location."""
        location_id = await self.services.locations.station_location(station_id)
        if location_id is None:
            return None
        found = await self.location(location_id)
        if found is None:
            return None
        return next(
            (r for r in found[1] if r.station_id == station_id and r.evse_id == evse_id), None
        )
