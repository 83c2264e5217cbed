"""Frame observers: a hook that sees every OCPP-J frame of a connection, in and out.

Set :attr:`kilowatt.transport.OcppConnection.frame_observer` (or pass ``frame_observer=`` to the
connection) to a :data:`FrameObserver`. The connection calls it synchronously, on the hot path,
once per WebSocket message:

- ``"in"``: every received message, right after the RPC core has read it and before any handler
  runs (so an answer to it is always observed after it);
- ``"out"``: every frame the connection writes, just before it is written, in wire order.

Arguments: ``(direction, frame, message_type, message_id, action)``. ``frame`` is the message as
on the wire (``str``; ``bytes`` for a binary message a peer sent). ``message_type`` (2-6),
``message_id`` and ``action`` come from the frame header (:func:`frame_header`): ``action`` only
for CALL (2) and SEND (6) frames, ``(0, None, None)`` when the frame is not a readable OCPP-J
array (such frames are reported too). For a received CALL the header comes from the core's
parse, at no extra cost. A frame refused for its nesting depth (:mod:`kilowatt.ocpp.depth`) is
reported with its type and id but no action, so that nothing downstream decodes it.

A close the connection initiates for a policy reason (a binary message: 1003; the
protocol-violation budget exceeded: 1008; see :mod:`kilowatt.transport.limits`) is reported as
an ``"out"`` entry of message type 0 whose text is ``close <code>: <reason>``.

An observer must not block or raise: keep it to appending to a buffer (the message journal,
:mod:`kilowatt.handlers.recorder`, does exactly that).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import msgspec

from kilowatt.ocpp.depth import MAX_DEPTH, shallow_header, too_deep
from kilowatt.ocpp.frames import MAX_MESSAGE_ID_LENGTH

__all__ = ["Direction", "FrameObserver", "frame_header"]

Direction = Literal["in", "out"]
"""``"in"``: received from the peer; ``"out"``: sent to it."""

FrameObserver = Callable[[Direction, str | bytes, int, str | None, str | None], None]
"""``observer(direction, frame, message_type, message_id, action)``; must not block or raise."""

_header = msgspec.json.Decoder(list[msgspec.Raw])


def frame_header(frame: str | bytes) -> tuple[int, str | None, str | None]:
    """``(message_type, message_id, action)`` of an OCPP-J frame, reading only the header.

    Frames per OCPP-J §4: ``[2, id, action, payload]``, ``[3, id, payload]``...; the payload
    is not decoded.

    ``action`` is None unless the frame is a CALL (2) or SEND (6); ``message_id`` is None when
    it is not a string. ``(0, None, None)`` when the frame is not a JSON array whose first item
    is an integer. A frame nested deeper than :data:`~kilowatt.ocpp.depth.MAX_DEPTH` is read
    without decoding it (skipping a nested value recurses), and its action is not reported.
    """
    if too_deep(frame, MAX_DEPTH):
        shallow_type, shallow_id, _ = shallow_header(frame)
        if shallow_type is None:
            return 0, None, None
        if shallow_id is not None and len(shallow_id) > MAX_MESSAGE_ID_LENGTH:
            shallow_id = None
        return shallow_type, shallow_id, None
    try:
        parts = _header.decode(frame)
        message_type = msgspec.json.decode(parts[0]) if parts else 0
        if not isinstance(message_type, int) or isinstance(message_type, bool):
            return 0, None, None
        message_id = msgspec.json.decode(parts[1]) if len(parts) > 1 else None
        action = None
        if message_type in (2, 6) and len(parts) > 2:
            action = msgspec.json.decode(parts[2])
    except (msgspec.DecodeError, ValueError):
        return 0, None, None
    return (
        message_type,
        message_id if isinstance(message_id, str) else None,
        action if isinstance(action, str) else None,
    )
