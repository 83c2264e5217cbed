"""Station control: ``/stations/{id}/calls/{Action}``, ``/commands/{name}``, ``/messages``.

Each version-neutral command has its own route, ``/commands/<name>``, whose request body and
200 answer are documented with the JSON schemas of the command's typed request and answer
(:mod:`kilowatt.csms.commands`); bodies are validated against the request type (422 when
they do not fit). An unknown name answers 422 with the list of known ones.
"""

from __future__ import annotations

import functools
import math
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Body, Query

from kilowatt.api.context import ApiContext, Limit, Offset
from kilowatt.api.responses import JsonResponse, page
from kilowatt.api.schemas import (
    CallErrorOut,
    ErrorOut,
    JournalList,
    command_schemas,
    integer_bounds,
)
from kilowatt.csms.commands import COMMANDS, Command, parse_command
from kilowatt.csms.gateway import InvalidCommand
from kilowatt.csms.limits import INT64_MAX, INT64_MIN

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
    Query(
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="s to wait for the answer (default: setting call_timeout)",
    ),
]

Params = Annotated[dict[str, Any], Body(default_factory=dict)]


def router(ctx: ApiContext) -> APIRouter:
    """The station-control routes under ``/stations/{station_id}``, bound to ``ctx``.

    ``POST /calls/{action}`` (any CSMS-initiated action, payload in wire names), one
    ``POST /commands/<name>`` per version-neutral command, and ``GET /messages`` (the journal).
    Without ``?timeout=`` (s) a call waits ``ctx.settings.call_timeout``. Errors: 404 unknown
    station or action, 409 not connected, 422 invalid payload, parameters or command name, 502
    the station's CALLERROR, 504 no answer in time.
    :func:`kilowatt.api.create_router` mounts the router under the API prefix.
    """
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
        """Send a CSMS-initiated action of the station's OCPP version; answer its response.

        The JSON body is the payload (wire names, as in the spec); the answer is the station's
        response payload.
        """
        await stations.get(station_id)
        result = await gateway.call(station_id, action, payload, timeout or default_timeout)
        return JsonResponse(result)

    async def run(station_id: str, name: str, params: dict[str, Any], timeout: float | None) -> Any:
        await stations.get(station_id)
        try:
            command = parse_command(name, _integral_floats(params, _any_number_fields(name)))
        except KeyError:
            known = ", ".join(COMMANDS)
            raise InvalidCommand(f"unknown command {name!r} (known: {known})") from None
        except ValueError as exc:
            raise InvalidCommand(str(exc)) from None
        canonical = msgspec.to_builtins(command)
        problem = _out_of_range(canonical, _any_number_fields(name))
        if problem:
            raise InvalidCommand(f"{name}: {problem}")
        result = await gateway.command(station_id, name, canonical, timeout or default_timeout)
        return JsonResponse(result)

    for command_type in COMMANDS.values():
        _command_route(api, command_type, run)

    @api.post("/commands/{name}", responses=_ERRORS, include_in_schema=False)
    async def unknown_command(
        station_id: str, name: str, params: Params, timeout: Timeout = None
    ) -> JsonResponse:
        return await run(station_id, name, params, timeout)  # type: ignore[no-any-return]

    @api.get("/messages", response_model=JournalList, responses={404: {"model": ErrorOut}})
    async def messages(
        station_id: str, action: str | None = None, limit: Limit = 50, offset: Offset = 0
    ) -> JsonResponse:
        """The message journal: every frame in and out, newest first.

        A page holds at most ``limit`` frames and, whatever the limit, frames of at most
        ``journal_page_max_bytes`` (setting; 4 MiB by default) in all, at least one: a page
        shorter than ``limit`` continues at ``offset`` + its length. A frame above
        ``journal_max_frame_bytes`` was stored as a placeholder: a JSON object with
        ``truncated``, ``size`` (bytes), ``sha256`` and ``head`` (its first bytes).
        """
        await stations.get(station_id)
        journal = ctx.services.journal
        result = await journal.list(
            station_id,
            limit=limit,
            offset=offset,
            action=action,
            max_bytes=ctx.settings.journal_page_max_bytes,
        )
        return page(result)

    return api


def _integral_floats(params: dict[str, Any], any_number: frozenset[str]) -> dict[str, Any]:
    """``params`` with top-level ``1.0``-style floats as ints.

    JSON Schema counts ``9236.0`` as an ``integer``; msgspec's strict decoding does not, so a
    schema-valid body would be refused. A whole float beyond 64 bits stays a float: a field
    that takes any number (SetConfiguration ``value``) keeps it, and an integer field refuses
    it with its own message. Free-form fields, and fields that take any number, are passed
    through untouched.
    """
    return {
        field: int(value)
        if isinstance(value, float)
        and field not in _FREE_FORM
        and field not in any_number
        and math.isfinite(value)
        and value.is_integer()
        and INT64_MIN <= value <= INT64_MAX
        else value
        for field, value in params.items()
    }


_FREE_FORM = frozenset({"data"})
"""Command fields whose value is passed through as is (DataTransfer ``data``)."""


@functools.cache
def _any_number_fields(name: str) -> frozenset[str]:
    """Top-level fields of command ``name`` whose type takes a float (any JSON number).

    Their schema admits every finite number (an integer beyond 32 bits included: JSON Schema's
    ``number`` contains the integers), so only finiteness is checked for them.
    """
    command_type = COMMANDS.get(name)
    if command_type is None:
        return frozenset()
    info = msgspec.inspect.type_info(command_type)
    if not isinstance(info, msgspec.inspect.StructType):
        return frozenset()
    return frozenset(field.encode_name for field in info.fields if _takes_float(field.type))


def _takes_float(kind: msgspec.inspect.Type) -> bool:
    if isinstance(kind, msgspec.inspect.FloatType):
        return True
    if isinstance(kind, msgspec.inspect.UnionType):
        return any(_takes_float(member) for member in kind.types)
    return False


def _out_of_range(params: dict[str, Any], any_number: frozenset[str]) -> str | None:
    """Why a decoded command holds a number storage or OCPP cannot carry, or None.

    Integer fields must fit :func:`~kilowatt.api.schemas.integer_bounds` (OCPP ``integer``,
    32 bit; transaction ids 64 bit) and float fields must be finite (``1e999`` decodes to
    infinity). Free-form values (DataTransfer ``data``) are the station's business: nested
    values are not checked, as their schema bounds nothing.
    """
    for field, value in params.items():
        if isinstance(value, bool) or field in _FREE_FORM:
            continue
        if isinstance(value, int) and field not in any_number:
            low, high = integer_bounds(field)
            if not low <= value <= high:
                return f"{field} must be {low} to {high}"
        elif isinstance(value, float) and not math.isfinite(value):
            return f"{field} must be a finite number"
    return None


def _command_route(api: APIRouter, command_type: type[Command[Any]], run: Any) -> None:
    """Add ``POST /commands/<name>`` for one command, documented from its typed structs."""
    name = command_type.name
    request_schema, answer_schema = command_schemas(command_type)
    doc = (command_type.__doc__ or "").strip()

    async def endpoint(station_id: str, params: Params, timeout: Timeout = None) -> JsonResponse:
        return await run(station_id, name, params, timeout)  # type: ignore[no-any-return]

    api.add_api_route(
        f"/commands/{name}",
        endpoint,
        methods=["POST"],
        name=f"command_{name.replace('-', '_')}",
        summary=f"Command {name}",
        description=" ".join(doc.split()),
        responses={
            200: {
                "description": "The station's answer",
                "content": {"application/json": {"schema": answer_schema}},
            },
            **_ERRORS,
        },
        openapi_extra={
            "requestBody": {
                # Required when the command has required fields: an absent body is then a 422.
                "required": bool(request_schema.get("required")),
                "content": {"application/json": {"schema": request_schema}},
            }
        },
    )
