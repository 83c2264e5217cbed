"""The message journal's frame observer: every frame of a station's connection, in wire order.

:class:`FrameRecorder` is a :data:`kilowatt.transport.FrameObserver`; the handler factory
attaches one to each new connection (``connection.frame_observer``) before the first message
is read. The transport hands it each frame with its header already read (message type, id,
action; see :mod:`kilowatt.transport.frames`), and it passes them on to a
:data:`RecordFrame` (:meth:`kilowatt.csms.journal.JournalService.record`, which only appends
to a buffer that the group-commit writer flushes).

The action of an answer (CALLRESULT 3, CALLERROR 4) is found by correlation with the CALL of the
same id in the other direction; a 2.1 CALLRESULTERROR (5) answers a CALLRESULT and has none.
Message ids and actions are cut to 64 characters (the width of the journal's columns). Secret
values (passwords, keys) are masked before the frame is recorded: see
:func:`kilowatt.handlers.secrets.mask_secrets`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from kilowatt.handlers.secrets import SECRET_ACTIONS, mask_secrets

__all__ = ["FrameRecorder", "RecordFrame"]

RecordFrame = Callable[[Literal["in", "out"], int, str | None, str | None, str], None]
"""``record(direction, message_type, message_id, action, text)``; must not block."""

_MAX_ID = 64  # column width of journal.message_id / journal.action
_MAX_OPEN = 256  # CALLs awaiting an answer, per direction (timed-out CALLs are never answered)


class FrameRecorder:
    """Observes one connection's frames and records them with ``recorder``.

    Args:
        recorder: called once per frame, synchronously; must not block.
    """

    __slots__ = ("_calls_in", "_calls_out", "_recorder")

    def __init__(self, recorder: RecordFrame) -> None:
        """Start with no CALL awaiting an answer in either direction."""
        self._recorder = recorder
        # Message id -> action of CALLs awaiting an answer, per direction of the CALL.
        self._calls_in: dict[str, str] = {}
        self._calls_out: dict[str, str] = {}

    def __call__(
        self,
        direction: Literal["in", "out"],
        frame: str | bytes,
        message_type: int,
        message_id: str | None,
        action: str | None,
    ) -> None:
        """Record one frame (the :data:`~kilowatt.transport.FrameObserver` signature)."""
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        if message_id is not None:
            if len(message_id) > _MAX_ID:
                message_id = message_id[:_MAX_ID]
            if action is not None and len(action) > _MAX_ID:
                action = action[:_MAX_ID]
            calls, answers = (
                (self._calls_in, self._calls_out)
                if direction == "in"
                else (self._calls_out, self._calls_in)
            )
            if message_type == 2 and action is not None:
                if len(calls) >= _MAX_OPEN:
                    calls.pop(next(iter(calls)))
                calls[message_id] = action
            elif message_type in (3, 4):
                action = answers.pop(message_id, None)
                if not answers:  # an emptied dict keeps its table (~170 bytes per connection)
                    if direction == "in":
                        self._calls_out = {}
                    else:
                        self._calls_in = {}
            elif message_type == 5:
                action = None
        elif action is not None and len(action) > _MAX_ID:
            action = action[:_MAX_ID]
        if action in SECRET_ACTIONS:
            text = mask_secrets(direction, message_type, action, text)
        self._recorder(direction, message_type, message_id, action, text)
