"""``/locations``: sites where stations stand; and EVSE/connector metadata of stations.

- ``GET/POST /locations``, ``GET/PATCH/DELETE /locations/{id}`` — name, address, city, postal
  code, country (ISO 3166-1 alpha-3), coordinates, IANA time zone, opening times (OCPI Hours),
  parking type, facilities, help phone, publish flag, tariff.
- ``PATCH /stations/{id}/evses/{evse_id}`` — EVSE capabilities, eMI3 id override, floor level.
- ``PATCH /stations/{id}/evses/{evse_id}/connectors/{connector_id}`` — connector standard,
  format, power type, max voltage (V), amperage (A), electric power (W).

Stations are assigned with ``PATCH /stations/{id} {"location_id": ...}``. OCPI publishes these
as Locations with EVSEs derived from the stations (``kilowatt.roaming``).
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema

from kilowatt.api.context import ApiContext, Limit, Offset
from kilowatt.api.fields import EvseIdPath, NonNegativeInt32, coordinate, omittable
from kilowatt.api.responses import JsonResponse, error, page
from kilowatt.csms.errors import NotFound

__all__ = ["router"]

ParkingType = Literal[
    "ALONG_MOTORWAY",
    "PARKING_GARAGE",
    "PARKING_LOT",
    "ON_DRIVEWAY",
    "ON_STREET",
    "UNDERGROUND_GARAGE",
]
"""OCPI 2.2.1 ``mod_locations`` §ParkingType enum."""

Capability = Literal[
    "CHARGING_PROFILE_CAPABLE",
    "CHARGING_PREFERENCES_CAPABLE",
    "CHIP_CARD_SUPPORT",
    "CONTACTLESS_CARD_SUPPORT",
    "CREDIT_CARD_PAYABLE",
    "DEBIT_CARD_PAYABLE",
    "PED_TERMINAL",
    "REMOTE_START_STOP_CAPABLE",
    "RESERVABLE",
    "RFID_READER",
    "START_SESSION_CONNECTOR_REQUIRED",
    "TOKEN_GROUP_CAPABLE",
    "UNLOCK_CAPABLE",
]
"""OCPI 2.2.1 ``mod_locations`` §Capability enum."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


Latitude = Annotated[Decimal, coordinate(90, "WGS 84 latitude in decimal degrees")]
"""A latitude: -90 to 90 decimal degrees, 6 decimals."""
Longitude = Annotated[Decimal, coordinate(180, "WGS 84 longitude in decimal degrees")]
"""A longitude: -180 to 180 decimal degrees, 6 decimals."""
TIME_ZONES = frozenset(zoneinfo.available_timezones())
"""The IANA time zone names this machine's time zone database knows."""


def _known_time_zone(name: str) -> str:
    if name not in TIME_ZONES:
        raise ValueError("unknown time zone (use an IANA name, e.g. Europe/Amsterdam)")
    return name


TimeZone = Annotated[
    str,
    AfterValidator(_known_time_zone),
    WithJsonSchema({"type": "string", "enum": sorted(TIME_ZONES)}),
]
"""An IANA time zone name (``Europe/Amsterdam``); the schema lists the known ones."""

Country = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 3166-1 alpha-3")]
"""An ISO 3166-1 alpha-3 country code, e.g. ``NLD``."""


class Coordinates(_In):
    """WGS 84 decimal degrees (OCPI GeoLocation, e.g. ``"52.0907"``), at most 6 decimals."""

    latitude: Latitude
    longitude: Longitude


class RegularHours(_In):
    """OCPI RegularHours: ``weekday`` 1 (Monday)–7 (Sunday), ``HH:MM`` local time."""

    weekday: NonNegativeInt32 = Field(ge=1, le=7)
    period_begin: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    period_end: str = Field(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")


class Hours(_In):
    """OCPI Hours: open 24/7, or the regular hours."""

    twentyfourseven: StrictBool
    regular_hours: list[RegularHours] | None = None


class LocationBody(_In):
    """Fields of a location; which are required depends on the method.

    POST: ``address``, ``city``, ``country``, ``coordinates`` and ``time_zone`` required;
    PATCH: any subset.
    """

    name: str | None = Field(None, max_length=255)
    address: str = omittable(max_length=45)
    city: str = omittable(max_length=45)
    postal_code: str | None = Field(None, max_length=10)
    state: str | None = Field(None, max_length=20)
    country: Country = omittable()
    coordinates: Coordinates = omittable()
    time_zone: TimeZone = omittable(description="IANA name, e.g. Europe/Amsterdam")
    parking_type: ParkingType | None = None
    facilities: list[str] | None = Field(None, description="OCPI Facility values")
    opening_times: Hours | None = None
    charging_when_closed: StrictBool | None = None
    help_phone: str | None = Field(None, max_length=32)
    publish: StrictBool = omittable(description="Shown to OCPI partners (default true)")
    tariff_id: str | None = Field(
        None, max_length=36, description="An existing tariff; null: the default tariff applies"
    )


class LocationCreate(LocationBody):
    """Body of ``POST /locations``: address, city, country, coordinates, time zone required."""

    id: str = omittable(min_length=1, max_length=36, description="Generated if absent")
    address: str = Field(max_length=45)
    city: str = Field(max_length=45)
    country: Country
    coordinates: Coordinates
    time_zone: TimeZone = Field(description="IANA name, e.g. Europe/Amsterdam")


class EvsePatch(_In):
    """Body of ``PATCH /stations/{id}/evses/{evse_id}``; omitted fields stay unchanged."""

    evse_code: str | None = Field(
        None, max_length=48, description="eMI3 EVSE ID override, e.g. NL*KWT*E1234*1"
    )
    capabilities: list[Capability] | None = None
    floor_level: str | None = Field(None, max_length=4)
    physical_reference: str | None = Field(None, max_length=16)


class ConnectorPatch(_In):
    """Body of ``PATCH .../connectors/{connector_id}``; maxima in V, A and W (32-bit)."""

    standard: str | None = Field(None, max_length=32, description="OCPI ConnectorType")
    format: Literal["SOCKET", "CABLE"] | None = None
    power_type: (
        Literal["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"] | None
    ) = None
    max_voltage: NonNegativeInt32 | None = Field(None, description="V")
    max_amperage: NonNegativeInt32 | None = Field(None, description="A")
    max_electric_power: NonNegativeInt32 | None = Field(None, description="W")
    capabilities: (
        list[Literal["ISO_15118_2_PLUG_AND_CHARGE", "ISO_15118_20_PLUG_AND_CHARGE"]] | None
    ) = None


def _values(body: LocationBody) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True, mode="json", exclude={"id"})
    coordinates = data.pop("coordinates", None)
    if coordinates is not None:
        data["latitude"] = str(coordinates["latitude"])
        data["longitude"] = str(coordinates["longitude"])
    return data


def _out(info: Any) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "address": info.address,
        "city": info.city,
        "postal_code": info.postal_code,
        "state": info.state,
        "country": info.country,
        "coordinates": {"latitude": info.latitude, "longitude": info.longitude},
        "time_zone": info.time_zone,
        "parking_type": info.parking_type,
        "facilities": info.facilities,
        "opening_times": info.opening_times,
        "charging_when_closed": info.charging_when_closed,
        "help_phone": info.help_phone,
        "publish": info.publish,
        "tariff_id": info.tariff_id,
        "station_ids": info.station_ids,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
    }


def router(ctx: ApiContext) -> APIRouter:
    """The ``/locations`` routes and the EVSE/connector metadata routes (see module docstring).

    An unknown location, station, EVSE or connector answers 404, a body that does not fit 422
    (POST names the missing fields), an id that exists or a ``tariff_id`` that names no tariff
    409.
    """
    locations = ctx.services.locations
    tariffs = ctx.services.tariffs
    api = APIRouter(tags=["locations"])
    not_found: dict[int | str, dict[str, Any]] = {404: error("Unknown location")}
    conflict = error("The id exists already, or `tariff_id` names no tariff")

    async def _tariff_exists(tariff_id: str | None) -> None:
        # A dangling reference is a conflict with the stored state (409), not a body that
        # breaks its schema (422): the schema cannot know which tariffs exist.
        if tariff_id is None:
            return
        try:
            await tariffs.get(tariff_id)
        except NotFound:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"tariff {tariff_id!r} does not exist"
            ) from None

    @api.get("/locations", summary="List locations (oldest first)")
    async def list_locations(limit: Limit = 50, offset: Offset = 0) -> JsonResponse:
        return page(await locations.list(limit=limit, offset=offset), _out)

    @api.post(
        "/locations",
        status_code=status.HTTP_201_CREATED,
        responses={409: conflict},
        summary="Create a location",
    )
    async def create_location(body: LocationCreate) -> JsonResponse:
        values = _values(body)
        await _tariff_exists(values.get("tariff_id"))
        info = await locations.create(values, location_id=body.id)
        return JsonResponse(_out(info), status_code=status.HTTP_201_CREATED)

    @api.get("/locations/{location_id}", responses=not_found)
    async def get_location(location_id: str) -> JsonResponse:
        return JsonResponse(_out(await locations.get(location_id)))

    @api.patch("/locations/{location_id}", responses={**not_found, 409: conflict})
    async def patch_location(location_id: str, body: LocationBody) -> JsonResponse:
        """Change the given fields; ``null`` clears optional ones."""
        values = _values(body)
        await _tariff_exists(values.get("tariff_id"))
        return JsonResponse(_out(await locations.update(location_id, values)))

    @api.delete(
        "/locations/{location_id}", status_code=status.HTTP_204_NO_CONTENT, responses=not_found
    )
    async def delete_location(location_id: str) -> None:
        """Delete a location; its stations stay, without a location."""
        await locations.delete(location_id)

    @api.patch(
        "/stations/{station_id}/evses/{evse_id}",
        responses={404: error("Unknown station")},
        tags=["stations"],
    )
    async def patch_evse(station_id: str, evse_id: EvseIdPath, body: EvsePatch) -> JsonResponse:
        """EVSE data OCPP does not report (published over OCPI)."""
        values = body.model_dump(exclude_unset=True, mode="json")
        return JsonResponse(await locations.set_evse_metadata(station_id, evse_id, values))

    @api.patch(
        "/stations/{station_id}/evses/{evse_id}/connectors/{connector_id}",
        responses={404: error("Unknown station")},
        tags=["stations"],
    )
    async def patch_connector(
        station_id: str, evse_id: EvseIdPath, connector_id: EvseIdPath, body: ConnectorPatch
    ) -> JsonResponse:
        """Connector data OCPP does not report: standard, format, power type, V/A/W maxima."""
        values = body.model_dump(exclude_unset=True, mode="json")
        return JsonResponse(
            await locations.set_connector_metadata(station_id, evse_id, connector_id, values)
        )

    return api
