"""The set of CSMS services sharing one database and one event bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kilowatt.config import Settings
from kilowatt.csms.authorization import AuthorizationService, RemoteAuthorizer
from kilowatt.csms.events import EventBus
from kilowatt.csms.journal import JournalService
from kilowatt.csms.locations import LocationService
from kilowatt.csms.stations import StationService
from kilowatt.csms.tariffs import TariffService
from kilowatt.csms.transactions import TransactionService
from kilowatt.storage import Database, Repositories
from kilowatt.storage.types import utcnow

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
    ) -> Services:
        """Wire the services from settings (registration, boot status, heartbeat interval,
        accept_unknown_id_tokens, journal retention)."""
        bus = bus or EventBus()
        repos = Repositories()
        authorization = AuthorizationService(
            db,
            accept_unknown=settings.accept_unknown_id_tokens,
            remote=remote_authorizer,
            clock=clock,
            repositories=repos,
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
                db,
                bus,
                registration=settings.registration,
                boot_status=settings.boot_status,
                heartbeat_interval=settings.heartbeat_interval,
                clock=clock,
                repositories=repos,
                journal=journal,
            ),
            authorization=authorization,
            transactions=TransactionService(
                db, bus, authorization, clock=clock, repositories=repos
            ),
            journal=journal,
            locations=LocationService(db, bus, clock=clock, repositories=repos),
            tariffs=TariffService(db, bus, clock=clock, repositories=repos),
        )

    async def flush(self) -> None:
        """Commit buffered journal frames (call before ``db.close()`` at shutdown)."""
        await self.journal.flush()
