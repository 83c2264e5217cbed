"""Per-version OCPP handlers: typed payloads ↔ version-neutral CSMS services.

:mod:`.v16`, :mod:`.v201` and :mod:`.v21` answer what stations send and translate the
version-neutral commands; :mod:`.registry` holds this node's connected stations and sends what
operators ask for; :mod:`.factory` picks the handler of a new connection and attaches the
message journal (:mod:`.journal`) to it.
"""

from kilowatt.handlers.base import StationHandler
from kilowatt.handlers.factory import HANDLERS, handler_factory
from kilowatt.handlers.registry import ConnectedStations
from kilowatt.handlers.v16 import V16Handler
from kilowatt.handlers.v21 import V21Handler
from kilowatt.handlers.v201 import V201Handler

__all__ = [
    "HANDLERS",
    "ConnectedStations",
    "StationHandler",
    "V16Handler",
    "V21Handler",
    "V201Handler",
    "handler_factory",
]
