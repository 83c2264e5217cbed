"""Persistence: SQLAlchemy models, repositories, Alembic migrations and group commit.

Entry point: :class:`~kilowatt.storage.database.Database` (``await db.migrate()``,
``await db.write(op)``, ``async with db.read() as conn``, ``await db.close()``).
"""

from kilowatt.storage.batcher import BatcherClosed, BatcherStats, WriteBatcher, WriteOp
from kilowatt.storage.database import Database, alembic_config
from kilowatt.storage.repositories import ConnectionRepositories

__all__ = [
    "BatcherClosed",
    "BatcherStats",
    "ConnectionRepositories",
    "Database",
    "WriteBatcher",
    "WriteOp",
    "alembic_config",
]
