"""The one rule for a valid charging station identity.

A station identity is the last segment of the OCPP-J connection URL, the HTTP Basic-auth user
name and the ``{station_id}`` segment of every operator API path. Sources:

- OCPP 2.0.1 Part 4 §3.1.1: the identity is at most 48 characters; it is the Basic-auth
  user-id, so it cannot contain ``:`` (RFC 7617 §2). Kilowatt applies both limits to OCPP 1.6
  as well, so that one station id means the same in every version.
- RFC 3986 §2.3: the *unreserved* characters ``A-Z a-z 0-9 - . _ ~`` appear unchanged in a URL
  path segment and are never percent-encoded by a conforming client.
- ``*`` is added because ISO 15118 / DIN SPEC 91286 EVSE ids such as ``DE*ABC*E123`` are used
  as station identities in the field; it is an RFC 3986 sub-delimiter, legal as is in a path
  segment and left alone by URL normalisation (RFC 3986 §6.2.2.2).
- ``.`` and ``..`` as whole identities are refused: they are dot-segments that clients and
  proxies remove from a path (RFC 3986 §5.2.4), so the API could never address them.

Everything else (``/``, ``%``, ``?``, ``#``, ``+``, spaces, control characters, non-ASCII) is
refused: a station with such an id could connect but the API could not read or delete it.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["IDENTITY_CHARACTERS", "MAX_IDENTITY_LENGTH", "check_identity", "is_valid_identity"]

MAX_IDENTITY_LENGTH: Final = 48
"""Maximum length of a station identity in characters (OCPP 2.0.1 Part 4 §3.1.1)."""

IDENTITY_CHARACTERS: Final = "A-Z a-z 0-9 - . _ ~ *"
"""The characters a station identity may use, for messages and documentation."""

_ALLOWED = re.compile(r"[A-Za-z0-9\-._~*]+")


def check_identity(value: str) -> str | None:
    """Return why ``value`` is not a valid station identity, or None when it is.

    Args:
        value: the identity as decoded from the URL, the API body or the command line.

    Returns:
        A short reason for the caller to show (the API answers 422, the WebSocket handshake
        400, the CLI exits 2), or None for a valid identity.
    """
    if not value:
        return "station id is empty"
    if len(value) > MAX_IDENTITY_LENGTH:
        return f"station id is longer than {MAX_IDENTITY_LENGTH} characters"
    if ":" in value:
        return "station id contains ':' (it is the Basic-auth user name)"
    if value in (".", ".."):
        return "station id cannot be '.' or '..'"
    if _ALLOWED.fullmatch(value) is None:
        return f"station id may only contain {IDENTITY_CHARACTERS}"
    return None


def is_valid_identity(value: str) -> bool:
    """Return whether ``value`` is a valid station identity (see :func:`check_identity`).

    Args:
        value: the identity to check.

    Returns:
        True when :func:`check_identity` finds nothing wrong.
    """
    return check_identity(value) is None
