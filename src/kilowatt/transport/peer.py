"""Application base classes: subclass, decorate handlers with ``@on``/``@after``, ``await call()``.

:class:`ChargePoint` is the CSMS side's object for one connected charging station;
:class:`StationClient` is the charging station side's object for its connection to the CSMS.
Both are :class:`Peer` subclasses and differ only in which side they declare to be.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, ClassVar

from kilowatt.ocpp.action import Initiator
from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.ocpp.routing import Route, RouteTable, collect_routes
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport.connection import CallContext, OcppConnection

__all__ = ["ChargePoint", "Peer", "StationClient"]

logger = logging.getLogger("kilowatt.transport")


class Peer:
    """The application object bound to one OCPP connection.

    Subclass it, declare handlers with :func:`kilowatt.ocpp.routing.on` and
    :func:`~kilowatt.ocpp.routing.after`, and send CALLs with :meth:`call`. A handler receives the
    typed request (and the :class:`CallContext` if it declares a second parameter) and returns
    the typed response; raising :class:`CallError` answers with that error, any other exception
    answers InternalError. An action of the version without a handler is answered NotSupported
    (unknown actions are answered NotImplemented by the RPC core).

    Override :meth:`on_connect` / :meth:`on_disconnect` for per-connection setup (e.g. a station
    sends BootNotification in ``on_connect``, so it boots again after every reconnect).

    Args:
        connection: the connection this object serves; the server and client pass it.
    """

    local: ClassVar[Initiator] = Initiator.CSMS
    """Which side this class runs on; decides the RPC core's side of the connection."""

    def __init__(self, connection: OcppConnection) -> None:
        self.connection = connection
        self._routes: RouteTable = collect_routes(type(self))
        connection.handler = self

    @property
    def identity(self) -> str:
        """The charging station identity of the connection."""
        return self.connection.identity

    @property
    def version(self) -> OcppVersion:
        """The negotiated OCPP version."""
        return self.connection.version

    async def call(self, request: Any, *, timeout: float | None = None) -> Any:
        """Send ``request`` as a CALL and return the typed response.

        ``timeout`` is in s (default: the connection's ``call_timeout``).

        Raises:
            CallError: the peer answered with a CALLERROR (or an invalid response).
            CallTimeout: no answer in time.
            ConnectionClosed: the connection closed first.
        """
        return await self.connection.call(request, timeout=timeout)

    async def send(self, request: Any) -> None:
        """(OCPP 2.1) Send ``request`` as a SEND frame, which takes no answer."""
        await self.connection.send(request)

    async def on_connect(self) -> None:
        """Called once the connection is open, before messages are processed. Default: nothing.

        It runs concurrently with message processing, so it may ``await self.call(...)``.
        """

    async def on_disconnect(self) -> None:
        """Called after the connection has closed. Default: nothing."""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (WebSocket close code, RFC 6455 §7.4.1)."""
        await self.connection.close(code, reason)

    # -- InboundHandler -------------------------------------------------------------------

    async def _invoke(self, route: Route, request: Any, context: CallContext) -> Any:
        method = getattr(self, route.attribute)
        result = method(request, context) if route.wants_context else method(request)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def handle_call(self, context: CallContext, request: Any) -> Any:
        """Dispatch an inbound CALL (or SEND) to its ``@on`` handler (connection callback)."""
        route = self._routes.find_on(context.action, type(request))
        if route is None:
            if context.is_send:
                logger.info("%s: no handler for SEND %s", self.identity, context.action)
                return None
            raise CallError(
                ErrorCode.NOT_SUPPORTED,
                f"{context.action} is not supported by this {type(self).__name__}",
            )
        return await self._invoke(route, request, context)

    def has_after(self, action: str, request: Any) -> bool:
        """True if ``action`` has ``@after`` hooks (the connection skips waiting for the answer
        to reach the socket when there are none)."""
        return bool(self._routes.after) and bool(self._routes.find_after(action, type(request)))

    async def after_call(self, context: CallContext, request: Any) -> None:
        """Run the ``@after`` hooks of an answered CALL (connection callback)."""
        for route in self._routes.find_after(context.action, type(request)):
            try:
                await self._invoke(route, request, context)
            except Exception:
                logger.exception(
                    "%s: after-hook %s of %s failed", self.identity, route.attribute, context.action
                )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.identity!r} {self.version.subprotocol}>"


class ChargePoint(Peer):
    """CSMS side: one connected charging station. Pass the class to :func:`serve_ocpp`."""

    local = Initiator.CSMS


class StationClient(Peer):
    """Charging station side: our connection to the CSMS. Pass the class to the client."""

    local = Initiator.CHARGING_STATION
