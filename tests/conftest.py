"""Shared fixtures: database URLs for SQLite (a temporary file) and PostgreSQL.

``database_url`` is parametrised over both backends. PostgreSQL runs only when
``KILOWATT_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it); each test gets a fresh,
uniquely named database on that server, dropped afterwards, so engineers sharing the
server never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from kilowatt.storage import Database

POSTGRES_ENV = "KILOWATT_TEST_POSTGRES_URL"


def _admin(dsn_url: str) -> str:
    """A plain asyncpg DSN (no '+asyncpg' driver suffix) for the given SQLAlchemy URL."""
    url = make_url(dsn_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def _pg_execute(admin_dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database (SQLAlchemy asyncpg URL); skipped when not configured."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (PostgreSQL tests need a server)")
    name = f"kw_test_{uuid.uuid4().hex[:12]}"
    admin = _admin(base)
    # A throwaway event loop: the fixture is sync so that any test loop scope can use it.
    asyncio.run(_pg_execute(admin, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file in the test's temporary directory (aiosqlite URL)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'kilowatt.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database URL, once per backend (PostgreSQL skipped when not configured)."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated :class:`~kilowatt.storage.Database` on each backend, closed afterwards."""
    database = Database(database_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.close()
