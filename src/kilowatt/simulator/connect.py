"""What the simulator needs before and after a connection attempt: the CSMS URL checked up
front, the client TLS context for ``wss://``, and a failed attempt told in plain words.

A wrong URL is the operator's mistake and no retry mends it, so :func:`check_url` rejects it
before any station starts. A failed connection attempt is different: a charger retries (OCPP
2.0.1 Part 2 B10 RetryBackOff*), so the simulator retries too, but it remembers the last
failure of every station as a :class:`ConnectFailure` with a reason in our own words (never a
third-party library's text alone), for ``kilowatt simulate`` to print and to set its exit status.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kilowatt.transport import HandshakeFailed

__all__ = ["SCHEMES", "ConnectFailure", "check_url", "client_ssl_context", "describe_failure"]

SCHEMES = ("ws", "wss")
"""The URL schemes of OCPP-J (OCPP-J 1.6 §3.1, OCPP 2.0.1 Part 4 §3.1): WebSocket, plain or TLS."""


@dataclass(frozen=True, slots=True)
class ConnectFailure:
    """The last failed connection attempt of one station.

    Attributes:
        url: the full station URL that was tried (the CSMS endpoint + ``/`` + identity).
        reason: what went wrong, in our words, e.g. ``"connection refused"`` or ``"the CSMS
            refused the handshake with HTTP 401 Unauthorized (wrong or missing password?)"``.
        attempts: failed attempts of this station so far, this one included.
    """

    url: str
    reason: str
    attempts: int

    def __str__(self) -> str:
        return f"cannot connect to {self.url}: {self.reason}"


def check_url(url: str) -> str:
    """Check that ``url`` can be a CSMS endpoint and return it unchanged.

    Raises:
        ValueError: the scheme is not ``ws``/``wss`` (e.g. ``http://`` or a typo such as
            ``ws:/host``), the host is missing, or the port is not a number in 1..65535. The
            message is meant for the operator, e.g. ``URL must start with ws:// or wss:// (got
            'http://127.0.0.1:9000/ocpp')``.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"URL must start with ws:// or wss:// (got {url!r})")
    if not parts.hostname:
        raise ValueError(f"URL has no host name (got {url!r})")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError(f"URL has an invalid port (got {url!r})")
    if parts.query or parts.fragment:
        # The identity is appended as the last path segment; a query would end up before it.
        raise ValueError(f"URL must not have a query or fragment (got {url!r})")
    return url


def client_ssl_context(url: str, ca_file: str | Path | None) -> ssl.SSLContext | None:
    """The client TLS context for ``url``, or None to let the transport use its default.

    With ``ca_file`` (a PEM bundle of CA certificates; a self-signed server certificate works
    as its own CA) the context trusts exactly the certificates in that file, not the system's
    store, and still checks the host name. Without it, a ``wss://`` URL is verified against the
    system's trust store (the transport's default).

    Raises:
        ValueError: ``ca_file`` is given for a ``ws://`` URL (no TLS to configure), or it cannot
            be read or holds no usable certificate.
    """
    if ca_file is None:
        return None
    if urlsplit(url).scheme.lower() != "wss":
        raise ValueError("a CA file only applies to a wss:// URL")
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        # FileNotFoundError is an OSError, a malformed PEM an SSLError: both are the
        # operator's file, so the reason names it.
        raise ValueError(f"cannot load the CA file {str(ca_file)!r}: {_detail(exc)}") from None


def describe_failure(exc: BaseException, url: str) -> str:
    """A connection attempt's failure in our words, for the operator.

    Args:
        exc: what :func:`kilowatt.transport.connect_ocpp` raised (``HandshakeFailed``,
            ``OSError`` and its TLS / DNS subclasses, ``TimeoutError``).
        url: the URL that was tried (its host name goes into a DNS failure's reason).
    """
    if isinstance(exc, HandshakeFailed):
        if exc.status == 401:
            return "the CSMS refused the handshake with HTTP 401 Unauthorized " + (
                "(wrong or missing password?)"
            )
        if exc.status == 404:
            return "the CSMS refused the handshake with HTTP 404 Not Found " + (
                "(unknown station identity, or wrong path?)"
            )
        if exc.status is not None:
            return f"the CSMS refused the handshake with HTTP {exc.status}"
        # Our transport's own texts: "handshake failed: <why>" when the answer was no valid
        # WebSocket handshake (e.g. ws:// to a TLS port), or "the server accepted none of
        # ocpp1.6" when no subprotocol was agreed.
        text = str(exc)
        if text.startswith("handshake failed: "):
            hint = "; a TLS port needs wss://" if urlsplit(url).scheme.lower() == "ws" else ""
            return (
                f"the WebSocket handshake failed ({text.removeprefix('handshake failed: ')}){hint}"
            )
        return f"no OCPP version agreed ({text})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = getattr(exc, "verify_message", None)  # set by OpenSSL's verification
        detail = f" ({message})" if message else ""
        return (
            f"the CSMS's TLS certificate is not trusted{detail}; give the CA certificate "
            "(or the self-signed certificate) with --ca-file"
        )
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake failed ({_detail(exc)}; does the port speak TLS?)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name {urlsplit(url).hostname!r}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "no answer in time (is the host reachable?)"
    if isinstance(exc, OSError):
        return f"network error ({_detail(exc)})"
    return f"unexpected error ({type(exc).__name__}: {exc})"


def _detail(exc: BaseException) -> str:
    """The most specific text an OS or TLS error carries (for the operator, never parsed)."""
    # ``reason`` (an OpenSSL code such as WRONG_VERSION_NUMBER) is only set on errors raised
    # by the ssl module itself.
    reason = getattr(exc, "reason", None) if isinstance(exc, ssl.SSLError) else None
    if reason:
        return str(reason)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
