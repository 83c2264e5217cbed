"""The OCPI response envelope and status codes (OCPI 2.2.1 Part I ``transport_and_format``
§Response format and ``status_codes``).

Every response body is ``{"data"?, "status_code", "status_message"?, "timestamp"}``. ``data``
is a list for list endpoints and a single object for single-object endpoints. HTTP error
statuses are used only at the transport level (401 unauthenticated, 404 unknown resource on
GET, 400 unparsable JSON, 405 credentials method not allowed); a request that reaches the OCPI
layer gets HTTP 200 (or 201) with a four-digit ``status_code``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from kilowatt.ocpi.models.common import format_datetime


class StatusCode(IntEnum):
    """OCPI status codes (2.2.1 ``status_codes`` §1xxx–3xxx)."""

    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004
    SERVER_ERROR = 3000
    UNABLE_TO_USE_CLIENT_API = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003


class OcpiError(Exception):
    """An error answered with the OCPI envelope.

    ``status_code`` goes in the body; ``http_status`` is 200 unless the error belongs to the
    HTTP layer (401, 404, 405, 400). ``data`` optionally carries an object (e.g. a
    CommandResponse with REJECTED alongside 2003).
    """

    def __init__(
        self,
        status_code: StatusCode,
        message: str,
        *,
        http_status: int = 200,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.http_status = http_status
        self.data = data


class Unauthorized(OcpiError):
    """Missing or unknown credentials token, or token A outside versions/credentials: HTTP 401."""

    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(StatusCode.CLIENT_ERROR, message, http_status=401)


def envelope(
    data: Any = None,
    status_code: int = StatusCode.SUCCESS,
    status_message: str | None = "Success",
    *,
    now: datetime | None = None,
    include_data: bool = True,
) -> dict[str, Any]:
    """Build the envelope dict. ``data`` is omitted when ``include_data`` is false."""
    body: dict[str, Any] = {}
    if include_data:
        body["data"] = data
    body["status_code"] = int(status_code)
    if status_message is not None:
        body["status_message"] = status_message
    body["timestamp"] = format_datetime(now or datetime.now(UTC))
    return body
