"""The operator REST API (``/api/v1``, FastAPI), one module per resource.

Entry points: :func:`create_api` (a FastAPI app with the API under ``/api/v1`` and docs at
``/docs`` and ``/redoc``, whose assets this server serves itself: see :mod:`.docs`) or
:func:`create_router` (to mount into another app; then also call
:func:`~kilowatt.api.responses.install_error_handlers` on that app).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from kilowatt import __version__
from kilowatt.api import calls, id_tokens, locations, stations, tariffs, transactions
from kilowatt.api.context import ApiContext
from kilowatt.api.docs import install_docs
from kilowatt.api.responses import BAD_BODY, COMMON_ERRORS, install_error_handlers
from kilowatt.api.security import BearerAuth, load_or_create_api_key
from kilowatt.config import Settings
from kilowatt.csms.gateway import StationGateway
from kilowatt.csms.services import Services

__all__ = ["create_api", "create_router", "install_error_handlers", "load_or_create_api_key"]

API_PREFIX = "/api/v1"


def create_router(
    services: Services, gateway: StationGateway, settings: Settings, *, api_key: str
) -> APIRouter:
    """All ``/api/v1`` routes, each behind ``Authorization: Bearer <api_key>``.

    Every operation documents :data:`~kilowatt.api.responses.COMMON_ERRORS` (401 and 422,
    bodies :class:`~kilowatt.api.schemas.ErrorOut`) besides its own errors, and every one
    with a body :data:`~kilowatt.api.responses.BAD_BODY` (400).
    """
    ctx = ApiContext(services, gateway, settings)
    api = APIRouter(
        prefix=API_PREFIX,
        dependencies=[Depends(BearerAuth(api_key))],
        responses=COMMON_ERRORS,
    )
    for module in (stations, calls, id_tokens, transactions, locations, tariffs):
        resource = module.router(ctx)
        for route in resource.routes:
            # Before include_router: it builds the final routes (and their response models).
            if isinstance(route, APIRoute) and route.body_field is not None:
                route.responses.setdefault(400, BAD_BODY)
        api.include_router(resource)
    return api


def create_api(
    services: Services,
    gateway: StationGateway,
    settings: Settings,
    *,
    api_key: str | None = None,
) -> FastAPI:
    """The operator API app: ``/api/v1/...``, OpenAPI at ``/openapi.json``, docs at ``/docs``.

    The docs (Swagger UI at ``/docs``, ReDoc at ``/redoc``) and ``/openapi.json`` need no key;
    they load every asset from this server (:func:`~kilowatt.api.docs.install_docs`), so they
    render on a site without Internet access. The OpenAPI document declares the bearer scheme of
    :class:`~kilowatt.api.security.BearerAuth`, so the Authorize button of ``/docs`` takes the
    API key and "Try it out" sends it.

    ``api_key`` defaults to ``settings.api_key``; the composition root passes the key from
    :func:`load_or_create_api_key` when none was configured.

    Raises:
        ValueError: no API key at all.
    """
    key = api_key or settings.api_key
    if not key:
        raise ValueError("create_api needs an API key (settings.api_key or api_key=)")
    app = FastAPI(
        title="Kilowatt operator API",
        version=__version__,
        description="Manage stations, id tokens and transactions; control stations. "
        "Every endpoint needs `Authorization: Bearer <api key>` (on /docs: the Authorize button).",
        docs_url=None,  # FastAPI's pages load from a CDN; install_docs serves ours offline
        redoc_url=None,
    )
    app.include_router(create_router(services, gateway, settings, api_key=key))
    install_error_handlers(app)
    install_docs(app)
    return app
