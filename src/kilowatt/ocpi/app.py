"""The standalone OCPI application factory: :func:`create_ocpi_app`.

It wraps an :class:`~kilowatt.ocpi.cpo.Ocpi` in a FastAPI application — the same shape as the
``get_application(version_numbers, roles, modules, authenticator, crud, ...)`` factories of the
Python OCPI libraries, so OCPI can run without the rest of Kilowatt. The caller owns the
storage and passes it in::

    engine = create_async_engine("sqlite+aiosqlite:///ocpi.db")
    app = create_ocpi_app(
        store=OcpiStore(engine),
        versions=[VersionNumber.V2_3_0, VersionNumber.V2_2_1],
        roles=[Role.CPO],
        modules=[ModuleID.LOCATIONS, ModuleID.TARIFFS, ModuleID.COMMANDS],
        backend=my_backend,          # CpoBackend
        executor=my_executor,        # CommandExecutor
        country_code="NL", party_id="KWT", public_url="https://cpo.example.com",
    )

Inside Kilowatt the composition root (``kilowatt.app``) builds the :class:`Ocpi` through
:func:`kilowatt.roaming.build_roaming` and includes its routers in the main application.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kilowatt.ocpi.cpo import Ocpi, OcpiCore
from kilowatt.ocpi.envelope import OcpiError, StatusCode, envelope
from kilowatt.ocpi.models.common import ModuleID, Role, VersionNumber
from kilowatt.ocpi.protocols import Authenticator, CommandExecutor, CpoBackend
from kilowatt.ocpi.routes import build_router
from kilowatt.ocpi.settings import OcpiSettings, utcnow
from kilowatt.ocpi.store import OcpiStore

__all__ = ["create_ocpi_app"]


def create_ocpi_app(
    *,
    backend: CpoBackend,
    store: OcpiStore,
    country_code: str,
    party_id: str,
    public_url: str,
    versions: Sequence[VersionNumber | str] = (VersionNumber.V2_3_0, VersionNumber.V2_2_1),
    roles: Sequence[Role | str] = (Role.CPO,),
    modules: Sequence[ModuleID | str] = (
        ModuleID.LOCATIONS,
        ModuleID.SESSIONS,
        ModuleID.CDRS,
        ModuleID.TARIFFS,
        ModuleID.TOKENS,
        ModuleID.COMMANDS,
    ),
    authenticator: Authenticator | None = None,
    executor: CommandExecutor | None = None,
    create_tables: bool = True,
    run_worker: bool = True,
    business_name: str = "Kilowatt CPO",
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = utcnow,
    **settings: Any,
) -> FastAPI:
    """Build a standalone OCPI CPO application.

    Args:
        backend: :class:`~kilowatt.ocpi.protocols.CpoBackend` (data of the sender modules).
        country_code, party_id: our party; public_url: our external base URL.
        versions / roles / modules: what to serve (only the CPO role is implemented).
        authenticator: :class:`~kilowatt.ocpi.protocols.Authenticator`; default: tokens
            issued by the credentials handshake.
        executor: :class:`~kilowatt.ocpi.protocols.CommandExecutor` for the commands module.
        store: where the OCPI tables live (:class:`~kilowatt.ocpi.store.OcpiStore` over the
            caller's engine; the caller disposes of the engine).
        create_tables: create the OCPI tables at startup (no Alembic).
        run_worker: start the outbox delivery task at startup.
        settings: further :class:`~kilowatt.ocpi.settings.OcpiSettings` fields
            (``max_limit``, ``command_timeout``, ``retry_base``, ...).

    The resulting app exposes its :class:`Ocpi` as ``app.state.ocpi``. Unknown paths
    (including any URL with a trailing slash — OCPI URLs have none) get HTTP 404 with the
    OCPI envelope; no redirects.
    """
    cfg = OcpiSettings(
        country_code=country_code,
        party_id=party_id,
        public_url=public_url.rstrip("/"),
        business_name=business_name,
        versions=tuple(VersionNumber(v) for v in versions),
        roles=tuple(Role(r) for r in roles),
        modules=tuple(ModuleID(m) for m in modules),
        clock=clock,
        **settings,
    )
    ocpi = Ocpi(
        OcpiCore.create(cfg, store, http=http), backend, executor, authenticator=authenticator
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ocpi.start(create_tables=create_tables, run_worker=run_worker)
        try:
            yield
        finally:
            await ocpi.stop()

    app = FastAPI(title="Kilowatt OCPI", lifespan=lifespan, redirect_slashes=False)
    app.state.ocpi = ocpi
    app.include_router(build_router(ocpi))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = StatusCode.CLIENT_ERROR if exc.status_code < 500 else StatusCode.SERVER_ERROR
        return JSONResponse(
            envelope(None, code, str(exc.detail), include_data=False), exc.status_code
        )

    @app.exception_handler(OcpiError)
    async def ocpi_error(_: Request, exc: OcpiError) -> JSONResponse:
        return JSONResponse(
            envelope(exc.data, exc.status_code, exc.message, include_data=exc.data is not None),
            exc.http_status,
        )

    return app
