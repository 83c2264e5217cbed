"""One OCPP-J connection over one WebSocket: the asyncio glue around the sans-I/O RPC core.

:class:`OcppConnection` owns a websocket and a :class:`kilowatt.ocpp.rpc.RpcConnection`. The
reader (:meth:`OcppConnection.run`) feeds every received message to the core with the loop
clock as ``now``. Inbound CALLs are handled as separate tasks, so a handler may itself
``await connection.call(...)`` without deadlocking; answers go out in the order the handlers
finish.

Writing: one write loop (``_write``) sends the frames the core produces, then expires calls
whose deadline passed and arms a timer for the next one. An answering task runs it itself
(``_write_answer``); other producers (the reader, ``call``, the timer) start a writer task on
demand. Only one task runs the loop at a time (``_writing``); a producer that finds it busy
leaves its frames in the core's outbox and wakes it, so frames keep the core's order.

Inbound limits (:mod:`kilowatt.transport.limits`), checked by the reader before the RPC core sees
a message: a per-connection token bucket (over the rate, the reader stops reading the socket for
a while: backpressure, nothing dropped); a binary message closes the connection with 1003
(OCPP-J frames are UTF-8 JSON text, see :meth:`OcppConnection.run`); a frame nested deeper than
the limit is refused unread (:mod:`kilowatt.ocpp.depth`); past the protocol-violation budget the
connection is closed with 1008. Violations are logged in one summary line per interval.

Speed tricks and their figures: docs/benchmarks.md. The one that reaches into websockets'
internals (the direct frame write, see ``_write``) sits behind :mod:`kilowatt.fastpaths`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.asyncio.connection import Connection
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.protocol import State as WsState
from websockets.version import version as websockets_version

from kilowatt import fastpaths
from kilowatt.ocpp.action import Initiator
from kilowatt.ocpp.depth import refuse_deep_frame
from kilowatt.ocpp.errors import CallError, CallTimeout, ErrorCode
from kilowatt.ocpp.rpc import RpcConnection, Side
from kilowatt.ocpp.rpc_events import (
    CallReceived,
    CallTimedOut,
    ErrorReceived,
    Event,
    ProtocolViolation,
    ResultErrorReceived,
    ResultReceived,
    SendReceived,
)
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport.errors import ConnectionClosed
from kilowatt.transport.frames import FrameObserver, frame_header
from kilowatt.transport.handshake import HandshakeRequest
from kilowatt.transport.limits import DEFAULT_LIMITS, InboundLimits, TokenBucket, Violations

__all__ = [
    "CLOSE_BINARY",
    "CLOSE_POLICY",
    "CallContext",
    "Flag",
    "InboundHandler",
    "OcppConnection",
]

logger = logging.getLogger("kilowatt.transport")

CLOSE_BINARY = 1003
"""Close code for a binary message (RFC 6455 §7.4.1, 1003: a type of data the endpoint cannot
accept, "e.g., an endpoint that understands only text data ... if it receives a binary
message"). OCPP-J frames are JSON text encoded in UTF-8 (OCPP-J 1.6 §4.1.2; 2.0.1 and 2.1
Part 4 §4.1.2), i.e. WebSocket text messages."""

CLOSE_POLICY = 1008
"""Close code once a connection exceeds its protocol-violation budget (RFC 6455 §7.4.1: policy
violation)."""


class Flag:
    """A lean ``asyncio.Event`` (set/clear/is_set/wait) for per-connection signals.

    A few dozen bytes instead of ~0.9 KB (an Event carries a deque of waiters); a future exists
    only while someone waits. With three flags per connection this matters at 10,000
    connections.
    """

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        """Create the flag cleared, with no waiter future."""
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def is_set(self) -> bool:
        """True if the flag is set (since the last :meth:`clear`)."""
        return self._set

    def set(self) -> None:
        """Set the flag and wake every task in :meth:`wait`; no-op if already set."""
        if not self._set:
            self._set = True
            waiter = self._waiter
            if waiter is not None:
                self._waiter = None
                if not waiter.done():
                    waiter.set_result(None)

    def clear(self) -> None:
        """Clear the flag; later :meth:`wait` calls block until the next :meth:`set`."""
        self._set = False

    async def wait(self) -> None:
        """Return at once if the flag is set, else wait until :meth:`set` is called.

        Cancelling one waiter does not disturb the others (they share one shielded future).
        """
        if self._set:
            return
        waiter = self._waiter
        if waiter is None or waiter.done():
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        # Shielded: a cancelled waiter must not cancel the future other waiters share.
        await asyncio.shield(waiter)


@dataclass(frozen=True, slots=True)
class CallContext:
    """Where an inbound CALL (or 2.1 SEND) came from.

    Attributes:
        message_id: the id of the received frame.
        action: the action name, e.g. ``"BootNotification"``.
        connection: the connection it arrived on (use it to ``call`` back).
        is_send: True for a 2.1 SEND frame, which takes no answer.
    """

    message_id: str
    action: str
    connection: OcppConnection
    is_send: bool = False


class InboundHandler(Protocol):
    """What an :class:`OcppConnection` calls for inbound messages (see ``transport.peer.Peer``)."""

    async def handle_call(self, context: CallContext, request: Any) -> Any:
        """Return the typed response to ``request``, or raise :class:`CallError`."""
        ...

    async def after_call(self, context: CallContext, request: Any) -> None:
        """Run after the answer to ``request`` has been written to the socket."""
        ...


class _NoHandler:
    """Answers every known action with NotSupported (OCPP 2.0.1 Part 4 §4.3)."""

    async def handle_call(self, context: CallContext, request: Any) -> Any:
        raise CallError(ErrorCode.NOT_SUPPORTED, f"{context.action} is not supported")

    async def after_call(self, context: CallContext, request: Any) -> None:
        return None


_WS_OPEN = WsState.OPEN
_DIRECT_SEND_VERSIONS = ("17.",)
"""websockets releases whose ``Connection`` internals :meth:`OcppConnection._write` uses to
write a text frame without ``send()`` (see there); any other release uses ``send()``."""
_DIRECT_SEND_ATTRIBUTES = ("protocol", "transport", "paused", "send_in_progress", "send_data")


def _direct_send(websocket: Any) -> bool:
    """True if frames may be written to ``websocket`` through its internals (see ``_write``).

    That is: the fast paths are on (:func:`kilowatt.fastpaths.enabled`) and it is a real
    websockets ``Connection`` of a release this was checked against, with the attributes used
    (pinned by tests/transport/test_direct_send_fast_path.py).
    """
    return (
        fastpaths.enabled()
        and isinstance(websocket, Connection)
        and websockets_version.startswith(_DIRECT_SEND_VERSIONS)
        and all(hasattr(websocket, name) for name in _DIRECT_SEND_ATTRIBUTES)
    )


def _make_rpc(version: OcppVersion, local: Initiator, options: Mapping[str, Any]) -> RpcConnection:
    side: Side = "csms" if local is Initiator.CSMS else "charging_station"
    return RpcConnection(version, side=side, **options)


class OcppConnection:
    """One OCPP-J connection (either side) over an established websocket.

    Args:
        websocket: an open ``websockets.asyncio`` connection whose subprotocol was negotiated.
        version: the negotiated OCPP version.
        local: which side we are: :attr:`Initiator.CSMS` or :attr:`Initiator.CHARGING_STATION`.
        identity: the charging station identity (ours on the station side).
        handler: answers inbound CALLs; by default every known action gets NotSupported.
        handshake: the server-side handshake request (with the auth hook's ``extra``), if any.
        call_timeout: default deadline of our CALLs, in s.
        lenient: tolerate unknown fields in received payloads.
        rpc_options: further keyword arguments for :class:`RpcConnection`.
        frame_observer: sees every frame in and out (:mod:`kilowatt.transport.frames`); may
            also be set later through :attr:`frame_observer`, before :meth:`run`.
        limits: inbound rate, violation budget and nesting depth
            (:class:`~kilowatt.transport.limits.InboundLimits`); None: the defaults.

    Call :meth:`run` (the server and client do) to process messages until the socket closes.
    """

    def __init__(
        self,
        websocket: Connection,
        version: OcppVersion,
        *,
        local: Initiator,
        identity: str,
        handler: InboundHandler | None = None,
        handshake: HandshakeRequest | None = None,
        call_timeout: float = 30.0,
        lenient: bool = False,
        rpc_options: Mapping[str, Any] | None = None,
        frame_observer: FrameObserver | None = None,
        limits: InboundLimits | None = None,
    ) -> None:
        """Wrap ``websocket`` in a fresh RPC core; nothing is read until :meth:`run`."""
        self.websocket = websocket
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self.frame_observer = frame_observer
        self._direct = _direct_send(websocket)
        self.version = version
        self.local = local
        self.identity = identity
        self.handler = handler if handler is not None else _NoHandler()
        self.handshake = handshake
        options: dict[str, Any] = {"call_timeout": call_timeout, "lenient": lenient}
        options.update(rpc_options or {})
        self.rpc = _make_rpc(version, local, options)
        self._loop = asyncio.get_running_loop()
        self._pending: dict[str, asyncio.Future[Any]] = {}
        # Running inbound handlers. A dict (task -> None) re-created when emptied: an empty
        # set costs ~200 bytes per idle connection, an empty dict 64.
        self._tasks: dict[asyncio.Task[None], None] = {}
        self._wake = Flag()
        self._closed = Flag()
        self._close_code: int | None = None
        self._close_reason = ""
        # The writer runs on demand (see _kick): an idle connection holds no writer task. An
        # answering handler task writes its own answer (see _write_answer); _writing is True
        # while any task is in the write loop, so there is never more than one writer.
        self._writer: asyncio.Task[None] | None = None
        self._writing = False
        self._timer: asyncio.TimerHandle | None = None
        self._running = False
        self._runner: asyncio.Task[None] | None = None
        # Futures resolved once every frame queued before them has been written to the socket,
        # so @after hooks run when the peer can already have our answer (a Reset handler that
        # closes the socket must not lose its own CALLRESULT).
        self._flush_waiters: list[asyncio.Future[None]] = []
        # Made on the first violation / refused frame: most connections never have one.
        self._violations: Violations | None = None
        self._refusals: list[str] | None = None  # CALLERRORs of frames the core never saw
        self._policy_close: str | None = None  # set once the violation budget is exceeded

    # -- public API -------------------------------------------------------------------------

    frame_observer: FrameObserver | None
    """Called with every frame in and out (see :mod:`kilowatt.transport.frames`); None: no
    observer. One observer per connection: compose functions to have several."""

    @property
    def handler(self) -> InboundHandler:
        """Answers inbound CALLs (the server and :class:`~kilowatt.transport.peer.Peer` set it)."""
        return self._handler

    @handler.setter
    def handler(self, handler: InboundHandler) -> None:
        self._handler = handler
        # Looked up once here rather than per answered CALL.
        self._has_after: Any = getattr(handler, "has_after", None)

    @property
    def closed(self) -> bool:
        """True once the websocket is closed and pending calls have failed."""
        return self._closed.is_set()

    @property
    def remote_address(self) -> Any:
        """The peer's socket address (host, port, ...)."""
        return self.websocket.remote_address

    async def call(
        self, request: Any, *, timeout: float | None = None, action: str | None = None
    ) -> Any:
        """Send a CALL and return the peer's typed response.

        ``request`` is a generated request Struct (e.g. ``v16.HeartbeatRequest()``); the action
        is looked up from its type unless ``action`` is given. ``timeout`` in s overrides the
        connection's ``call_timeout``; it starts when the frame is actually sent (calls queue
        FIFO behind our outstanding one, OCPP 2.0.1 Part 4 §4.1.1).

        Raises:
            CallError: the peer answered with a CALLERROR, or its answer was invalid.
            CallTimeout: no answer before the deadline.
            ConnectionClosed: the connection closed before the answer arrived.
        """
        if self.closed:
            raise ConnectionClosed(self._close_code, self._close_reason)
        message_id = self.rpc.send_call(request, self._loop.time(), action=action, timeout=timeout)
        future: asyncio.Future[Any] = self._loop.create_future()
        self._pending[message_id] = future
        self._kick()
        try:
            return await future
        finally:
            self._pending.pop(message_id, None)

    async def send(self, request: Any, *, action: str | None = None) -> None:
        """(OCPP 2.1) Send a SEND frame (message type 6): no answer, not queued behind CALLs.

        Raises:
            ConnectionClosed: the connection is closed.
        """
        if self.closed:
            raise ConnectionClosed(self._close_code, self._close_reason)
        self.rpc.send_message(request, action=action)
        self._kick()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the websocket (close code per RFC 6455 §7.4.1) and wait until it is closed."""
        await self.websocket.close(code, reason)
        if self._running:  # run() is active: it finishes the cleanup
            await self._closed.wait()
        else:
            self._shutdown()

    async def wait_closed(self) -> None:
        """Wait until the connection is closed."""
        await self._closed.wait()

    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` in a background task (once) and return the task."""
        if self._runner is None:
            self._runner = asyncio.create_task(self.run(), name=f"ocpp-{self.identity}")
        return self._runner

    async def run(self) -> None:
        """Process messages until the websocket closes, then fail what is pending.

        Returns normally when the connection closes (whatever the close code); pending calls
        then raise :class:`ConnectionClosed`, running handlers are cancelled.

        Before the RPC core decodes a message (see :attr:`limits`): over the rate, reading
        pauses until the token bucket allows the message; a binary message closes the
        connection with :data:`CLOSE_BINARY`; a frame nested too deep is refused unread with
        the CALLERROR the spec prescribes (:func:`kilowatt.ocpp.depth.refuse_deep_frame`).
        Each refused frame is a protocol violation; past the budget the connection is closed
        with :data:`CLOSE_POLICY`. Both closes are reported to the frame observer.
        """
        self._running = True
        self._kick()  # frames queued before run() (e.g. a call) go out now
        loop = self._loop
        limits = self.limits
        bucket = TokenBucket(limits.rate, limits.burst, loop.time()) if limits.rate else None
        max_depth = limits.max_depth
        try:
            async for message in self.websocket:
                now = loop.time()
                if bucket is not None:
                    wait = bucket.delay(now)
                    if wait:
                        # Not reading is the backpressure: websockets stops reading the socket
                        # once its queue is full, and the peer's frames wait in TCP buffers.
                        await asyncio.sleep(wait)
                        now = loop.time()
                if not isinstance(message, str):
                    await self._refuse_binary(message)
                    break
                deep = refuse_deep_frame(message, self.version, max_depth)
                if deep is not None:
                    observer = self.frame_observer
                    if observer is not None:  # no action: nothing downstream decodes it
                        observer("in", message, deep.message_type, deep.message_id, None)
                    if deep.answer is not None:
                        if self._refusals is None:
                            self._refusals = []
                        self._refusals.append(deep.answer)
                        self._kick()
                    self._violation(deep.description, now)
                    if self._policy_close is not None:
                        await self._close_for_policy()
                        break
                    continue
                events = self.rpc.receive(message, now)
                observer = self.frame_observer
                # A received CALL queues nothing by itself (its handler answers later); any
                # other event may have queued a frame (our next queued CALL, a CALLERROR).
                if len(events) == 1 and type(events[0]) is CallReceived:
                    call = events[0]
                    if observer is not None:  # the core has parsed the header already
                        observer("in", message, 2, call.message_id, call.action)
                    self._spawn(self._answer(call.message_id, call.action, call.payload))
                else:
                    if observer is not None:
                        observer("in", message, *frame_header(message))
                    self._process(events)
                    self._kick()
                    if self._policy_close is not None:
                        await self._close_for_policy()
                        break
        except WsConnectionClosed:
            pass
        finally:
            if self._violations is not None:
                self._violations.flush(loop.time())
            self._shutdown()
            tasks = [*self._tasks]
            if self._writer is not None:
                tasks.append(self._writer)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def __repr__(self) -> str:
        """``<OcppConnection 'identity' subprotocol open|closed>``, for logs."""
        state = "closed" if self.closed else "open"
        return f"<OcppConnection {self.identity!r} {self.version.subprotocol} {state}>"

    # -- internals --------------------------------------------------------------------------

    def _violation(self, reason: str, now: float, *, counts: bool = True) -> None:
        """Log (summarised) and charge one protocol violation; past the budget, mark for 1008."""
        violations = self._violations
        if violations is None:
            violations = self._violations = Violations(self.identity, self.limits, logger)
        if violations.add(reason, now, counts=counts) and self._policy_close is None:
            self._policy_close = (
                f"too many protocol violations ({violations.total}; at most "
                f"{self.limits.violation_budget} per {self.limits.violation_window:g} s)"
            )

    async def _refuse_binary(self, message: bytes) -> None:
        observer = self.frame_observer
        if observer is not None:
            observer("in", message, 0, None, None)
        self._violation("binary message (OCPP-J frames are text)", self._loop.time())
        await self._close_with(CLOSE_BINARY, "OCPP-J frames are text; binary message refused")

    async def _close_for_policy(self) -> None:
        assert self._policy_close is not None
        await self._close_with(CLOSE_POLICY, self._policy_close)

    async def _close_with(self, code: int, reason: str) -> None:
        """Close from the reader (which then stops) and report the close to the observer.

        The observer gets it as an ``"out"`` entry of message type 0 (not an OCPP-J frame):
        ``close <code>: <reason>``, so that the journal shows why the connection ended.
        """
        logger.warning("%s: closing with code %d: %s", self.identity, code, reason)
        observer = self.frame_observer
        if observer is not None:
            observer("out", f"close {code}: {reason}", 0, None, None)
        # Answers already queued (e.g. the CALLERROR of the last bad frame) go out first.
        await self._write_answer()
        await self.websocket.close(code, reason[:120])

    def _shutdown(self) -> None:
        if self._closed.is_set():
            return
        self._close_code = self.websocket.close_code
        self._close_reason = self.websocket.close_reason or ""
        error = ConnectionClosed(self._close_code, self._close_reason)
        self.rpc.close()  # CallCancelled for every call of ours: all in _pending, failed below
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        self._release_flush_waiters()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._closed.set()

    def _release_flush_waiters(self) -> None:
        waiters, self._flush_waiters = self._flush_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _flushed(self) -> None:
        """Wait until every frame queued so far has been handed to the websocket."""
        if self.closed:
            return
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._flush_waiters.append(waiter)
        self._kick()
        await waiter

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = self._loop.create_task(coro)
        self._tasks[task] = None
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        if not self._tasks:
            self._tasks = {}

    def _resolve(
        self, message_id: str, result: Any = None, error: BaseException | None = None
    ) -> None:
        future = self._pending.pop(message_id, None)
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def _process(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, CallReceived):
                self._spawn(self._answer(event.message_id, event.action, event.payload))
            elif isinstance(event, SendReceived):
                self._spawn(self._deliver(event))
            elif isinstance(event, ResultReceived):
                self._resolve(event.message_id, event.payload)
            elif isinstance(event, ErrorReceived):
                self._resolve(event.message_id, error=event.error)
            elif isinstance(event, CallTimedOut):
                self._resolve(
                    event.message_id,
                    error=CallTimeout(event.action, event.message_id, event.timeout),
                )
            elif isinstance(event, ResultErrorReceived):
                # Legitimate protocol, but a peer may flood them: logged like violations
                # (summarised), not charged to the budget.
                self._violation(
                    f"peer rejected our result {event.message_id}: {event.error}",
                    self._loop.time(),
                    counts=False,
                )
            elif isinstance(event, ProtocolViolation):
                answer = f"answered {event.code}" if event.answered else "not answered"
                self._violation(f"{event.description} ({answer})", self._loop.time())

    async def _answer(self, message_id: str, action: str, request: Any) -> None:
        context = CallContext(message_id, action, self)
        try:
            response = await self._handler.handle_call(context, request)
            if response is None:
                raise TypeError(f"handler for {action} returned None")
        except CallError as error:
            if self._reply_error(message_id, error):
                await self._write_answer()
            return
        except Exception:
            logger.exception("%s: handler for %s (%s) failed", self.identity, action, message_id)
            failed = CallError(ErrorCode.INTERNAL_ERROR, f"{action} handler failed")
            if self._reply_error(message_id, failed):
                await self._write_answer()
            return
        if self._closed._set:
            return
        sent_instead = self.rpc.send_result(message_id, response)
        if sent_instead is not None:
            logger.error(
                "%s: invalid %s response (a handler bug): %s", self.identity, action, sent_instead
            )
            await self._write_answer()
            return
        has_after = self._has_after
        if has_after is not None and not has_after(action, request):
            await self._write_answer()  # no @after hook: nothing else to do
            return
        try:
            if not await self._write_answer():
                await self._flushed()
            await self._handler.after_call(context, request)
        except Exception:
            logger.exception("%s: after-hook of %s failed", self.identity, action)

    def _reply_error(self, message_id: str, error: CallError) -> bool:
        """Queue a CALLERROR answer; False if the connection is closed (nothing queued)."""
        if self._closed._set:
            return False
        self.rpc.send_error(message_id, error)
        return True

    async def _write_answer(self) -> bool:
        """Write the frames the core queued (an answer of this task's) from the current task.

        Saves a writer task per answer. Frame order is kept because there is one writer at a
        time: when a task is already writing (the writer task, or another answer blocked in
        ``send`` by flow control) it is woken instead and writes our frame after the ones
        queued before it.

        Returns:
            True when every frame queued so far has been handed to the websocket (or the
            connection closed) by the time this returns; False when another writer will write
            them (await :meth:`_flushed` to wait for that).
        """
        if self._closed._set:
            return True
        if self._writing:
            self._wake.set()
            return False
        await self._write()
        return True

    async def _deliver(self, event: SendReceived) -> None:
        context = CallContext(event.message_id, event.action, self, is_send=True)
        try:
            await self._handler.handle_call(context, event.payload)
        except Exception:
            logger.exception("%s: handler for SEND %s failed", self.identity, event.action)

    def _kick(self) -> None:
        """Have the frames the RPC core queued written, and calls expired on time.

        Wakes the running writer, or starts one (it ends when there is nothing left to do).
        """
        if self._closed._set:
            return
        writer = self._writer
        if self._writing or (writer is not None and not writer.done()):
            self._wake.set()
        else:
            self._writer = self._loop.create_task(self._write())

    async def _write(self) -> None:
        """The write loop: run by the writer task or inline by an answering task.

        Never run by two tasks at once (``_writing``).

        Fast path (``self._direct``, see :func:`_direct_send`): when ``send()`` would not wait
        (the connection is OPEN, its transport neither closing nor paused by flow control, no
        fragmented message in progress) a frame is written with ``protocol.send_text(data)``
        then ``send_data()``: what ``send()`` runs inside ``send_context()`` in websockets 17,
        minus the coroutine, the async context manager and ``drain()``. Every other case, and
        every frame when the fast paths are off, goes through ``send()``, which waits for the
        buffer to drain or raises ConnectionClosed.
        """
        if self._writing:  # a writer task started while an answer was being written inline
            self._wake.set()
            return
        self._writing = True
        loop = self._loop
        ws: Any = self.websocket
        direct = self._direct
        try:
            while True:
                self._wake.clear()
                waiters, self._flush_waiters = self._flush_waiters, []
                frames = self.rpc.data_to_send()
                refusals = self._refusals
                if refusals:
                    self._refusals = None
                    frames = refusals + frames
                observer = self.frame_observer
                for frame in frames:
                    if observer is not None:
                        observer("out", frame, *frame_header(frame))
                    if direct and not ws.paused and ws.send_in_progress is None:
                        protocol = ws.protocol
                        if protocol.state is _WS_OPEN and not ws.transport.is_closing():
                            # What send() does for a str when it need not wait, without the
                            # coroutine, the async context manager and drain() (see below).
                            try:
                                protocol.send_text(frame.encode())
                                ws.send_data()
                            except Exception:
                                # send() would abort the connection too (send_context).
                                logger.exception("%s: writing a frame failed", self.identity)
                                ws.transport.abort()
                                return
                            continue
                    await ws.send(frame)
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                events = self.rpc.handle_timeout(loop.time())
                if events:
                    self._process(events)
                    continue
                if not self._wake.is_set():
                    break
        except WsConnectionClosed:
            return
        finally:
            self._writing = False
        # Nothing left to write: wake up again at the core's next deadline (our CALL's).
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.rpc.next_deadline()
        if deadline is not None and not self._closed._set:
            self._timer = loop.call_at(deadline, self._kick)
