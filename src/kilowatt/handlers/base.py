"""What every per-version station handler shares.

That is: the services, the connection lifecycle, and the plumbing of version-neutral commands.

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
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar, Protocol, TypeVar, cast

from kilowatt.csms.commands import Command
from kilowatt.csms.gateway import InvalidCommand
from kilowatt.csms.model import place_error
from kilowatt.csms.services import Services
from kilowatt.handlers.convert import json_view
from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.transport import CallContext, OcppConnection, StationPeer
from kilowatt.transport.connection import Flag

__all__ = ["HandlerRegistry", "StationHandler", "check_place", "handles"]

log = logging.getLogger("kilowatt.handlers")

A = TypeVar("A")
C = TypeVar("C", bound=Command[Any])
H = TypeVar("H", bound="StationHandler")
R = TypeVar("R")
CommandMethod = Callable[[H, C, float], Awaitable[R]]

_COMMAND_ATTRIBUTE = "__kilowatt_command__"


def handles(
    command: type[C],
) -> Callable[[CommandMethod[H, C, R]], CommandMethod[H, C, R]]:
    """Declare a handler method as the translation of ``command`` for its version.

    The method takes the typed command and a timeout in s and returns the command's answer
    Struct. Each handler class gathers its methods into its :attr:`StationHandler.commands`
    table (subclasses inherit and may override entries).
    """

    def mark(method: CommandMethod[H, C, R]) -> CommandMethod[H, C, R]:
        setattr(method, _COMMAND_ATTRIBUTE, command)
        return method

    return mark


def check_place(evse_id: int | None, connector_id: int | None) -> None:
    """Refuse an EVSE or connector id beyond :data:`kilowatt.csms.model.MAX_EVSE_ID`.

    Called before a message's EVSE/connector reaches storage (StatusNotification,
    StartTransaction, MeterValues, TransactionEvent). The id is a valid OCPP integer but a value
    this CSMS will not store: OCPP-J 1.6 §4.2.3 / OCPP 2.0.1 Part 4 §4.3 PropertyConstraintViolation
    ("at least one field contains an invalid value").

    Args:
        evse_id: The EVSE id the message names (1.6: its connectorId), or None.
        connector_id: The connector id, or None.

    Raises:
        CallError: PropertyConstraintViolation, naming the id and the bound.
    """
    problem = place_error(evse_id, connector_id)
    if problem is not None:
        raise CallError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, problem)


class HandlerRegistry(Protocol):
    """Where a connected handler registers.

    Implemented by :class:`kilowatt.handlers.registry.ConnectedStations`.
    """

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

    commands: ClassVar[dict[type[Command[Any]], Callable[..., Awaitable[Any]]]] = {}
    """The command table: command class → the method that translates it, called with
    ``(handler, command, timeout)`` (built from the :func:`handles` marks of the class and its
    bases; a subclass's mark replaces its base's entry)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Build the subclass's :attr:`commands` table: its bases' entries, then its marks."""
        super().__init_subclass__(**kwargs)
        table = dict(cls.commands)
        for value in vars(cls).values():
            command = getattr(value, _COMMAND_ATTRIBUTE, None)
            if command is not None:
                table[command] = value
        cls.commands = table

    def __init__(
        self, connection: OcppConnection, services: Services, registry: HandlerRegistry
    ) -> None:
        """Bind to ``connection``; inbound CALLs wait until :meth:`on_connect` has run."""
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

    async def run_command(self, command: Command[A], timeout: float) -> A:
        """Run a version-neutral command through this version's :attr:`commands` table.

        ``timeout`` in s, for each station call the command makes.

        Raises:
            InvalidCommand: the version has no translation of the command, or the parameters
                do not fit this version (e.g. a 1.6 idTag longer than 20 characters).
            CallError, CallTimeout, ConnectionClosed: from the station call.
        """
        method = self.commands.get(type(command))
        if method is None:
            raise InvalidCommand(f"{command.name} is not supported in OCPP {self.version.value}")
        return cast("A", await method(self, command, timeout))

    async def observe_result(self, action: str, request: Any, response: Any) -> None:
        """Keep stored state in step with a CSMS-initiated call's answer.

        E.g. configuration keys (1.6) or device-model variables (2.x). Default: nothing.
        """
