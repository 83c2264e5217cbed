"""Station control: ``/stations/{id}/calls/{Action}``, ``/commands/{name}``, ``/messages``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from kilowatt.api.context import ApiContext, Limit, Offset
from kilowatt.api.responses import JsonResponse, page
from kilowatt.api.schemas import CallErrorOut, ErrorOut, JournalList
from kilowatt.csms.gateway import COMMANDS, InvalidCommand

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "Unknown station, action or command"},
    409: {"model": ErrorOut, "description": "The station is not connected"},
    422: {"model": ErrorOut, "description": "Invalid payload or parameters"},
    502: {"model": CallErrorOut, "description": "The station answered with a CALLERROR"},
    504: {"model": ErrorOut, "description": "No answer within the timeout"},
}

Timeout = Annotated[
    float | None,
    Query(gt=0, le=3600, description="s to wait for the answer (default: setting call_timeout)"),
]

_COMMAND_DOC = "\n".join(f"- `{name}`: {doc}" for name, doc in COMMANDS.items())


def router(ctx: ApiContext) -> APIRouter:
    stations = ctx.services.stations
    gateway = ctx.gateway
    default_timeout = ctx.settings.call_timeout
    api = APIRouter(prefix="/stations/{station_id}", tags=["station control"])

    @api.post("/calls/{action}", responses=_ERRORS, summary="Send any OCPP action")
    async def call(
        station_id: str,
        action: str,
        payload: Annotated[dict[str, Any], Body(default_factory=dict)],
        timeout: Timeout = None,
    ) -> JsonResponse:
        """Send a CSMS-initiated action of the station's OCPP version with the JSON body as
        payload (wire names, as in the spec); answer the station's response payload."""
        await stations.get(station_id)
        result = await gateway.call(station_id, action, payload, timeout or default_timeout)
        return JsonResponse(result)

    @api.post(
        "/commands/{name}",
        responses=_ERRORS,
        summary="Run a version-neutral command",
        description="Commands and their parameters (JSON body):\n\n" + _COMMAND_DOC,
    )
    async def command(
        station_id: str,
        name: str,
        params: Annotated[dict[str, Any], Body(default_factory=dict)],
        timeout: Timeout = None,
    ) -> JsonResponse:
        await stations.get(station_id)
        if name not in COMMANDS:
            known = ", ".join(COMMANDS)
            raise InvalidCommand(f"unknown command {name!r} (known: {known})")
        result = await gateway.command(station_id, name, params, timeout or default_timeout)
        return JsonResponse(result)

    @api.get("/messages", response_model=JournalList, responses={404: {"model": ErrorOut}})
    async def messages(
        station_id: str, action: str | None = None, limit: Limit = 50, offset: Offset = 0
    ) -> JsonResponse:
        """The message journal: every frame in and out, newest first."""
        await stations.get(station_id)
        journal = ctx.services.journal
        return page(await journal.list(station_id, limit=limit, offset=offset, action=action))

    return api
