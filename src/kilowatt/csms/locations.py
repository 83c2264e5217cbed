"""Locations (sites), the stations assigned to them, and EVSE/connector metadata.

A location carries what OCPI 2.2.1/2.3.0 ``mod_locations`` §Location needs that OCPP does not
say: address, coordinates, time zone, opening times, parking type, facilities. Stations are
assigned with :meth:`LocationService.assign_station` (``PATCH /api/v1/stations/{id}``). EVSE
and connector data that OCPP does not report (connector standard, format, power type, maximum
voltage/current/power, EVSE capabilities) is set per station with
:meth:`LocationService.set_evse_metadata` and :meth:`LocationService.set_connector_metadata`.

Events (published after commit): :class:`LocationChanged` when a location, its stations or
their metadata change; ``station_id`` is empty for location-level changes.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kilowatt.csms.clock import utcnow
from kilowatt.csms.errors import AlreadyExists, NotFound, ValidationError
from kilowatt.csms.events import DomainEvent, EventBus
from kilowatt.csms.model import Page, from_row
from kilowatt.csms.repositories import (
    LocationRepository,
    Row,
    StationMetadataRepository,
    StationRepository,
    TariffRepository,
)

__all__ = [
    "ConnectorMetadata",
    "EvseMetadata",
    "LocationChanged",
    "LocationInfo",
    "LocationService",
]

_LOCATION_FIELDS = (
    "name",
    "address",
    "city",
    "postal_code",
    "state",
    "country",
    "latitude",
    "longitude",
    "time_zone",
    "parking_type",
    "facilities",
    "opening_times",
    "charging_when_closed",
    "help_phone",
    "publish",
    "tariff_id",
)
_EVSE_FIELDS = ("evse_code", "capabilities", "floor_level", "physical_reference")
_CONNECTOR_FIELDS = (
    "standard",
    "format",
    "power_type",
    "max_voltage",
    "max_amperage",
    "max_electric_power",
    "capabilities",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationChanged(DomainEvent):
    """A location changed (``deleted``: it is gone).

    ``station_id`` is the station that moved or whose metadata changed, or ``""`` for a change
    of the location itself.
    """

    location_id: str
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class LocationInfo:
    """A stored location.

    ``country`` ISO 3166-1 alpha-3; coordinates WGS 84 decimal degrees as text;
    ``opening_times`` the OCPI Hours object; ``tariff_id`` None: default tariff.
    """

    id: str
    name: str | None
    address: str
    city: str
    postal_code: str | None
    state: str | None
    country: str
    latitude: str
    longitude: str
    time_zone: str
    parking_type: str | None
    facilities: list[str]
    opening_times: dict[str, Any] | None
    charging_when_closed: bool | None
    help_phone: str | None
    publish: bool
    tariff_id: str | None
    created_at: datetime
    updated_at: datetime
    station_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EvseMetadata:
    """Operator-set data of an EVSE; ``evse_code`` overrides the derived eMI3 EVSE ID."""

    station_id: str
    evse_id: int
    evse_code: str | None
    capabilities: list[str] | None
    floor_level: str | None
    physical_reference: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ConnectorMetadata:
    """Operator-set data of a connector: volts, amperes, watts (OCPI Connector object)."""

    station_id: str
    evse_id: int
    connector_id: int
    standard: str | None
    format: str | None
    power_type: str | None
    max_voltage: int | None
    max_amperage: int | None
    max_electric_power: int | None
    capabilities: list[str] | None
    updated_at: datetime


def _check_time_zone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {name!r} (use an IANA name)") from None


def _check(values: Mapping[str, Any]) -> None:
    country = values.get("country")
    if country is not None and (len(country) != 3 or not country.isalpha()):
        raise ValidationError("country must be an ISO 3166-1 alpha-3 code, e.g. NLD")
    for name, limit in (("latitude", 90), ("longitude", 180)):
        value = values.get(name)
        if value is None:
            continue
        try:
            number = float(value)
        except ValueError:
            raise ValidationError(f"{name} must be decimal degrees") from None
        if not -limit <= number <= limit:
            raise ValidationError(f"{name} out of range")
    if values.get("time_zone") is not None:
        _check_time_zone(values["time_zone"])


class LocationService:
    """Operator management of locations, station assignment and EVSE/connector metadata."""

    def __init__(
        self,
        locations: LocationRepository,
        bus: EventBus,
        *,
        stations: StationRepository,
        metadata: StationMetadataRepository,
        tariffs: TariffRepository,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Create the service over its repositories.

        Args:
            locations: where locations live.
            bus: where :class:`LocationChanged` is published.
            stations: the stations (their ``location_id``).
            metadata: EVSE and connector metadata.
            tariffs: the tariffs (a location's ``tariff_id`` must name one).
            clock: the current aware UTC time (``created_at``/``updated_at``, event times).
        """
        self._locations = locations
        self._stations = stations
        self._metadata = metadata
        self._tariffs = tariffs
        self._bus = bus
        self._clock = clock

    def _changed(self, location_id: str, station_id: str = "", deleted: bool = False) -> None:
        self._bus.publish(
            LocationChanged(
                station_id=station_id, at=self._clock(), location_id=location_id, deleted=deleted
            )
        )

    # --- locations ------------------------------------------------------------------------------

    async def create(
        self, values: Mapping[str, Any], *, location_id: str | None = None
    ) -> LocationInfo:
        """Create a location from ``values`` (keys as :class:`LocationInfo`).

        Raises:
            AlreadyExists, ValidationError (country, coordinates, time zone, unknown tariff).
        """
        _check(values)
        location_id = location_id or str(uuid.uuid4())
        if len(location_id) > 36:
            raise ValidationError("location id has at most 36 characters (OCPI CiString(36))")
        now = self._clock()
        row = {name: values.get(name) for name in _LOCATION_FIELDS}
        row["facilities"] = list(values.get("facilities") or [])
        row["publish"] = bool(values.get("publish", True))
        row.update(id=location_id, created_at=now, updated_at=now)
        await self._check_tariff(row["tariff_id"])
        if not await self._locations.insert(row):
            raise AlreadyExists(f"location {location_id!r} already exists")
        self._changed(location_id)
        return await self.get(location_id)

    async def _check_tariff(self, tariff_id: str | None) -> None:
        if tariff_id is None:
            return
        if await self._tariffs.get(tariff_id) is None:
            raise ValidationError(f"tariff {tariff_id!r} does not exist")

    async def update(self, location_id: str, values: Mapping[str, Any]) -> LocationInfo:
        """Change the given fields (others unchanged). Raises NotFound, ValidationError."""
        await self.get(location_id)
        _check(values)
        changes = {k: v for k, v in values.items() if k in _LOCATION_FIELDS}
        if "facilities" in changes:
            changes["facilities"] = list(changes["facilities"] or [])
        await self._check_tariff(changes.get("tariff_id"))
        changes["updated_at"] = self._clock()
        await self._locations.update(location_id, changes)
        self._changed(location_id)
        return await self.get(location_id)

    async def delete(self, location_id: str) -> None:
        """Delete a location; its stations stay, without a location. Raises NotFound."""
        if not await self._locations.delete(location_id):
            raise NotFound(f"location {location_id!r} not found")
        self._changed(location_id, deleted=True)

    async def get(self, location_id: str) -> LocationInfo:
        """A location with the ids of its stations. Raises NotFound."""
        row = await self._locations.get(location_id)
        if row is None:
            raise NotFound(f"location {location_id!r} not found")
        return _location(row, await self._locations.station_ids(location_id))

    async def exists(self, location_id: str) -> bool:
        """Whether the location exists."""
        return await self._locations.get(location_id) is not None

    async def list(self, *, limit: int = 50, offset: int = 0) -> Page[LocationInfo]:
        """Locations, oldest first, each with its station ids."""
        rows, total = await self._locations.page(limit=limit, offset=offset)
        items = [_location(r, await self._locations.station_ids(r["id"])) for r in rows]
        return Page(items, total)

    # --- stations -------------------------------------------------------------------------------

    async def check_assignable(self, location_id: str | None) -> None:
        """Raise :class:`ValidationError` when ``location_id`` is set but unknown."""
        if location_id is not None and not await self.exists(location_id):
            raise ValidationError(f"location {location_id!r} does not exist")

    async def station_location(self, station_id: str) -> str | None:
        """The location of a station (None: none or unknown station)."""
        row = await self._stations.get(station_id)
        return None if row is None else row["location_id"]

    # --- metadata -------------------------------------------------------------------------------

    async def set_evse_metadata(
        self, station_id: str, evse_id: int, values: Mapping[str, Any]
    ) -> EvseMetadata:
        """Set EVSE fields; omitted keys stay.

        Fields: ``evse_code``, ``capabilities``, ``floor_level``, ``physical_reference``; other
        keys are ignored. Publishes :class:`LocationChanged` when the station has a location.

        Raises:
            NotFound: unknown station.
            ValidationError: ``evse_id`` below 1.
        """
        result: EvseMetadata = await self._put_metadata(station_id, evse_id, None, values)
        return result

    async def set_connector_metadata(
        self, station_id: str, evse_id: int, connector_id: int, values: Mapping[str, Any]
    ) -> ConnectorMetadata:
        """Set connector fields; omitted keys stay.

        Fields: ``standard``, ``format``, ``power_type``, ``max_voltage`` (V), ``max_amperage``
        (A), ``max_electric_power`` (W), ``capabilities``; other keys are ignored. Publishes
        :class:`LocationChanged` when the station has a location.

        Raises:
            NotFound: unknown station.
            ValidationError: ``evse_id`` or ``connector_id`` below 1.
        """
        result: ConnectorMetadata = await self._put_metadata(
            station_id, evse_id, connector_id, values
        )
        return result

    async def _put_metadata(
        self, station_id: str, evse_id: int, connector_id: int | None, values: Mapping[str, Any]
    ) -> Any:
        if evse_id < 1 or (connector_id is not None and connector_id < 1):
            raise ValidationError("EVSE and connector ids start at 1")
        location_id = None
        row = await self._stations.get(station_id)
        if row is None:
            raise NotFound(f"station {station_id!r} not found")
        location_id = row["location_id"]
        now = self._clock()
        key: dict[str, Any] = {"station_id": station_id, "evse_id": evse_id}
        fields = _EVSE_FIELDS if connector_id is None else _CONNECTOR_FIELDS
        if connector_id is not None:
            key["connector_id"] = connector_id
        row_values = {
            **key,
            **{k: v for k, v in values.items() if k in fields},
            "updated_at": now,
        }
        if connector_id is None:
            await self._metadata.put_evse(row_values)
        else:
            await self._metadata.put_connector(row_values)
        if location_id is not None:
            self._changed(location_id, station_id)
        evses, connectors = await self.metadata([station_id])
        if connector_id is None:
            return next(e for e in evses if e.evse_id == evse_id)
        return next(
            c for c in connectors if c.evse_id == evse_id and c.connector_id == connector_id
        )

    async def metadata(
        self, station_ids: builtins.list[str]
    ) -> tuple[builtins.list[EvseMetadata], builtins.list[ConnectorMetadata]]:
        """The EVSE and connector metadata of the stations."""
        evses = await self._metadata.evses(station_ids)
        connectors = await self._metadata.connectors(station_ids)
        return (
            [from_row(EvseMetadata, r) for r in evses],
            [from_row(ConnectorMetadata, r) for r in connectors],
        )


def _location(row: Row, station_ids: list[str]) -> LocationInfo:
    return from_row(
        LocationInfo, row, facilities=list(row["facilities"] or []), station_ids=station_ids
    )
