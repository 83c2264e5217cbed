"""Persistence: SQLAlchemy models, repositories, Alembic migrations and group commit.

Entry point: :class:`~kilowatt.storage.database.Database` (``await db.migrate()``,
``await db.write(op)``, ``async with db.read() as conn``, ``await db.close()``); the
repositories the services use are :class:`kilowatt.storage.sql.SqlRepositories` on it (or
:class:`kilowatt.storage.memory.MemoryRepositories`, without a database).
"""

from kilowatt.storage.batcher import BatcherClosed, BatcherStats, WriteBatcher, WriteOp
from kilowatt.storage.database import Database, alembic_config

__all__ = [
    "BatcherClosed",
    "BatcherStats",
    "Database",
    "WriteBatcher",
    "WriteOp",
    "alembic_config",
]
