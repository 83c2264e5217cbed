"""OCPI commands carried out with OCPP calls through the :class:`StationGateway`.

Mapping (OCPI 2.2.1 ``mod_commands``; OCPP 1.6 §5, 2.0.1 F01/F03/F05/H01/H02):

============================  ============================================================
START_SESSION                 gateway command ``start-transaction`` (1.6
                              RemoteStartTransaction, idTag ≤ 20 characters; 2.x
                              RequestStartTransaction with a fresh ``remoteStartId`` that the
                              later TransactionEvent carries)
STOP_SESSION                  ``stop-transaction`` with the session's transaction
RESERVE_NOW                   ReserveNow (1.6 ``reservationId``/``connectorId``/``idTag``; 2.x
                              ``id``/``evseId``/``idToken``); OCPI reservation ids (strings per
                              eMSP) map to OCPP integers in ``ocpi_reservations``
CANCEL_RESERVATION            CancelReservation with the mapped integer id
UNLOCK_CONNECTOR              ``unlock-connector``
============================  ============================================================

Answers: Accepted/Unlocked → ACCEPTED; Rejected → REJECTED; Occupied → EVSE_OCCUPIED;
Faulted/Unavailable → EVSE_INOPERATIVE; NotSupported → NOT_SUPPORTED; UnlockFailed and other
values → FAILED. Station not connected → :class:`~kilowatt.ocpi.StationOffline` (the OCPI layer
reports EVSE_INOPERATIVE); no answer in time → :class:`~kilowatt.ocpi.CommandTimeout` (TIMEOUT).
A CALLERROR NotSupported/NotImplemented → NOT_SUPPORTED, others → FAILED.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from kilowatt.csms.gateway import (
    GatewayError,
    StationCallError,
    StationCallTimeout,
    StationGateway,
    StationNotConnected,
)
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    CancelReservation,
    CommandResultType,
    CommandType,
    Status,
    StopSession,
    UnlockConnector,
    format_datetime,
)
from kilowatt.ocpi.protocols import Command, CommandTimeout, StationOffline
from kilowatt.roaming.objects import EvseRef
from kilowatt.roaming.sessions import SessionTracker
from kilowatt.roaming.state import RoamingState
from kilowatt.roaming.view import CsmsView

__all__ = ["OcppCommandExecutor", "id_tag_for", "map_status"]

log = logging.getLogger("kilowatt.roaming")

MAX_ID_TAG_16 = 20
"""OCPP 1.6 IdToken: CiString20Type."""

_RESULTS: dict[str, CommandResultType] = {
    "Accepted": CommandResultType.ACCEPTED,
    "Unlocked": CommandResultType.ACCEPTED,
    "Rejected": CommandResultType.REJECTED,
    "Occupied": CommandResultType.EVSE_OCCUPIED,
    "Faulted": CommandResultType.EVSE_INOPERATIVE,
    "Unavailable": CommandResultType.EVSE_INOPERATIVE,
    "NotSupported": CommandResultType.NOT_SUPPORTED,
    "UnknownConnector": CommandResultType.REJECTED,
}

_TOKEN_TYPES_2X = {"RFID": "ISO14443", "EMAID": "eMAID"}
"""OCPI TokenType → OCPP 2.x IdTokenEnumType (others: ``Central``)."""


def map_status(status: Any) -> CommandResultType:
    """OCPI result for the ``status`` a charger answered."""
    return _RESULTS.get(str(status), CommandResultType.FAILED)


def id_tag_for(token: v230.Token, ocpp_version: str | None) -> str:
    """The id the charger sees: the token uid, or for 1.6 a stable 20-character alias when the
    uid is longer (``K`` + 19 hex digits of its SHA-256)."""
    if ocpp_version == "1.6" and len(token.uid) > MAX_ID_TAG_16:
        return "K" + hashlib.sha256(token.uid.encode()).hexdigest()[: MAX_ID_TAG_16 - 1].upper()
    return token.uid


class OcppCommandExecutor:
    """Implements :class:`kilowatt.ocpi.CommandExecutor` over OCPP.

    Args:
        gateway: reaches connected stations.
        view: OCPI view of locations (EVSE uid → station and EVSE).
        sessions: records remote starts before the call, and their answers.
        parties: partner id → its (country code, party id) list (for reservation ids).
    """

    def __init__(
        self,
        gateway: StationGateway,
        view: CsmsView,
        sessions: SessionTracker,
        state: RoamingState,
        *,
        parties: Callable[[str], Awaitable[list[tuple[str, str]]]],
        clock: Callable[[], datetime],
    ) -> None:
        self.gateway = gateway
        self.view = view
        self.sessions = sessions
        self.state = state
        self.parties = parties
        self.clock = clock

    async def can_execute(self, command: Command) -> bool:
        """START_SESSION, RESERVE_NOW and UNLOCK_CONNECTOR need an EVSE at the location."""
        req = command.request
        location_id = getattr(req, "location_id", None)
        if location_id is None:
            return True
        return await self.view.evse(location_id, getattr(req, "evse_uid", None)) is not None

    async def execute(self, command: Command) -> CommandResultType:
        """Send the OCPP call of ``command`` and map the charger's answer."""
        timeout = max(command.timeout - 1.0, 1.0)
        try:
            return await self._dispatch(command, timeout)
        except StationNotConnected:
            raise StationOffline(command.id) from None
        except StationCallTimeout:
            raise CommandTimeout(command.id) from None
        except StationCallError as exc:
            if exc.code in ("NotSupported", "NotImplemented"):
                return CommandResultType.NOT_SUPPORTED
            log.info("OCPI command %s: the station answered %s", command.id, exc)
            return CommandResultType.FAILED
        except GatewayError as exc:
            log.info("OCPI command %s could not be sent: %s", command.id, exc)
            return CommandResultType.REJECTED

    async def _dispatch(self, command: Command, timeout: float) -> CommandResultType:
        req = command.request
        if command.type is CommandType.START_SESSION:
            assert isinstance(req, v230.StartSession)
            return await self._start(req, timeout)
        if command.type is CommandType.STOP_SESSION:
            assert isinstance(req, StopSession)
            return await self._stop(req, timeout)
        if command.type is CommandType.UNLOCK_CONNECTOR:
            assert isinstance(req, UnlockConnector)
            return await self._unlock(req, timeout)
        if command.type is CommandType.RESERVE_NOW:
            assert isinstance(req, v230.ReserveNow)
            return await self._reserve(command.partner_id, req, timeout)
        assert isinstance(req, CancelReservation)
        return await self._cancel(command.partner_id, req, timeout)

    async def _evse(self, location_id: str, evse_uid: str | None) -> EvseRef:
        ref = await self.view.evse(location_id, evse_uid)
        if ref is None:
            raise LookupError(f"no EVSE {evse_uid!r} at {location_id!r}")
        if not self.gateway.is_connected(ref.station_id):
            raise StationNotConnected(ref.station_id)
        return ref

    async def _start(self, req: v230.StartSession, timeout: float) -> CommandResultType:
        ref = await self._evse(req.location_id, req.evse_uid)
        if ref.status in (Status.CHARGING, Status.BLOCKED):
            return CommandResultType.EVSE_OCCUPIED
        if ref.status in (Status.INOPERATIVE, Status.OUTOFORDER):
            return CommandResultType.EVSE_INOPERATIVE
        connector = (
            int(req.connector_id) if req.connector_id and req.connector_id.isdigit() else None
        )
        id_tag = id_tag_for(req.token, ref.ocpp_version)
        remote_start_id = secrets.randbelow(2**31 - 1) + 1
        session_id = await self.sessions.requested(
            token=req.token,
            location_id=req.location_id,
            station_id=ref.station_id,
            evse_id=ref.evse_id,
            connector_id=connector,
            id_tag=id_tag,
            remote_start_id=remote_start_id,
            authorization_reference=req.authorization_reference,
        )
        params: dict[str, Any] = {
            "id_token": id_tag,
            "evse_id": ref.evse_id,
            "remote_start_id": remote_start_id,
        }
        if ref.ocpp_version != "1.6":
            params["id_token_type"] = _TOKEN_TYPES_2X.get(req.token.type.value, "Central")
        accepted = False
        try:
            answer = await self.gateway.command(
                ref.station_id, "start-transaction", params, timeout
            )
            result = map_status(answer.get("status"))
            accepted = result is CommandResultType.ACCEPTED
            return result
        finally:
            await self.sessions.answered(session_id, accepted)

    async def _stop(self, req: StopSession, timeout: float) -> CommandResultType:
        row = await self.state.session(req.session_id)
        if row is None or row.transaction_id is None or row.status != "ACTIVE":
            return CommandResultType.REJECTED
        if not self.gateway.is_connected(row.station_id):
            raise StationNotConnected(row.station_id)
        answer = await self.gateway.command(
            row.station_id, "stop-transaction", {"transaction_id": row.transaction_id}, timeout
        )
        return map_status(answer.get("status"))

    async def _unlock(self, req: UnlockConnector, timeout: float) -> CommandResultType:
        ref = await self._evse(req.location_id, req.evse_uid)
        connector = int(req.connector_id) if req.connector_id.isdigit() else 1
        answer = await self.gateway.command(
            ref.station_id,
            "unlock-connector",
            {"evse_id": ref.evse_id, "connector_id": connector},
            timeout,
        )
        return map_status(answer.get("status"))

    async def _reserve(
        self, partner_id: str, req: v230.ReserveNow, timeout: float
    ) -> CommandResultType:
        ref = await self._evse(req.location_id, req.evse_uid)
        number = await self.state.reservation_id(
            req.token.country_code,
            req.token.party_id,
            req.reservation_id,
            station_id=ref.station_id,
            evse_id=ref.evse_id if req.evse_uid else None,
            expiry=req.expiry_date,
            now=self.clock(),
        )
        id_tag = id_tag_for(req.token, ref.ocpp_version)
        expiry = format_datetime(req.expiry_date)
        if ref.ocpp_version == "1.6":
            payload: dict[str, Any] = {
                "connectorId": ref.evse_id if req.evse_uid else 0,
                "expiryDate": expiry,
                "idTag": id_tag,
                "reservationId": number,
            }
        else:
            payload = {
                "id": number,
                "expiryDateTime": expiry,
                "idToken": {
                    "idToken": id_tag,
                    "type": _TOKEN_TYPES_2X.get(req.token.type.value, "Central"),
                },
            }
            if req.evse_uid:
                payload["evseId"] = ref.evse_id
        answer = await self.gateway.call(ref.station_id, "ReserveNow", payload, timeout)
        return map_status(answer.get("status"))

    async def _cancel(
        self, partner_id: str, req: CancelReservation, timeout: float
    ) -> CommandResultType:
        found = await self.state.find_reservation(
            await self.parties(partner_id), req.reservation_id
        )
        if found is None:
            return CommandResultType.UNKNOWN_RESERVATION
        number, station_id, _ = found
        if not self.gateway.is_connected(station_id):
            raise StationNotConnected(station_id)
        answer = await self.gateway.call(
            station_id, "CancelReservation", {"reservationId": number}, timeout
        )
        return map_status(answer.get("status"))
