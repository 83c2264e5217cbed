"""OCPP-J RPC error codes, with each version's wire spelling, and the CallError exception.

OCPP 1.6 (OCPP-J 1.6 §4.2.3) spells two codes differently from 2.x (OCPP 2.0.1 Part 4 §4.3):
``FormationViolation`` for FormatViolation and ``OccurenceConstraintViolation`` for
OccurrenceConstraintViolation. ``MessageTypeNotSupported`` and ``RpcFrameworkError`` exist only
from 2.0.1 on.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from kilowatt.ocpp.version import OcppVersion


class ErrorCode(StrEnum):
    """A version-neutral RPC error code; the value is the 2.x spelling."""

    NOT_IMPLEMENTED = "NotImplemented"
    """The requested action is not known by the receiver."""
    NOT_SUPPORTED = "NotSupported"
    """The requested action is recognized but not supported by the receiver."""
    INTERNAL_ERROR = "InternalError"
    """An internal error occurred and the receiver could not process the action."""
    PROTOCOL_ERROR = "ProtocolError"
    """The payload for the action is incomplete."""
    SECURITY_ERROR = "SecurityError"
    """A security issue occurred while processing the action."""
    FORMAT_VIOLATION = "FormatViolation"
    """The payload is syntactically incorrect or does not conform to the action's schema."""
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    """A field is syntactically correct but its value breaks a constraint (length, range, enum)."""
    OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"
    """A required field is missing, or a field occurs more often than allowed."""
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    """A field has the wrong data type (e.g. a string where an integer is required)."""
    GENERIC_ERROR = "GenericError"
    """Any other error."""
    MESSAGE_TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"
    """(2.0.1+) The message type id is not known or not supported."""
    RPC_FRAMEWORK_ERROR = "RpcFrameworkError"
    """(2.0.1+) The content is not a valid RPC frame (e.g. the message id cannot be read)."""


_V16_SPELLING: dict[ErrorCode, str] = {
    ErrorCode.FORMAT_VIOLATION: "FormationViolation",
    ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION: "OccurenceConstraintViolation",
}
_V16_PARSE: dict[str, ErrorCode] = {v: k for k, v in _V16_SPELLING.items()}
_V16_ONLY_2X = frozenset({ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED, ErrorCode.RPC_FRAMEWORK_ERROR})


def wire_code(code: ErrorCode, version: OcppVersion) -> str:
    """Return the spelling of ``code`` on the wire for ``version``.

    1.6 has no MessageTypeNotSupported or RpcFrameworkError: for 1.6 they are sent as
    ProtocolError and FormationViolation, the nearest 1.6 codes (OCPP-J 1.6 §4.2.3).
    """
    if version is OcppVersion.V16:
        if code in _V16_ONLY_2X:
            code = (
                ErrorCode.PROTOCOL_ERROR
                if code is ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED
                else ErrorCode.FORMAT_VIOLATION
            )
        return _V16_SPELLING.get(code, code.value)
    return code.value


def parse_code(text: str, version: OcppVersion) -> ErrorCode | None:
    """Return the :class:`ErrorCode` for a received wire code, or None when it is not one.

    Both spellings are accepted from any version: real chargers mix them up, and the meaning is
    unambiguous.
    """
    if text in _V16_PARSE:
        return _V16_PARSE[text]
    try:
        return ErrorCode(text)
    except ValueError:
        return None


class CallError(Exception):
    """The peer answered a CALL with a CALLERROR (or we answer one with it).

    Raise it from a handler to answer the CALL with this error; :meth:`call` raises it when the
    peer answers with a CALLERROR. ``code`` is an :class:`ErrorCode` when the peer sent a known
    code, otherwise the raw string it sent. ``details`` is the JSON object of the frame (``{}``
    when empty).
    """

    def __init__(
        self,
        code: ErrorCode | str,
        description: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {description}" if description else str(code))
        self.code = code
        self.description = description
        self.details: dict[str, Any] = details if details is not None else {}

    def __repr__(self) -> str:
        return f"CallError({self.code!r}, {self.description!r}, {self.details!r})"

    # Value equality, so that events carrying a CallError compare as values (tests, dedup).
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CallError):
            return NotImplemented
        return (self.code, self.description, self.details) == (
            other.code,
            other.description,
            other.details,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.description))


class RpcUsageError(RuntimeError):
    """The caller used :class:`~kilowatt.ocpp.rpc.RpcConnection` wrongly: a programming error.

    Examples: answering a CALL that was never received or is already answered, sending a CALL of
    an action the connection does not know or that only the peer may initiate, a SEND on a
    connection older than OCPP 2.1. Never raised because of what the peer sent.
    """


class CallTimeout(Exception):
    """The peer did not answer a CALL before its deadline (the call's timeout, in s)."""

    def __init__(self, action: str, message_id: str, timeout: float) -> None:
        super().__init__(f"{action} ({message_id}) not answered within {timeout:g} s")
        self.action = action
        self.message_id = message_id
        self.timeout = timeout
