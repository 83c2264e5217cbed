"""Opening-handshake rules of OCPP-J, as pure functions, and the request given to the auth hook.

Sources: OCPP-J 1.6 §3.1 (connection URL, subprotocol), OCPP 2.0.1 Part 4 §3.1 (identity: at
most 48 characters, no ``:``), OCPP 1.6 Security Whitepaper / 2.0.1 Part 2 A00 (security
profiles: HTTP Basic auth with user = identity; TLS; mutual TLS).
"""

from __future__ import annotations

import base64
import binascii
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509.oid import NameOID

from kilowatt.ocpp.version import OcppVersion

__all__ = [
    "AuthHook",
    "HandshakeRequest",
    "Refusal",
    "basic_auth_header",
    "certificate_common_name",
    "identity_from_path",
    "parse_basic_auth",
    "select_version",
    "validate_identity",
]

MAX_IDENTITY_LENGTH = 48
"""Maximum length of a charging station identity (OCPP 2.0.1 Part 4 §3.1.1)."""


def select_version(offered: Sequence[str], supported: Iterable[OcppVersion]) -> OcppVersion | None:
    """Pick the subprotocol: the client's first offer that the server supports.

    The client lists subprotocols in its order of preference (OCPP-J 1.6 §3.1.2, OCPP 2.0.1
    Part 4 §3.1.2). Returns None when nothing matches (the server then completes the handshake
    without a ``Sec-WebSocket-Protocol`` header and closes the connection).
    """
    accepted = set(supported)
    for token in offered:
        try:
            version = OcppVersion.from_subprotocol(token)
        except ValueError:
            continue
        if version in accepted:
            return version
    return None


def identity_from_path(path: str) -> str:
    """Return the station identity: the last segment of the request path, percent-decoded.

    The query string, if any, is ignored. ``"/ocpp/CP%2F1?x=1"`` gives ``"CP/1"``.
    """
    path = path.split("?", 1)[0].split("#", 1)[0]
    return unquote(path.rsplit("/", 1)[-1], errors="strict")


def validate_identity(identity: str, version: OcppVersion | None) -> str | None:
    """Return why ``identity`` is not acceptable, or None when it is.

    Every version needs a non-empty identity (a URL such as ``ws://host:9000/`` or
    ``/ocpp/`` has none: the server answers 400, the request is malformed, not a resource
    that is missing). From 2.0.1 on it is at most 48 characters and
    contains no ``:`` (OCPP 2.0.1 Part 4 §3.1.1).
    """
    if not identity:
        return "missing charging station identity"
    if version is not None and version.is_2x:
        if len(identity) > MAX_IDENTITY_LENGTH:
            return f"identity longer than {MAX_IDENTITY_LENGTH} characters"
        if ":" in identity:
            return "identity contains ':'"
    return None


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """Decode an ``Authorization: Basic`` header (RFC 7617) into ``(user, password)``.

    The credentials are decoded as UTF-8, falling back to Latin-1. Returns None when the header
    is missing, uses another scheme, or is malformed.
    """
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    user, sep, password = text.partition(":")
    if not sep:
        return None
    return user, password


def basic_auth_header(user: str, password: str) -> str:
    """Return the value of an ``Authorization`` header for HTTP Basic auth (RFC 7617, UTF-8)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def certificate_common_name(certificate: x509.Certificate) -> str | None:
    """Return the subject CN of ``certificate`` (security profile 3 compares it to the identity)."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return None
    value = names[0].value
    return value if isinstance(value, str) else value.decode()


def peer_certificate(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> x509.Certificate | None:
    """Return the certificate the TLS peer presented, or None (no TLS, or no client cert)."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return x509.load_der_x509_certificate(der)


@dataclass(slots=True)
class HandshakeRequest:
    """What the auth hook knows about a station asking to connect (before the upgrade).

    Attributes:
        identity: the station identity (last path segment, percent-decoded).
        path: the requested path, as sent (with the query string).
        version: the OCPP version the handshake will negotiate, or None if no subprotocol
            matches (the connection will then be closed right after the handshake).
        username: the Basic-auth user, or None without an ``Authorization: Basic`` header.
        password: the Basic-auth password, or None without one. Only passed when the user
            equals the identity (otherwise the server answers 401 before calling the hook).
        certificate: the TLS client certificate (mutual TLS, profile 3), or None.
        tls: True when the connection uses TLS (profiles 2 and 3).
        remote_address: the peer's (host, port, ...) as given by the socket.
        headers: the HTTP request headers (name -> value, last one wins).
        extra: free space for the hook, e.g. the station record it looked up; available later
            as ``OcppConnection.handshake.extra``.
    """

    identity: str
    path: str
    version: OcppVersion | None
    username: str | None
    password: str | None
    certificate: x509.Certificate | None
    tls: bool
    remote_address: Any
    headers: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def remote_host(self) -> str | None:
        """The peer's IP address without the port (``"192.0.2.7"``, ``"::1"``), or None.

        This is the socket's peer: behind a reverse proxy it is the proxy's address
        (``X-Forwarded-For`` is not trusted, any client can send it).
        """
        address = self.remote_address
        if isinstance(address, tuple | list) and address:
            return str(address[0])
        return None


@dataclass(frozen=True, slots=True)
class Refusal:
    """An auth hook's rejection with more than a status: the ``Retry-After`` of a throttle.

    Attributes:
        status: the HTTP status of the answer, e.g. 429 Too Many Requests.
        retry_after: seconds the client should wait, sent as ``Retry-After`` (RFC 9110
            §10.2.3); None sends no such header.
        reason: a short text for the response body (one line, no secrets).
    """

    status: HTTPStatus
    retry_after: int | None = None
    reason: str | None = None


AuthResult = bool | int | HTTPStatus | Refusal | None
"""What an auth hook returns: ``None``/``True`` accepts; ``False`` means 401; an ``int`` is the
HTTP status of the rejection (401 adds ``WWW-Authenticate: Basic``; 404 for an unknown
station); a :class:`Refusal` adds a ``Retry-After`` header and a reason."""

AuthHook = Callable[[HandshakeRequest], Awaitable[AuthResult]]
"""``async def auth(request: HandshakeRequest) -> None | bool | int``."""
