"""Makes the handler of each new connection: picks the version's class, installs the journal
hook and tags the connection's log lines with the station identity."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from kilowatt.csms.services import Services
from kilowatt.handlers.base import StationHandler
from kilowatt.handlers.journal import JournalingRpc
from kilowatt.handlers.registry import ConnectedStations
from kilowatt.handlers.v16 import V16Handler
from kilowatt.handlers.v21 import V21Handler
from kilowatt.handlers.v201 import V201Handler
from kilowatt.logs import station_context
from kilowatt.ocpp.action import Initiator
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import OcppConnection

__all__ = ["HANDLERS", "handler_factory"]

HANDLERS: dict[OcppVersion, type[StationHandler]] = {
    OcppVersion.V16: V16Handler,
    OcppVersion.V201: V201Handler,
    OcppVersion.V21: V21Handler,
}
"""The handler class of each OCPP version."""


def handler_factory(
    services: Services,
    registry: ConnectedStations,
    *,
    rpc_options: Mapping[str, Any] | None = None,
    journal: bool = True,
) -> Callable[[OcppConnection], StationHandler]:
    """The ``handler_factory`` to pass to :func:`kilowatt.transport.serve_ocpp`.

    Args:
        rpc_options: the RPC options the server was given (``call_timeout``, ``lenient`` and
            its ``rpc_options``): the journaling RPC core that replaces the connection's own
            must behave the same.
        journal: record every frame in the message journal.
    """
    options = dict(rpc_options or {})

    def make(connection: OcppConnection) -> StationHandler:
        identity = connection.identity
        # The server calls us inside the connection's task, before it reads a message: the
        # context variable reaches every task the connection spawns, and the RPC core can
        # still be swapped.
        station_context.set(identity)
        if journal:
            record = services.journal.record

            def recorder(
                direction: Literal["in", "out"],
                message_type: int,
                message_id: str | None,
                action: str | None,
                text: str,
            ) -> None:
                record(identity, direction, message_type, message_id, action, text)

            side: Literal["csms", "charging_station"] = (
                "csms" if connection.local is Initiator.CSMS else "charging_station"
            )
            connection.rpc = JournalingRpc(
                connection.version, side=side, recorder=recorder, **options
            )
        return HANDLERS[connection.version](connection, services, registry)

    return make
