"""``/stations``: list, register, read, change and delete stations; their notifications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from kilowatt.api.context import ApiContext, Limit, Offset
from kilowatt.api.responses import JsonResponse, error, page
from kilowatt.api.schemas import (
    StationCreate,
    StationEventList,
    StationList,
    StationOut,
    StationPatch,
)
from kilowatt.csms.stations import UNSET

__all__ = ["router"]


def router(ctx: ApiContext) -> APIRouter:
    """The ``/stations`` routes: list, register, read, change, delete; events, device model.

    An unknown station answers 404, registering an identity that exists 409. With registration
    ``known`` only registered identities may connect.
    """
    stations = ctx.services.stations
    api = APIRouter(prefix="/stations", tags=["stations"])
    not_found: dict[int | str, dict[str, Any]] = {404: error("Unknown station")}

    @api.get("", response_model=StationList, summary="List stations")
    async def list_stations(
        limit: Limit = 50, offset: Offset = 0, connected: bool | None = None
    ) -> JsonResponse:
        return page(await stations.list(limit=limit, offset=offset, connected=connected))

    @api.post(
        "",
        response_model=StationOut,
        status_code=status.HTTP_201_CREATED,
        responses={409: error("A station with this id exists")},
        summary="Register a station identity (with registration 'known' only these connect)",
    )
    async def create_station(body: StationCreate) -> JsonResponse:
        info = await stations.register(
            body.id,
            security_profile=body.security_profile,
            password=body.password,
            location_id=body.location_id,
        )
        return JsonResponse(info, status_code=status.HTTP_201_CREATED)

    @api.get("/{station_id}", response_model=StationOut, responses=not_found)
    async def get_station(station_id: str) -> JsonResponse:
        """A station with its EVSEs and connectors (latest status and error code)."""
        return JsonResponse(await stations.get(station_id))

    @api.patch(
        "/{station_id}",
        response_model=StationOut,
        responses={**not_found, 409: error("Profile 1 or 2 for a station without a password")},
    )
    async def patch_station(station_id: str, body: StationPatch) -> JsonResponse:
        """Change security profile, password or location; omitted fields stay unchanged."""
        location = body.location_id if "location_id" in body.model_fields_set else UNSET
        # Fits the schema; whether it works depends on the stored station: a conflict.
        needs_stored_password = body.security_profile in (1, 2) and body.password is None
        if needs_stored_password and not (await stations.get(station_id)).has_password:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"station {station_id!r} has no password: send one with profile "
                f"{body.security_profile}",
            )
        info = await stations.update(
            station_id,
            security_profile=body.security_profile,
            password=body.password,
            location_id=location,
        )
        return JsonResponse(info)

    @api.delete("/{station_id}", status_code=status.HTTP_204_NO_CONTENT, responses=not_found)
    async def delete_station(station_id: str) -> None:
        """Delete a station and all its data (transactions, meter values, journal)."""
        await stations.delete(station_id)

    @api.get("/{station_id}/events", response_model=StationEventList, responses=not_found)
    async def station_events(
        station_id: str, kind: str | None = None, limit: Limit = 50, offset: Offset = 0
    ) -> JsonResponse:
        """Stored notifications (security events, firmware status, NotifyEvent...), newest first."""
        await stations.get(station_id)
        return page(await stations.events(station_id, kind=kind, limit=limit, offset=offset))

    @api.get("/{station_id}/variables", responses=not_found)
    async def station_variables(station_id: str, component: str | None = None) -> JsonResponse:
        """The stored 2.x device model (from NotifyReport / GetVariables)."""
        await stations.get(station_id)
        return JsonResponse({"items": await stations.variables(station_id, component=component)})

    @api.get("/{station_id}/configuration", responses=not_found)
    async def station_configuration(station_id: str) -> JsonResponse:
        """The stored 1.6 configuration keys (from GetConfiguration answers)."""
        await stations.get(station_id)
        return JsonResponse({"items": await stations.configuration(station_id)})

    return api
