"""Events returned by :meth:`kilowatt.ocpp.rpc.RpcConnection.receive` and ``handle_timeout``.

Each event is a plain value: the sans-I/O core never calls back into the application.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kilowatt.ocpp.errors import CallError


@dataclass(slots=True)
class CallReceived:
    """The peer sent a valid CALL. Answer it with ``send_result`` or ``send_error``.

    ``payload`` is the typed request (a generated msgspec Struct), already validated.
    """

    message_id: str
    action: str
    payload: Any


@dataclass(slots=True)
class SendReceived:
    """(OCPP 2.1) The peer sent a valid SEND frame (message type 6). It takes no answer."""

    message_id: str
    action: str
    payload: Any


@dataclass(slots=True)
class ResultReceived:
    """The peer answered our CALL ``message_id`` with a valid CALLRESULT (typed response)."""

    message_id: str
    action: str
    payload: Any


@dataclass(slots=True)
class ErrorReceived:
    """Our CALL ``message_id`` failed: the peer sent a CALLERROR, or its CALLRESULT was invalid.

    When the peer's CALLRESULT did not match the response schema, ``error`` carries the code we
    derived (e.g. FormatViolation) and ``local`` is True.
    """

    message_id: str
    action: str
    error: CallError
    local: bool = False


@dataclass(slots=True)
class ResultErrorReceived:
    """(OCPP 2.1) The peer could not accept our CALLRESULT ``message_id`` (message type 5)."""

    message_id: str
    error: CallError


@dataclass(slots=True)
class CallTimedOut:
    """Our CALL ``message_id`` got no answer before its deadline (``timeout`` in s)."""

    message_id: str
    action: str
    timeout: float


@dataclass(slots=True)
class CallCancelled:
    """Our CALL ``message_id`` will never be answered: :meth:`RpcConnection.close` was called.

    Returned for the outstanding CALL and for every queued one, in the order they were queued.
    """

    message_id: str
    action: str


@dataclass(slots=True)
class ProtocolViolation:
    """The peer sent something we could not accept.

    When the spec prescribes an answer (a CALLERROR), the core has already queued it and
    ``answered`` is True; ``code`` is then the error code as sent (the version's spelling). An
    unanswered violation (a late or unknown answer, a bad SEND, what 1.6 cannot answer, an
    unknown message type id, which every version ignores by default) may carry
    the code it would have deserved, or None. The connection stays usable; this event exists for
    logs and metrics.
    """

    description: str
    answered: bool
    code: str | None = None


Event = (
    CallReceived
    | SendReceived
    | ResultReceived
    | ErrorReceived
    | ResultErrorReceived
    | CallTimedOut
    | CallCancelled
    | ProtocolViolation
)
