"""What the OCPI layer needs from the rest of the system, as :class:`typing.Protocol` s.

The CSMS core implements these; :mod:`kilowatt.ocpi.memory` has in-memory reference
implementations for tests and examples. Nothing here imports the CSMS.

Sessions and CDRs are private to the eMSP whose token they were charged with (OCPI 2.2.1
``mod_sessions``/``mod_cdrs``: a CPO shares them only with the owner of the token): the
routes put the requester's parties into :attr:`ListQuery.parties` and pass them to
:meth:`CpoBackend.get_session`; backends must filter on ``cdr_token``.

- :class:`CpoBackend` — read side of the CPO sender modules (locations, sessions, CDRs,
  tariffs), in the canonical 2.3.0 model.
- :class:`CommandExecutor` — carries one OCPI command to a charger (OCPP call) and returns the
  charger's answer mapped to a ``CommandResultType``; raises :class:`StationOffline` or
  :class:`CommandTimeout`.
- :class:`Authenticator` — maps a credentials token to the calling partner.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    CancelReservation,
    CommandResultType,
    CommandType,
    StopSession,
    UnlockConnector,
)
from kilowatt.ocpi.pagination import ListQuery, Page

CommandRequest = (
    v230.StartSession | StopSession | v230.ReserveNow | CancelReservation | UnlockConnector
)
"""The body of any OCPI command (2.2.1 ``mod_commands`` §Object description)."""


class TokenStage(StrEnum):
    """Which credentials token authenticated a request (``credentials`` §Registration)."""

    A = "A"
    """Issued out of band; valid only on versions and credentials."""
    C = "C"
    """Issued by us during the handshake; valid everywhere."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated partner behind a request."""

    partner_id: str
    stage: TokenStage
    version: str | None = None
    """Negotiated OCPI version, once registered."""
    country_code: str | None = None
    party_id: str | None = None
    parties: tuple[tuple[str, str], ...] = ()
    """Every ``(country_code, party_id)`` of the partner's credentials roles; when empty,
    ``(country_code, party_id)`` alone."""

    def own_parties(self) -> frozenset[tuple[str, str]]:
        """The parties whose sessions, CDRs and tokens this caller may see (upper case)."""
        pairs = self.parties or (
            ((self.country_code, self.party_id),) if self.country_code and self.party_id else ()
        )
        return frozenset((cc.upper(), pid.upper()) for cc, pid in pairs)


@runtime_checkable
class Authenticator(Protocol):
    """Resolve a credentials token (already base64-decoded) to a :class:`Caller`, or ``None``."""

    async def authenticate(self, token: str) -> Caller | None:
        """Return the caller for ``token`` or ``None`` when the token is unknown (→ HTTP 401)."""
        ...


@runtime_checkable
class CpoBackend(Protocol):
    """Read access to the CPO's data for the sender modules.

    List methods receive a :class:`~kilowatt.ocpi.pagination.ListQuery` (``offset``, capped
    ``limit``, ``date_from`` inclusive, ``date_to`` exclusive on ``last_updated``) and return a
    :class:`~kilowatt.ocpi.pagination.Page` with the total number of matches. Order must be
    stable between calls (oldest created first, OCPI 2.2.1 §Paginated Response). Only
    ``publish=True`` locations should be listed for eMSPs.
    """

    async def list_locations(self, query: ListQuery) -> Page[v230.Location]:
        """Locations with their EVSEs and connectors (derived from stations)."""
        ...

    async def get_location(self, location_id: str) -> v230.Location | None:
        """One location, or ``None`` (→ 2003 Unknown Location)."""
        ...

    async def list_sessions(self, query: ListQuery) -> Page[v230.Session]:
        """Sessions (from transactions) of the requesting parties only: a session is listed
        when ``query.visible(cdr_token.country_code, cdr_token.party_id)``."""
        ...

    async def get_session(
        self, session_id: str, parties: frozenset[tuple[str, str]] | None = None
    ) -> v230.Session | None:
        """One session, or ``None`` (STOP_SESSION → UNKNOWN_SESSION), also ``None`` when
        ``parties`` is given and the session's token belongs to none of them."""
        ...

    async def list_cdrs(self, query: ListQuery) -> Page[v230.CDR]:
        """CDRs (created when transactions end), filtered by ``cdr_token`` like sessions."""
        ...

    async def list_tariffs(self, query: ListQuery) -> Page[v230.Tariff]:
        """Tariffs."""
        ...

    async def get_tariff(self, tariff_id: str) -> v230.Tariff | None:
        """One tariff, or ``None``."""
        ...


class StationOffline(Exception):
    """The station that should execute a command is not connected (→ EVSE_INOPERATIVE)."""


class CommandTimeout(Exception):
    """The station did not answer the command's OCPP call in time (→ TIMEOUT)."""


@dataclass(frozen=True, slots=True)
class Command:
    """One OCPI command as handed to the executor.

    ``id`` is unique per command and stable across restarts: use it to correlate the OCPP
    call (e.g. as the 2.0.1 ``remoteStartId`` source or in the message id) so two commands
    to the same EVSE are never confused. ``timeout`` is in seconds.
    """

    id: str
    type: CommandType
    request: CommandRequest
    partner_id: str
    timeout: float


@runtime_checkable
class CommandExecutor(Protocol):
    """Executes OCPI commands on chargers (later: with OCPP calls).

    Mapping (GUIDE §4): START_SESSION → RemoteStartTransaction (1.6) /
    RequestStartTransaction (2.0.1+); STOP_SESSION → RemoteStop/RequestStopTransaction;
    RESERVE_NOW, CANCEL_RESERVATION, UNLOCK_CONNECTOR → the OCPP calls of the same name
    (keep a map between OCPI string ids and OCPP integer ids).
    """

    async def can_execute(self, command: Command) -> bool:
        """Fast pre-check before answering (e.g. EVSE exists, station supports it).

        ``False`` makes the immediate CommandResponse ``REJECTED``; nothing is executed.
        """
        ...

    async def execute(self, command: Command) -> CommandResultType:
        """Send the command to the charger and return its answer mapped to OCPI.

        Raise :class:`StationOffline` when the station is not connected and
        :class:`CommandTimeout` when it does not answer; the OCPI layer also enforces
        ``command.timeout`` itself.
        """
        ...
