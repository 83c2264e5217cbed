"""Fixtures for service tests: services on a real database with a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kilowatt.config import Settings
from kilowatt.csms import Services
from kilowatt.storage import Database
from kilowatt.storage.sql import SqlRepositories


class Clock:
    """A settable UTC clock (services take ``clock=``)."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> Settings:
    return Settings(heartbeat_interval=60)


@pytest.fixture
def services(db: Database, settings: Settings, clock: Clock) -> Services:
    return Services.create(SqlRepositories(db), settings, clock=clock)
