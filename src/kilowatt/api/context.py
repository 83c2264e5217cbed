"""What every API module needs: the services, the station gateway and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query

from kilowatt.config import Settings
from kilowatt.csms.gateway import StationGateway
from kilowatt.csms.limits import MAX_PAGE_OFFSET
from kilowatt.csms.services import Services

__all__ = ["ApiContext", "Limit", "Offset"]


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What each API module's ``router(ctx)`` is built from; made once by the composition root.

    Attributes:
        services: the CSMS services the routes call.
        gateway: sends calls and commands to connected stations.
        settings: the node's settings (e.g. ``call_timeout`` in s, the default call deadline).
    """

    services: Services
    gateway: StationGateway
    settings: Settings


Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page")]
"""Items per page: 1 to 1000."""
Offset = Annotated[int, Query(ge=0, le=MAX_PAGE_OFFSET, description="Items to skip")]
"""Items to skip: 0 to 2^31 - 1 (:data:`~kilowatt.csms.limits.MAX_PAGE_OFFSET`; SQL OFFSET)."""
