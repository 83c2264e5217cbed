"""What every per-version station handler shares: the services, the connection lifecycle, and
the plumbing of version-neutral commands.

One :class:`StationHandler` object serves one WebSocket connection (it is a
:class:`~kilowatt.transport.StationPeer`). Its lifecycle:

1. made by :func:`kilowatt.handlers.factory.handler_factory` when the handshake succeeded;
2. :meth:`StationHandler.on_connect` records the connection (open registration creates the
   station here) and registers the handler with its :class:`HandlerRegistry` (the node's
   :class:`~kilowatt.handlers.registry.ConnectedStations`); inbound CALLs wait for this, so a
   BootNotification that arrives first never updates a station row that does not exist yet;
3. ``@on`` handlers of the version subclass answer the station's CALLs;
4. :meth:`StationHandler.on_disconnect` unregisters it and marks the station disconnected —
   unless a newer connection of the same identity has replaced it.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Mapping
from typing import Any, Protocol

from kilowatt.csms.gateway import InvalidCommand
from kilowatt.csms.services import Services
from kilowatt.handlers.convert import json_view
from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.transport import CallContext, OcppConnection, StationPeer
from kilowatt.transport.connection import Flag

__all__ = ["HandlerRegistry", "StationHandler", "int_param", "str_param"]

log = logging.getLogger("kilowatt.handlers")


class HandlerRegistry(Protocol):
    """Where a connected handler registers (implemented by
    :class:`kilowatt.handlers.registry.ConnectedStations`)."""

    def register(self, handler: StationHandler) -> None:
        """Make ``handler`` the live connection of its identity (replacing an older one)."""
        ...

    def unregister(self, handler: StationHandler) -> bool:
        """Forget ``handler``; False when a newer connection of the identity replaced it."""
        ...


class StationHandler(StationPeer):
    """Base of the per-version handlers (:mod:`.v16`, :mod:`.v201`, :mod:`.v21`).

    Args:
        connection: the station's connection.
        services: the CSMS services.
        registry: the registry this handler joins once connected.
    """

    def __init__(
        self, connection: OcppConnection, services: Services, registry: HandlerRegistry
    ) -> None:
        super().__init__(connection)
        self.services = services
        self.registry = registry
        self._ready = Flag()
        self._refused = False

    # --- lifecycle ----------------------------------------------------------------------------

    async def on_connect(self) -> None:
        """Record the connection, then let inbound CALLs through."""
        # Register before the first await: a connection this one replaces may close while we
        # wait for the database, and its on_disconnect must then see that it is no longer the
        # current one (or it would mark the live station disconnected).
        self.registry.register(self)
        try:
            await self.services.stations.connected(self.identity, self.version.value)
        except Exception:
            # E.g. the station was deleted between the handshake check and now (registration
            # known): nothing may be stored for it, so the connection is refused.
            log.warning("%s: connection not recorded; closing", self.identity, exc_info=True)
            self.registry.unregister(self)
            self._refused = True
            self._ready.set()
            await self.close(1008, "station not registered")
            return
        self._ready.set()

    async def on_disconnect(self) -> None:
        """Unregister; mark the station disconnected unless a newer connection replaced us."""
        current = self.registry.unregister(self)
        if current and not self._refused:
            try:
                await self.services.stations.disconnected(self.identity)
            except Exception:
                log.exception("%s: could not record the disconnection", self.identity)

    def handle_call(self, context: CallContext, request: Any) -> Coroutine[Any, Any, Any]:
        """Dispatch once :meth:`on_connect` has recorded the station (see module docstring).

        Once the station is recorded this returns :meth:`Peer.handle_call`'s coroutine itself
        rather than awaiting it in one more coroutine of its own (one frame less per call).
        """
        if self._ready.is_set() and not self._refused:
            return super().handle_call(context, request)
        return self._handle_when_ready(context, request)

    async def _handle_when_ready(self, context: CallContext, request: Any) -> Any:
        await self._ready.wait()
        if self._refused:
            raise CallError(ErrorCode.SECURITY_ERROR, "station not registered")
        return await super().handle_call(context, request)

    # --- helpers for the version subclasses ----------------------------------------------------

    async def record(self, kind: str, payload: Any, **extra: Any) -> None:
        """Store a station notification (kind = action name) with its payload in wire names."""
        data = json_view(payload)
        data.update(extra)
        await self.services.stations.record_event(self.identity, kind, data)

    # --- version-neutral commands ----------------------------------------------------------------

    async def command(self, name: str, params: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """Run version-neutral command ``name`` (see :data:`kilowatt.csms.gateway.COMMANDS`).

        The version subclass implements ``cmd_<name with _ for ->`` methods.

        Raises:
            InvalidCommand: unknown command or bad parameters.
            CallError, CallTimeout, ConnectionClosed: from the station call.
        """
        method = getattr(self, "cmd_" + name.replace("-", "_"), None)
        if method is None:
            raise InvalidCommand(f"unknown command {name!r}")
        result: dict[str, Any] = await method(dict(params), timeout)
        return result

    async def observe_result(self, action: str, request: Any, response: Any) -> None:
        """Keep stored state in step with a CSMS-initiated call's answer (configuration keys,
        device-model variables). Default: nothing."""


def int_param(
    params: Mapping[str, Any], name: str, *, default: int | None = None, required: bool = False
) -> int | None:
    """An integer command parameter (bools are not integers here)."""
    value = params.get(name, default)
    if value is None:
        if required:
            raise InvalidCommand(f"parameter {name!r} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCommand(f"parameter {name!r} must be an integer")
    return value


def str_param(
    params: Mapping[str, Any], name: str, *, default: str | None = None, required: bool = False
) -> str | None:
    """A string command parameter."""
    value = params.get(name, default)
    if value is None:
        if required:
            raise InvalidCommand(f"parameter {name!r} is required")
        return None
    if not isinstance(value, str):
        raise InvalidCommand(f"parameter {name!r} must be a string")
    return value
