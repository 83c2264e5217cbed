"""The SQL repositories (SQLite and PostgreSQL): one module per aggregate, holding all of
that aggregate's SQL, the fast statements of the hot path included.

Each repository runs its reads on :meth:`Database.read
<kilowatt.storage.database.Database.read>` and each write method as one group-committed unit
(:meth:`Database.write <kilowatt.storage.database.Database.write>`).
"""

from __future__ import annotations

from kilowatt.storage.database import Database
from kilowatt.storage.sql.id_tokens import SqlIdTokenRepository
from kilowatt.storage.sql.journal import SqlJournalRepository
from kilowatt.storage.sql.locations import SqlLocationRepository
from kilowatt.storage.sql.metadata import SqlStationMetadataRepository
from kilowatt.storage.sql.stations import SqlStationRepository
from kilowatt.storage.sql.tariffs import SqlTariffRepository
from kilowatt.storage.sql.transactions import SqlTransactionRepository

__all__ = [
    "SqlIdTokenRepository",
    "SqlJournalRepository",
    "SqlLocationRepository",
    "SqlRepositories",
    "SqlStationMetadataRepository",
    "SqlStationRepository",
    "SqlTariffRepository",
    "SqlTransactionRepository",
]


class SqlRepositories:
    """Every SQL repository on one :class:`~kilowatt.storage.database.Database`
    (implements :class:`kilowatt.csms.repositories.Repositories`)."""

    def __init__(self, db: Database) -> None:
        self.stations = SqlStationRepository(db)
        self.id_tokens = SqlIdTokenRepository(db)
        self.transactions = SqlTransactionRepository(db)
        self.journal = SqlJournalRepository(db)
        self.locations = SqlLocationRepository(db)
        self.tariffs = SqlTariffRepository(db)
        self.metadata = SqlStationMetadataRepository(db)
