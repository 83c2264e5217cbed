"""The message journal's frame hook: an :class:`RpcConnection` that reports every frame.

The transport feeds every received WebSocket message to ``rpc.receive`` and writes every frame
that ``rpc.data_to_send`` returns, so a subclass that overrides those two methods sees each
frame in and out, verbatim and in wire order, without touching the transport. The composition
root swaps it in when a connection's handler is made (before the first message is read).

Recording is cheap and synchronous: the frame header (message type, id, action) is read with
a ``list[Raw]`` decode that does not build the payload, and
:meth:`kilowatt.csms.journal.JournalService.record` only appends to a buffer that the
group-commit writer flushes. The action of an answer (types 3, 4, 5) is found by correlation
with the CALL of the same id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

from kilowatt.ocpp.rpc import RpcConnection

__all__ = ["FrameRecorder", "JournalingRpc", "frame_header"]

FrameRecorder = Callable[[Literal["in", "out"], int, str | None, str | None, str], None]
"""``record(direction, message_type, message_id, action, text)``; must not block."""

_header = msgspec.json.Decoder(list[msgspec.Raw])
_MAX_ID = 64  # column width of journal.message_id / journal.action
_MAX_OPEN = 256


def frame_header(text: str | bytes) -> tuple[int, str | None, str | None]:
    """``(message_type, message_id, action)`` of an OCPP-J frame; ``(0, None, None)`` when
    it is not a readable array (such frames are journaled too: they are what went wrong)."""
    try:
        parts = _header.decode(text)
        message_type = msgspec.json.decode(parts[0]) if parts else 0
        if not isinstance(message_type, int) or isinstance(message_type, bool):
            return 0, None, None
        message_id = msgspec.json.decode(parts[1]) if len(parts) > 1 else None
        action = None
        if message_type in (2, 6) and len(parts) > 2:
            action = msgspec.json.decode(parts[2])
    except (msgspec.DecodeError, ValueError):
        return 0, None, None
    mid = message_id[:_MAX_ID] if isinstance(message_id, str) else None
    act = action[:_MAX_ID] if isinstance(action, str) else None
    return message_type, mid, act


class JournalingRpc(RpcConnection):
    """An :class:`RpcConnection` that passes every frame to ``recorder`` (same arguments as
    :class:`RpcConnection`, plus ``recorder``)."""

    __slots__ = ("_calls_in", "_calls_out", "_recorder")

    def __init__(self, *args: Any, recorder: FrameRecorder, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recorder = recorder
        # Message id -> action of CALLs awaiting an answer, per direction of the CALL.
        self._calls_in: dict[str, str] = {}
        self._calls_out: dict[str, str] = {}

    def _note(self, direction: Literal["in", "out"], data: str | bytes) -> None:
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        message_type, message_id, action = frame_header(data)
        if message_id is not None:
            calls, answers = (
                (self._calls_in, self._calls_out)
                if direction == "in"
                else (self._calls_out, self._calls_in)
            )
            if message_type == 2 and action is not None:
                if len(calls) >= _MAX_OPEN:  # timed-out CALLs are never answered: bound the map
                    calls.pop(next(iter(calls)))
                calls[message_id] = action
            elif message_type in (3, 4):
                action = answers.pop(message_id, None)
                if not answers:  # an emptied dict keeps its table (~170 bytes per connection)
                    if direction == "in":
                        self._calls_out = {}
                    else:
                        self._calls_in = {}
            elif message_type == 5:  # 2.1 CALLRESULTERROR answers a CALLRESULT
                action = None
        self._recorder(direction, message_type, message_id, action, text)

    def receive(self, data: str | bytes, now: float) -> list[Any]:
        self._note("in", data)
        return super().receive(data, now)

    def data_to_send(self) -> list[str]:
        frames = super().data_to_send()
        for frame in frames:
            self._note("out", frame)
        return frames

    def close(self) -> list[Any]:
        self._calls_in.clear()
        self._calls_out.clear()
        return super().close()
