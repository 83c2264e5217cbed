"""Per-connection OCPP-J RPC state, sans-I/O: bytes in, events and frames out, time passed in.

CONTRACT STUB: implemented by the core work package. The signatures and docstrings below are the
interface every other layer codes against; keep them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kilowatt.ocpp.action import ActionSpec
from kilowatt.ocpp.errors import CallError
from kilowatt.ocpp.events import Event
from kilowatt.ocpp.version import OcppVersion


class RpcConnection:
    """The RPC state of one OCPP-J connection (either side).

    Args:
        version: the negotiated OCPP version; decides error spellings and frame types allowed.
        actions: action name -> :class:`ActionSpec`; default: every action of ``version``.
        lenient: tolerate unknown fields in received payloads (real chargers break schemas).
        call_timeout: default deadline of our CALLs, in s.
        message_id_factory: makes message ids for our CALLs (default: uuid4 strings, 36 chars).
        validate_outgoing: check our own results against the schema; an invalid result is sent
            as InternalError instead (OCPP 2.0.1 Part 4 §4.3).

    Usage (the transport loop)::

        events = conn.receive(text, now)       # for each frame from the socket
        for frame in conn.data_to_send(): ws.send(frame)
        deadline = conn.next_deadline()        # sleep until then, then conn.handle_timeout(now)
    """

    def __init__(
        self,
        version: OcppVersion,
        *,
        actions: Mapping[str, ActionSpec] | None = None,
        lenient: bool = False,
        call_timeout: float = 30.0,
        message_id_factory: Callable[[], str] | None = None,
        validate_outgoing: bool = True,
    ) -> None:
        raise NotImplementedError

    def receive(self, data: str | bytes, now: float) -> list[Event]:
        """Feed one WebSocket text message; return the events it produced (``now`` in s)."""
        raise NotImplementedError

    def send_call(
        self, request: Any, now: float, *, action: str | None = None, timeout: float | None = None
    ) -> str:
        """Queue a CALL of the typed ``request``; return its message id.

        Sent at once if no CALL of ours is outstanding, otherwise kept in a FIFO queue and sent
        when the previous one is answered or timed out (never dropped). The action is looked up
        from the request's type unless ``action`` is given. ``timeout`` in s overrides
        ``call_timeout``; the deadline starts when the frame is actually sent.
        """
        raise NotImplementedError

    def send_message(self, request: Any, *, action: str | None = None) -> str:
        """(OCPP 2.1) Queue a SEND frame (message type 6; no answer, not subject to the queue)."""
        raise NotImplementedError

    def send_result(self, message_id: str, response: Any) -> None:
        """Answer the received CALL ``message_id`` with the typed ``response``."""
        raise NotImplementedError

    def send_error(self, message_id: str, error: CallError) -> None:
        """Answer the received CALL ``message_id`` with a CALLERROR."""
        raise NotImplementedError

    def data_to_send(self) -> list[str]:
        """Return and forget the frames ready to be written to the socket, in order."""
        raise NotImplementedError

    def next_deadline(self) -> float | None:
        """The earliest deadline of our outstanding CALL (s, same clock as ``now``), or None."""
        raise NotImplementedError

    def handle_timeout(self, now: float) -> list[Event]:
        """Expire calls whose deadline is <= ``now``; return CallTimedOut events."""
        raise NotImplementedError
