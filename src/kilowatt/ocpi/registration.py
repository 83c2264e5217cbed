"""Credentials module and the registration handshake (OCPI 2.2.1 Part I ``credentials``).

Registration started by the partner (token A → B → C):

1. The operator creates the partner: token A (out of band) and our versions URL.
2. The partner GETs our versions and details with token A and POSTs its Credentials (token B,
   its versions URL, roles) to our credentials endpoint.
3. We GET its versions with token B, choose the version (the one whose credentials endpoint
   was called when the partner supports it, else the highest common one), GET its details,
   store its endpoints and token B, answer with our Credentials carrying a new token C and
   retire token A.

Registration started by us (:meth:`Registration.register_with`): with the partner's versions
URL and the token it gave us, we GET its versions and details, issue a token C for it, POST our
Credentials to its credentials endpoint and store the token in its answer.

PUT replaces the tokens (and re-reads endpoints), DELETE unregisters; both need a registered
partner, otherwise HTTP 405 (``credentials`` §Interfaces). POST by an already registered
partner is 405 too. Failures talking to the partner: 3001; no common version: 3002; no
usable endpoints: 3003.
"""

from __future__ import annotations

from typing import Any

from kilowatt.ocpi.client import OcpiClient, PartnerError, pick_version
from kilowatt.ocpi.convert import from_wire, to_wire
from kilowatt.ocpi.envelope import OcpiError, StatusCode
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    CredentialsRole,
    Endpoint,
    InterfaceRole,
    ModuleID,
    Role,
    VersionNumber,
)
from kilowatt.ocpi.protocols import Caller, TokenStage
from kilowatt.ocpi.settings import OcpiSettings
from kilowatt.ocpi.store import OcpiStore, new_token


class RegistrationError(Exception):
    """Registration with a partner failed; ``status_code`` is the OCPI 3xxx reason."""

    def __init__(self, status_code: StatusCode, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class StoreAuthenticator:
    """The default :class:`~kilowatt.ocpi.protocols.Authenticator`: tokens in ``ocpi_partners``."""

    def __init__(self, store: OcpiStore) -> None:
        self._store = store

    async def authenticate(self, token: str) -> Caller | None:
        """Token C (any state but UNREGISTERED) or token A of a pending partner."""
        found = await self._store.find_by_token(token)
        if found is None:
            return None
        partner, stage = found
        parties = tuple(
            (str(r["country_code"]), str(r["party_id"]))
            for r in partner.roles
            if r.get("country_code") and r.get("party_id")
        )
        return Caller(
            partner.id,
            TokenStage(stage),
            partner.version,
            partner.country_code,
            partner.party_id,
            parties,
        )


class Registration:
    """Both directions of the credentials handshake, plus the operator functions."""

    def __init__(self, settings: OcpiSettings, store: OcpiStore, client: OcpiClient) -> None:
        self.settings = settings
        self.store = store
        self.client = client

    def our_credentials(self, token: str, version: str) -> dict[str, Any]:
        """Our Credentials object for ``version`` carrying ``token``."""
        s = self.settings
        creds = v230.Credentials(
            token=token,
            url=s.versions_url,
            roles=[
                CredentialsRole(
                    role=role,
                    business_details=s.business_details(),
                    party_id=s.party_id,
                    country_code=s.country_code,
                )
                for role in s.roles
            ],
        )
        return to_wire(creds, version)

    async def create_partner(self, name: str) -> tuple[str, str, str]:
        """Create a partner and its token A. Returns ``(partner_id, token_a, versions_url)``."""
        partner_id, token_a = await self.store.create_partner(name, now=self.settings.clock())
        return partner_id, token_a, self.settings.versions_url

    async def _connect(
        self, partner_id: str, versions_url: str, token: str, preferred: str | None
    ) -> tuple[str, list[Endpoint]]:
        """Fetch the partner's versions/details with ``token``; return version and endpoints."""
        try:
            versions = await self.client.get_versions(versions_url, token)
        except PartnerError as exc:
            raise RegistrationError(StatusCode.UNABLE_TO_USE_CLIENT_API, str(exc)) from exc
        chosen = next((v for v in versions if preferred and v.version == preferred), None)
        chosen = chosen or pick_version(list(self.settings.versions), versions)
        if chosen is None:
            raise RegistrationError(StatusCode.UNSUPPORTED_VERSION, "no common OCPI version")
        try:
            details = await self.client.get_details(chosen.url, token)
        except PartnerError as exc:
            raise RegistrationError(StatusCode.UNABLE_TO_USE_CLIENT_API, str(exc)) from exc
        if not details.endpoints:
            raise RegistrationError(StatusCode.NO_MATCHING_ENDPOINTS, "partner has no endpoints")
        return chosen.version, details.endpoints

    async def _store(
        self,
        partner_id: str,
        creds: v230.Credentials,
        version: str,
        endpoints: list[Endpoint],
        their_token: str,
    ) -> None:
        await self.store.register(
            partner_id,
            version=version,
            versions_url=creds.url,
            their_token=their_token,
            roles=[r.to_wire() for r in creds.roles],
            hub_party_id=creds.hub_party_id,
            endpoints=endpoints,
            now=self.settings.clock(),
        )

    # -------------------------------------------------------------- partner-initiated

    async def post(self, caller: Caller, body: Any, version: str) -> dict[str, Any]:
        """Credentials POST: token A → register, answer with token C."""
        partner = await self.store.get_partner(caller.partner_id)
        if partner is None or partner.state == "REGISTERED" or caller.stage is TokenStage.C:
            raise OcpiError(StatusCode.CLIENT_ERROR, "already registered: use PUT", http_status=405)
        return await self._accept(caller.partner_id, body, version)

    async def put(self, caller: Caller, body: Any, version: str) -> dict[str, Any]:
        """Credentials PUT: registered partner updates its token/URL; new token C."""
        partner = await self.store.get_partner(caller.partner_id)
        if partner is None or partner.state != "REGISTERED":
            raise OcpiError(StatusCode.CLIENT_ERROR, "not registered: use POST", http_status=405)
        return await self._accept(caller.partner_id, body, version)

    async def delete(self, caller: Caller) -> None:
        """Credentials DELETE: unregister the partner."""
        partner = await self.store.get_partner(caller.partner_id)
        if partner is None or partner.state != "REGISTERED":
            raise OcpiError(StatusCode.CLIENT_ERROR, "not registered", http_status=405)
        await self.store.unregister(caller.partner_id, now=self.settings.clock())

    async def _accept(self, partner_id: str, body: Any, version: str) -> dict[str, Any]:
        creds = from_wire(body, v230.Credentials, version)
        try:
            chosen, endpoints = await self._connect(partner_id, creds.url, creds.token, version)
        except RegistrationError as exc:
            raise OcpiError(exc.status_code, str(exc)) from exc
        await self._store(partner_id, creds, chosen, endpoints, creds.token)
        token_c = new_token()
        await self.store.set_our_token(partner_id, token_c, now=self.settings.clock())
        return self.our_credentials(token_c, chosen)

    # -------------------------------------------------------------- Kilowatt-initiated

    async def register_with(self, partner_id: str, versions_url: str, token: str) -> str:
        """Register with a partner ourselves; returns the negotiated version.

        Raises:
            KeyError: unknown ``partner_id``.
            RegistrationError: the partner could not be used (3001/3002/3003).
        """
        if await self.store.get_partner(partner_id) is None:
            raise KeyError(partner_id)
        version, endpoints = await self._connect(partner_id, versions_url, token, None)
        creds_url = next(
            (e.url for e in endpoints if e.identifier == ModuleID.CREDENTIALS.value), None
        )
        if creds_url is None:
            raise RegistrationError(StatusCode.NO_MATCHING_ENDPOINTS, "no credentials endpoint")
        token_c = new_token()
        await self.store.set_our_token(partner_id, token_c, now=self.settings.clock())
        try:
            _, body = await self.client.request(
                "POST", creds_url, token, json=self.our_credentials(token_c, version)
            )
            theirs = from_wire(body.get("data"), v230.Credentials, version)
        except (PartnerError, ValueError) as exc:
            raise RegistrationError(StatusCode.UNABLE_TO_USE_CLIENT_API, str(exc)) from exc
        await self._store(partner_id, theirs, version, endpoints, theirs.token)
        return version

    def our_endpoints(self, version: str) -> list[Endpoint]:
        """Endpoints listed in our version details (CPO role)."""
        s = self.settings
        eps = [
            Endpoint(
                identifier="credentials", role=InterfaceRole.SENDER, url=s.credentials_url(version)
            ),
            Endpoint(
                identifier="credentials",
                role=InterfaceRole.RECEIVER,
                url=s.credentials_url(version),
            ),
        ]
        receivers = {ModuleID.TOKENS, ModuleID.COMMANDS}
        if Role.CPO in s.roles:
            for module in s.modules:
                role = InterfaceRole.RECEIVER if module in receivers else InterfaceRole.SENDER
                eps.append(
                    Endpoint(identifier=module.value, role=role, url=s.module_url(version, module))
                )
        return eps


def supported(version: str, settings: OcpiSettings) -> bool:
    """Whether ``version`` is one we serve."""
    return version in {v.value for v in settings.versions} and version in {
        v.value for v in VersionNumber
    }
