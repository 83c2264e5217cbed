"""Structured logs: one ``key=value`` line per record, with the station identity.

The identity comes from a context variable that the OCPP handler factory sets inside each
connection's task, so every line logged while serving a station — by the transport, the
handlers or the services — carries ``station=<identity>`` without passing it around.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from typing import TextIO

__all__ = [
    "LogfmtFormatter",
    "RateLimit",
    "StationFilter",
    "configure_logging",
    "redact_credentials",
    "station_context",
]

station_context: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kilowatt_station", default=None
)
"""The station identity the current task serves (None outside a station connection)."""


class StationFilter(logging.Filter):
    """Adds ``record.station`` (the identity or ``-``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "station"):
            record.station = station_context.get() or "-"
        return True


def _quote(value: str) -> str:
    if value and not any(c in value for c in ' "=\n\t'):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class RateLimit:
    """At most ``burst`` log lines per ``interval`` s for one kind of event (connect storms
    would otherwise write thousands of lines a second).

    :meth:`allow` returns None when the line should be dropped, else how many were dropped
    since the last allowed line (to be mentioned in it).
    """

    __slots__ = ("_burst", "_count", "_interval", "_suppressed", "_window")

    def __init__(self, burst: int = 20, interval: float = 10.0) -> None:
        self._burst = burst
        self._interval = interval
        self._window = 0.0
        self._count = 0
        self._suppressed = 0

    def allow(self, now: float | None = None) -> int | None:
        """Whether to log one more line now.

        Args:
            now: monotonic time in s (an injected clock); None reads ``time.monotonic()``.

        Returns:
            None to drop the line, else how many lines were dropped since the last one allowed.
        """
        if now is None:
            now = time.monotonic()
        if now - self._window >= self._interval:
            self._window = now
            self._count = 0
        if self._count >= self._burst:
            self._suppressed += 1
            return None
        self._count += 1
        suppressed, self._suppressed = self._suppressed, 0
        return suppressed


# An Authorization header however a library prints it ("Authorization: Basic x",
# "'authorization': 'Token x'", "authorization=Bearer x"), and a bare credential scheme followed
# by a credential-looking word (16+ characters of base64 / token alphabet).
_CREDENTIALS = re.compile(
    r"(?P<name>\b(?:proxy-)?authorization\b[\"']?\s*[:=,]\s*(?:b?[\"'])?)"
    r"(?:(?P<scheme>basic|bearer|token)\s+)?[^\s\"',)\]}]+"
    r"|\b(?P<bare>Basic|Bearer|Token) [A-Za-z0-9+/=._~-]{16,}",
    re.IGNORECASE,
)
_REDACTED = "********"


def _redact(match: re.Match[str]) -> str:
    if match.group("bare"):
        return f"{match.group('bare')} {_REDACTED}"
    scheme = match.group("scheme")
    return match.group("name") + (f"{scheme} " if scheme else "") + _REDACTED


def redact_credentials(text: str) -> str:
    """Return ``text`` with HTTP credentials replaced by ``********``.

    Covers the value of an ``Authorization`` / ``Proxy-Authorization`` header as libraries
    print it (websockets logs every handshake header at DEBUG: a station's Basic-auth password
    is base64, not a secret's protection) and a ``Basic`` / ``Bearer`` / ``Token`` credential
    of 16 characters or more anywhere in the text. The scheme is kept so that a reader still
    sees which kind of credential was sent.

    Args:
        text: a formatted log message or traceback.

    Returns:
        ``text`` itself when it holds no credential, else the redacted text.
    """
    return _CREDENTIALS.sub(_redact, text)


class LogfmtFormatter(logging.Formatter):
    """``ts=... level=... logger=... station=... msg=...`` (logfmt), UTC, ms precision.

    Message and traceback pass through :func:`redact_credentials` first.
    """

    _second = -1
    _stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # strftime once per second, not per line
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        ts = self._stamp
        ms = int(record.msecs)
        fields = [
            f"ts={ts}.{ms:03d}Z",
            f"level={record.levelname}",
            f"logger={record.name}",
            f"station={_quote(str(getattr(record, 'station', '-')))}",
            f"msg={_quote(redact_credentials(record.getMessage()))}",
        ]
        if record.exc_info:
            trace = redact_credentials(self.formatException(record.exc_info))
            fields.append(f"exc={_quote(trace)}")
        return " ".join(fields)


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route the root logger (and uvicorn's) to one logfmt handler on ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    handler.addFilter(StationFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # websockets logs "connection open"/"connection closed" at INFO for every connection; our
    # transport logs one line per station connect and disconnect with the identity, so its
    # lines are only wanted when debugging.
    debugging = root.level <= logging.DEBUG
    quiet = logging.DEBUG if debugging else logging.WARNING
    logging.getLogger("websockets").setLevel(quiet)
    # aiosqlite logs each statement with its bound values at DEBUG: every row, an OCPI
    # partner's token included (issue 12 item 6). No Kilowatt debugging needs that.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    # Alembic announces its plugins and each migration's docstring at INFO, and uvicorn its own
    # start-up; Kilowatt logs one line for a schema upgrade and one for the listening servers,
    # so at INFO an operator sees those and the first-run instructions, not library chatter.
    for name in ("alembic", "uvicorn.error"):
        logging.getLogger(name).setLevel(quiet)
