"""The operator API key: Bearer authentication and the generated key file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fastapi import HTTPException, status
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from kilowatt.config import Settings

__all__ = [
    "MIN_API_KEY_DISTINCT",
    "MIN_API_KEY_LENGTH",
    "SCHEME_NAME",
    "BearerAuth",
    "api_key_problem",
    "load_or_create_api_key",
]

SCHEME_NAME = "BearerAuth"
"""The name of the HTTP bearer security scheme in the OpenAPI document (``/openapi.json``)."""
SCHEME_DESCRIPTION = (
    "The operator API key, sent as `Authorization: Bearer <api key>`: `--api-key` or "
    "`KILOWATT_API_KEY`, else the key generated on the first start and stored in "
    "`<data dir>/api_key`."
)


MIN_API_KEY_LENGTH = 32
"""Shortest accepted configured API key, in characters. 32 random characters from any
alphabet of 16 or more symbols (hex, base64url) carry at least 128 bits, beyond any online or
offline guessing; the generated key has 43 (``secrets.token_urlsafe(32)``, 256 bits)."""

MIN_API_KEY_DISTINCT = 10
"""Fewest distinct characters in a configured key. A random 32-character hex key has about 14;
``aaaa...`` or ``abab...`` typed to pass the length check has 1 or 2."""

_CLASSES = (str.islower, str.isupper, str.isdigit)


def api_key_problem(key: str) -> str | None:
    """Why a configured API key is too weak, or None when it is acceptable.

    The rule: at least :data:`MIN_API_KEY_LENGTH` characters, visible ASCII only (it travels
    in an HTTP header; no spaces), at least two character classes of lower case, upper case,
    digits and symbols (so a hex key or a UUID passes but a long number does not), and at
    least :data:`MIN_API_KEY_DISTINCT` distinct characters. It catches keys typed by hand
    (``changeme``, a repeated pattern, a phone number); it cannot prove a key random, so
    generate keys (``python -c "import secrets; print(secrets.token_urlsafe(32))"``).

    Args:
        key: the key from ``--api-key``, ``KILOWATT_API_KEY`` or the TOML file.

    Returns:
        A message for the operator naming what is wrong and the fix, or None.
    """
    advice = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
    if len(key) < MIN_API_KEY_LENGTH:
        return (
            f"the API key has {len(key)} characters, at least {MIN_API_KEY_LENGTH} are "
            f"needed; {advice}"
        )
    if not all("!" <= c <= "~" for c in key):
        return f"the API key may only contain visible ASCII characters (no spaces); {advice}"
    classes = sum(any(test(c) for c in key) for test in _CLASSES)
    classes += any(not c.isalnum() for c in key)
    if classes < 2:
        return (
            "the API key uses only one kind of character (lower case, upper case, digits or "
            f"symbols), at least two are needed; {advice}"
        )
    if len(set(key)) < MIN_API_KEY_DISTINCT:
        return (
            f"the API key has only {len(set(key))} distinct characters, at least "
            f"{MIN_API_KEY_DISTINCT} are needed; {advice}"
        )
    return None


def load_or_create_api_key(settings: Settings) -> tuple[str, bool]:
    """The API key and whether it was generated now (the CLI then prints it once).

    Order: ``settings.api_key`` (flag/env/TOML); else the key stored in
    ``<data_dir>/api_key``; else a new random key (256 bits, URL-safe) written there with
    file mode 0600.
    """
    if settings.api_key:
        return settings.api_key, False
    path: Path = settings.api_key_file
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        key = ""
    if key:
        return key, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    # O_EXCL: if two processes start at once, the loser reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip(), False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key, True


class BearerAuth(HTTPBearer):
    """FastAPI dependency: ``Authorization: Bearer <key>`` or HTTP 401 with a message.

    An :class:`~fastapi.security.HTTPBearer` (so the OpenAPI document declares the HTTP bearer
    scheme :data:`SCHEME_NAME` on every operation behind it, and ``/docs`` offers an Authorize
    button) that checks the key itself and answers with Kilowatt's own 401 messages.
    """

    def __init__(self, api_key: str) -> None:
        """Check requests against ``api_key`` (compared in constant time).

        Raises:
            ValueError: ``api_key`` is empty.
        """
        if not api_key:
            raise ValueError("the API key must not be empty")
        super().__init__(scheme_name=SCHEME_NAME, description=SCHEME_DESCRIPTION)
        self._key = api_key.encode()

    async def __call__(self, request: HTTPConnection) -> None:
        """Check the request's key; raise HTTP 401 when it is missing, malformed or wrong.

        Raises:
            HTTPException: 401 with ``WWW-Authenticate: Bearer`` and a message saying which.
        """
        header = request.headers.get("authorization")
        if header is None:
            raise self._error("missing Authorization header (expected 'Bearer <api key>')")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._error("Authorization header must be 'Bearer <api key>'")
        if not secrets.compare_digest(token.strip().encode(), self._key):
            raise self._error("invalid API key")

    @staticmethod
    def _error(message: str) -> HTTPException:
        return HTTPException(
            status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
        )
