"""How the CSMS reaches connected stations: the :class:`StationGateway` protocol.

The operator API (and OCPI commands) send CSMS-initiated messages through a gateway. The
handlers layer implements it over the live WebSocket connections (and, in a cluster, routes to
the node holding the station's socket); tests use an in-memory twin.

Two levels:

- :meth:`StationGateway.call` sends one OCPP action of the station's own version with a payload
  in wire names (``{"connectorId": 1, "type": "Unlock"}``...) and returns the response payload.
- :meth:`StationGateway.command` runs a version-neutral command (:data:`COMMANDS`, typed
  requests and answers in :mod:`kilowatt.csms.commands`) whatever the station speaks; the
  implementation picks the action per version.

Errors raised by both (the API maps them to HTTP statuses): :class:`StationNotConnected` (409),
:class:`InvalidPayload` (422), :class:`InvalidCommand` (422), :class:`UnknownAction` (404 /
422), :class:`StationCallError` (502), :class:`StationCallTimeout` (504).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from kilowatt.csms.commands import COMMANDS

__all__ = [
    "COMMANDS",
    "GatewayError",
    "InvalidCommand",
    "InvalidPayload",
    "StationCallError",
    "StationCallTimeout",
    "StationGateway",
    "StationNotConnected",
    "UnknownAction",
]


class GatewayError(Exception):
    """Base of the errors a :class:`StationGateway` raises."""


class StationNotConnected(GatewayError):
    """The station has no open connection (on any node)."""

    def __init__(self, station_id: str) -> None:
        """Record ``station_id`` (kept as an attribute) in the message."""
        super().__init__(f"station {station_id!r} is not connected")
        self.station_id = station_id


class UnknownAction(GatewayError):
    """The action is not a CSMS-initiated action of the station's OCPP version."""

    def __init__(self, action: str, ocpp_version: str | None = None) -> None:
        """Name ``action`` and, when known, the station's ``ocpp_version`` (both kept)."""
        where = f" in OCPP {ocpp_version}" if ocpp_version else ""
        super().__init__(f"{action!r} is not a CSMS-initiated action{where}")
        self.action = action
        self.ocpp_version = ocpp_version


class InvalidPayload(GatewayError):
    """The payload does not match the action's request schema; ``message`` says why."""

    def __init__(self, message: str) -> None:
        """Keep ``message`` (also the exception text)."""
        super().__init__(message)
        self.message = message


class InvalidCommand(GatewayError):
    """Unknown command name or bad parameters; ``message`` says why."""

    def __init__(self, message: str) -> None:
        """Keep ``message`` (also the exception text)."""
        super().__init__(message)
        self.message = message


class StationCallError(GatewayError):
    """The station answered with a CALLERROR (or an invalid CALLRESULT).

    ``code`` is the error code as sent (e.g. ``NotSupported``); ``details`` is a JSON object.
    """

    def __init__(self, code: str, description: str, details: dict[str, Any] | None = None) -> None:
        """Keep the CALLERROR's ``code``, ``description`` and ``details`` (None: ``{}``)."""
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.details: dict[str, Any] = details or {}


class StationCallTimeout(GatewayError):
    """No answer within the timeout (s)."""

    def __init__(self, station_id: str, action: str, timeout: float) -> None:
        """Keep the ``station_id``, the ``action`` sent and the ``timeout`` waited (s)."""
        super().__init__(f"{station_id!r} did not answer {action} within {timeout:g} s")
        self.station_id = station_id
        self.action = action
        self.timeout = timeout


@runtime_checkable
class StationGateway(Protocol):
    """Sends CSMS-initiated messages to connected stations."""

    def is_connected(self, station_id: str) -> bool:
        """True when the station has an open connection (on this node or, in a cluster, any)."""
        ...

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """Send ``action`` with ``payload`` (wire names) and return the response payload.

        ``timeout`` in s. Raises :class:`StationNotConnected`, :class:`UnknownAction`,
        :class:`InvalidPayload`, :class:`StationCallError`, :class:`StationCallTimeout`.
        """
        ...

    async def command(
        self, station_id: str, name: str, params: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """Run version-neutral command ``name`` (a key of :data:`COMMANDS`) with ``params``.

        ``params`` is the command's request (:mod:`kilowatt.csms.commands`) as a JSON object;
        the answer is its answer Struct as a JSON object (at least ``{"status": ...}`` where
        the action answers one). Raises the errors of :meth:`call`, and
        :class:`InvalidCommand` for an unknown name or parameters that do not fit.
        """
        ...
