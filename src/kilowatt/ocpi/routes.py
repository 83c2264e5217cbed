"""The OCPI HTTP endpoints of a CPO, per version (FastAPI routers).

URL layout (no trailing slashes):

- ``GET /ocpi/versions`` — versions list (token A or C);
- ``GET /ocpi/{version}`` — version details (token A or C);
- ``GET|POST|PUT|DELETE /ocpi/{version}/credentials`` (token A or C);
- ``/ocpi/cpo/{version}/locations[/{location_id}[/{evse_uid}[/{connector_id}]]]``,
  ``/ocpi/cpo/{version}/sessions``, ``/cdrs``, ``/tariffs`` — sender GETs (token C);
- ``/ocpi/cpo/{version}/tokens/{country_code}/{party_id}/{uid}[?type=]`` — receiver
  GET/PUT/PATCH (token C);
- ``POST /ocpi/cpo/{version}/commands/{command}`` — receiver (token C).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kilowatt.ocpi.convert import to_wire
from kilowatt.ocpi.cpo import Ocpi
from kilowatt.ocpi.envelope import OcpiError, StatusCode
from kilowatt.ocpi.http import authenticate, ocpi_route_class, ok, read_json
from kilowatt.ocpi.models.common import CommandType, ModuleID, OcpiModel, VersionDetails
from kilowatt.ocpi.models.common import Version as VersionInfo
from kilowatt.ocpi.pagination import ListQuery, Page, page_headers, parse_query
from kilowatt.ocpi.protocols import Caller

M = TypeVar("M", bound=OcpiModel)


def build_router(ocpi: Ocpi) -> APIRouter:
    """All OCPI routes of ``ocpi`` (versions, credentials and the enabled modules)."""
    s = ocpi.settings
    config_route = ocpi_route_class(
        functional=False, our_country_code=s.country_code, our_party_id=s.party_id
    )
    module_route = ocpi_route_class(
        functional=True, our_country_code=s.country_code, our_party_id=s.party_id
    )
    root = APIRouter(route_class=config_route)

    async def caller_any(request: Request) -> Caller:
        return await authenticate(ocpi.authenticator, request, allow_token_a=True)

    async def caller_c(request: Request) -> Caller:
        return await authenticate(ocpi.authenticator, request, allow_token_a=False)

    @root.get("/ocpi/versions")
    async def versions(request: Request) -> JSONResponse:
        await caller_any(request)
        data = [
            VersionInfo(version=v.value, url=s.details_url(v.value)).to_wire() for v in s.versions
        ]
        return ok(data)

    for version in s.versions:
        v = version.value
        root.include_router(_config_router(ocpi, v, config_route, caller_any))
        root.include_router(_module_router(ocpi, v, module_route, caller_c))

    @root.api_route(
        "/ocpi/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def not_found(rest: str) -> JSONResponse:
        # Last route: unknown OCPI paths, including trailing slashes, are 404 with the envelope
        # wherever the router is mounted (the host app's redirect_slashes never kicks in).
        raise OcpiError(
            StatusCode.CLIENT_ERROR, f"No such OCPI endpoint: /ocpi/{rest}", http_status=404
        )

    return root


def _config_router(
    ocpi: Ocpi, v: str, route_class: Any, caller_any: Callable[[Request], Awaitable[Caller]]
) -> APIRouter:
    router = APIRouter(route_class=route_class)

    @router.get(f"/ocpi/{v}", name=f"ocpi_{v}_details")
    async def details(request: Request) -> JSONResponse:
        await caller_any(request)
        return ok(VersionDetails(version=v, endpoints=ocpi.registration.our_endpoints(v)).to_wire())

    path = f"/ocpi/{v}/credentials"

    @router.get(path, name=f"ocpi_{v}_credentials_get")
    async def credentials_get(request: Request) -> JSONResponse:
        await caller_any(request)
        return ok(ocpi.registration.our_credentials(request.state.ocpi_token, v))

    @router.post(path, name=f"ocpi_{v}_credentials_post")
    async def credentials_post(request: Request) -> JSONResponse:
        caller = await caller_any(request)
        return ok(await ocpi.registration.post(caller, await read_json(request), v))

    @router.put(path, name=f"ocpi_{v}_credentials_put")
    async def credentials_put(request: Request) -> JSONResponse:
        caller = await caller_any(request)
        return ok(await ocpi.registration.put(caller, await read_json(request), v))

    @router.delete(path, name=f"ocpi_{v}_credentials_delete")
    async def credentials_delete(request: Request) -> JSONResponse:
        caller = await caller_any(request)
        await ocpi.registration.delete(caller)
        return ok(None)

    return router


def _at(caller: Caller, version: str) -> Caller:
    """The caller as seen on the ``version`` endpoints (bodies are read per URL version)."""
    return replace(caller, version=version)


def requester_parties(caller: Caller, request: Request) -> frozenset[tuple[str, str]]:
    """The parties whose sessions and CDRs ``caller`` may read on this request.

    The parties of the caller's credentials roles; when the request names its sender in the
    ``OCPI-from-country-code``/``OCPI-from-party-id`` routing headers (2.2.1 ``transport_and_
    format`` §Message Routing), only that party, and nothing when it is not one of the caller's.
    """
    own = caller.own_parties()
    cc = request.headers.get("OCPI-from-country-code")
    pid = request.headers.get("OCPI-from-party-id")
    if cc and pid:
        return own & {(cc.upper(), pid.upper())}
    return own


def _list_response(
    request: Request, query: ListQuery, page: Page[M], version: str, public_url: str, limit: int
) -> JSONResponse:
    base = public_url + request.url.path  # our public URL, not the Host we were reached on
    headers = page_headers(base, dict(request.query_params), query, page, limit)
    return ok([to_wire(item, version) for item in page.items], headers=headers)


def _module_router(
    ocpi: Ocpi, v: str, route_class: Any, caller_c: Callable[[Request], Awaitable[Caller]]
) -> APIRouter:
    s = ocpi.settings
    backend = ocpi.backend
    router = APIRouter(route_class=route_class, prefix=f"/ocpi/cpo/{v}")

    def query(request: Request) -> ListQuery:
        return parse_query(
            dict(request.query_params), default_limit=s.default_limit, max_limit=s.max_limit
        )

    if ModuleID.LOCATIONS in s.modules:

        @router.get("/locations", name=f"ocpi_{v}_locations")
        async def locations(request: Request) -> JSONResponse:
            await caller_c(request)
            q = query(request)
            return _list_response(
                request, q, await backend.list_locations(q), v, s.public_url, s.max_limit
            )

        async def find_location(location_id: str) -> Any:
            location = await backend.get_location(location_id)
            if location is None:
                raise OcpiError(
                    StatusCode.UNKNOWN_LOCATION, f"Unknown location {location_id}", http_status=404
                )
            return location

        def find_evse(location: Any, evse_uid: str) -> Any:
            evse = next((e for e in location.evses or [] if e.uid == evse_uid), None)
            if evse is None:
                raise OcpiError(StatusCode.UNKNOWN_LOCATION, "Unknown EVSE", http_status=404)
            return evse

        @router.get("/locations/{location_id}", name=f"ocpi_{v}_location")
        async def location(request: Request, location_id: str) -> JSONResponse:
            await caller_c(request)
            return ok(to_wire(await find_location(location_id), v))

        @router.get("/locations/{location_id}/{evse_uid}", name=f"ocpi_{v}_evse")
        async def evse(request: Request, location_id: str, evse_uid: str) -> JSONResponse:
            await caller_c(request)
            return ok(to_wire(find_evse(await find_location(location_id), evse_uid), v))

        @router.get(
            "/locations/{location_id}/{evse_uid}/{connector_id}", name=f"ocpi_{v}_connector"
        )
        async def connector(
            request: Request, location_id: str, evse_uid: str, connector_id: str
        ) -> JSONResponse:
            await caller_c(request)
            found = find_evse(await find_location(location_id), evse_uid)
            conn = next((c for c in found.connectors if c.id == connector_id), None)
            if conn is None:
                raise OcpiError(StatusCode.UNKNOWN_LOCATION, "Unknown connector", http_status=404)
            return ok(to_wire(conn, v))

    if ModuleID.SESSIONS in s.modules:

        @router.get("/sessions", name=f"ocpi_{v}_sessions")
        async def sessions(request: Request) -> JSONResponse:
            caller = await caller_c(request)
            q = replace(query(request), parties=requester_parties(caller, request))
            return _list_response(
                request, q, await backend.list_sessions(q), v, s.public_url, s.max_limit
            )

    if ModuleID.CDRS in s.modules:

        @router.get("/cdrs", name=f"ocpi_{v}_cdrs")
        async def cdrs(request: Request) -> JSONResponse:
            caller = await caller_c(request)
            q = replace(query(request), parties=requester_parties(caller, request))
            return _list_response(
                request, q, await backend.list_cdrs(q), v, s.public_url, s.max_limit
            )

    if ModuleID.TARIFFS in s.modules:

        @router.get("/tariffs", name=f"ocpi_{v}_tariffs")
        async def tariffs(request: Request) -> JSONResponse:
            await caller_c(request)
            q = query(request)
            return _list_response(
                request, q, await backend.list_tariffs(q), v, s.public_url, s.max_limit
            )

    if ModuleID.TOKENS in s.modules:
        tpath = "/tokens/{country_code}/{party_id}/{uid}"

        @router.get(tpath, name=f"ocpi_{v}_token_get")
        async def token_get(
            request: Request, country_code: str, party_id: str, uid: str, type: str = "RFID"
        ) -> JSONResponse:
            caller = _at(await caller_c(request), v)
            return ok(await ocpi.tokens.get(caller, country_code, party_id, uid, type))

        @router.put(tpath, name=f"ocpi_{v}_token_put")
        async def token_put(
            request: Request, country_code: str, party_id: str, uid: str, type: str = "RFID"
        ) -> JSONResponse:
            caller = _at(await caller_c(request), v)
            body = await read_json(request)
            created = await ocpi.tokens.put(caller, country_code, party_id, uid, type, body)
            return ok(None, http_status=201 if created else 200)

        @router.patch(tpath, name=f"ocpi_{v}_token_patch")
        async def token_patch(
            request: Request, country_code: str, party_id: str, uid: str, type: str = "RFID"
        ) -> JSONResponse:
            caller = _at(await caller_c(request), v)
            body = await read_json(request)
            await ocpi.tokens.patch(caller, country_code, party_id, uid, type, body)
            return ok(None)

    if ModuleID.COMMANDS in s.modules:

        @router.post("/commands/{command}", name=f"ocpi_{v}_command")
        async def command(request: Request, command: str) -> JSONResponse:
            caller = await caller_c(request)
            try:
                type_ = CommandType(command)
            except ValueError as exc:
                raise OcpiError(
                    StatusCode.CLIENT_ERROR, f"Unknown command {command}", http_status=404
                ) from exc
            caller = _at(caller, v)
            response = await ocpi.commands.submit(
                caller, type_, await read_json(request), requester_parties(caller, request)
            )
            return ok(response.to_wire())

    return router
