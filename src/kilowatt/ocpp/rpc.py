"""Per-connection OCPP-J RPC state, sans-I/O: bytes in, events and frames out, time passed in.

Sources: OCPP-J 1.6 §4 (RPC framework), OCPP 2.0.1 Part 4 §4, OCPP 2.1 Part 4 §4.

Choices the specs leave open, or where they differ between versions (each answer is a CALLERROR
spelled with :func:`~kilowatt.ocpp.errors.wire_code`):

==============================================  ===============================  =================
Received                                        2.0.1 / 2.1                      1.6
==============================================  ===============================  =================
not JSON, not an array, unreadable message id   RpcFrameworkError, id ``"-1"``   nothing (no id)
message type id not an integer                  RpcFrameworkError                nothing
unknown message type id (5/6 before 2.1)        nothing (errata, see below)      nothing (§4.1.3)
CALL whose message id has over 36 characters    RpcFrameworkError, id echoed     FormationViolation
CALL with wrong arity or non-string action      RpcFrameworkError                FormationViolation
CALL whose payload is not an object             FormatViolation                  FormationViolation
CALL reusing the id of an unanswered CALL       RpcFrameworkError                GenericError
unknown action                                  NotImplemented                   NotImplemented
action known but not in ``actions``             NotSupported                     NotSupported
action only *we* may initiate, or a SEND-only   NotSupported                     NotSupported
action in a CALL frame
invalid payload                                 ``PayloadError.code``            same, 1.6 spelling
our own result invalid (``validate_outgoing``)  InternalError                    InternalError
==============================================  ===============================  =================

- 1.6 keeps silent where it cannot name the CALL: an answer needs the id (OCPP-J 1.6 §4.2.3).
  2.x answers with id ``"-1"`` (2.0.1 Part 4 §4.2.3).
- An unknown message type id is ignored, never answered, on every version: OCPP-J 1.6 §4.1.3
  (a message type not in its list is ignored), OCPP 2.1 Ed1 Part 4 §4.1.3 and §4.4, and
  the 2026 errata of OCPP 2.0.1 Ed4 Part 4, which deprecate MessageTypeNotSupported (the 2020 text
  of 2.0.1 contradicted itself). The frame is still reported, as a
  :class:`ProtocolViolation` with ``answered=False``, for logs and the journal. The pre-errata
  answer (MessageTypeNotSupported, 2.0.1+ only) is an opt-in: ``answer_unknown_message_type=True``
  (reachable through the transports' ``rpc_options``).
- A message id is a string of at most 36 characters (OCPP-J 1.6 §4.1.4, room for a UUID;
  OCPP 2.0.1 Part 4 §4.2.1). A CALL whose id is a longer string is still answered, echoing the id
  so that the station can correlate: on 1.6 with FormationViolation (OCPP-J 1.6 §4.2.3: the frame
  does "not conform the PDU structure", as for a wrong arity; ProtocolError means an incomplete
  payload, which it is not), on 2.x with RpcFrameworkError (2.0.1 Part 4 §4.2.3: not a valid RPC
  frame). An id that is not a string, or is empty, cannot be echoed: ``"-1"`` on 2.x, silence
  on 1.6.
- A duplicate CALL id breaks "unique per sender per connection" (2.0.1 Part 4 §4.2.1); 1.6 has no
  code for it, GenericError is "any other error". The first CALL stays pending.
- A CALLERROR or CALLRESULTERROR is never answered; neither is a SEND (2.1 Part 4), even an
  invalid one: those produce only a :class:`ProtocolViolation` event.
- A CALLRESULT or CALLERROR that is malformed, or a CALLRESULT whose payload fails the response
  schema, still ends our outstanding CALL of the same id, with ``ErrorReceived(local=True)``;
  waiting for the timeout would only delay the failure. On 2.1 a CALLRESULT we cannot accept is
  answered with a CALLRESULTERROR (message type 5); 1.6 and 2.0.1 have nothing to answer with.
- An answer for an id that is not our outstanding CALL (timed out, unknown, or still queued) is
  dropped with a :class:`ProtocolViolation` event.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final, Literal

import msgspec

from kilowatt.ocpp.action import ActionSpec, Initiator
from kilowatt.ocpp.codec import PayloadError, decode_payload, encode_payload
from kilowatt.ocpp.errors import CallError, ErrorCode, RpcUsageError, parse_code, wire_code
from kilowatt.ocpp.frames import (
    MAX_DESCRIPTION_LENGTH,
    MAX_MESSAGE_ID_LENGTH,
    UNKNOWN_MESSAGE_ID,
    Call,
    CallErrorFrame,
    CallResult,
    CallResultErrorFrame,
    FrameError,
    FrameErrorKind,
    MessageType,
    Send,
    build_call,
    build_error,
    build_result,
    build_send,
    parse_frame,
)
from kilowatt.ocpp.rpc_events import (
    CallCancelled,
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

__all__ = ["RpcConnection", "Side", "version_actions"]

Side = Literal["csms", "charging_station"]
"""Which end of the connection this :class:`RpcConnection` is."""

_MODULES: Final = {OcppVersion.V16: "v16", OcppVersion.V201: "v201", OcppVersion.V21: "v21"}
_NO_ACTIONS: Mapping[str, ActionSpec] = {}


def version_actions(version: OcppVersion) -> Mapping[str, ActionSpec]:
    """Return every action of ``version`` (the generated ``kilowatt.ocpp.vXX.ACTIONS``).

    Imported on first use, so that this module works without the generated packages as long as
    the caller passes its own ``actions``.

    Raises:
        ImportError: the generated package of ``version`` is not installed.
    """
    module = importlib.import_module(f"kilowatt.ocpp.{_MODULES[version]}")
    actions: Mapping[str, ActionSpec] = module.ACTIONS
    return actions


class _OutCall:
    """One CALL of ours: queued (``deadline`` None) or outstanding."""

    __slots__ = ("deadline", "frame", "message_id", "spec", "timeout")

    def __init__(self, message_id: str, spec: ActionSpec, frame: str, timeout: float) -> None:
        self.message_id = message_id
        self.spec = spec
        self.frame = frame
        self.timeout = timeout
        self.deadline: float | None = None


# Request type -> ActionSpec, per actions mapping; shared by every connection that uses the same
# mapping (normally the generated module constant), so a connection does not carry its own copy.
# The mapping itself is kept in the value so that its id() cannot be reused while cached.
_TYPE_INDEX: dict[int, tuple[Mapping[str, ActionSpec], dict[type[Any], ActionSpec]]] = {}


def _type_index(actions: Mapping[str, ActionSpec]) -> dict[type[Any], ActionSpec]:
    entry = _TYPE_INDEX.get(id(actions))
    if entry is None or entry[0] is not actions:
        entry = (actions, {spec.request: spec for spec in actions.values()})
        _TYPE_INDEX[id(actions)] = entry
    return entry[1]


class RpcConnection:
    """The RPC state of one OCPP-J connection (either side).

    Args:
        version: the negotiated OCPP version; decides error spellings and frame types allowed.
        actions: action name -> :class:`ActionSpec`; default: every action of ``version``.
            An inbound CALL of an action of the version that is missing here is answered
            NotSupported (a known action is told apart from an unknown one with ``known_actions``).
        lenient: tolerate unknown fields in received payloads (real chargers break schemas).
        call_timeout: default deadline of our CALLs, in s.
        message_id_factory: makes message ids for our CALLs (default: uuid4 strings, 36 chars).
        validate_outgoing: check our own results against the schema; an invalid result is sent
            as InternalError instead (OCPP 2.0.1 Part 4 §4.3). Our own requests are checked the
            same way, and an invalid one raises :class:`RpcUsageError`.
        side: which end we are, ``"csms"`` (default) or ``"charging_station"``; an inbound CALL
            of an action only our side initiates is answered NotSupported.
        known_actions: names of every action of ``version``, to tell NotImplemented (unknown)
            from NotSupported (known, not in ``actions``). Default: the generated actions of the
            version if installed, else the keys of ``actions``.
        answer_unknown_message_type: (2.0.1+) answer an unknown message type id with
            MessageTypeNotSupported (True, the pre-errata 2.0.1 Part 4 §4.2.3) or ignore it
            (False, the default: OCPP 2.1 Ed1 Part 4 §4.1.3/§4.4 and the 2026 errata of 2.0.1
            Ed4). 1.6 always ignores it (OCPP-J 1.6 §4.1.3, 1.6 has no code for it).

    Usage (the transport loop)::

        events = conn.receive(text, now)       # for each frame from the socket
        for frame in conn.data_to_send(): ws.send(frame)
        deadline = conn.next_deadline()        # sleep until then, then conn.handle_timeout(now)

    Raises:
        ImportError: ``actions`` is None and the generated package of ``version`` is missing.
    """

    __slots__ = (
        "_actions",
        "_answer_unknown_type",
        "_call_timeout",
        "_closed",
        "_inbound",
        "_is_2x",
        "_known",
        "_lenient",
        "_new_id",
        "_out",
        "_outbox",
        "_own_initiator",
        "_peer_initiator",
        "_queue",
        "_side",
        "_validate",
        "_version",
    )

    def __init__(
        self,
        version: OcppVersion,
        *,
        actions: Mapping[str, ActionSpec] | None = None,
        lenient: bool = False,
        call_timeout: float = 30.0,
        message_id_factory: Callable[[], str] | None = None,
        validate_outgoing: bool = True,
        side: Side = "csms",
        known_actions: Collection[str] | None = None,
        answer_unknown_message_type: bool = False,
    ) -> None:
        if side not in ("csms", "charging_station"):
            raise ValueError(f"side must be 'csms' or 'charging_station', not {side!r}")
        self._version = version
        self._is_2x = version.is_2x
        if actions is None:
            actions = version_actions(version)
        self._actions: Mapping[str, ActionSpec] = actions
        if known_actions is None:
            try:
                known_actions = version_actions(version).keys()
            except ImportError:
                known_actions = actions.keys()
        self._known: Collection[str] = known_actions
        self._lenient = lenient
        self._call_timeout = call_timeout
        self._new_id: Callable[[], str] = message_id_factory or _uuid4
        self._validate = validate_outgoing
        self._side: Side = side
        if side == "csms":
            self._own_initiator, self._peer_initiator = Initiator.CSMS, Initiator.CHARGING_STATION
        else:
            self._own_initiator, self._peer_initiator = Initiator.CHARGING_STATION, Initiator.CSMS
        self._answer_unknown_type = answer_unknown_message_type
        self._out: _OutCall | None = None
        # A list, not a deque: an empty deque allocates a ~600-byte block, per connection; the
        # queue of our own CALLs is short (popping its head is cheap).
        self._queue: list[_OutCall] = []
        # Unanswered inbound CALLs: message id -> action, for send_result's response type.
        self._inbound: dict[str, ActionSpec] = {}
        self._outbox: list[str] = []
        self._closed = False

    # -- introspection ---------------------------------------------------------------------

    @property
    def version(self) -> OcppVersion:
        """The negotiated OCPP version."""
        return self._version

    @property
    def side(self) -> Side:
        """Which end of the connection we are."""
        return self._side

    @property
    def pending_call(self) -> str | None:
        """The message id of our outstanding CALL (sent, not yet answered), or None."""
        return self._out.message_id if self._out is not None else None

    @property
    def queued_calls(self) -> int:
        """How many of our CALLs wait for the outstanding one to finish."""
        return len(self._queue)

    @property
    def unanswered_calls(self) -> tuple[str, ...]:
        """Message ids of the peer's CALLs we have not answered yet, oldest first."""
        return tuple(self._inbound)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closed

    # -- input -----------------------------------------------------------------------------

    def receive(self, data: str | bytes, now: float) -> list[Event]:
        """Feed one WebSocket text message; return the events it produced (``now`` in s).

        Never raises because of what the peer sent: a bad frame gives a
        :class:`ProtocolViolation` event (and the answer the spec prescribes, in
        :meth:`data_to_send`). After :meth:`close`, returns ``[]``.
        """
        if self._closed:
            return []
        try:
            frame = parse_frame(data, self._version)
        except FrameError as exc:
            return self._on_frame_error(exc, now)
        if type(frame) is Call:
            return self._on_call(frame)
        if type(frame) is CallResult:
            return self._on_result(frame, now)
        if type(frame) is CallErrorFrame:
            return self._on_error(frame, now)
        if type(frame) is Send:
            return self._on_send(frame)
        assert type(frame) is CallResultErrorFrame
        code = parse_code(frame.code, self._version) or frame.code
        return [
            ResultErrorReceived(frame.message_id, CallError(code, frame.description, frame.details))
        ]

    def _on_call(self, frame: Call) -> list[Event]:
        message_id = frame.message_id
        if message_id in self._inbound:
            return [
                self._reject(
                    message_id,
                    ErrorCode.RPC_FRAMEWORK_ERROR if self._is_2x else ErrorCode.GENERIC_ERROR,
                    f"message id {message_id} is already used by an unanswered CALL",
                )
            ]
        action = frame.action
        spec = self._actions.get(action)
        if spec is None:
            if action in self._known:
                return [
                    self._reject(message_id, ErrorCode.NOT_SUPPORTED, f"{action} not supported")
                ]
            return [self._reject(message_id, ErrorCode.NOT_IMPLEMENTED, f"unknown action {action}")]
        if spec.send or spec.initiator is self._own_initiator:
            return [
                self._reject(
                    message_id,
                    ErrorCode.NOT_SUPPORTED,
                    f"{action} is not accepted in a CALL from this side",
                )
            ]
        try:
            payload = self._decode(spec.request, frame.payload)
        except PayloadError as exc:
            return [self._reject(message_id, exc.code, exc.description)]
        self._inbound[message_id] = spec
        return [CallReceived(message_id, action, payload)]

    def _decode(self, type_: type[Any], raw: msgspec.Raw) -> Any:
        """Decode a received payload; raise PayloadError for every kind of failure."""
        # The frame parser leaves the payload undecoded, so invalid UTF-8 in a payload string
        # surfaces here, as a PayloadError from the codec.
        return decode_payload(type_, bytes(raw), lenient=self._lenient)

    def _on_result(self, frame: CallResult, now: float) -> list[Event]:
        out = self._out
        if out is None or out.message_id != frame.message_id:
            return [self._stray("CALLRESULT", frame.message_id)]
        try:
            payload = self._decode(out.spec.response, frame.payload)
        except PayloadError as exc:
            return self._fail_out(out, exc.code, exc.description, now, answer=True)
        self._finish_out(now)
        return [ResultReceived(out.message_id, out.spec.action, payload)]

    def _on_error(self, frame: CallErrorFrame, now: float) -> list[Event]:
        out = self._out
        if out is None or out.message_id != frame.message_id:
            return [self._stray("CALLERROR", frame.message_id)]
        code = parse_code(frame.code, self._version) or frame.code
        self._finish_out(now)
        error = CallError(code, frame.description, frame.details)
        return [ErrorReceived(out.message_id, out.spec.action, error)]

    def _on_send(self, frame: Send) -> list[Event]:
        # A SEND is never answered (2.1 Part 4), so every failure is only reported.
        spec = self._actions.get(frame.action)
        if spec is None or not spec.send or spec.initiator is self._own_initiator:
            return [ProtocolViolation(f"SEND of unexpected action {frame.action}", answered=False)]
        try:
            payload = self._decode(spec.request, frame.payload)
        except PayloadError as exc:
            return [
                ProtocolViolation(
                    f"invalid SEND {frame.action}: {exc.description}",
                    answered=False,
                    code=wire_code(exc.code, self._version),
                )
            ]
        return [SendReceived(frame.message_id, frame.action, payload)]

    def _on_frame_error(self, exc: FrameError, now: float) -> list[Event]:
        mtype = exc.message_type
        message_id = exc.message_id
        # The id to echo: a valid one, or a readable string too long to be valid (see above).
        answer_id = exc.raw_message_id
        if exc.kind is FrameErrorKind.UNKNOWN_MESSAGE_TYPE:
            if not self._is_2x or not self._answer_unknown_type:
                return [ProtocolViolation(exc.description, answered=False)]
            return [
                self._reject(
                    answer_id or UNKNOWN_MESSAGE_ID,
                    ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
                    exc.description,
                )
            ]
        if mtype == MessageType.CALLRESULT or mtype == MessageType.CALLERROR:
            out = self._out
            if out is None or message_id is None or out.message_id != message_id:
                return [ProtocolViolation(exc.description, answered=False)]
            # A CALLERROR is never answered, a CALLRESULT only on 2.1 (CALLRESULTERROR).
            code = (
                ErrorCode.FORMAT_VIOLATION
                if exc.kind is FrameErrorKind.PAYLOAD_NOT_OBJECT
                else ErrorCode.RPC_FRAMEWORK_ERROR
            )
            return self._fail_out(
                out, code, exc.description, now, answer=mtype == MessageType.CALLRESULT
            )
        if mtype is not None and mtype != MessageType.CALL:
            # A malformed SEND or CALLRESULTERROR: neither is ever answered.
            return [ProtocolViolation(exc.description, answered=False)]
        # A CALL, or a frame whose type cannot be read and which may have been one.
        if not self._is_2x and (answer_id is None or mtype is None):
            return [ProtocolViolation(exc.description, answered=False)]
        code = (
            ErrorCode.FORMAT_VIOLATION
            if exc.kind is FrameErrorKind.PAYLOAD_NOT_OBJECT
            else ErrorCode.RPC_FRAMEWORK_ERROR
        )
        return [self._reject(answer_id or UNKNOWN_MESSAGE_ID, code, exc.description)]

    def _reject(self, message_id: str, code: ErrorCode, description: str) -> ProtocolViolation:
        """Queue a CALLERROR for a CALL we refuse; return the event that reports it."""
        wire = wire_code(code, self._version)
        self._outbox.append(build_error(message_id, wire, self._describe(description)))
        return ProtocolViolation(description, answered=True, code=wire)

    def _stray(self, what: str, message_id: str) -> ProtocolViolation:
        return ProtocolViolation(
            f"{what} for message id {message_id}, which is not our outstanding CALL",
            answered=False,
        )

    def _fail_out(
        self, out: _OutCall, code: ErrorCode, description: str, now: float, *, answer: bool
    ) -> list[Event]:
        """End our outstanding CALL because its answer was unacceptable."""
        if answer and self._version is OcppVersion.V21:
            self._outbox.append(
                build_error(
                    out.message_id,
                    wire_code(code, self._version),
                    self._describe(description),
                    message_type=MessageType.CALLRESULTERROR,
                )
            )
        self._finish_out(now)
        error = CallError(code, description)
        return [ErrorReceived(out.message_id, out.spec.action, error, local=True)]

    def _describe(self, description: str) -> str:
        if self._is_2x and len(description) > MAX_DESCRIPTION_LENGTH:
            return description[:MAX_DESCRIPTION_LENGTH]
        return description

    # -- our CALLs -------------------------------------------------------------------------

    def _spec_for(self, request: Any, action: str | None) -> ActionSpec:
        if action is None:
            spec = _type_index(self._actions).get(type(request))
            if spec is None:
                raise RpcUsageError(
                    f"{type(request).__name__} is not the request of any action of this connection"
                )
            return spec
        spec = self._actions.get(action)
        if spec is None:
            raise RpcUsageError(f"unknown action {action!r} for this connection")
        if type(request) is not spec.request:
            raise RpcUsageError(
                f"{action} takes {spec.request.__name__}, not {type(request).__name__}"
            )
        return spec

    def _encode_request(self, request: Any, spec: ActionSpec) -> bytes:
        if spec.initiator is self._peer_initiator:
            raise RpcUsageError(f"{spec.action} is initiated by the other side only")
        payload = encode_payload(request)
        if self._validate:
            try:
                decode_payload(spec.request, payload)
            except PayloadError as exc:
                raise RpcUsageError(f"invalid {spec.action} request: {exc.description}") from exc
        return payload

    def _next_id(self) -> str:
        message_id = self._new_id()
        if not isinstance(message_id, str) or not 1 <= len(message_id) <= MAX_MESSAGE_ID_LENGTH:
            raise RpcUsageError(
                f"message id factory returned {message_id!r}: not a string of 1 to "
                f"{MAX_MESSAGE_ID_LENGTH} characters"
            )
        return message_id

    def send_call(
        self, request: Any, now: float, *, action: str | None = None, timeout: float | None = None
    ) -> str:
        """Queue a CALL of the typed ``request``; return its message id.

        Sent at once if no CALL of ours is outstanding, otherwise kept in a FIFO queue and sent
        when the previous one is answered or timed out (never dropped). The action is looked up
        from the request's type unless ``action`` is given. ``timeout`` in s overrides
        ``call_timeout``; the deadline starts when the frame is actually sent.

        Raises:
            RpcUsageError: unknown action or wrong request type, an action only the peer
                initiates or a SEND-only action, an invalid request (with ``validate_outgoing``),
                a bad message id from the factory, or the connection is closed.
        """
        if self._closed:
            raise RpcUsageError("send_call on a closed connection")
        spec = self._spec_for(request, action)
        if spec.send:
            raise RpcUsageError(f"{spec.action} is carried by SEND: use send_message")
        payload = self._encode_request(request, spec)
        message_id = self._next_id()
        call = _OutCall(
            message_id,
            spec,
            build_call(message_id, spec.action, payload),
            self._call_timeout if timeout is None else timeout,
        )
        if self._out is None:
            self._start(call, now)
        else:
            self._queue.append(call)
        return message_id

    def _start(self, call: _OutCall, now: float) -> None:
        call.deadline = now + call.timeout
        self._out = call
        self._outbox.append(call.frame)

    def _finish_out(self, now: float) -> None:
        """Free the CALL slot and send the next queued CALL, if any."""
        self._out = None
        if self._queue:
            self._start(self._queue.pop(0), now)

    def send_message(self, request: Any, *, action: str | None = None) -> str:
        """(OCPP 2.1) Queue a SEND frame (message type 6; no answer, not subject to the queue).

        Returns the message id.

        Raises:
            RpcUsageError: the connection is not OCPP 2.1 or is closed, the action is not a SEND
                action of ours, or the request is invalid (see :meth:`send_call`).
        """
        if self._closed:
            raise RpcUsageError("send_message on a closed connection")
        if self._version is not OcppVersion.V21:
            raise RpcUsageError(f"SEND does not exist in OCPP {self._version.value}")
        spec = self._spec_for(request, action)
        if not spec.send:
            raise RpcUsageError(f"{spec.action} is not carried by SEND: use send_call")
        payload = self._encode_request(request, spec)
        message_id = self._next_id()
        self._outbox.append(build_send(message_id, spec.action, payload))
        return message_id

    # -- answers to the peer's CALLs -------------------------------------------------------

    def _take_inbound(self, message_id: str) -> ActionSpec | None:
        spec = self._inbound.pop(message_id, None)
        if not self._inbound:
            self._inbound = {}  # an emptied dict keeps its table (~170 bytes per connection)
        if spec is None and not self._closed:
            raise RpcUsageError(f"no unanswered CALL with message id {message_id!r}")
        return spec

    def send_result(self, message_id: str, response: Any) -> CallError | None:
        """Answer the received CALL ``message_id`` with the typed ``response``.

        With ``validate_outgoing``, a response of the wrong type, one that cannot be encoded or
        one that fails its schema is not sent: the CALL is answered with an InternalError
        CALLERROR instead (our fault, not the peer's; OCPP 2.0.1 Part 4 §4.3).

        Returns:
            None when the response was queued as given; the :class:`CallError` that was sent
            instead of an invalid response (log it: it is a bug in the handler). After
            :meth:`close`, nothing is sent and None is returned.

        Raises:
            RpcUsageError: ``message_id`` is not an unanswered CALL of the peer (never received,
                or already answered).
        """
        spec = self._take_inbound(message_id)
        if spec is None:
            return None
        try:
            if self._validate and type(response) is not spec.response:
                raise PayloadError(
                    ErrorCode.INTERNAL_ERROR,
                    f"{spec.action} response must be {spec.response.__name__}, "
                    f"not {type(response).__name__}",
                )
            payload = encode_payload(response)
            if self._validate:
                decode_payload(spec.response, payload)
        except (PayloadError, msgspec.EncodeError, TypeError) as exc:
            error = CallError(ErrorCode.INTERNAL_ERROR, f"invalid {spec.action} response: {exc}")
            self._outbox.append(self._error_frame(message_id, error))
            return error
        self._outbox.append(build_result(message_id, payload))
        return None

    def send_error(self, message_id: str, error: CallError) -> None:
        """Answer the received CALL ``message_id`` with a CALLERROR.

        ``error.code`` is spelled for the version (:func:`errors.wire_code`); a raw string code
        is sent as is. 2.0.1+ descriptions are cut to 255 characters. After :meth:`close`,
        nothing is sent.

        Raises:
            RpcUsageError: ``message_id`` is not an unanswered CALL of the peer.
        """
        if self._take_inbound(message_id) is not None:
            self._outbox.append(self._error_frame(message_id, error))

    def _error_frame(self, message_id: str, error: CallError) -> str:
        code = error.code
        wire = wire_code(code, self._version) if isinstance(code, ErrorCode) else code
        return build_error(message_id, wire, self._describe(error.description), error.details)

    # -- output and time -------------------------------------------------------------------

    def data_to_send(self) -> list[str]:
        """Return and forget the frames ready to be written to the socket, in order."""
        frames = self._outbox
        if not frames:
            return []
        self._outbox = []
        return frames

    def next_deadline(self) -> float | None:
        """The earliest deadline of our outstanding CALL (s, same clock as ``now``), or None."""
        return self._out.deadline if self._out is not None else None

    def handle_timeout(self, now: float) -> list[Event]:
        """Expire calls whose deadline is <= ``now``; return CallTimedOut events.

        The next queued CALL is sent at once (its deadline starts at ``now``). A late answer to
        an expired CALL is later dropped with a :class:`ProtocolViolation` event.
        """
        events: list[Event] = []
        out = self._out
        while out is not None and out.deadline is not None and out.deadline <= now:
            events.append(CallTimedOut(out.message_id, out.spec.action, out.timeout))
            self._finish_out(now)
            out = self._out
        return events

    def close(self) -> list[Event]:
        """Forget all RPC state, as when the connection is lost; return CallCancelled events.

        Our outstanding CALL and every queued CALL are reported, in order. Unanswered CALLs of
        the peer are forgotten (answering them later is a silent no-op), unsent frames are
        dropped, and :meth:`receive` ignores further input. Calling it again returns ``[]``.
        """
        events: list[Event] = []
        if self._out is not None:
            events.append(CallCancelled(self._out.message_id, self._out.spec.action))
            self._out = None
        events.extend(CallCancelled(c.message_id, c.spec.action) for c in self._queue)
        self._queue.clear()
        self._inbound.clear()
        self._outbox = []
        self._closed = True
        return events


def _uuid4() -> str:
    return str(uuid.uuid4())
