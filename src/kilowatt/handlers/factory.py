"""Makes the handler of each new connection.

It picks the version's class, attaches the message journal's frame observer and tags the
connection's log lines with the station identity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from kilowatt.csms.services import Services
from kilowatt.handlers.base import StationHandler
from kilowatt.handlers.recorder import FrameRecorder
from kilowatt.handlers.registry import ConnectedStations
from kilowatt.handlers.v16 import V16Handler
from kilowatt.handlers.v21 import V21Handler
from kilowatt.handlers.v201 import V201Handler
from kilowatt.logs import station_context
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
    journal: bool = True,
) -> Callable[[OcppConnection], StationHandler]:
    """The ``handler_factory`` to pass to :func:`kilowatt.transport.serve_ocpp`.

    Args:
        services: the CSMS services the handlers call.
        registry: this node's connected stations; each handler joins it once connected.
        journal: record every frame in the message journal (a
            :class:`~kilowatt.handlers.recorder.FrameRecorder` as the connection's frame observer).
    """

    def make(connection: OcppConnection) -> StationHandler:
        identity = connection.identity
        # The server calls us inside the connection's task, before it reads a message: the
        # context variable reaches every task the connection spawns, and the observer sees
        # the first frame.
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

            connection.frame_observer = FrameRecorder(recorder)
        return HANDLERS[connection.version](connection, services, registry)

    return make
