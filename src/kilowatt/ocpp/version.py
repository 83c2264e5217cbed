"""OCPP protocol versions and their WebSocket subprotocol names.

Source: OCPP-J 1.6 §3.1.2, OCPP 2.0.1 Part 4 §3.1.2, OCPP 2.1 Part 4 §3.1.2.
"""

from __future__ import annotations

from enum import StrEnum


class OcppVersion(StrEnum):
    """An OCPP version. The value is the version as the spec writes it ("1.6", "2.0.1", "2.1")."""

    V16 = "1.6"
    V201 = "2.0.1"
    V21 = "2.1"

    @property
    def subprotocol(self) -> str:
        """The WebSocket subprotocol token, e.g. ``"ocpp1.6"``."""
        return "ocpp" + self.value

    @classmethod
    def from_subprotocol(cls, token: str) -> OcppVersion:
        """Return the version for a subprotocol token such as ``"ocpp2.0.1"``.

        Raises:
            ValueError: the token names no OCPP version Kilowatt speaks.
        """
        if token.startswith("ocpp"):
            try:
                return cls(token[4:])
            except ValueError:
                pass
        raise ValueError(f"unknown OCPP subprotocol {token!r}")

    @property
    def is_2x(self) -> bool:
        """True for OCPP 2.0.1 and 2.1, which share the RPC framework rules of Part 4."""
        return self is not OcppVersion.V16
