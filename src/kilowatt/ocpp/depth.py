"""Deep JSON nesting refused before any recursive decode (sans-I/O).

A JSON decoder recurses once per nesting level: msgspec (and the stdlib) raise RecursionError
near Python's recursion limit, ~1,000 levels, which a 2 KiB frame reaches. OCPP payloads nest
less than 20 levels deep (the deepest schemas, e.g. 2.0.1 SetChargingProfile or 2.1
NotifyDERStartStop, stay under 10 inside the 2-level frame), so a frame nested deeper than
:data:`MAX_DEPTH` is not OCPP and is refused unread.

:func:`too_deep` is the check the transport runs on every received message before the RPC core
decodes it; :func:`shallow_header` reads the frame header (type, id, action) with a flat regular
expression, never a recursive decode; :func:`refuse_deep_frame` combines both into the answer
the spec prescribes for a frame that is not a readable RPC frame:

- OCPP 2.0.1 / 2.1 (Part 4 §4.2.3): a CALLERROR ``RpcFrameworkError``, with the frame's
  message id when it can be read, else ``"-1"``;
- OCPP 1.6 (OCPP-J 1.6 §4.2.3): ``FormationViolation`` with the id when it can be read; a 1.6
  CALLERROR cannot carry an unreadable id, so such a frame gets no answer;
- a CALLRESULT, CALLERROR, CALLRESULTERROR or SEND is never answered (they take no CALLERROR),
  nor a message type that is not OCPP's (ignored: 2.1 Part 4 §4.1.3).
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

import msgspec

from kilowatt.ocpp.errors import ErrorCode, wire_code
from kilowatt.ocpp.frames import (
    MAX_DESCRIPTION_LENGTH,
    MAX_MESSAGE_ID_LENGTH,
    UNKNOWN_MESSAGE_ID,
    MessageType,
    build_error,
)
from kilowatt.ocpp.version import OcppVersion

__all__ = ["MAX_DEPTH", "DeepFrame", "refuse_deep_frame", "shallow_header", "too_deep"]

MAX_DEPTH: Final = 64
"""Deepest nesting of arrays and objects accepted in a frame (the frame's own array is level 1)."""

# A JSON string literal, escapes included ("unrolled loop" form: no backtracking per character).
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_STRINGS = re.compile(_STRING.encode(), re.DOTALL)
# bytes.translate: keep only the brackets, with "{}" spelled "[]" (nesting is all that counts).
_BRACKETS_ONLY = bytes.maketrans(b"{}", b"[]")
_STEPS = bytes.maketrans(b"[]", b"\x01\xff")
_PASSES = 8
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_HEADER = re.compile(
    r"\A\s*\[\s*(-?\d{1,6})(?:\s*,\s*(" + _STRING + r"))?(?:\s*,\s*(" + _STRING + r"))?",
    re.DOTALL,
)
_decode_str = msgspec.json.Decoder(str)


def _text(data: str | bytes) -> str:
    # Latin-1 maps each byte to one character: the ASCII structure (quotes, backslashes,
    # brackets) is kept and the bytes of multi-byte UTF-8 sequences (>= 0x80) never match it.
    return data if isinstance(data, str) else data.decode("latin-1")


def too_deep(data: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Tell whether a JSON text nests arrays and objects deeper than ``limit`` levels.

    Brackets inside strings (escapes respected) do not count. Linear in the size of ``data``
    and without recursion; a frame with at most ``limit`` brackets (every OCPP frame but the
    largest reports) is decided by two ``count`` calls. Invalid JSON is judged by the depth a
    decoder would reach before it fails: an unterminated string ends the scan, unmatched
    opening brackets count.

    Args:
        data: a received message (``str``, or ``bytes`` for a binary message).
        limit: the deepest nesting accepted, in levels (``[[]]`` is 2).

    Returns:
        True when a recursive decode of ``data`` would go deeper than ``limit``.
    """
    if isinstance(data, str):
        opened = data.count("[") + data.count("{")
    else:
        opened = data.count(b"[") + data.count(b"{")
    if opened <= limit:
        return False
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if b"\\" in raw:  # escapes: only the regular expression finds where each string ends
        raw = _STRINGS.sub(b"", raw)
        quote = raw.find(b'"')
        if quote >= 0:  # an unterminated string: a decoder fails there, reads nothing deeper
            raw = raw[:quote]
    else:
        # Outside strings = the even pieces between quotes; an odd piece left at the end is
        # an unterminated string, dropped like the cut above.
        raw = b"".join(raw.split(b'"')[::2])
    text = raw.translate(_BRACKETS_ONLY, _NOT_BRACKETS)
    if b"[" * (limit + 1) in text:
        return True
    # Every pass removes the innermost level of every nesting ("[]" pairs), so the number of
    # passes is the depth. A pass is one C-speed scan: the usual frame, a few levels deep, is
    # decided in a few passes; past _PASSES, the prefix sums below bound the cost to one
    # (slower) linear scan whatever the depth.
    depth = 0
    while True:
        reduced = text.replace(b"[]", b"")
        if len(reduced) == len(text):
            # Left: no "[]" pair, i.e. "]]][[[": unmatched openers, one more level each.
            return depth + text.count(b"[") > limit
        depth += 1
        text = reduced
        if depth == _PASSES:
            break
    # The running sum of +1 per "[" and -1 per "]" is the depth at each bracket (signed
    # bytes: "[" -> 1, "]" -> -1); a stray "]" only lowers it, which a decoder rejects anyway.
    steps = array("b", text.translate(_STEPS))
    return depth + max(accumulate(steps), default=0) > limit


def shallow_header(data: str | bytes) -> tuple[int | None, str | None, str | None]:
    """Read ``(message_type, message_id, action)`` from the start of a frame, without decoding it.

    Only the leading ``[type, "id", "action"`` is read (a regular expression and flat string
    decodes), so any frame, however deep or long, costs little. The id is returned whatever its
    length (the caller applies the 36-character rule).

    Args:
        data: a received message (``str`` or ``bytes``).

    Returns:
        ``(message_type, message_id, action)``; an item is None when it cannot be read.
    """
    match = _HEADER.match(_text(data))
    if match is None:
        return None, None, None
    message_type = int(match.group(1))
    values: list[str | None] = []
    for group in (match.group(2), match.group(3)):
        value = None
        if group is not None:
            try:
                raw = group.encode("latin-1") if isinstance(data, bytes) else group
                value = _decode_str.decode(raw)
            except (msgspec.DecodeError, UnicodeError):
                value = None
        values.append(value)
    return message_type, values[0], values[1]


@dataclass(frozen=True, slots=True)
class DeepFrame:
    """A received frame refused for its nesting depth, and what to do about it.

    Attributes:
        message_type: the frame's message type (2-6, or another integer), 0 when unreadable.
        message_id: the frame's message id, when it is a string of at most 36 characters.
        answer: the CALLERROR frame text to send, or None when the spec prescribes none.
        description: why the frame was refused (also the CALLERROR's description).
    """

    message_type: int
    message_id: str | None
    answer: str | None
    description: str


def refuse_deep_frame(
    data: str | bytes, version: OcppVersion, limit: int = MAX_DEPTH
) -> DeepFrame | None:
    """Refuse ``data`` if it nests deeper than ``limit``; None when it may be decoded.

    Args:
        data: a received message.
        version: the connection's OCPP version (decides the error code and who gets an answer).
        limit: the deepest nesting accepted, in levels.

    Returns:
        None for a frame within the limit, else a :class:`DeepFrame` with the answer to send
        (see the module docstring for the rules and their spec sections).
    """
    if not too_deep(data, limit):
        return None
    message_type, raw_id, _action = shallow_header(data)
    description = f"message nests deeper than {limit} levels"
    is_2x = version is not OcppVersion.V16
    answer_id: str | None = raw_id or None
    answer: str | None = None
    if message_type is None or message_type == MessageType.CALL:
        if answer_id is None and is_2x:
            answer_id = UNKNOWN_MESSAGE_ID
        if answer_id is not None:
            code = wire_code(ErrorCode.RPC_FRAMEWORK_ERROR, version)
            answer = build_error(answer_id, code, description[:MAX_DESCRIPTION_LENGTH])
    message_id = raw_id if raw_id is not None and len(raw_id) <= MAX_MESSAGE_ID_LENGTH else None
    return DeepFrame(message_type or 0, message_id, answer, description)
