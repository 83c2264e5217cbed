"""Two OCPP connections wired together in memory: a CSMS side and a station side, no sockets.

Like h11's ``ConnectionPair``: :func:`connection_pair` builds an :class:`OcppConnection` on each
end of a :class:`MemorySocket` pair, makes their handlers with the factories given (exactly as
:func:`~kilowatt.transport.serve_ocpp` and :func:`~kilowatt.transport.connect_ocpp` do: the
factory is called with the connection, ``on_connect`` runs alongside message processing,
``on_disconnect`` after the close), and runs both. Every frame still goes through both RPC cores
(encoding, validation, one outstanding CALL per direction, deadlines), so handler tests cover
the OCPP behaviour without the WebSocket handshake, TLS or the kernel.

Use real sockets where the socket matters: handshake, subprotocol negotiation, authentication,
flow control, the fast write path (tests/transport does).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Generic, TypeVar, cast

from websockets.exceptions import ConnectionClosedOK
from websockets.frames import Close

from kilowatt.ocpp.action import Initiator
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport.connection import OcppConnection
from kilowatt.transport.peer import Peer

__all__ = ["ConnectionPair", "MemorySocket", "connection_pair"]

C = TypeVar("C")
S = TypeVar("S")


class MemorySocket:
    """One end of an in-memory WebSocket; make two with :meth:`pair`.

    It has the subset of ``websockets`` ``Connection`` that :class:`OcppConnection` uses
    (iterate to receive, ``send``, ``close``, close code and reason).
    """

    def __init__(self, remote_address: Any = ("memory", 0)) -> None:
        """Create an open, unconnected end (its peer is itself until :meth:`pair` links two)."""
        self.remote_address = remote_address
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._peer: MemorySocket = self

    @classmethod
    def pair(cls) -> tuple[MemorySocket, MemorySocket]:
        """Two connected ends: what one sends, the other receives, in order."""
        a, b = cls(("memory", 1)), cls(("memory", 2))
        a._peer, b._peer = b, a
        return a, b

    def __aiter__(self) -> MemorySocket:
        """Iterate over received messages, like a websockets ``Connection``."""
        return self

    async def __anext__(self) -> str | bytes:
        """Wait for the next message from the other end; stop once either end has closed."""
        message = await self._inbox.get()
        if message is None:  # closed
            raise StopAsyncIteration
        return message

    async def send(self, message: str | bytes) -> None:
        """Deliver ``message`` to the other end.

        Raises:
            websockets.exceptions.ConnectionClosedOK: this end is closed.
        """
        if self.close_code is not None:
            raise ConnectionClosedOK(Close(self.close_code, self.close_reason or ""), None)
        self._peer._inbox.put_nowait(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close both ends (RFC 6455 close code; both see the same code and reason)."""
        for end in (self, self._peer):
            if end.close_code is None:
                end.close_code, end.close_reason = code, reason
                end._inbox.put_nowait(None)


class ConnectionPair(Generic[C, S]):
    """The two ends made by :func:`connection_pair`.

    ``csms`` and ``station`` are the handlers, ``csms_connection`` and ``station_connection``
    their connections.
    """

    def __init__(
        self,
        csms: C,
        station: S,
        csms_connection: OcppConnection,
        station_connection: OcppConnection,
    ) -> None:
        """Hold both handlers and both connections (built by :func:`connection_pair`)."""
        self.csms = csms
        self.station = station
        self.csms_connection = csms_connection
        self.station_connection = station_connection


@contextlib.asynccontextmanager
async def connection_pair(
    version: OcppVersion,
    csms: Callable[[OcppConnection], C],
    station: Callable[[OcppConnection], S],
    *,
    identity: str = "CP-1",
    call_timeout: float = 30.0,
    rpc_options: Mapping[str, Any] | None = None,
) -> AsyncIterator[ConnectionPair[C, S]]:
    """Run a CSMS handler and a station handler connected in memory (see the module docstring).

    Args:
        version: the OCPP version both ends speak (as if negotiated).
        csms: makes the CSMS side's handler from its connection (e.g. a
            :class:`~kilowatt.transport.StationPeer` subclass, or a handler factory).
        station: makes the station side's handler (e.g. a
            :class:`~kilowatt.transport.StationClient` subclass).
        identity: the station identity both ends use.
        call_timeout: default deadline of either side's CALLs, in s.
        rpc_options: further :class:`~kilowatt.ocpp.rpc.RpcConnection` options for both ends.

    On exit the station side closes the connection (code 1000) and both ``on_disconnect`` hooks
    have run before this returns.
    """
    csms_socket, station_socket = MemorySocket.pair()
    ends: list[tuple[OcppConnection, Any]] = []
    for socket, local, factory in (
        (csms_socket, Initiator.CSMS, csms),
        (station_socket, Initiator.CHARGING_STATION, station),
    ):
        connection = OcppConnection(
            cast("Any", socket),  # duck-typed: the subset of websockets' Connection it uses
            version,
            local=local,
            identity=identity,
            call_timeout=call_timeout,
            rpc_options=rpc_options,
        )
        ends.append((connection, factory(connection)))
    (csms_connection, csms_handler), (station_connection, station_handler) = ends
    tasks = [asyncio.create_task(_serve(connection, handler)) for connection, handler in ends]
    try:
        yield ConnectionPair(csms_handler, station_handler, csms_connection, station_connection)
    finally:
        await station_socket.close(1000, "")
        await asyncio.gather(*tasks)


async def _serve(connection: OcppConnection, handler: Any) -> None:
    """What the server and the client do with a connection.

    ``on_connect`` runs alongside ``run()``, then ``on_disconnect``.
    """
    on_connect = asyncio.create_task(handler.on_connect()) if isinstance(handler, Peer) else None
    try:
        await connection.run()
    finally:
        if on_connect is not None:
            if not on_connect.done():
                on_connect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await on_connect
        if isinstance(handler, Peer):
            await handler.on_disconnect()
