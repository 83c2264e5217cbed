"""The OCPP-J WebSocket client (charging station side), on ``websockets.asyncio.client``.

:func:`connect_ocpp` opens one connection; :class:`OcppClient` keeps one open, reconnecting
with exponential backoff and full jitter (delay = random() × min(max, initial × factor^n), see
"Exponential Backoff And Jitter", AWS Architecture Blog, 2015). OCPP 2.0.1 Part 2 B10
(RetryBackOff*) describes the same policy for stations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random as random_module
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from kilowatt.ocpp.action import Initiator
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport.connection import InboundHandler, OcppConnection
from kilowatt.transport.errors import HandshakeFailed
from kilowatt.transport.handshake import basic_auth_header
from kilowatt.transport.peer import Peer

__all__ = ["OcppClient", "backoff_delays", "connect_ocpp", "station_url"]

logger = logging.getLogger("kilowatt.transport")

H = TypeVar("H", bound=InboundHandler)


def station_url(base_url: str, identity: str) -> str:
    """Return ``base_url`` + ``/`` + the percent-encoded identity (OCPP-J 1.6 §3.1.1)."""
    return base_url.rstrip("/") + "/" + quote(identity, safe="")


def backoff_delays(
    initial: float = 1.0,
    maximum: float = 60.0,
    factor: float = 2.0,
    random: Callable[[], float] = random_module.random,
) -> Iterator[float]:
    """Yield reconnect delays in s: full jitter over a capped exponential.

    The n-th delay (from 0) is ``random() * min(maximum, initial * factor**n)``, so it never
    exceeds ``maximum``. ``random`` returns a float in [0, 1); inject one for tests.
    """
    ceiling = initial
    while True:
        yield random() * min(maximum, ceiling)
        ceiling = min(maximum, ceiling * factor)


async def _open(
    url: str,
    identity: str,
    handler_factory: Callable[[OcppConnection], H],
    *,
    versions: Sequence[OcppVersion],
    password: str | None,
    ssl: ssl_module.SSLContext | None,
    max_message_size: int | None,
    ping_interval: float | None,
    ping_timeout: float | None,
    compression: bool,
    open_timeout: float | None,
    call_timeout: float,
    lenient: bool,
    rpc_options: Mapping[str, Any] | None,
    connect_options: Mapping[str, Any] | None,
) -> H:
    if (
        isinstance(handler_factory, type)
        and issubclass(handler_factory, Peer)
        and handler_factory.local is not Initiator.CHARGING_STATION
    ):
        raise TypeError(f"{handler_factory.__name__} is a CSMS-side class")
    headers: dict[str, str] = {}
    if password is not None:
        headers["Authorization"] = basic_auth_header(identity, password)
    options: dict[str, Any] = {
        "subprotocols": [Subprotocol(v.subprotocol) for v in versions],
        "additional_headers": headers,
        "max_size": max_message_size,
        "ping_interval": ping_interval,
        "ping_timeout": ping_timeout,
        "compression": "deflate" if compression else None,
        "open_timeout": open_timeout,
        "proxy": None,
        **(connect_options or {}),
    }
    if ssl is not None:
        options["ssl"] = ssl
    try:
        websocket: ClientConnection = await connect(station_url(url, identity), **options)
    except InvalidStatus as exc:
        status = exc.response.status_code
        raise HandshakeFailed(f"server answered HTTP {status}", status) from exc
    except InvalidHandshake as exc:
        raise HandshakeFailed(f"handshake failed: {exc}") from exc
    if websocket.subprotocol is None:
        await websocket.close(1002, "no OCPP subprotocol agreed")
        raise HandshakeFailed("the server accepted none of " + ", ".join(v for v in versions))
    version = OcppVersion.from_subprotocol(websocket.subprotocol)
    connection = OcppConnection(
        websocket,
        version,
        local=Initiator.CHARGING_STATION,
        identity=identity,
        call_timeout=call_timeout,
        lenient=lenient,
        rpc_options=rpc_options,
    )
    handler = handler_factory(connection)
    connection.handler = handler
    connection.start()
    return handler


class _Connect(Generic[H]):
    def __init__(self, opener: Callable[[], Awaitable[H]]) -> None:
        self._opener = opener
        self._handler: H | None = None

    def __await__(self) -> Generator[Any, None, H]:
        return self._start().__await__()

    async def _start(self) -> H:
        handler = await self._opener()
        if isinstance(handler, Peer):
            task = asyncio.create_task(handler.on_connect())
            task.add_done_callback(_log_failure)
        return handler

    async def __aenter__(self) -> H:
        self._handler = await self._start()
        return self._handler

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handler is not None:
            connection: OcppConnection = self._handler.connection  # type: ignore[attr-defined]
            await connection.close()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("on_connect failed", exc_info=task.exception())


def connect_ocpp(
    url: str,
    identity: str,
    handler_factory: Callable[[OcppConnection], H],
    *,
    versions: Sequence[OcppVersion] = (OcppVersion.V16,),
    password: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
    max_message_size: int | None = 2**22,
    ping_interval: float | None = 30.0,
    ping_timeout: float | None = 30.0,
    compression: bool = True,
    open_timeout: float | None = 10.0,
    call_timeout: float = 30.0,
    lenient: bool = False,
    rpc_options: Mapping[str, Any] | None = None,
    connect_options: Mapping[str, Any] | None = None,
) -> _Connect[H]:
    """Open one OCPP-J connection to the CSMS at ``url`` as station ``identity``.

    Await it to get the handler (the connection then runs in the background; close it with
    ``await handler.close()``), or use ``async with`` to close it on exit. No reconnection: use
    :class:`OcppClient` for that.

    Args:
        url: the CSMS endpoint without the identity, e.g. ``"ws://csms:9000/ocpp"``.
        identity: the station identity, appended percent-encoded as the last path segment.
        handler_factory: called with the new :class:`OcppConnection`, returns its handler,
            typically a :class:`StationClient` subclass (pass the class).
        versions: subprotocols to offer, most preferred first.
        password: HTTP Basic-auth password (user = identity; security profiles 1 and 2).
        ssl: client ``SSLContext`` for wss:// (load a client certificate for profile 3).
        max_message_size: largest accepted message, in bytes (None: no limit).
        ping_interval: WebSocket keepalive: seconds between pings (None disables).
        ping_timeout: WebSocket keepalive: seconds to wait for the pong before websockets fails
            the connection with close code 1011 (None disables).
        compression: offer permessage-deflate (RFC 7692).
        open_timeout: limit of the opening handshake, in s.
        call_timeout: default deadline of our CALLs, in s.
        lenient: tolerate unknown fields in received payloads.
        rpc_options: extra keyword arguments for the RPC core
            (:class:`kilowatt.ocpp.rpc.RpcConnection`).
        connect_options: extra keyword arguments for ``websockets.asyncio.client.connect``.

    Raises:
        HandshakeFailed: HTTP rejection (``status`` set, e.g. 401) or no subprotocol agreed.
        OSError, TimeoutError: the server cannot be reached.
    """

    async def opener() -> H:
        return await _open(
            url,
            identity,
            handler_factory,
            versions=versions,
            password=password,
            ssl=ssl,
            max_message_size=max_message_size,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            compression=compression,
            open_timeout=open_timeout,
            call_timeout=call_timeout,
            lenient=lenient,
            rpc_options=rpc_options,
            connect_options=connect_options,
        )

    return _Connect(opener)


class OcppClient(Generic[H]):
    """Keeps a station connected to the CSMS, reconnecting with backoff and full jitter.

    The handler factory makes a new handler for every connection; a :class:`StationClient`'s
    :meth:`~Peer.on_connect` runs on every (re)connection, so it is the place to send
    BootNotification again. ``on_connected``/``on_disconnected`` callbacks are also available.

    Args:
        url, identity, handler_factory: as for :func:`connect_ocpp`.
        backoff_initial, backoff_max, backoff_factor: the reconnect delays, in s (see
            :func:`backoff_delays`); the delay sequence restarts after each successful connection.
        max_attempts: give up after this many failed attempts in a row (None: never); :meth:`run`
            then raises the last error.
        random: returns a float in [0, 1) for the jitter (inject for tests).
        sleep: the coroutine used to wait between attempts (inject for tests).
        on_connected, on_disconnected: ``async def(handler)`` callbacks.
        **options: passed to :func:`connect_ocpp` (versions, password, ssl, ...).

    Usage::

        client = OcppClient("ws://csms:9000/ocpp", "CP-1", MyStation, versions=[OcppVersion.V16])
        async with client:                      # runs in the background, waits for a connection
            station = await client.wait_connected()
            ...
    """

    def __init__(
        self,
        url: str,
        identity: str,
        handler_factory: Callable[[OcppConnection], H],
        *,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        backoff_factor: float = 2.0,
        max_attempts: int | None = None,
        random: Callable[[], float] = random_module.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_connected: Callable[[H], Awaitable[None]] | None = None,
        on_disconnected: Callable[[H], Awaitable[None]] | None = None,
        **options: Any,
    ) -> None:
        """Keep the settings; no connection before :meth:`start`, :meth:`run` or ``async with``."""
        self.url = url
        self.identity = identity
        self.handler_factory = handler_factory
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.backoff_factor = backoff_factor
        self.max_attempts = max_attempts
        self.random = random
        self.sleep = sleep
        self.on_connected = on_connected
        self.on_disconnected = on_disconnected
        self.options = options
        self.handler: H | None = None
        """The handler of the current connection, or None while disconnected."""
        self.connections = 0
        """How many connections have been opened so far."""
        self.delays: list[float] = []
        """Every backoff delay waited, in s (for logs and tests)."""
        self._connected = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def wait_connected(self) -> H:
        """Wait until a connection is open and return its handler."""
        while True:
            await self._connected.wait()
            if self.handler is not None:
                return self.handler
            await asyncio.sleep(0)  # pragma: no cover - cleared between set and read

    async def run(self) -> None:
        """Connect, and reconnect after every failure or disconnection, until :meth:`close`.

        Raises:
            HandshakeFailed, OSError, TimeoutError: ``max_attempts`` failed attempts in a row.
        """
        delays = self._delays()
        failures = 0
        while not self._stopping:
            try:
                handler = await connect_ocpp(
                    self.url, self.identity, self.handler_factory, **self.options
                )
            except (HandshakeFailed, OSError, TimeoutError) as exc:
                failures += 1
                if self.max_attempts is not None and failures >= self.max_attempts:
                    raise
                delay = next(delays)
                logger.info(
                    "%s: connection failed (%s); retry in %.2f s", self.identity, exc, delay
                )
                self.delays.append(delay)
                await self.sleep(delay)
                continue
            failures = 0
            delays = self._delays()
            self.connections += 1
            self.handler = handler
            connection: OcppConnection = handler.connection  # type: ignore[attr-defined]
            self._connected.set()
            if self.on_connected is not None:
                await self.on_connected(handler)
            await connection.wait_closed()
            self._connected.clear()
            self.handler = None
            if self.on_disconnected is not None:
                await self.on_disconnected(handler)
            if isinstance(handler, Peer):
                await handler.on_disconnect()
            if self._stopping:
                break
            delay = next(delays)
            logger.info("%s: disconnected; reconnect in %.2f s", self.identity, delay)
            self.delays.append(delay)
            await self.sleep(delay)

    def _delays(self) -> Iterator[float]:
        return backoff_delays(
            self.backoff_initial, self.backoff_max, self.backoff_factor, self.random
        )

    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` in a background task and return it."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"ocpp-client-{self.identity}")
        return self._task

    async def close(self) -> None:
        """Stop reconnecting and close the current connection."""
        self._stopping = True
        handler = self.handler
        if handler is not None:
            connection: OcppConnection = handler.connection  # type: ignore[attr-defined]
            await connection.close()
        if self._task is not None:
            if handler is None:  # connecting or waiting to retry: nothing to finish cleanly
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def __aenter__(self) -> OcppClient[H]:
        """Start :meth:`run` in the background (see :meth:`start`) and return the client."""
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop reconnecting and close the current connection (see :meth:`close`)."""
        await self.close()
