"""The 0002_ocpi migration creates exactly the tables of kilowatt.storage.ocpi_models."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, Table, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from kilowatt.storage.database import alembic_config
from kilowatt.storage.ocpi_models import OCPI_TABLES

TABLES = [t for t in OCPI_TABLES if isinstance(t, Table)]
NAMES = {t.name for t in TABLES}


def _table_of(diff: object) -> str | None:
    d = diff[0] if isinstance(diff, list) else diff
    for part in d if isinstance(d, tuple) else ():
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None) in NAMES:
            return str(table.name)
        if getattr(part, "name", None) in NAMES:
            return str(part.name)
        if isinstance(part, str) and part in NAMES:
            return part
    return None


def ocpi_diffs(conn: Connection) -> list[object]:
    """Differences between the database and the OCPI models, restricted to OCPI tables."""
    assert len(TABLES) == len(OCPI_TABLES)
    meta = MetaData(naming_convention=TABLES[0].metadata.naming_convention)
    for table in TABLES:
        table.to_metadata(meta)
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return [d for d in compare_metadata(ctx, meta) if _table_of(d) is not None]


def test_sqlite_upgrade_matches_models(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    cfg = alembic_config(f"sqlite+aiosqlite:///{db}")
    command.upgrade(cfg, "head")
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert ocpi_diffs(conn) == []
    engine.dispose()
    command.downgrade(cfg, "0001_initial")
    command.upgrade(cfg, "head")


@pytest.mark.skipif(
    not os.environ.get("KILOWATT_TEST_POSTGRES_URL"), reason="KILOWATT_TEST_POSTGRES_URL not set"
)
async def test_postgres_upgrade_matches_models() -> None:
    """Runs the chain in a scratch database so the shared one is left alone."""
    url = make_url(os.environ["KILOWATT_TEST_POSTGRES_URL"])
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    name = f"kw_ocpi_{uuid.uuid4().hex[:10]}"
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    scratch = url.set(database=name)
    try:
        cfg = alembic_config(scratch.render_as_string(hide_password=False))
        await asyncio.to_thread(command.upgrade, cfg, "head")
        engine = create_async_engine(scratch)
        async with engine.connect() as conn:
            assert await conn.run_sync(ocpi_diffs) == []
        await engine.dispose()
    finally:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.dispose()
