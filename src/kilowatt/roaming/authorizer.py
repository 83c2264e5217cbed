"""OCPP authorization of tokens the CSMS does not know, with the tokens eMSPs pushed.

Implements :class:`kilowatt.csms.RemoteAuthorizer`. Order:

1. an id tag of a remote start in progress (START_SESSION: the eMSP already authorized it) →
   Accepted;
2. a token pushed by an eMSP → :meth:`kilowatt.ocpi.tokens.TokenService.authorize_token`
   (whitelist rules, real-time authorization at the eMSP where required), with the station's
   location; ALLOWED → Accepted, BLOCKED → Blocked, EXPIRED → Expired, NO_CREDIT and
   NOT_ALLOWED → Invalid;
3. otherwise None (the CSMS applies ``accept_unknown_id_tokens``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kilowatt.csms.model import AuthorizationResult, AuthStatus, StationInfo
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import AllowedType, AuthMethod
from kilowatt.ocpi.tokens import TokenService
from kilowatt.roaming.objects import evse_uid
from kilowatt.roaming.state import RoamingState

__all__ = ["Authorizations", "OcpiAuthorizer", "StationLookup"]

StationLookup = Callable[[str], Awaitable[StationInfo]]
"""A station by identity (raises :class:`LookupError` when unknown), e.g.
``StationService.get``."""

Authorizations = dict[str, tuple[v230.Token, AuthMethod, str | None]]
"""id tag → (eMSP token, auth method, authorization reference) of the last OCPI authorization
that accepted it; :class:`~kilowatt.roaming.sessions.SessionTracker` reads it for sessions
started at the charger."""

_STATUS = {
    AllowedType.ALLOWED: AuthStatus.ACCEPTED,
    AllowedType.BLOCKED: AuthStatus.BLOCKED,
    AllowedType.EXPIRED: AuthStatus.EXPIRED,
    AllowedType.NO_CREDIT: AuthStatus.INVALID,
    AllowedType.NOT_ALLOWED: AuthStatus.INVALID,
}

_OCPI_TYPES: dict[str | None, tuple[str, ...]] = {
    "ISO14443": ("RFID",),
    "ISO15693": ("RFID",),
    "eMAID": ("EMAID", "APP_USER"),
    "Central": ("APP_USER", "AD_HOC_USER", "OTHER", "RFID"),
}
"""OCPP 2.x IdTokenEnumType → OCPI TokenTypes to look up (1.6: every type, RFID first)."""
_ALL = ("RFID", "APP_USER", "AD_HOC_USER", "OTHER", "EMAID")


class OcpiAuthorizer:
    """A :class:`~kilowatt.csms.RemoteAuthorizer` backed by OCPI tokens.

    Built before the CSMS services (they take it as their remote authorizer), so it depends on
    the OCPI token service and the roaming tables only; ``station`` looks a station up when a
    token is presented (the composition root passes the station service's lookup).

    Args:
        tokens: eMSP tokens (:class:`~kilowatt.ocpi.tokens.TokenService`).
        state: the roaming tables (open remote starts).
        station: the station lookup (:data:`StationLookup`).
    """

    def __init__(self, tokens: TokenService, state: RoamingState, station: StationLookup) -> None:
        self.tokens = tokens
        self.state = state
        self.station = station
        self.authorizations: Authorizations = {}
        """What this authorizer accepted, per id tag (see :data:`Authorizations`)."""

    async def authorize(
        self, id_token: str, token_type: str | None, station_id: str | None
    ) -> AuthorizationResult | None:
        """See the module docstring."""
        if await self.state.open_id_tag(id_token) is not None:
            return AuthorizationResult(AuthStatus.ACCEPTED)
        location_id = None
        evse_uids = None
        if station_id is not None:
            station: StationInfo | None = None
            try:
                station = await self.station(station_id)
            except LookupError:
                station = None
            if station is not None and station.location_id is not None:
                location_id = station.location_id
                evse_uids = [evse_uid(station_id, e.evse_id) for e in station.evses if e.evse_id]
        for ocpi_type in _OCPI_TYPES.get(token_type, _ALL):
            result = await self.tokens.authorize_token(
                id_token, ocpi_type, location_id=location_id, evse_uids=evse_uids or None
            )
            if result is None:
                continue
            status = _STATUS[result.allowed]
            if status is AuthStatus.ACCEPTED:
                method = (
                    AuthMethod.AUTH_REQUEST if result.source == "realtime" else AuthMethod.WHITELIST
                )
                self.authorizations[id_token] = (
                    result.token,
                    method,
                    result.authorization_reference,
                )
            return AuthorizationResult(status, group_id=result.token.group_id)
        return None
