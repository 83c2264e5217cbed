"""What every API module needs: the services, the station gateway and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query

from kilowatt.config import Settings
from kilowatt.csms.gateway import StationGateway
from kilowatt.csms.services import Services

__all__ = ["ApiContext", "Limit", "Offset"]


@dataclass(frozen=True, slots=True)
class ApiContext:
    services: Services
    gateway: StationGateway
    settings: Settings


Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page")]
Offset = Annotated[int, Query(ge=0, description="Items to skip")]
