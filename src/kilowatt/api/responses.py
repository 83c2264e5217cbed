"""JSON responses and error mapping shared by the API modules.

Responses are encoded with msgspec straight from the service dataclasses: decimals are JSON
numbers with every digit kept (``1000.25``, never a rounded float), datetimes RFC 3339 UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kilowatt.api.schemas import ErrorOut
from kilowatt.csms.errors import AlreadyExists, NotFound, ValidationError
from kilowatt.csms.gateway import (
    InvalidCommand,
    InvalidPayload,
    StationCallError,
    StationCallTimeout,
    StationNotConnected,
    UnknownAction,
)
from kilowatt.csms.model import Page

__all__ = ["BAD_BODY", "COMMON_ERRORS", "JsonResponse", "error", "install_error_handlers", "page"]

_encoder = msgspec.json.Encoder(decimal_format="number")


class JsonResponse(Response):
    """``application/json`` encoded by msgspec (dataclasses, Decimal, datetime, enums)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode ``content`` as JSON bytes; decimals become numbers with every digit kept."""
        return _encoder.encode(content)


def error(description: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry: body :class:`~kilowatt.api.schemas.ErrorOut`."""
    return {"model": ErrorOut, "description": description}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {
        **error("Missing, malformed or wrong API key (`Authorization: Bearer <api key>`)"),
        "headers": {
            "WWW-Authenticate": {
                "description": "`Bearer`: the scheme the API expects",
                "schema": {"type": "string"},
            }
        },
    },
    422: error(
        "A parameter or the body does not fit the schema (`errors` lists each problem), "
        "or a value the schema cannot express is refused (`detail` says which)"
    ),
}
"""The errors every ``/api/v1`` operation can answer (declared once, on the API router)."""

BAD_BODY = error("The body is not JSON text (e.g. bytes that are not UTF-8)")
"""The 400 of every operation that takes a body (FastAPI cannot parse it)."""


def page(result: Page[Any], convert: Callable[[Any], Any] = lambda item: item) -> JsonResponse:
    """``{"items": [...], "total": n}``."""
    return JsonResponse({"items": [convert(i) for i in result.items], "total": result.total})


def _detail(status_code: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": message, **extra}, status_code=status_code)


def _allowed_methods(request: Request) -> list[str]:
    # The methods the OpenAPI document lists for this path: what a client was told it may use.
    path = request.url.path
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path):
            methods.update(method.upper() for method in operations)
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Map service and gateway errors to HTTP statuses, every body an ``ErrorOut``.

    Each body is ``{"detail": "..."}`` (request validation adds ``errors``, see
    :class:`~kilowatt.api.schemas.ErrorOut`), as the OpenAPI document declares it.

    NotFound 404, AlreadyExists 409, ValidationError 422, StationNotConnected 409,
    UnknownAction 404, InvalidPayload/InvalidCommand 422, StationCallTimeout 504,
    StationCallError 502 with ``{code, description, details}`` (plus ``detail``). A 405
    lists every method of the path in ``Allow`` (RFC 9110 §15.5.6).
    """

    def handler(code: int) -> Callable[[Request, Exception], Any]:
        async def handle(_request: Request, exc: Exception) -> Response:
            return _detail(code, str(exc))

        return handle

    app.add_exception_handler(NotFound, handler(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(AlreadyExists, handler(status.HTTP_409_CONFLICT))
    app.add_exception_handler(ValidationError, handler(status.HTTP_422_UNPROCESSABLE_CONTENT))
    app.add_exception_handler(StationNotConnected, handler(status.HTTP_409_CONFLICT))
    app.add_exception_handler(UnknownAction, handler(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(InvalidPayload, handler(status.HTTP_422_UNPROCESSABLE_CONTENT))
    app.add_exception_handler(InvalidCommand, handler(status.HTTP_422_UNPROCESSABLE_CONTENT))
    app.add_exception_handler(StationCallTimeout, handler(status.HTTP_504_GATEWAY_TIMEOUT))

    async def call_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StationCallError)
        return _detail(
            status.HTTP_502_BAD_GATEWAY,
            f"the station answered with {exc.code}",
            code=exc.code,
            description=exc.description,
            details=exc.details,
        )

    async def validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in errors
        ]
        return _detail(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "; ".join(parts) or "invalid request",
            errors=[
                {
                    "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                    "msg": str(e.get("msg", "invalid")),
                }
                for e in errors
            ],
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        response = _detail(exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            # Starlette lists the methods of the first route matching the path only; FastAPI
            # makes one route per method, so Allow would omit the path's other methods.
            response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response

    app.add_exception_handler(StationCallError, call_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
