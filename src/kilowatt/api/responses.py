"""JSON responses and error mapping shared by the API modules.

Responses are encoded with msgspec straight from the service dataclasses: decimals are JSON
numbers with every digit kept (``1000.25``, never a rounded float), datetimes RFC 3339 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

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

__all__ = ["JsonResponse", "install_error_handlers", "page"]

_encoder = msgspec.json.Encoder(decimal_format="number")


class JsonResponse(Response):
    """``application/json`` encoded by msgspec (dataclasses, Decimal, datetime, enums)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode ``content`` as JSON bytes; decimals become numbers with every digit kept."""
        return _encoder.encode(content)


def page(result: Page[Any], convert: Callable[[Any], Any] = lambda item: item) -> JsonResponse:
    """``{"items": [...], "total": n}``."""
    return JsonResponse({"items": [convert(i) for i in result.items], "total": result.total})


def _detail(status_code: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": message, **extra}, status_code=status_code)


def install_error_handlers(app: FastAPI) -> None:
    """Map service and gateway errors to HTTP statuses, every body ``{"detail": "..."}``.

    NotFound 404, AlreadyExists 409, ValidationError 422, StationNotConnected 409,
    UnknownAction 404, InvalidPayload/InvalidCommand 422, StationCallTimeout 504,
    StationCallError 502 with ``{code, description, details}`` (plus ``detail``).
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
            errors=[{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in errors],
        )

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        response = _detail(exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    app.add_exception_handler(StationCallError, call_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
