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

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """All version-neutral services; build with :meth:`create`."""

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
        repositories: Repositories,
        settings: Settings,
        *,
        remote_authorizer: RemoteAuthorizer | None = None,
        clock: Callable[[], datetime] = utcnow,
        bus: EventBus | None = None,
    ) -> Services:
        """Wire the services on ``repositories`` from settings.

        The journal's write delay is the journal repository's own.

        Args:
            repositories: where everything lives, built by the composition root:
                :class:`kilowatt.storage.sql.SqlRepositories` on a database, or
                :class:`kilowatt.storage.memory.MemoryRepositories`.
            settings: registration, boot status, heartbeat interval,
                accept_unknown_id_tokens, journal retention and size.
            remote_authorizer: asked about tokens the repositories do not know (e.g. OCPI).
            clock: the current aware UTC time, shared by every service.
            bus: the event bus to publish on (None: a new one).
        """
        bus = bus or EventBus()
        authorization = AuthorizationService(
            repositories,
            accept_unknown=settings.accept_unknown_id_tokens,
            remote=remote_authorizer,
            clock=clock,
        )
        journal = JournalService(
            repositories.journal,
            retention=settings.journal_retention,
            max_messages=settings.journal_max_messages,
            max_frame_bytes=settings.journal_max_frame_bytes,
            max_station_bytes=settings.journal_max_bytes_per_station,
            max_bytes=settings.journal_max_bytes,
            clock=clock,
        )
        return cls(
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
                repositories.locations,
                bus,
                stations=repositories.stations,
                metadata=repositories.metadata,
                tariffs=repositories.tariffs,
                clock=clock,
            ),
            tariffs=TariffService(repositories.tariffs, bus, clock=clock),
        )

    async def flush(self) -> None:
        """Write buffered journal frames (call before closing the storage at shutdown)."""
        await self.journal.flush()
