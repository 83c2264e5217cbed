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

from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from kilowatt.api.context import ApiContext, Limit, Offset
from kilowatt.api.responses import JsonResponse, page
from kilowatt.api.schemas import ErrorOut

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


class Coordinates(_In):
    """WGS 84 decimal degrees (OCPI GeoLocation, e.g. ``"52.0907"``)."""

    latitude: Decimal = Field(ge=-90, le=90)
    longitude: Decimal = Field(ge=-180, le=180)


class RegularHours(_In):
    """OCPI RegularHours: ``weekday`` 1 (Monday)–7 (Sunday), ``HH:MM`` local time."""

    weekday: int = Field(ge=1, le=7)
    period_begin: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    period_end: str = Field(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")


class Hours(_In):
    """OCPI Hours: open 24/7, or the regular hours."""

    twentyfourseven: bool
    regular_hours: list[RegularHours] | None = None


class LocationBody(_In):
    """Fields of a location; which are required depends on the method.

    POST: ``address``, ``city``, ``country``, ``coordinates`` and ``time_zone`` required;
    PATCH: any subset.
    """

    name: str | None = Field(None, max_length=255)
    address: str | None = Field(None, max_length=45)
    city: str | None = Field(None, max_length=45)
    postal_code: str | None = Field(None, max_length=10)
    state: str | None = Field(None, max_length=20)
    country: str | None = Field(None, min_length=3, max_length=3, description="ISO 3166 alpha-3")
    coordinates: Coordinates | None = None
    time_zone: str | None = Field(None, description="IANA name, e.g. Europe/Amsterdam")
    parking_type: ParkingType | None = None
    facilities: list[str] | None = Field(None, description="OCPI Facility values")
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    help_phone: str | None = Field(None, max_length=32)
    publish: bool | None = Field(None, description="Shown to OCPI partners (default true)")
    tariff_id: str | None = Field(None, description="null: the default tariff applies")


class LocationCreate(LocationBody):
    id: str | None = Field(None, min_length=1, max_length=36, description="Generated if absent")


class EvsePatch(_In):
    evse_code: str | None = Field(
        None, max_length=48, description="eMI3 EVSE ID override, e.g. NL*KWT*E1234*1"
    )
    capabilities: list[Capability] | None = None
    floor_level: str | None = Field(None, max_length=4)
    physical_reference: str | None = Field(None, max_length=16)


class ConnectorPatch(_In):
    standard: str | None = Field(None, max_length=32, description="OCPI ConnectorType")
    format: Literal["SOCKET", "CABLE"] | None = None
    power_type: (
        Literal["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"] | None
    ) = None
    max_voltage: int | None = Field(None, ge=0, description="V")
    max_amperage: int | None = Field(None, ge=0, description="A")
    max_electric_power: int | None = Field(None, ge=0, description="W")
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
    (POST names the missing fields), an id that exists 409.
    """
    locations = ctx.services.locations
    api = APIRouter(tags=["locations"])
    errors: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}

    @api.get("/locations", summary="List locations (oldest first)")
    async def list_locations(limit: Limit = 50, offset: Offset = 0) -> JsonResponse:
        return page(await locations.list(limit=limit, offset=offset), _out)

    @api.post(
        "/locations",
        status_code=status.HTTP_201_CREATED,
        responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
        summary="Create a location",
    )
    async def create_location(body: LocationCreate) -> JsonResponse:
        values = _values(body)
        missing = [
            name
            for name in ("address", "city", "country", "latitude", "time_zone")
            if values.get(name) is None
        ]
        if missing:
            names = ", ".join("coordinates" if m == "latitude" else m for m in missing)
            return JsonResponse({"detail": f"missing: {names}"}, status_code=422)
        info = await locations.create(values, location_id=body.id)
        return JsonResponse(_out(info), status_code=status.HTTP_201_CREATED)

    @api.get("/locations/{location_id}", responses=errors)
    async def get_location(location_id: str) -> JsonResponse:
        return JsonResponse(_out(await locations.get(location_id)))

    @api.patch("/locations/{location_id}", responses=errors)
    async def patch_location(location_id: str, body: LocationBody) -> JsonResponse:
        """Change the given fields; ``null`` clears optional ones."""
        values = _values(body)
        for required in ("address", "city", "country", "time_zone", "publish"):
            if required in values and values[required] is None:
                return JsonResponse({"detail": f"{required} cannot be null"}, status_code=422)
        return JsonResponse(_out(await locations.update(location_id, values)))

    @api.delete(
        "/locations/{location_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors
    )
    async def delete_location(location_id: str) -> None:
        """Delete a location; its stations stay, without a location."""
        await locations.delete(location_id)

    @api.patch("/stations/{station_id}/evses/{evse_id}", responses=errors, tags=["stations"])
    async def patch_evse(station_id: str, evse_id: int, body: EvsePatch) -> JsonResponse:
        """EVSE data OCPP does not report (published over OCPI)."""
        values = body.model_dump(exclude_unset=True, mode="json")
        return JsonResponse(await locations.set_evse_metadata(station_id, evse_id, values))

    @api.patch(
        "/stations/{station_id}/evses/{evse_id}/connectors/{connector_id}",
        responses=errors,
        tags=["stations"],
    )
    async def patch_connector(
        station_id: str, evse_id: int, connector_id: int, body: ConnectorPatch
    ) -> JsonResponse:
        """Connector data OCPP does not report: standard, format, power type, V/A/W maxima."""
        values = body.model_dump(exclude_unset=True, mode="json")
        return JsonResponse(
            await locations.set_connector_metadata(station_id, evse_id, connector_id, values)
        )

    return api
