"""API test fixtures: the real app on a real database, with an in-memory station gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
import pytest

from kilowatt.api import create_api
from kilowatt.config import Settings
from kilowatt.csms import Services
from kilowatt.csms.gateway import (
    COMMANDS,
    InvalidCommand,
    InvalidPayload,
    StationCallError,
    StationCallTimeout,
    StationNotConnected,
    UnknownAction,
)
from kilowatt.storage import Database
from kilowatt.storage.sql import SqlRepositories

API_KEY = "test-key-0123456789"


class MemoryGateway:
    """In-memory twin of :class:`~kilowatt.csms.gateway.StationGateway` (API tests only).

    ``answers[(station, action)]`` is a response payload, an exception to raise, or
    ``"hang"`` (never answers: the timeout applies). Every call is kept in ``sent``.
    """

    ACTIONS: ClassVar[set[str]] = {
        "Reset",
        "UnlockConnector",
        "GetConfiguration",
        "RemoteStartTransaction",
    }

    def __init__(self) -> None:
        self.connected: set[str] = set()
        self.answers: dict[tuple[str, str], Any] = {}
        self.sent: list[tuple[str, str, dict[str, Any], float]] = []
        self.commands: list[tuple[str, str, dict[str, Any]]] = []

    def is_connected(self, station_id: str) -> bool:
        return station_id in self.connected

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        if station_id not in self.connected:
            raise StationNotConnected(station_id)
        if action not in self.ACTIONS:
            raise UnknownAction(action, "1.6")
        if action == "Reset" and payload.get("type") not in ("Hard", "Soft"):
            raise InvalidPayload("type: expected Hard or Soft")
        self.sent.append((station_id, action, payload, timeout))
        answer = self.answers.get((station_id, action), {"status": "Accepted"})
        if answer == "hang":
            await asyncio.sleep(0)
            raise StationCallTimeout(station_id, action, timeout)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    async def command(
        self, station_id: str, name: str, params: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        if name not in COMMANDS:
            raise InvalidCommand(f"unknown command {name!r}")
        self.commands.append((station_id, name, params))
        if name == "reset":
            kind = params.get("type", "soft")
            if kind not in ("hard", "soft"):
                raise InvalidCommand("type must be hard or soft")
            return await self.call(station_id, "Reset", {"type": kind.capitalize()}, timeout)
        raise InvalidCommand(f"{name} is not supported by the test gateway")


@pytest.fixture
def gateway() -> MemoryGateway:
    return MemoryGateway()


@pytest.fixture
def api_services(db: Database) -> Services:
    return Services.create(SqlRepositories(db), Settings(api_key=API_KEY, call_timeout=30))


@pytest.fixture
async def client(
    api_services: Services, gateway: MemoryGateway
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(api_services, gateway, Settings(api_key=API_KEY, call_timeout=30))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers
    ) as http:
        yield http


__all__ = ["API_KEY", "MemoryGateway", "StationCallError"]
