"""Configuration of the OCPI layer (our party identity, URLs, limits, retry policy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kilowatt.ocpi.models.common import BusinessDetails, ModuleID, Role, VersionNumber


def utcnow() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OcpiSettings:
    """Settings of one OCPI CPO node.

    Attributes:
        country_code: our ISO 3166-1 alpha-2 code (``KILOWATT_OCPI_COUNTRY_CODE``).
        party_id: our 3-character party id (``KILOWATT_OCPI_PARTY_ID``).
        public_url: externally reachable base URL without trailing slash
            (``KILOWATT_PUBLIC_URL``), e.g. ``https://csms.example.com``.
        business_name: ``BusinessDetails.name`` in our credentials.
        versions: versions we serve, any order.
        roles: our roles (only CPO is implemented).
        modules: functional modules we expose (credentials is always on).
        default_limit / max_limit: page size when the client gives none / server cap.
        command_timeout: seconds announced in ``CommandResponse.timeout`` and enforced.
        retry_base / retry_max: outbox backoff in seconds: ``min(base * 2**attempts, max)``.
        delivery_lease: seconds an outbox row stays claimed by the attempt delivering it
            (longer than any request to a partner may take; the client's timeout is 10 s per
            phase); after a crash mid-request the row is due again when it ends.
        clock: returns aware UTC now (injectable for tests).
    """

    country_code: str
    party_id: str
    public_url: str
    business_name: str = "Kilowatt CPO"
    versions: tuple[VersionNumber, ...] = (VersionNumber.V2_3_0, VersionNumber.V2_2_1)
    roles: tuple[Role, ...] = (Role.CPO,)
    modules: tuple[ModuleID, ...] = (
        ModuleID.LOCATIONS,
        ModuleID.SESSIONS,
        ModuleID.CDRS,
        ModuleID.TARIFFS,
        ModuleID.TOKENS,
        ModuleID.COMMANDS,
    )
    default_limit: int = 50
    max_limit: int = 100
    command_timeout: float = 60.0
    retry_base: float = 1.0
    retry_max: float = 600.0
    delivery_lease: float = 120.0
    clock: Callable[[], datetime] = field(default=utcnow)

    @property
    def versions_url(self) -> str:
        """Our versions endpoint: ``{public_url}/ocpi/versions``."""
        return f"{self.public_url}/ocpi/versions"

    def details_url(self, version: str) -> str:
        """Our version details endpoint: ``{public_url}/ocpi/{version}``."""
        return f"{self.public_url}/ocpi/{version}"

    def credentials_url(self, version: str) -> str:
        """Our credentials endpoint for ``version``."""
        return f"{self.public_url}/ocpi/{version}/credentials"

    def module_url(self, version: str, module: ModuleID) -> str:
        """Our CPO endpoint of ``module``: ``{public_url}/ocpi/cpo/{version}/{module}``."""
        return f"{self.public_url}/ocpi/cpo/{version}/{module.value}"

    def business_details(self) -> BusinessDetails:
        """Our ``BusinessDetails``."""
        return BusinessDetails(name=self.business_name)
