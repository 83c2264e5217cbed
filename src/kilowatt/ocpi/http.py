"""HTTP transport rules of OCPI 2.2.1 Part I ``transport_and_format`` for FastAPI routes.

:func:`ocpi_route_class` builds an :class:`~fastapi.routing.APIRoute` subclass that every OCPI
route uses, so the rules hold wherever the router is mounted:

- errors become the envelope (:class:`~kilowatt.ocpi.envelope.OcpiError`; request
  validation → 2001 with HTTP 200, unparsable JSON → HTTP 400 + 2001, bugs → HTTP 500 + 3000);
- ``X-Request-ID`` and ``X-Correlation-ID`` are echoed (generated when absent);
- on functional modules the routing headers are answered as a *Direct response*
  (§Message Routing, Party to Party): ``OCPI-to-*`` = the request's ``OCPI-from-*`` and
  ``OCPI-from-*`` = the request's ``OCPI-to-*`` (or our own party when absent). Configuration
  modules (versions, credentials) carry no routing headers.

:func:`token_candidates` and :func:`authenticate` implement §Authorization header: the value
after ``Token`` is base64 of the credentials token; a raw token is accepted as a fallback for
older partners. A missing or unknown token, or token A on a functional module, is HTTP 401.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError

from kilowatt.ocpi.envelope import OcpiError, StatusCode, Unauthorized, envelope
from kilowatt.ocpi.protocols import Authenticator, Caller, TokenStage

log = logging.getLogger(__name__)

ROUTING_HEADERS = (
    "OCPI-from-country-code",
    "OCPI-from-party-id",
    "OCPI-to-country-code",
    "OCPI-to-party-id",
)


def ok(
    data: Any = None,
    *,
    headers: dict[str, str] | None = None,
    status_message: str = "Success",
    http_status: int = 200,
) -> JSONResponse:
    """A 1000 Success envelope around ``data`` (a dict, list, or ``None``)."""
    return JSONResponse(envelope(data, status_message=status_message), http_status, headers)


def error_response(exc: OcpiError) -> JSONResponse:
    """The envelope for an :class:`OcpiError` (``data`` only when the error carries one)."""
    body = envelope(exc.data, exc.status_code, exc.message, include_data=exc.data is not None)
    return JSONResponse(body, exc.http_status)


def ocpi_route_class(
    *, functional: bool, our_country_code: str, our_party_id: str
) -> type[APIRoute]:
    """An APIRoute class applying the transport rules above.

    Args:
        functional: ``True`` for functional modules (routing headers answered).
        our_country_code: our ISO 3166 alpha-2 country code (``OCPI-from-*`` default).
        our_party_id: our 3-character party id.
    """

    class OcpiRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            inner = super().get_route_handler()

            async def handler(request: Request) -> Response:
                try:
                    response = await inner(request)
                except OcpiError as exc:
                    response = error_response(exc)
                except RequestValidationError as exc:
                    bad_json = any(e.get("type") == "json_invalid" for e in exc.errors())
                    msg = "; ".join(
                        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                        for e in exc.errors()
                    )[:500]
                    response = error_response(
                        OcpiError(
                            StatusCode.INVALID_PARAMETERS,
                            msg or "invalid request",
                            http_status=400 if bad_json else 200,
                        )
                    )
                except ValidationError as exc:
                    msg = "; ".join(
                        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                        for e in exc.errors()
                    )[:500]
                    response = error_response(OcpiError(StatusCode.INVALID_PARAMETERS, msg))
                except Exception:
                    log.exception("OCPI handler failed: %s %s", request.method, request.url.path)
                    response = error_response(
                        OcpiError(StatusCode.SERVER_ERROR, "internal error", http_status=500)
                    )
                request_id = request.headers.get("X-Request-ID") or str(uuid.uuid4())
                correlation_id = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
                response.headers["X-Request-ID"] = request_id
                response.headers["X-Correlation-ID"] = correlation_id
                if functional:
                    h = request.headers
                    from_cc = h.get("OCPI-to-country-code") or our_country_code
                    from_pid = h.get("OCPI-to-party-id") or our_party_id
                    response.headers["OCPI-from-country-code"] = from_cc
                    response.headers["OCPI-from-party-id"] = from_pid
                    if h.get("OCPI-from-country-code") and h.get("OCPI-from-party-id"):
                        response.headers["OCPI-to-country-code"] = h["OCPI-from-country-code"]
                        response.headers["OCPI-to-party-id"] = h["OCPI-from-party-id"]
                return response

            return handler

    return OcpiRoute


async def read_json(request: Request) -> Any:
    """The request body as JSON; unparsable JSON is HTTP 400 + 2001 (``status_codes``)."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise OcpiError(
            StatusCode.INVALID_PARAMETERS, "Body is not valid JSON", http_status=400
        ) from exc


def token_candidates(header: str | None) -> list[str]:
    """Tokens to try for an ``Authorization`` header value, best first.

    ``Token <base64>`` → the decoded token, then the raw value (fallback for partners that
    send the token unencoded, as OCPI 2.1.1 did). Anything else → ``[]``.
    """
    if not header:
        return []
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        return []
    out: list[str] = []
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if decoded and decoded.isprintable() and " " not in decoded:
        out.append(decoded)
    out.append(value)
    return out


async def authenticate(
    authenticator: Authenticator, request: Request, *, allow_token_a: bool
) -> Caller:
    """Authenticate ``request`` or raise :class:`~kilowatt.ocpi.envelope.Unauthorized` (401).

    ``allow_token_a`` is true only for the versions and credentials modules (§Authorization
    header: token A elsewhere SHALL get 401).
    """
    for candidate in token_candidates(request.headers.get("Authorization")):
        caller = await authenticator.authenticate(candidate)
        if caller is None:
            continue
        if caller.stage is TokenStage.A and not allow_token_a:
            raise Unauthorized("Token A is valid only on versions and credentials")
        request.state.ocpi_token = candidate
        return caller
    raise Unauthorized("Missing or unknown credentials token")
