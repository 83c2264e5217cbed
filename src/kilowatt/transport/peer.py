"""Application base classes: subclass, decorate handlers with ``@on``/``@after``, ``await call()``.

:class:`StationPeer` is the CSMS side's object for one connected charging station;
:class:`StationClient` is the charging station side's object for its connection to the CSMS.
Both are :class:`Peer` subclasses and differ only in which side they declare to be.
(The ``ocpp`` package calls the CSMS-side object ``ChargePoint``; see
docs/howto/migrate-from-ocpp.md.)
"""

from __future__ import annotations

import inspect
import logging
from types import CoroutineType
from typing import Any, ClassVar, NamedTuple

from kilowatt.ocpp.action import Initiator
from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.ocpp.routing import Route, RouteTable, collect_routes
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport.connection import CallContext, OcppConnection

__all__ = ["Peer", "StationClient", "StationPeer"]

logger = logging.getLogger("kilowatt.transport")


class _Target(NamedTuple):
    """What an inbound ``(action, request type)`` dispatches to, resolved once per class."""

    route: Route | None  # the @on handler; None: not supported
    has_after: bool  # the action has @after hooks


_targets: dict[type[Any], dict[tuple[str, type[Any]], _Target]] = {}
"""Per Peer class: resolved targets. Keys come from the version's known actions and their
request types (the RPC core answers anything else itself), so the maps stay small."""


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
        """Bind to ``connection`` and become its inbound handler (``connection.handler``)."""
        self.connection = connection
        cls = type(self)
        self._routes: RouteTable = collect_routes(cls)
        targets = _targets.get(cls)
        if targets is None:
            targets = _targets[cls] = {}
        self._targets = targets
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

    def _target(self, action: str, request_type: type[Any]) -> _Target:
        """Resolve (and cache per class) where ``action`` with ``request_type`` goes.

        The route lookup sorts candidates; doing it once per class keeps it off the per-call
        path.
        """
        key = (action, request_type)
        target = self._targets.get(key)
        if target is None:
            route = self._routes.find_on(action, request_type)
            has_after = bool(self._routes.after) and bool(
                self._routes.find_after(action, request_type)
            )
            target = self._targets[key] = _Target(route, has_after)
        return target

    async def _invoke(self, route: Route, request: Any, context: CallContext) -> Any:
        method = getattr(self, route.attribute)
        result = method(request, context) if route.wants_context else method(request)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def handle_call(self, context: CallContext, request: Any) -> Any:
        """Dispatch an inbound CALL (or SEND) to its ``@on`` handler (connection callback)."""
        route = self._target(context.action, type(request)).route
        if route is None:
            if context.is_send:
                logger.info("%s: no handler for SEND %s", self.identity, context.action)
                return None
            raise CallError(
                ErrorCode.NOT_SUPPORTED,
                f"{context.action} is not supported by this {type(self).__name__}",
            )
        method = getattr(self, route.attribute)
        result = method(request, context) if route.wants_context else method(request)
        # An async def handler's coroutine is recognised by its type; the slower
        # inspect.isawaitable() (an ABC check) only runs for other results.
        if type(result) is CoroutineType or inspect.isawaitable(result):
            result = await result
        return result

    def has_after(self, action: str, request: Any) -> bool:
        """True if ``action`` has ``@after`` hooks.

        The connection skips waiting for the answer to reach the socket when there are none.
        """
        return self._target(action, type(request)).has_after

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
        """``<ClassName 'identity' subprotocol>``, for logs."""
        return f"<{type(self).__name__} {self.identity!r} {self.version.subprotocol}>"


class StationPeer(Peer):
    """CSMS side: one connected charging station. Pass the class to :func:`serve_ocpp`."""

    local = Initiator.CSMS


class StationClient(Peer):
    """Charging station side: our connection to the CSMS. Pass the class to the client."""

    local = Initiator.CHARGING_STATION
