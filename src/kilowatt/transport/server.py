"""The OCPP-J WebSocket server (CSMS side), on ``websockets.asyncio.server``.

Handshake, in order (before the HTTP upgrade):

1. identity = last path segment, percent-decoded; empty (``ws://host:9000/``, ``/ocpp/``)
   → 400, a malformed request rather than a missing resource; from 2.0.1 on more than 48
   characters or a ``:`` → 400 (OCPP 2.0.1 Part 4 §3.1.1);
2. an ``Authorization: Basic`` header whose user is not the identity → 401
   (security profiles 1 and 2: user = identity);
3. the auth hook (if any) decides: accept, or an HTTP status (401 with
   ``WWW-Authenticate: Basic``, 404 for an unknown station, ...), or a
   :class:`~kilowatt.transport.handshake.Refusal` (e.g. 429 with ``Retry-After`` while
   failed logins are throttled).

Subprotocol: the client's first offer that we support (OCPP-J 1.6 §3.1.2). No match: the
handshake completes without ``Sec-WebSocket-Protocol`` and the server closes at once with
code 1002 (protocol error). permessage-deflate is on by default (required of a 2.1 CSMS).
"""

from __future__ import annotations

import asyncio
import http
import logging
import ssl as ssl_module
import weakref
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHeader
from websockets.frames import CloseCode
from websockets.headers import parse_subprotocol
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from kilowatt import fastpaths
from kilowatt.ocpp.action import Initiator
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport.connection import InboundHandler, OcppConnection
from kilowatt.transport.handshake import (
    AuthHook,
    HandshakeRequest,
    Refusal,
    identity_from_path,
    parse_basic_auth,
    peer_certificate,
    select_version,
    validate_identity,
)
from kilowatt.transport.limits import InboundLimits
from kilowatt.transport.peer import Peer

__all__ = ["DEFAULT_VERSIONS", "HandlerFactory", "OcppServer", "serve_ocpp"]

logger = logging.getLogger("kilowatt.transport")

DEFAULT_VERSIONS: tuple[OcppVersion, ...] = (OcppVersion.V21, OcppVersion.V201, OcppVersion.V16)
"""The versions a server accepts unless told otherwise."""

H = TypeVar("H", bound=InboundHandler)

HandlerFactory = Callable[[OcppConnection], H]
"""Makes the handler of a new connection, e.g. a :class:`StationPeer` subclass."""

DEFAULT_BACKLOG = 4096
"""Listen backlog (capped by the kernel's ``somaxconn``). asyncio's default of 100 drops SYNs
when a fleet reconnects at once (e.g. after a CSMS restart) and those stations then wait 1 s or
more for a retransmission."""

_NO_HEADERS = Headers()  # shared, never modified

CLOSE_NO_SUBPROTOCOL = 1002
"""Close code when no subprotocol matched (RFC 6455 §7.4.1: protocol error)."""

WWW_AUTHENTICATE = 'Basic realm="OCPP", charset="UTF-8"'


def _offered_subprotocols(headers: Headers) -> list[str]:
    offered: list[str] = []
    for value in headers.get_all("Sec-WebSocket-Protocol"):
        try:
            offered.extend(parse_subprotocol(value))
        except InvalidHeader:
            continue
    return offered


class OcppServer(Generic[H]):
    """A running OCPP-J server; make it with :func:`serve_ocpp`.

    Await it (``server = await serve_ocpp(...)``) or use it as an async context manager to start
    listening. Connected stations are in :attr:`peers` (identity → handler object, e.g. your
    :class:`StationPeer` subclass) and :attr:`connections` (identity → :class:`OcppConnection`).
    A station that connects again under the same identity replaces its previous connection,
    which is closed with code 1000.
    """

    def __init__(
        self,
        handler_factory: HandlerFactory[H],
        host: str | None,
        port: int,
        *,
        versions: Iterable[OcppVersion] = DEFAULT_VERSIONS,
        auth: AuthHook | None = None,
        ssl: ssl_module.SSLContext | None = None,
        max_message_size: int | None = 2**22,
        ping_interval: float | None = 30.0,
        ping_timeout: float | None = 30.0,
        compression: bool = True,
        call_timeout: float = 30.0,
        lenient: bool = False,
        rpc_options: Mapping[str, Any] | None = None,
        server_options: Mapping[str, Any] | None = None,
        backlog: int = DEFAULT_BACKLOG,
        limits: InboundLimits | None = None,
    ) -> None:
        """Store the settings (arguments as for :func:`serve_ocpp`); nothing listens yet.

        Raises:
            TypeError: ``handler_factory`` is a station-side :class:`Peer` class.
            ValueError: ``versions`` is empty.
        """
        if (
            isinstance(handler_factory, type)
            and issubclass(handler_factory, Peer)
            and handler_factory.local is not Initiator.CSMS
        ):
            raise TypeError(f"{handler_factory.__name__} is a station-side class")
        self.handler_factory = handler_factory
        self.host = host
        self.versions: tuple[OcppVersion, ...] = tuple(versions)
        if not self.versions:
            raise ValueError("a server needs at least one OCPP version")
        self.auth = auth
        self.ssl = ssl
        self.call_timeout = call_timeout
        self.lenient = lenient
        self.rpc_options = dict(rpc_options or {})
        self.limits = limits
        self.peers: dict[str, H] = {}
        self.connections: dict[str, OcppConnection] = {}
        self._requested_port = port
        self._handshakes: weakref.WeakKeyDictionary[ServerConnection, HandshakeRequest] = (
            weakref.WeakKeyDictionary()
        )
        # Keepalive (fast path, see kilowatt.fastpaths): one server-wide task pings every
        # connection (see _keepalive) instead of websockets' task per connection. Switched off,
        # websockets' own keepalive runs with the same interval and timeout.
        # Guard: _fail_keepalive uses ServerConnection.send_context() and protocol.fail().
        self._shared_keepalive = fastpaths.enabled() and hasattr(ServerConnection, "send_context")
        self._ping_interval = ping_interval if self._shared_keepalive else None
        self._ping_timeout = ping_timeout
        self._keepalive_task: asyncio.Task[None] | None = None
        self._ws_options: dict[str, Any] = {
            "max_size": max_message_size,
            "ping_interval": None if self._shared_keepalive else ping_interval,
            "ping_timeout": None if self._shared_keepalive else ping_timeout,
            "compression": "deflate" if compression else None,
            "backlog": backlog,
            **(server_options or {}),
        }
        self._server: Server | None = None
        self._background: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> OcppServer[H]:
        """Start listening. Returns ``self``."""
        if self._server is None:
            self._server = await serve(
                self._handle,
                self.host,
                self._requested_port,
                subprotocols=[Subprotocol(v.subprotocol) for v in self.versions],
                select_subprotocol=self._select_subprotocol,
                process_request=self._process_request,
                ssl=self.ssl,
                **self._ws_options,
            )
            if self._ping_interval is not None:
                self._keepalive_task = asyncio.create_task(
                    self._keepalive(self._ping_interval, self._ping_timeout),
                    name="ocpp-keepalive",
                )
        return self

    def __await__(self) -> Generator[Any, None, OcppServer[H]]:
        """``await server`` starts listening (see :meth:`start`) and returns the server."""
        return self.start().__await__()

    async def __aenter__(self) -> OcppServer[H]:
        """Start listening (see :meth:`start`) and return the server."""
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the server and its connections and wait until they are closed."""
        self.close()
        await self.wait_closed()

    @property
    def websocket_server(self) -> Server:
        """The underlying ``websockets`` server (started)."""
        if self._server is None:
            raise RuntimeError("server not started")
        return self._server

    @property
    def port(self) -> int:
        """The TCP port the server listens on (useful after binding port 0)."""
        port: int = self.websocket_server.sockets[0].getsockname()[1]
        return port

    def close(self) -> None:
        """Stop accepting connections and close the open ones (code 1001, going away)."""
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            self._keepalive_task = None
        if self._server is not None:
            self._server.close()

    async def wait_closed(self) -> None:
        """Wait until the server and every connection handler have finished."""
        if self._server is not None:
            await self._server.wait_closed()

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        await self.start()
        await self.websocket_server.serve_forever()

    def get(self, identity: str) -> H | None:
        """Return the handler object of the station connected as ``identity``, or None."""
        return self.peers.get(identity)

    async def _keepalive(self, interval: float, timeout: float | None) -> None:
        """Every ``interval`` s, ping every connection.

        A connection whose pong has not come back ``timeout`` s after its ping is failed with
        code 1011, as websockets' own keepalive does (RFC 6455 §5.5.2).
        """
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            pongs: list[tuple[ServerConnection, asyncio.Future[float]]] = []
            for connection in list(self.connections.values()):
                websocket = connection.websocket
                if not isinstance(websocket, ServerConnection):
                    continue
                try:
                    pong = cast("asyncio.Future[float]", await websocket.ping())
                    pongs.append((websocket, pong))
                except Exception:  # closed or closing: its handler cleans up
                    continue
            if timeout is not None and pongs:
                loop.call_later(timeout, self._expire_pings, pongs)

    def _expire_pings(self, pongs: list[tuple[ServerConnection, asyncio.Future[float]]]) -> None:
        for websocket, pong in pongs:
            if not pong.done() and websocket.state is State.OPEN:
                logger.info("%s: keepalive ping timeout", websocket.remote_address)
                task = asyncio.create_task(_fail_keepalive(websocket))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    # -- handshake ----------------------------------------------------------------------------

    def _select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        version = select_version(offered, self.versions)
        return None if version is None else Subprotocol(version.subprotocol)

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        try:
            identity = identity_from_path(request.path)
        except UnicodeDecodeError:
            return connection.respond(http.HTTPStatus.BAD_REQUEST, "Invalid identity encoding\n")
        version = select_version(_offered_subprotocols(request.headers), self.versions)
        problem = validate_identity(identity, version)
        if problem is not None:
            return connection.respond(http.HTTPStatus.BAD_REQUEST, problem + "\n")
        credentials = parse_basic_auth(request.headers.get("Authorization"))
        if credentials is not None and credentials[0] != identity:
            return self._unauthorized(connection)
        ssl_object = connection.transport.get_extra_info("ssl_object")
        handshake = HandshakeRequest(
            identity=identity,
            path=request.path,
            version=version,
            username=None if credentials is None else credentials[0],
            password=None if credentials is None else credentials[1],
            certificate=peer_certificate(ssl_object),
            tls=ssl_object is not None,
            remote_address=connection.remote_address,
            headers={k: v for k, v in request.headers.raw_items()},
        )
        if self.auth is not None:
            result = await self.auth(handshake)
            if result is False:
                return self._unauthorized(connection)
            if isinstance(result, Refusal):
                return _refuse(connection, result)
            if result is not None and result is not True:
                status = http.HTTPStatus(int(result))
                if status == http.HTTPStatus.UNAUTHORIZED:
                    return self._unauthorized(connection)
                return connection.respond(status, status.phrase + "\n")
        self._handshakes[connection] = handshake
        return None

    @staticmethod
    def _unauthorized(connection: ServerConnection) -> Response:
        response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
        return response

    # -- connections --------------------------------------------------------------------------

    async def _handle(self, websocket: ServerConnection) -> None:
        handshake = self._handshakes.pop(websocket, None)
        if websocket.subprotocol is None:
            logger.info("%s: no common OCPP subprotocol; closing", websocket.remote_address)
            await websocket.close(CLOSE_NO_SUBPROTOCOL, "no supported OCPP subprotocol")
            return
        version = OcppVersion.from_subprotocol(websocket.subprotocol)
        assert websocket.request is not None
        identity = (
            handshake.identity
            if handshake is not None
            else identity_from_path(websocket.request.path)
        )
        # The handshake's header blocks (~2.5 KB per connection) are not needed once the
        # connection is open; the handlers have the request headers in ``handshake.headers``.
        websocket.request.headers = _NO_HEADERS
        if websocket.response is not None:
            websocket.response.headers = _NO_HEADERS
        connection = OcppConnection(
            websocket,
            version,
            local=Initiator.CSMS,
            identity=identity,
            handshake=handshake,
            call_timeout=self.call_timeout,
            lenient=self.lenient,
            rpc_options=self.rpc_options,
            limits=self.limits,
        )
        handler = self.handler_factory(connection)
        connection.handler = handler
        previous = self.connections.get(identity)
        self.connections[identity] = connection
        self.peers[identity] = handler
        if previous is not None:
            logger.info("%s: new connection replaces the previous one", identity)
            replaced = asyncio.create_task(previous.close(1000, "replaced by a new connection"))
            self._background.add(replaced)
            replaced.add_done_callback(self._background.discard)
        logger.info("%s: connected (%s)", identity, websocket.subprotocol)
        on_connect: asyncio.Task[None] | None = None
        if isinstance(handler, Peer):
            on_connect = asyncio.create_task(handler.on_connect())
            on_connect.add_done_callback(_log_failure)
        try:
            await connection.run()
        finally:
            if on_connect is not None and not on_connect.done():
                on_connect.cancel()
            if self.connections.get(identity) is connection:
                del self.connections[identity]
                del self.peers[identity]
            logger.info(
                "%s: disconnected (%s %s)", identity, websocket.close_code, websocket.close_reason
            )
            if isinstance(handler, Peer):
                try:
                    await handler.on_disconnect()
                except Exception:
                    logger.exception("%s: on_disconnect failed", identity)


def _refuse(connection: ServerConnection, refusal: Refusal) -> Response:
    reason = (refusal.reason or refusal.status.phrase).replace("\n", " ")
    response = connection.respond(refusal.status, reason + "\n")
    if refusal.retry_after is not None:
        response.headers["Retry-After"] = str(max(0, int(refusal.retry_after)))
    if refusal.status == http.HTTPStatus.UNAUTHORIZED:
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


async def _fail_keepalive(websocket: ServerConnection) -> None:
    # What websockets' own keepalive does when the pong is late.
    async with websocket.send_context():
        websocket.protocol.fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("on_connect failed", exc_info=task.exception())


def serve_ocpp(
    handler_factory: HandlerFactory[H],
    host: str | None = None,
    port: int = 9000,
    *,
    versions: Iterable[OcppVersion] = DEFAULT_VERSIONS,
    auth: AuthHook | None = None,
    ssl: ssl_module.SSLContext | None = None,
    max_message_size: int | None = 2**22,
    ping_interval: float | None = 30.0,
    ping_timeout: float | None = 30.0,
    compression: bool = True,
    call_timeout: float = 30.0,
    lenient: bool = False,
    rpc_options: Mapping[str, Any] | None = None,
    server_options: Mapping[str, Any] | None = None,
    backlog: int = DEFAULT_BACKLOG,
    limits: InboundLimits | None = None,
) -> OcppServer[H]:
    """Create an OCPP-J server; await it or ``async with`` it to start listening.

    Args:
        handler_factory: called with each new :class:`OcppConnection`; returns its handler,
            typically a :class:`StationPeer` subclass (pass the class itself).
        host: interface to bind (None: all).
        port: TCP port (0 picks a free one, see :attr:`OcppServer.port`).
        versions: OCPP versions accepted; the client's preference decides among them.
        auth: ``async def auth(request: HandshakeRequest) -> None | bool | int`` run before the
            upgrade: None/True accepts, False or 401 answers 401 with ``WWW-Authenticate:
            Basic``, another int is the HTTP status of the rejection (e.g. 404), a
            :class:`~kilowatt.transport.handshake.Refusal` adds ``Retry-After``.
        ssl: a server ``SSLContext`` for wss:// (profiles 2 and 3; for mutual TLS set
            ``verify_mode = CERT_REQUIRED`` and load the CA; the hook then gets the certificate).
        max_message_size: largest accepted message, in bytes (None: no limit).
        ping_interval: WebSocket keepalive: seconds between pings (None disables).
        ping_timeout: WebSocket keepalive: seconds to wait for the pong before the connection
            is failed with close code 1011 (None disables).
        compression: negotiate permessage-deflate (RFC 7692; required of a 2.1 CSMS).
        call_timeout: default deadline of the CSMS's CALLs, in s.
        lenient: tolerate unknown fields in received payloads.
        rpc_options: extra keyword arguments for :class:`kilowatt.ocpp.rpc.RpcConnection`.
        server_options: extra keyword arguments for ``websockets.asyncio.server.serve``.
        backlog: listen backlog (connections waiting to be accepted).
        limits: per-connection inbound rate, protocol-violation budget and nesting depth
            (:class:`~kilowatt.transport.limits.InboundLimits`); None: the defaults.

    Example::

        async with serve_ocpp(MyStation, "0.0.0.0", 9000) as server:
            ...
            response = await server.peers["CP-1"].call(v16.ResetRequest(type="Soft"))
    """
    return OcppServer(
        handler_factory,
        host,
        port,
        versions=versions,
        auth=auth,
        ssl=ssl,
        max_message_size=max_message_size,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        compression=compression,
        call_timeout=call_timeout,
        lenient=lenient,
        rpc_options=rpc_options,
        server_options=server_options,
        backlog=backlog,
        limits=limits,
    )
