"""The ``repos`` fixture: every implementation of :class:`kilowatt.csms.repositories.Repositories`.

``memory`` (:mod:`kilowatt.storage.memory`), ``sqlite`` (a migrated database file in the test's
temporary directory, inline driver and group commit as in production) and ``postgresql`` (a
fresh database per test on ``KILOWATT_TEST_POSTGRES_URL``, dropped afterwards; skipped with
the reason when the variable is unset). Run: ``pytest tests/storage/contract``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kilowatt.csms.repositories import Repositories
from kilowatt.storage import Database
from kilowatt.storage.memory import MemoryRepositories
from kilowatt.storage.sql import SqlRepositories

_URL_FIXTURES = {"sqlite": "sqlite_url", "postgresql": "postgres_url"}


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """``memory``, or the URL of an empty database. A sync fixture: the PostgreSQL one creates
    its database with an event loop of its own, which cannot run inside the test's loop."""
    if request.param == "memory":
        return "memory"
    return str(request.getfixturevalue(_URL_FIXTURES[request.param]))


@pytest.fixture
async def repos(backend: str) -> AsyncIterator[Repositories]:
    """The repositories of one backend, empty."""
    if backend == "memory":
        yield MemoryRepositories()
        return
    db = Database(backend)
    await db.migrate()
    try:
        yield SqlRepositories(db)
    finally:
        await db.close()
