"""End-to-end fixtures: ``kilowatt serve`` as a subprocess on free ports, driven over its API.

``backend`` is parametrised over SQLite (a file in the server's temporary data directory) and
PostgreSQL (``KILOWATT_TEST_POSTGRES_URL``; skipped with a reason when unset). Every server
started on PostgreSQL gets its own uniquely named database (``kw_e2e_<random>``), dropped at
teardown, so engineers sharing the PostgreSQL server never see each other's data.

A module shares one server per backend (``server``); tests that restart or kill a server, or
need other settings, start their own with ``server_factory``. Servers are always stopped in
teardown; their combined stdout/stderr is attached to the report of any failing test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from .support import API_KEY, Api, KilowattServer, live_servers

POSTGRES_ENV = "KILOWATT_TEST_POSTGRES_URL"


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_execute_async(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_execute(dsn: str, sql: str) -> None:
    """Run one statement on a throwaway loop in a thread (callers may be inside a loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _pg_execute_async(dsn, sql)).result()


class ServerFactory:
    """Starts ``kilowatt serve`` processes on one backend and cleans them all up."""

    def __init__(self, backend: str, base_dir: Path) -> None:
        self.backend = backend
        self.base_dir = base_dir
        self.servers: list[KilowattServer] = []
        self.databases: list[str] = []

    def _database_url(self) -> str | None:
        if self.backend == "sqlite":
            return None  # the embedded default: <data-dir>/kilowatt.db
        base = os.environ[POSTGRES_ENV]
        name = f"kw_e2e_{uuid.uuid4().hex[:12]}"
        _pg_execute(_admin_dsn(base), f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return make_url(base).set(database=name).render_as_string(hide_password=False)

    def start(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        api_key_flag: bool = True,
        tls: bool = False,
        flags: bool = True,
    ) -> KilowattServer:
        """A new server on a fresh data directory (and a fresh PostgreSQL database)."""
        data_dir = self.base_dir / f"server-{uuid.uuid4().hex[:8]}"
        data_dir.mkdir(parents=True)
        server = KilowattServer(
            data_dir=data_dir,
            database_url=self._database_url(),
            extra_args=list(args),
            extra_env=dict(env or {}),
            api_key_flag=api_key_flag,
            tls=tls,
            flags=flags,
        )
        self.servers.append(server)
        server.start()
        return server

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        if self.databases:
            dsn = _admin_dsn(os.environ[POSTGRES_ENV])
            for name in self.databases:
                _pg_execute(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"{POSTGRES_ENV} is not set (PostgreSQL end-to-end runs need a server)")
    return str(request.param)


@pytest.fixture(scope="module")
def server_factory(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerFactory]:
    factory = ServerFactory(backend, tmp_path_factory.mktemp(f"kw-{backend}"))
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def server(server_factory: ServerFactory) -> KilowattServer:
    """One server per module and backend, registration ``open``, API key :data:`API_KEY`."""
    return server_factory.start()


@pytest.fixture
async def api(server: KilowattServer) -> AsyncIterator[Api]:
    async with Api(server.api_url, API_KEY) as client:
        yield client


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in live_servers():
            report.sections.append((f"kilowatt serve log {server.log_path}", server.log_tail()))
