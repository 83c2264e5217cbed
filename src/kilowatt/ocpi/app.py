"""Composition of the OCPI layer and the application factory.

:class:`Ocpi` wires settings, storage, the partner HTTP client, registration, tokens,
commands, the outbox worker and the push API. :func:`create_ocpi_app` wraps it in a FastAPI
application — the same shape as the ``get_application(version_numbers, roles, modules,
authenticator, crud, ...)`` factories of the Python OCPI libraries, so OCPI can run without
the rest of Kilowatt::

    app = create_ocpi_app(
        versions=[VersionNumber.V2_3_0, VersionNumber.V2_2_1],
        roles=[Role.CPO],
        modules=[ModuleID.LOCATIONS, ModuleID.TARIFFS, ModuleID.COMMANDS],
        backend=my_backend,          # CpoBackend
        executor=my_executor,        # CommandExecutor
        country_code="NL", party_id="KWT", public_url="https://cpo.example.com",
        database_url="sqlite+aiosqlite:///ocpi.db",
    )

Inside Kilowatt, ``app.py`` builds one :class:`Ocpi`, includes ``ocpi.router()`` and
``ocpi.operator_router(api_key_dependency)`` in the main application and calls
``await ocpi.start()`` / ``await ocpi.stop()`` from its lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from starlette.exceptions import HTTPException as StarletteHTTPException

from kilowatt.ocpi.client import OcpiClient
from kilowatt.ocpi.commands import CommandService
from kilowatt.ocpi.envelope import OcpiError, StatusCode, envelope
from kilowatt.ocpi.models.common import ModuleID, Role, VersionNumber
from kilowatt.ocpi.outbox import OutboxWorker, Push
from kilowatt.ocpi.protocols import Authenticator, CommandExecutor, CpoBackend
from kilowatt.ocpi.registration import Registration, RegistrationError, StoreAuthenticator
from kilowatt.ocpi.routes import build_router
from kilowatt.ocpi.settings import OcpiSettings, utcnow
from kilowatt.ocpi.store import OcpiStore, Writer
from kilowatt.ocpi.tokens import TokenService


class Ocpi:
    """One OCPI CPO node: services plus routers. Create it, mount its routers, ``start()`` it.

    Args:
        settings: party identity, URLs, limits.
        engine: SQLAlchemy async engine holding the OCPI tables.
        backend: read side of locations/sessions/CDRs/tariffs.
        executor: carries commands to chargers; ``None`` answers NOT_SUPPORTED.
        authenticator: token → partner; defaults to the tokens stored by registration.
        http: httpx client for calls to partners (default: a new one, 10 s timeout).
        writer: runs the store's write transactions (see :class:`~kilowatt.ocpi.store.Writer`;
            inside Kilowatt the CSMS's group-commit writer, so SQLite keeps one writer).
    """

    def __init__(
        self,
        settings: OcpiSettings,
        engine: AsyncEngine,
        backend: CpoBackend,
        executor: CommandExecutor | None = None,
        *,
        authenticator: Authenticator | None = None,
        http: httpx.AsyncClient | None = None,
        writer: Writer | None = None,
    ) -> None:
        unsupported = set(settings.roles) - {Role.CPO}
        if unsupported:
            raise ValueError(f"roles not implemented: {sorted(unsupported)}")
        self.settings = settings
        self.store = OcpiStore(engine, writer)
        self.backend = backend
        self.client = OcpiClient(http)
        self.authenticator: Authenticator = authenticator or StoreAuthenticator(self.store)
        self.registration = Registration(settings, self.store, self.client)
        self.tokens = TokenService(settings, self.store, self.client)
        self.outbox = OutboxWorker(settings, self.store, self.client)
        self.push = Push(settings, self.store, self.outbox)
        self.commands = CommandService(settings, self.store, backend, executor, self.outbox)
        self._worker: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, create_tables: bool = False, run_worker: bool = True) -> None:
        """Recover pending commands and start the outbox worker.

        ``create_tables`` creates the OCPI tables (when Alembic migrations are not used).
        """
        if create_tables:
            await self.store.create_tables()
        await self.commands.recover()
        if run_worker and self._worker is None:
            self._worker = asyncio.create_task(self.outbox.run(), name="ocpi-outbox")

    async def stop(self) -> None:
        """Stop the worker and in-flight commands (pending ones stay in the database)."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        await self.commands.aclose()
        await self.client.aclose()

    # ------------------------------------------------------------------ operator functions

    async def create_partner(self, name: str) -> tuple[str, str, str]:
        """Create a partner; returns ``(partner_id, token_a, versions_url)`` to hand over."""
        return await self.registration.create_partner(name)

    async def register_with(self, partner_id: str, versions_url: str, token: str) -> str:
        """Register with a partner using its versions URL and token; returns the version."""
        return await self.registration.register_with(partner_id, versions_url, token)

    async def authorize_token(self, uid: str, type_: str = "RFID", **kw: Any) -> Any:
        """Shortcut for :meth:`kilowatt.ocpi.tokens.TokenService.authorize_token`."""
        return await self.tokens.authorize_token(uid, type_, **kw)

    # ------------------------------------------------------------------ routers

    def router(self) -> APIRouter:
        """The ``/ocpi/...`` routes."""
        return build_router(self)

    def operator_router(self, api_key: Callable[..., Any] | None = None) -> APIRouter:
        """``POST /api/v1/ocpi/partners`` and ``POST /api/v1/ocpi/partners/{id}/register``.

        ``api_key`` is a FastAPI dependency that rejects unauthenticated operators.
        """
        deps = [Depends(api_key)] if api_key is not None else []
        router = APIRouter(prefix="/api/v1/ocpi", dependencies=deps, tags=["ocpi"])

        @router.post("/partners", status_code=201)
        async def add_partner(body: NewPartner) -> dict[str, str]:
            partner_id, token_a, url = await self.create_partner(body.name)
            return {"id": partner_id, "token_a": token_a, "versions_url": url}

        @router.post("/partners/{partner_id}/register")
        async def register(partner_id: str, body: RegisterPartner) -> JSONResponse:
            try:
                version = await self.register_with(partner_id, body.versions_url, body.token)
            except KeyError:
                return JSONResponse({"detail": "unknown partner"}, 404)
            except RegistrationError as exc:
                return JSONResponse(
                    {"detail": str(exc), "ocpi_status_code": int(exc.status_code)}, 502
                )
            return JSONResponse({"id": partner_id, "version": version, "state": "REGISTERED"})

        return router


class NewPartner(BaseModel):
    """Body of ``POST /api/v1/ocpi/partners``."""

    name: str = Field(min_length=1, max_length=100)


class RegisterPartner(BaseModel):
    """Body of ``POST /api/v1/ocpi/partners/{id}/register``: the partner's URL and token."""

    versions_url: str
    token: str = Field(min_length=1, max_length=64)


def _sqlite_memory(url: str) -> AsyncEngine:
    if url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"):
        return create_async_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    return create_async_engine(url)


def create_ocpi_app(
    *,
    backend: CpoBackend,
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
    engine: AsyncEngine | None = None,
    database_url: str = "sqlite+aiosqlite://",
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
        engine / database_url: where the OCPI tables live (default: in-memory SQLite).
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
        cfg,
        engine or _sqlite_memory(database_url),
        backend,
        executor,
        authenticator=authenticator,
        http=http,
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
    app.include_router(ocpi.router())

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
