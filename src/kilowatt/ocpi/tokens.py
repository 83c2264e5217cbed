"""Tokens receiver (CPO side) and token authorization: OCPI 2.2.1 Part II ``mod_tokens``.

eMSPs PUT/PATCH their Token objects to ``{tokens}/{country_code}/{party_id}/{uid}[?type=]``
(``type`` defaults to RFID) and may GET them back. :meth:`TokenService.authorize_token` is
what the CSMS calls for an OCPP Authorize of a token it does not know locally; it applies
the token's ``whitelist`` (§WhitelistType enum):

- ``ALWAYS``: real-time authorization at the eMSP (``POST {tokens}/{uid}/authorize``) every
  time; eMSP unreachable → NOT_ALLOWED.
- ``ALLOWED``: the stored token decides when valid; an invalid one is re-checked in real time.
- ``ALLOWED_OFFLINE``: real-time first; the stored token decides only if the eMSP is
  unreachable.
- ``NEVER``: the stored token decides (valid → ALLOWED, else BLOCKED); never ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kilowatt.ocpi.client import OcpiClient, PartnerError
from kilowatt.ocpi.convert import from_wire, to_wire
from kilowatt.ocpi.envelope import OcpiError, StatusCode
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    AllowedType,
    InterfaceRole,
    LocationReferences,
    ModuleID,
    WhitelistType,
)
from kilowatt.ocpi.protocols import Caller
from kilowatt.ocpi.settings import OcpiSettings
from kilowatt.ocpi.store import OcpiStore


@dataclass(frozen=True, slots=True)
class AuthorizationResult:
    """Outcome of :meth:`TokenService.authorize_token`.

    ``source`` is ``"whitelist"`` (decided from the stored token) or ``"realtime"``.
    ``authorization_reference`` comes from the eMSP and must be put in the Session/CDR.
    """

    allowed: AllowedType
    token: v230.Token
    source: str
    authorization_reference: str | None = None


class TokenService:
    """Stores eMSP tokens and authorizes them."""

    def __init__(self, settings: OcpiSettings, store: OcpiStore, client: OcpiClient) -> None:
        self.settings = settings
        self.store = store
        self.client = client

    async def _check_owner(self, caller: Caller, country_code: str, party_id: str) -> None:
        partner = await self.store.get_partner(caller.partner_id)
        roles = partner.roles if partner else []
        if not any(
            r.get("country_code", "").upper() == country_code.upper()
            and r.get("party_id", "").upper() == party_id.upper()
            for r in roles
        ):
            # transport_and_format §Client Owned Object Push: another party's objects → 404.
            raise OcpiError(StatusCode.CLIENT_ERROR, "Not your party", http_status=404)

    async def get(
        self, caller: Caller, country_code: str, party_id: str, uid: str, type_: str
    ) -> dict[str, Any]:
        """The stored token in the caller's version, or 404/2004."""
        await self._check_owner(caller, country_code, party_id)
        data = await self.store.get_token(country_code, party_id, uid, type_)
        if data is None:
            raise OcpiError(StatusCode.UNKNOWN_TOKEN, "Unknown token", http_status=404)
        return to_wire(v230.Token.model_validate(data), caller.version or "2.3.0")

    async def put(
        self, caller: Caller, country_code: str, party_id: str, uid: str, type_: str, body: Any
    ) -> bool:
        """Store a whole token; ``True`` when it was new (HTTP 201)."""
        await self._check_owner(caller, country_code, party_id)
        token = from_wire(body, v230.Token, caller.version or "2.3.0")
        if (token.country_code, token.party_id, token.uid, token.type.value) != (
            country_code,
            party_id,
            uid,
            type_,
        ):
            raise OcpiError(StatusCode.INVALID_PARAMETERS, "Object id differs from URL")
        return await self.store.put_token(
            token.to_wire(), partner_id=caller.partner_id, now=self.settings.clock()
        )

    async def patch(
        self, caller: Caller, country_code: str, party_id: str, uid: str, type_: str, body: Any
    ) -> None:
        """Merge fields into a stored token; ``last_updated`` is required (2001 otherwise)."""
        await self._check_owner(caller, country_code, party_id)
        if not isinstance(body, dict) or "last_updated" not in body:
            raise OcpiError(StatusCode.INVALID_PARAMETERS, "PATCH requires last_updated")
        current = await self.store.get_token(country_code, party_id, uid, type_)
        if current is None:
            raise OcpiError(StatusCode.UNKNOWN_TOKEN, "Unknown token", http_status=404)
        immutable = {"country_code", "party_id", "uid", "type"}
        if any(k in body and body[k] != current[k] for k in immutable):
            raise OcpiError(StatusCode.INVALID_PARAMETERS, "Identifying fields cannot change")
        merged = from_wire({**current, **body}, v230.Token, caller.version or "2.3.0")
        await self.store.put_token(
            merged.to_wire(), partner_id=caller.partner_id, now=self.settings.clock()
        )

    async def authorize_token(
        self,
        uid: str,
        type_: str = "RFID",
        *,
        location_id: str | None = None,
        evse_uids: list[str] | None = None,
    ) -> AuthorizationResult | None:
        """Authorize a token pushed by an eMSP; ``None`` when no eMSP has pushed ``uid``."""
        found = await self.store.find_tokens(uid, type_)
        if not found:
            return None
        partner_id, data = found[0]
        token = v230.Token.model_validate(data)
        local = AllowedType.ALLOWED if token.valid else AllowedType.BLOCKED
        wl = token.whitelist
        if wl is WhitelistType.NEVER or (wl is WhitelistType.ALLOWED and token.valid):
            return AuthorizationResult(local, token, "whitelist")
        try:
            if partner_id is None:
                raise PartnerError("token has no partner")
            return await self._realtime(partner_id, token, location_id, evse_uids)
        except PartnerError:
            if wl is WhitelistType.ALWAYS:
                return AuthorizationResult(AllowedType.NOT_ALLOWED, token, "whitelist")
            return AuthorizationResult(local, token, "whitelist")

    async def _realtime(
        self,
        partner_id: str,
        token: v230.Token,
        location_id: str | None,
        evse_uids: list[str] | None,
    ) -> AuthorizationResult:
        partner = await self.store.get_partner(partner_id)
        url = await self.store.endpoint(
            partner_id, ModuleID.TOKENS.value, InterfaceRole.SENDER.value
        )
        if partner is None or not partner.their_token or url is None:
            raise PartnerError("eMSP has no tokens sender endpoint")
        body = (
            LocationReferences(location_id=location_id, evse_uids=evse_uids).to_wire()
            if location_id
            else None
        )
        _, env = await self.client.request(
            "POST",
            f"{url}/{token.uid}/authorize?type={token.type.value}",
            partner.their_token,
            json=body,
        )
        try:
            info = from_wire(env.get("data"), v230.AuthorizationInfo, partner.version or "2.3.0")
        except ValueError as exc:
            raise PartnerError(f"bad AuthorizationInfo: {exc}") from exc
        return AuthorizationResult(info.allowed, token, "realtime", info.authorization_reference)
