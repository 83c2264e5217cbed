"""Outbound OCPI HTTP client (httpx): what Kilowatt sends to partners.

Every request carries ``Authorization: Token <base64(token)>`` (OCPI 2.2.1 Part I
§Authorization header), a fresh ``X-Request-ID`` and an ``X-Correlation-ID``, and — for
functional modules — the four routing headers (``OCPI-from-*`` = us, ``OCPI-to-*`` = them).
A response is accepted when the HTTP status is 2xx and the envelope's ``status_code`` is 1xxx.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from kilowatt.ocpi.models.common import Version as VersionInfo
from kilowatt.ocpi.models.common import VersionDetails, VersionNumber


class PartnerError(Exception):
    """A partner request failed (network, HTTP status, bad envelope or non-1xxx status)."""


def encode_token(token: str) -> str:
    """``Authorization`` header value for a credentials token (2.2+: base64)."""
    return "Token " + base64.b64encode(token.encode()).decode()


@dataclass(frozen=True, slots=True)
class Party:
    """A ``(country_code, party_id)`` pair, as used in routing headers."""

    country_code: str
    party_id: str


class OcpiClient:
    """Thin async client over :class:`httpx.AsyncClient` (owned or injected)."""

    def __init__(self, http: httpx.AsyncClient | None = None, *, timeout: float = 10.0) -> None:
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owned = http is None

    async def aclose(self) -> None:
        """Close the underlying client if we created it."""
        if self._owned:
            await self._http.aclose()

    async def request(
        self,
        method: str,
        url: str,
        token: str,
        *,
        json: Any = None,
        sender: Party | None = None,
        receiver: Party | None = None,
        correlation_id: str | None = None,
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """Send one request and return the response and its parsed envelope.

        Raises :class:`PartnerError` on any failure (so callers can retry).
        """
        headers = {
            "Authorization": encode_token(token),
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": correlation_id or str(uuid.uuid4()),
        }
        if sender is not None:
            headers["OCPI-from-country-code"] = sender.country_code
            headers["OCPI-from-party-id"] = sender.party_id
        if receiver is not None:
            headers["OCPI-to-country-code"] = receiver.country_code
            headers["OCPI-to-party-id"] = receiver.party_id
        try:
            resp = await self._http.request(method, url, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise PartnerError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        if resp.status_code // 100 != 2:
            raise PartnerError(f"{method} {url}: HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError as exc:
            raise PartnerError(f"{method} {url}: response is not JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("status_code"), int):
            raise PartnerError(f"{method} {url}: response is not an OCPI envelope")
        if body["status_code"] // 1000 != 1:
            raise PartnerError(
                f"{method} {url}: OCPI {body['status_code']} {body.get('status_message', '')}"
            )
        return resp, body

    async def get_versions(self, url: str, token: str) -> list[VersionInfo]:
        """GET a versions endpoint (``version_information_endpoint`` §Version information)."""
        _, body = await self.request("GET", url, token)
        data = body.get("data")
        if not isinstance(data, list):
            raise PartnerError(f"GET {url}: versions data is not a list")
        return [VersionInfo.model_validate(v) for v in data]

    async def get_details(self, url: str, token: str) -> VersionDetails:
        """GET a version details endpoint."""
        _, body = await self.request("GET", url, token)
        return VersionDetails.model_validate(body.get("data"))


def pick_version(ours: list[VersionNumber], theirs: list[VersionInfo]) -> VersionInfo | None:
    """Highest version both sides support (``credentials`` §Registration step 3), or ``None``."""
    supported = {str(v) for v in ours}
    common = [v for v in theirs if v.version in supported]
    if not common:
        return None
    return max(common, key=lambda v: tuple(int(p) for p in v.version.split(".")))
