"""OCPP-J RPC frames: parse a WebSocket text message into a frame, build frames to send.

The five frame shapes (OCPP-J 1.6 §4.1, OCPP 2.0.1 Part 4 §4.2, OCPP 2.1 Part 4 §4.2)::

    [2, "<MessageId>", "<Action>", {<Payload>}]                          CALL
    [3, "<MessageId>", {<Payload>}]                                      CALLRESULT
    [4, "<MessageId>", "<ErrorCode>", "<Description>", {<Details>}]      CALLERROR
    [5, "<MessageId>", "<ErrorCode>", "<Description>", {<Details>}]      CALLRESULTERROR (2.1)
    [6, "<MessageId>", "<Action>", {<Payload>}]                          SEND            (2.1)

Parsing decodes the outer array once, keeping the payload as :class:`msgspec.Raw` (a slice of
the input, not a dict) so that the caller decodes it exactly once, with the typed decoder of the
action. Only when that fast decode fails does :func:`parse_frame` look at the message again, as
generic JSON, to say precisely what is wrong (:class:`FrameErrorKind`): a malformed frame is rare
and deserves a precise answer, a valid one is common and deserves a fast path.

Building encodes the frame with the payload bytes spliced in as :class:`msgspec.Raw`, so a payload
is encoded once and the message id and texts are JSON-escaped correctly.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Any, Final

import msgspec

from kilowatt.ocpp.version import OcppVersion

__all__ = [
    "MAX_DESCRIPTION_LENGTH",
    "MAX_MESSAGE_ID_LENGTH",
    "UNKNOWN_MESSAGE_ID",
    "Call",
    "CallErrorFrame",
    "CallResult",
    "CallResultErrorFrame",
    "Frame",
    "FrameError",
    "FrameErrorKind",
    "MessageType",
    "Send",
    "build_call",
    "build_error",
    "build_result",
    "build_send",
    "parse_frame",
]

MAX_MESSAGE_ID_LENGTH: Final = 36
"""Maximum length of a message id, in characters (OCPP-J 1.6 §4.1.4, OCPP 2.0.1 Part 4 §4.2.1:
room for a UUID)."""

MAX_DESCRIPTION_LENGTH: Final = 255
"""Maximum length of a CALLERROR description in 2.0.1+, in characters (OCPP 2.0.1 Part 4 §4.2.3)."""

UNKNOWN_MESSAGE_ID: Final = "-1"
"""The message id of a CALLERROR answering a frame whose id cannot be read (2.0.1 Part 4 §4.2.3)."""


class MessageType(IntEnum):
    """The message type id, first element of every frame."""

    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4
    CALLRESULTERROR = 5
    """(2.1) The sender of a CALLRESULT learns its result could not be accepted."""
    SEND = 6
    """(2.1) An unconfirmed message: never answered, not subject to the one-CALL rule."""


_ARITY: Final[dict[int, int]] = {2: 4, 3: 3, 4: 5, 5: 5, 6: 4}
_TYPES_1X_20: Final = frozenset({2, 3, 4})
_TYPES_21: Final = frozenset({2, 3, 4, 5, 6})

# A message id as the fast decoder checks it; a failure falls to the precise classifier.
_MessageId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_MESSAGE_ID_LENGTH)]


class Call(msgspec.Struct, array_like=True, tag=2, forbid_unknown_fields=True, frozen=True):
    """A CALL frame. ``payload`` is the undecoded JSON object (decode it with the action's type)."""

    message_id: _MessageId
    action: str
    payload: msgspec.Raw


class CallResult(msgspec.Struct, array_like=True, tag=3, forbid_unknown_fields=True, frozen=True):
    """A CALLRESULT frame. ``payload`` is the undecoded JSON object."""

    message_id: _MessageId
    payload: msgspec.Raw


class CallErrorFrame(
    msgspec.Struct, array_like=True, tag=4, forbid_unknown_fields=True, frozen=True
):
    """A CALLERROR frame. ``code`` is the raw wire string (see :func:`errors.parse_code`)."""

    message_id: _MessageId
    code: str
    description: str
    details: dict[str, Any]


class CallResultErrorFrame(
    msgspec.Struct, array_like=True, tag=5, forbid_unknown_fields=True, frozen=True
):
    """(2.1) A CALLRESULTERROR frame: the peer could not accept our CALLRESULT ``message_id``."""

    message_id: _MessageId
    code: str
    description: str
    details: dict[str, Any]


class Send(msgspec.Struct, array_like=True, tag=6, forbid_unknown_fields=True, frozen=True):
    """(2.1) A SEND frame. ``payload`` is the undecoded JSON object."""

    message_id: _MessageId
    action: str
    payload: msgspec.Raw


Frame = Call | CallResult | CallErrorFrame | CallResultErrorFrame | Send
"""Any parsed frame."""

# One decoder per set of frame types: on 1.6 and 2.0.1 a 5 or 6 is an unknown message type.
_DECODER_3: Final = msgspec.json.Decoder(Call | CallResult | CallErrorFrame)
_DECODER_5: Final = msgspec.json.Decoder(Frame)
_ANY_DECODER: Final = msgspec.json.Decoder()
_ENCODER: Final = msgspec.json.Encoder()


class FrameErrorKind(StrEnum):
    """What is wrong with a frame that could not be parsed."""

    NOT_JSON = "not-json"
    """The message is not valid JSON (or not valid UTF-8)."""
    NOT_ARRAY = "not-array"
    """The JSON value is not an array."""
    BAD_MESSAGE_TYPE = "bad-message-type"
    """The first element is missing or not an integer."""
    UNKNOWN_MESSAGE_TYPE = "unknown-message-type"
    """The message type id is an integer this version does not define."""
    BAD_MESSAGE_ID = "bad-message-id"
    """The message id is missing, not a string, empty or longer than 36 characters."""
    WRONG_ARITY = "wrong-arity"
    """The array has the wrong number of elements for its message type."""
    BAD_ACTION = "bad-action"
    """The action of a CALL or SEND is not a string."""
    PAYLOAD_NOT_OBJECT = "payload-not-object"
    """The payload of a CALL, CALLRESULT or SEND is not a JSON object."""
    BAD_ERROR_CODE = "bad-error-code"
    """The error code of a CALLERROR or CALLRESULTERROR is not a string."""
    BAD_DESCRIPTION = "bad-description"
    """The error description of a CALLERROR or CALLRESULTERROR is not a string."""
    BAD_DETAILS = "bad-details"
    """The error details of a CALLERROR or CALLRESULTERROR are not a JSON object."""


class FrameError(Exception):
    """A message is not a valid frame for the version.

    ``message_type`` is the integer message type id when it could be read (it may be unknown to
    the version), else None. ``message_id`` is the message id when it is a valid one (a string of
    1 to 36 characters), else None. ``raw_message_id`` is the message id as sent whenever it is a
    non-empty string, even one longer than 36 characters: an answer echoes it so that the peer can
    correlate (it is no longer than the frame it came in), and uses ``"-1"`` (2.0.1+) or none at
    all (1.6) only when the id cannot be read.
    """

    def __init__(
        self,
        kind: FrameErrorKind,
        description: str,
        message_type: int | None = None,
        message_id: str | None = None,
        *,
        raw_message_id: str | None = None,
    ) -> None:
        super().__init__(description)
        self.kind = kind
        self.description = description
        self.message_type = message_type
        self.message_id = message_id
        self.raw_message_id = message_id if raw_message_id is None else raw_message_id


def parse_frame(data: str | bytes, version: OcppVersion) -> Frame:
    """Parse one WebSocket text message into a frame of ``version``.

    The payload (of CALL, CALLRESULT, SEND) stays undecoded, as :class:`msgspec.Raw`, and is
    guaranteed to be a JSON object.

    Raises:
        FrameError: the message is not a valid frame; ``kind`` says why.
    """
    decoder = _DECODER_5 if version is OcppVersion.V21 else _DECODER_3
    try:
        frame: Frame = decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeError):
        # UnicodeError: msgspec raises it for invalid UTF-8 bytes or a str with lone surrogates.
        return _classify(data, version)
    if isinstance(frame, CallErrorFrame | CallResultErrorFrame):
        return frame
    # Raw keeps any JSON value: a payload must be an object, which its first byte tells.
    if memoryview(frame.payload)[0] != 0x7B:  # "{"
        return _classify(data, version)
    return frame


def _type_name(value: Any) -> str:
    # JSON names with their article, not Python ones: the description goes to the peer.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _classify(data: str | bytes, version: OcppVersion) -> Frame:
    """The slow path: say precisely why ``data`` is not a frame (or return it after all)."""
    try:
        value = _ANY_DECODER.decode(data)
    except (msgspec.DecodeError, UnicodeError):
        raise FrameError(FrameErrorKind.NOT_JSON, "message is not valid JSON") from None
    if not isinstance(value, list):
        raise FrameError(FrameErrorKind.NOT_ARRAY, f"message is {_type_name(value)}, not an array")
    # Checked first so that any later answer can echo it.
    message_id: str | None = None
    raw_id: str | None = None
    if len(value) >= 2:
        candidate = value[1]
        if isinstance(candidate, str) and candidate:
            raw_id = candidate
            if len(candidate) <= MAX_MESSAGE_ID_LENGTH:
                message_id = candidate
    mtype = value[0] if value else None
    # bool is an int subclass in Python but not a number in JSON.
    if type(mtype) is not int:
        got = "nothing" if not value else _type_name(mtype)
        raise FrameError(
            FrameErrorKind.BAD_MESSAGE_TYPE,
            f"message type id must be an integer, got {got}",
            message_id=message_id,
            raw_message_id=raw_id,
        )
    known = _TYPES_21 if version is OcppVersion.V21 else _TYPES_1X_20
    if mtype not in known:
        raise FrameError(
            FrameErrorKind.UNKNOWN_MESSAGE_TYPE,
            f"message type id {mtype} is not supported by OCPP {version.value}",
            mtype,
            message_id,
            raw_message_id=raw_id,
        )
    if message_id is None:
        if len(value) < 2:
            why = "nothing"
        elif not isinstance(value[1], str):
            why = _type_name(value[1])
        elif not value[1]:
            why = "an empty string"
        else:
            why = f"{len(value[1])} characters"
        raise FrameError(
            FrameErrorKind.BAD_MESSAGE_ID,
            f"message id must be a string of 1 to {MAX_MESSAGE_ID_LENGTH} characters, got {why}",
            mtype,
            raw_message_id=raw_id,
        )
    arity = _ARITY[mtype]
    if len(value) != arity:
        raise FrameError(
            FrameErrorKind.WRONG_ARITY,
            f"{MessageType(mtype).name} frame must have {arity} elements, got {len(value)}",
            mtype,
            message_id,
        )
    if mtype == 2 or mtype == 6:
        if not isinstance(value[2], str):
            raise FrameError(
                FrameErrorKind.BAD_ACTION,
                f"action must be a string, got {_type_name(value[2])}",
                mtype,
                message_id,
            )
        if not isinstance(value[3], dict):
            raise _not_object(
                value[3], "payload", FrameErrorKind.PAYLOAD_NOT_OBJECT, mtype, message_id
            )
        # Unreachable while the fast decoder and these checks test the same rules (see end).
        payload = msgspec.Raw(_ENCODER.encode(value[3]))  # pragma: no cover
        if mtype == 2:  # pragma: no cover
            return Call(message_id, value[2], payload)
        return Send(message_id, value[2], payload)  # pragma: no cover
    if mtype == 3:
        if not isinstance(value[2], dict):
            raise _not_object(
                value[2], "payload", FrameErrorKind.PAYLOAD_NOT_OBJECT, mtype, message_id
            )
        return CallResult(message_id, msgspec.Raw(_ENCODER.encode(value[2])))  # pragma: no cover
    if not isinstance(value[2], str):
        raise FrameError(
            FrameErrorKind.BAD_ERROR_CODE,
            f"error code must be a string, got {_type_name(value[2])}",
            mtype,
            message_id,
        )
    if not isinstance(value[3], str):
        raise FrameError(
            FrameErrorKind.BAD_DESCRIPTION,
            f"error description must be a string, got {_type_name(value[3])}",
            mtype,
            message_id,
        )
    if not isinstance(value[4], dict):
        raise _not_object(value[4], "error details", FrameErrorKind.BAD_DETAILS, mtype, message_id)
    # Unreachable when the fast decoder and these checks agree (they test the same rules); kept
    # so that a disagreement degrades into accepting a valid frame rather than into a crash.
    if mtype == 4:  # pragma: no cover
        return CallErrorFrame(message_id, value[2], value[3], value[4])
    return CallResultErrorFrame(message_id, value[2], value[3], value[4])  # pragma: no cover


def _not_object(
    value: Any, what: str, kind: FrameErrorKind, mtype: int, message_id: str
) -> FrameError:
    return FrameError(
        kind, f"{what} must be a JSON object, got {_type_name(value)}", mtype, message_id
    )


def build_call(message_id: str, action: str, payload: bytes) -> str:
    """Return the CALL frame text; ``payload`` is the encoded JSON object."""
    return _ENCODER.encode((2, message_id, action, msgspec.Raw(payload))).decode()


def build_send(message_id: str, action: str, payload: bytes) -> str:
    """(2.1) Return the SEND frame text; ``payload`` is the encoded JSON object."""
    return _ENCODER.encode((6, message_id, action, msgspec.Raw(payload))).decode()


def build_result(message_id: str, payload: bytes) -> str:
    """Return the CALLRESULT frame text; ``payload`` is the encoded JSON object."""
    return _ENCODER.encode((3, message_id, msgspec.Raw(payload))).decode()


def build_error(
    message_id: str,
    code: str,
    description: str,
    details: dict[str, Any] | None = None,
    *,
    message_type: int = MessageType.CALLERROR,
) -> str:
    """Return a CALLERROR (or, with ``message_type=5``, CALLRESULTERROR) frame text.

    ``code`` is the wire spelling (see :func:`errors.wire_code`); ``details`` defaults to ``{}``,
    as the spec requires an empty object rather than null. The caller truncates ``description``
    where the version limits it (:data:`MAX_DESCRIPTION_LENGTH`).
    """
    return _ENCODER.encode(
        (int(message_type), message_id, code, description, details if details else {})
    ).decode()
