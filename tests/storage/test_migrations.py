"""The packaged Alembic migrations create exactly the models' schema, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

import kilowatt.storage.models  # noqa: F401
from kilowatt.storage import Database
from kilowatt.storage.base import Base
from kilowatt.storage.database import MIGRATIONS_DIR


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrate_is_idempotent_and_matches_models(db: Database) -> None:
    await db.migrate()  # second run: nothing to do
    async with db.read() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        # The newest revision shipped (later revisions add tables of other components).
        assert version == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
        diff = await conn.run_sync(_diff)
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    # Tables of later revisions by other components (e.g. 0002_ocpi) are not in our models
    # when they are not imported; only differences on our tables matter.
    ours = set(Base.metadata.tables)
    relevant = [d for d in diff if not (d[0] == "remove_table" and d[1].name not in ours)]
    assert relevant == []
    assert ours <= tables


def test_initial_revision_is_shipped_in_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()


async def test_sqlite_pragmas(sqlite_url: str) -> None:
    database = Database(sqlite_url, inline=True)
    try:
        async with database.read() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            # Inline driver: SQLite itself never waits; the shim waits on the event loop.
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 0
            raw = await conn.get_raw_connection()
            assert raw.driver_connection.busy_timeout_ms == 5000  # type: ignore[union-attr]
    finally:
        await database.close()


async def test_sqlite_busy_timeout_without_the_inline_driver(sqlite_url: str) -> None:
    database = Database(sqlite_url, inline=False)
    try:
        async with database.read() as conn:
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000
    finally:
        await database.close()
