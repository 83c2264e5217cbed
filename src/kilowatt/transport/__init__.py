"""OCPP-J over WebSocket: server, client, connections and the application base classes.

The only OCPP code that touches sockets; it drives the sans-I/O core in :mod:`kilowatt.ocpp`.
"""

from kilowatt.ocpp.errors import CallError, CallTimeout, ErrorCode
from kilowatt.ocpp.routing import after, on
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport.client import OcppClient, backoff_delays, connect_ocpp, station_url
from kilowatt.transport.connection import CallContext, InboundHandler, OcppConnection
from kilowatt.transport.errors import ConnectionClosed, HandshakeFailed, TransportError
from kilowatt.transport.frames import FrameObserver, frame_header
from kilowatt.transport.handshake import (
    AuthHook,
    AuthResult,
    HandshakeRequest,
    Refusal,
    basic_auth_header,
    certificate_common_name,
)
from kilowatt.transport.peer import Peer, StationClient, StationPeer
from kilowatt.transport.server import OcppServer, serve_ocpp

__all__ = [
    "AuthHook",
    "AuthResult",
    "CallContext",
    "CallError",
    "CallTimeout",
    "ConnectionClosed",
    "ErrorCode",
    "FrameObserver",
    "HandshakeFailed",
    "HandshakeRequest",
    "InboundHandler",
    "OcppClient",
    "OcppConnection",
    "OcppServer",
    "OcppVersion",
    "Peer",
    "Refusal",
    "StationClient",
    "StationPeer",
    "TransportError",
    "after",
    "backoff_delays",
    "basic_auth_header",
    "certificate_common_name",
    "connect_ocpp",
    "frame_header",
    "on",
    "serve_ocpp",
    "station_url",
]
