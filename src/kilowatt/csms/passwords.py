"""Station passwords (security profiles 1 and 2): salted scrypt hashes, constant-time checks.

Format: ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` so the cost can be raised later without
invalidating stored hashes. OCPP requires 16 to 40 characters (1.6 security whitepaper,
2.0.1 A00 BasicAuthPassword); :func:`validate_password` enforces that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["hash_password", "validate_password", "verify_password"]

_N, _R, _P = 2**14, 8, 1  # ~16 MiB and a few tens of ms per hash: OWASP's scrypt minimum
_LEN = 32


def validate_password(password: str) -> None:
    """Raise ValueError unless the password has 16 to 40 characters."""
    if not 16 <= len(password) <= 40:
        raise ValueError("a station password must have 16 to 40 characters")


def hash_password(password: str) -> str:
    """Hash with a fresh 16-byte salt. CPU-bound: call it in a thread from async code."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded``; False for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
