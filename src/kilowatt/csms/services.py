"""The set of CSMS services sharing one storage backend and one event bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kilowatt.config import Settings
from kilowatt.csms.authorization import AuthorizationService, RemoteAuthorizer
from kilowatt.csms.clock import utcnow
from kilowatt.csms.events import EventBus
from kilowatt.csms.journal import JournalService
from kilowatt.csms.locations import LocationService
from kilowatt.csms.repositories import Repositories
from kilowatt.csms.stations import StationService
from kilowatt.csms.tariffs import TariffService
from kilowatt.csms.transactions import TransactionService
from kilowatt.storage import ConnectionRepositories, Database

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """All version-neutral services; build with :meth:`create`."""

    db: Database
    bus: EventBus
    stations: StationService
    authorization: AuthorizationService
    transactions: TransactionService
    journal: JournalService
    locations: LocationService
    tariffs: TariffService

    @classmethod
    def create(
        cls,
        db: Database,
        settings: Settings,
        *,
        bus: EventBus | None = None,
        remote_authorizer: RemoteAuthorizer | None = None,
        clock: Callable[[], datetime] = utcnow,
        repositories: Repositories | None = None,
    ) -> Services:
        """Wire the services from settings (registration, boot status, heartbeat interval,
        accept_unknown_id_tokens, journal retention).

        ``repositories``: where stations, id tokens and transactions live; by default the SQL
        repositories on ``db`` (:class:`kilowatt.storage.sql.SqlRepositories`); pass
        :class:`kilowatt.storage.memory.MemoryRepositories` to keep them in memory. The
        journal, locations and tariffs are always in ``db``.
        """
        bus = bus or EventBus()
        if repositories is None:
            # The one place the domain names its SQL implementation, until the composition
            # root (app.py) passes the repositories in.
            from kilowatt.storage.sql import SqlRepositories

            repositories = SqlRepositories(db)
        repos = ConnectionRepositories()
        authorization = AuthorizationService(
            repositories,
            accept_unknown=settings.accept_unknown_id_tokens,
            remote=remote_authorizer,
            clock=clock,
        )
        journal = JournalService(
            db,
            retention=settings.journal_retention,
            max_messages=settings.journal_max_messages,
            clock=clock,
            repositories=repos,
        )
        return cls(
            db=db,
            bus=bus,
            stations=StationService(
                repositories,
                bus,
                registration=settings.registration,
                boot_status=settings.boot_status,
                heartbeat_interval=settings.heartbeat_interval,
                clock=clock,
                journal=journal,
            ),
            authorization=authorization,
            transactions=TransactionService(repositories, bus, authorization, clock=clock),
            journal=journal,
            locations=LocationService(
                db, bus, clock=clock, repositories=repos, stations=repositories.stations
            ),
            tariffs=TariffService(db, bus, clock=clock, repositories=repos),
        )

    async def flush(self) -> None:
        """Commit buffered journal frames (call before ``db.close()`` at shutdown)."""
        await self.journal.flush()
