"""Operator entry points: the ``/api/v1/ocpi/partners`` routes and :func:`create_partner`.

- :func:`build_operator_router` — ``POST /api/v1/ocpi/partners`` (create a partner, get its
  token A) and ``POST /api/v1/ocpi/partners/{id}/register`` (register with a partner's versions
  URL and token), for a running node;
- :func:`create_partner` — the same first step without a running node (``kilowatt ocpi
  add-partner``): the CLI opens the database and passes its :class:`~kilowatt.ocpi.store.OcpiStore`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from kilowatt.ocpi.cpo import Ocpi
from kilowatt.ocpi.registration import RegistrationError
from kilowatt.ocpi.settings import utcnow
from kilowatt.ocpi.store import OcpiStore

__all__ = ["NewPartner", "RegisterPartner", "build_operator_router", "create_partner"]


class NewPartner(BaseModel):
    """Body of ``POST /api/v1/ocpi/partners``."""

    name: str = Field(min_length=1, max_length=100)


class RegisterPartner(BaseModel):
    """Body of ``POST /api/v1/ocpi/partners/{id}/register``: the partner's URL and token."""

    versions_url: str
    token: str = Field(min_length=1, max_length=64)


def build_operator_router(ocpi: Ocpi, api_key: Callable[..., Any] | None = None) -> APIRouter:
    """``POST /api/v1/ocpi/partners`` and ``POST /api/v1/ocpi/partners/{id}/register``.

    ``api_key`` is a FastAPI dependency that rejects unauthenticated operators.
    """
    deps = [Depends(api_key)] if api_key is not None else []
    router = APIRouter(prefix="/api/v1/ocpi", dependencies=deps, tags=["ocpi"])

    @router.post("/partners", status_code=201)
    async def add_partner(body: NewPartner) -> dict[str, str]:
        partner_id, token_a, url = await ocpi.create_partner(body.name)
        return {"id": partner_id, "token_a": token_a, "versions_url": url}

    @router.post("/partners/{partner_id}/register")
    async def register(partner_id: str, body: RegisterPartner) -> JSONResponse:
        try:
            version = await ocpi.register_with(partner_id, body.versions_url, body.token)
        except KeyError:
            return JSONResponse({"detail": "unknown partner"}, 404)
        except RegistrationError as exc:
            return JSONResponse({"detail": str(exc), "ocpi_status_code": int(exc.status_code)}, 502)
        return JSONResponse({"id": partner_id, "version": version, "state": "REGISTERED"})

    return router


async def create_partner(store: OcpiStore, *, name: str, public_url: str) -> str:
    """Create an OCPI partner; returns ``id``, ``token_a`` and ``versions_url`` lines.

    Args:
        store: the OCPI tables (migrated).
        name: the partner's name, for operators.
        public_url: our external base URL (the versions URL is ``<public_url>/ocpi/versions``).

    Give token A and the versions URL to the partner out of band; it registers with them.
    """
    partner_id, token_a = await store.create_partner(name, now=utcnow())
    versions_url = f"{public_url.rstrip('/')}/ocpi/versions"
    return f"id            {partner_id}\ntoken_a       {token_a}\nversions_url  {versions_url}"
