"""This node's connected stations: :class:`ConnectedStations`, the registry of live handlers.

It implements :class:`~kilowatt.csms.gateway.StationGateway`.

A registry of connected stations (identity → :class:`~kilowatt.handlers.base.StationHandler`)
plus the translation of the gateway's errors: the operator API sends JSON in wire names, which
is decoded with the action's generated request type of the station's OCPP version (so a payload
is checked exactly as a station would check it), and the typed answer goes back as a JSON
object in wire names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from kilowatt.csms.commands import Command, parse_command
from kilowatt.csms.gateway import (
    InvalidCommand,
    InvalidPayload,
    StationCallError,
    StationCallTimeout,
    StationNotConnected,
    UnknownAction,
)
from kilowatt.handlers.base import StationHandler
from kilowatt.ocpp.action import ActionSpec, Initiator
from kilowatt.ocpp.codec import PayloadError, decode_payload, encode_payload
from kilowatt.ocpp.errors import CallError, CallTimeout, ErrorCode, wire_code
from kilowatt.ocpp.rpc import version_actions
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import ConnectionClosed

__all__ = ["ConnectedStations", "csms_action"]

log = logging.getLogger("kilowatt.handlers")

A = TypeVar("A")


def csms_action(version: OcppVersion, action: str) -> ActionSpec:
    """The spec of ``action`` if the CSMS may send it as a CALL in ``version``.

    Raises:
        UnknownAction: not an action of the version, an action only stations initiate, or a
            2.1 SEND-only action.
    """
    spec = version_actions(version).get(action)
    if spec is None or spec.initiator is Initiator.CHARGING_STATION or spec.send:
        raise UnknownAction(action, version.value)
    return spec


def _to_json(payload: Any) -> dict[str, Any]:
    # Through JSON text rather than to_builtins: numbers stay JSON numbers for the API client.
    data = msgspec.json.decode(encode_payload(payload))
    return data if isinstance(data, dict) else {}


class ConnectedStations:
    """The station handlers connected to this node, by identity.

    Implements :class:`kilowatt.csms.gateway.StationGateway` over them (and
    :class:`kilowatt.handlers.base.HandlerRegistry` for the handlers themselves).
    """

    def __init__(self) -> None:
        """Start empty: no station connected to this node."""
        self._handlers: dict[str, StationHandler] = {}

    # --- registry -------------------------------------------------------------------------------

    def register(self, handler: StationHandler) -> None:
        """Make ``handler`` the live connection of its identity (replacing an older one)."""
        self._handlers[handler.identity] = handler

    def unregister(self, handler: StationHandler) -> bool:
        """Forget ``handler``; False when a newer connection of the identity had replaced it."""
        if self._handlers.get(handler.identity) is handler:
            del self._handlers[handler.identity]
            return True
        return False

    def get(self, station_id: str) -> StationHandler | None:
        """The live handler of ``station_id``, if connected to this node."""
        return self._handlers.get(station_id)

    @property
    def connected(self) -> list[str]:
        """Identities connected to this node."""
        return list(self._handlers)

    def _handler(self, station_id: str) -> StationHandler:
        handler = self._handlers.get(station_id)
        if handler is None or handler.connection.closed:
            raise StationNotConnected(station_id)
        return handler

    # --- StationGateway -------------------------------------------------------------------------

    def is_connected(self, station_id: str) -> bool:
        """True when the station has an open connection to this node."""
        handler = self._handlers.get(station_id)
        return handler is not None and not handler.connection.closed

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """Send ``action`` with ``payload`` (wire names); return the answer in wire names.

        ``timeout`` in s, counted from when the frame is sent (calls queue FIFO, one
        outstanding per direction: OCPP 2.0.1 Part 4 §4.1.1).

        Raises:
            StationNotConnected: no open connection to this node (or it closed meanwhile).
            UnknownAction: the CSMS may not send ``action`` in the station's version.
            InvalidPayload: ``payload`` does not fit the action's request schema.
            StationCallError: the station answered with a CALLERROR.
            StationCallTimeout: no answer in time.
        """
        handler = self._handler(station_id)
        spec = csms_action(handler.version, action)
        try:
            request = decode_payload(spec.request, msgspec.json.encode(payload))
        except PayloadError as exc:
            code = wire_code(exc.code, handler.version)
            raise InvalidPayload(f"{code}: {exc.description}") from None
        except (msgspec.EncodeError, TypeError) as exc:
            raise InvalidPayload(str(exc)) from None
        response = await self.send(handler, request, action, timeout)
        try:
            await handler.observe_result(action, request, response)
        except Exception:
            log.exception("%s: could not store the answer to %s", station_id, action)
        return _to_json(response)

    async def command(
        self, station_id: str, name: str, params: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """Run version-neutral command ``name``; request and answer are JSON objects.

        The commands and their fields: :mod:`kilowatt.csms.commands`.

        Raises:
            InvalidCommand: unknown name, or parameters that do not fit the command.
            And the errors of :meth:`run`.
        """
        try:
            command = parse_command(name, params)
        except KeyError:
            raise InvalidCommand(f"unknown command {name!r}") from None
        except ValueError as exc:
            raise InvalidCommand(str(exc)) from None
        answer = await self.run(station_id, command, timeout)
        result: dict[str, Any] = msgspec.to_builtins(answer)
        return result

    async def run(self, station_id: str, command: Command[A], timeout: float) -> A:
        """Run a typed version-neutral command on a connected station; return its typed answer.

        ``timeout`` in s, for each station call the command makes.

        Raises:
            StationNotConnected: no open connection to this node (or it closed meanwhile).
            InvalidCommand: the station's version cannot carry the command as given.
            StationCallError: the station answered with a CALLERROR.
            StationCallTimeout: no answer in time.
        """
        handler = self._handler(station_id)
        try:
            return await handler.run_command(command, timeout)
        except CallError as exc:
            raise _call_error(exc, handler.version) from None
        except CallTimeout:
            raise StationCallTimeout(station_id, command.name, timeout) from None
        except ConnectionClosed:
            raise StationNotConnected(station_id) from None

    @staticmethod
    async def send(handler: StationHandler, request: Any, action: str, timeout: float) -> Any:
        """Send a typed request to a station, mapping transport errors to gateway errors."""
        try:
            return await handler.connection.call(request, timeout=timeout, action=action)
        except CallError as exc:
            raise _call_error(exc, handler.version) from None
        except CallTimeout:
            raise StationCallTimeout(handler.identity, action, timeout) from None
        except ConnectionClosed:
            raise StationNotConnected(handler.identity) from None


def _call_error(exc: CallError, version: OcppVersion) -> StationCallError:
    # The code as the station's version spells it (1.6: FormationViolation...), as received.
    code = exc.code
    text = wire_code(code, version) if isinstance(code, ErrorCode) else str(code)
    details = exc.details if isinstance(exc.details, Mapping) else {}
    return StationCallError(text, exc.description, dict(details))
