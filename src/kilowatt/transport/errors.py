"""Exceptions raised by the transport layer (sockets, handshakes), distinct from RPC errors."""

from __future__ import annotations

__all__ = ["ConnectionClosed", "HandshakeFailed", "TransportError"]


class TransportError(Exception):
    """Base class of the errors of :mod:`kilowatt.transport`."""


class ConnectionClosed(TransportError):
    """The WebSocket connection is closed; a pending or new :meth:`call` cannot complete.

    ``code`` and ``reason`` are the WebSocket close code and reason (RFC 6455 §7.4), when known.
    """

    def __init__(self, code: int | None = None, reason: str = "") -> None:
        """Build the message ``OCPP connection closed (code 1006: reason)`` from what is known."""
        detail = f" (code {code}{': ' + reason if reason else ''})" if code is not None else ""
        super().__init__(f"OCPP connection closed{detail}")
        self.code = code
        self.reason = reason


class HandshakeFailed(TransportError):
    """The client could not open an OCPP connection.

    ``status`` is the HTTP status the server answered with (e.g. 401, 404), or None when the
    handshake succeeded at the HTTP level but no OCPP subprotocol was agreed.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        """Keep ``message`` as the exception text and ``status`` (HTTP status, or None)."""
        super().__init__(message)
        self.status = status
