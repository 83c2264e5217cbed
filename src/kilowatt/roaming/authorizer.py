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

from kilowatt.bridges.ocpi_locations import evse_uid
from kilowatt.bridges.ocpi_sessions import SessionTracker
from kilowatt.bridges.ocpi_state import BridgeState
from kilowatt.csms.model import AuthorizationResult, AuthStatus, StationInfo
from kilowatt.csms.services import Services
from kilowatt.ocpi.app import Ocpi
from kilowatt.ocpi.models.common import AllowedType, AuthMethod

__all__ = ["OcpiAuthorizer"]

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
    """A :class:`~kilowatt.csms.RemoteAuthorizer` backed by OCPI tokens."""

    def __init__(
        self, services: Services, ocpi: Ocpi, state: BridgeState, sessions: SessionTracker
    ) -> None:
        self.services = services
        self.ocpi = ocpi
        self.state = state
        self.sessions = sessions

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
                station = await self.services.stations.get(station_id)
            except LookupError:
                station = None
            if station is not None and station.location_id is not None:
                location_id = station.location_id
                evse_uids = [evse_uid(station_id, e.evse_id) for e in station.evses if e.evse_id]
        for ocpi_type in _OCPI_TYPES.get(token_type, _ALL):
            result = await self.ocpi.tokens.authorize_token(
                id_token, ocpi_type, location_id=location_id, evse_uids=evse_uids or None
            )
            if result is None:
                continue
            status = _STATUS[result.allowed]
            if status is AuthStatus.ACCEPTED:
                method = (
                    AuthMethod.AUTH_REQUEST if result.source == "realtime" else AuthMethod.WHITELIST
                )
                self.sessions.authorizations[id_token] = (
                    result.token,
                    method,
                    result.authorization_reference,
                )
            return AuthorizationResult(status, group_id=result.token.group_id)
        return None
