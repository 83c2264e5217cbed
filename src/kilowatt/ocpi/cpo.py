"""The OCPI layer of one CPO party, as objects: :class:`OcpiCore` and :class:`Ocpi`.

Built in two steps, because the CSMS needs part of OCPI before it exists itself (the eMSP
tokens authorize OCPP id tokens) and the rest of OCPI needs the CSMS (as its backend):

1. :class:`OcpiCore` — storage, the partner HTTP client, token authorization, the push outbox.
   It depends on nothing but settings and an :class:`~kilowatt.ocpi.store.OcpiStore`.
2. :class:`Ocpi` — the core plus registration and commands, over a
   :class:`~kilowatt.ocpi.protocols.CpoBackend` and a
   :class:`~kilowatt.ocpi.protocols.CommandExecutor`.

Neither builds its own storage: the caller (Kilowatt's composition root, or
:func:`kilowatt.ocpi.app.create_ocpi_app`) passes the store. The HTTP routes are built from an
:class:`Ocpi` by :func:`kilowatt.ocpi.routes.build_router` and
:func:`kilowatt.ocpi.operator.build_operator_router`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import httpx

from kilowatt.ocpi.client import OcpiClient
from kilowatt.ocpi.commands import CommandService
from kilowatt.ocpi.models.common import Role
from kilowatt.ocpi.outbox import OutboxWorker, Push
from kilowatt.ocpi.protocols import Authenticator, CommandExecutor, CpoBackend
from kilowatt.ocpi.registration import Registration, StoreAuthenticator
from kilowatt.ocpi.settings import OcpiSettings
from kilowatt.ocpi.store import OcpiStore
from kilowatt.ocpi.tokens import TokenService

__all__ = ["Ocpi", "OcpiCore"]


@dataclass(frozen=True, slots=True)
class OcpiCore:
    """The part of OCPI that needs no backend: what the CSMS may use while it is being built.

    Attributes:
        settings: party identity, URLs, limits.
        store: the OCPI tables.
        client: HTTP client for calls to partners.
        tokens: eMSP tokens and their authorization (real-time or whitelist).
        outbox: durable delivery of pushes to partners.
        push: what to push (locations, sessions, CDRs, tariffs) into the outbox.
    """

    settings: OcpiSettings
    store: OcpiStore
    client: OcpiClient
    tokens: TokenService
    outbox: OutboxWorker
    push: Push

    @classmethod
    def create(
        cls, settings: OcpiSettings, store: OcpiStore, *, http: httpx.AsyncClient | None = None
    ) -> OcpiCore:
        """Build the core over ``store``; ``http`` defaults to a new client (10 s timeout)."""
        unsupported = set(settings.roles) - {Role.CPO}
        if unsupported:
            raise ValueError(f"roles not implemented: {sorted(unsupported)}")
        client = OcpiClient(http)
        outbox = OutboxWorker(settings, store, client)
        return cls(
            settings=settings,
            store=store,
            client=client,
            tokens=TokenService(settings, store, client),
            outbox=outbox,
            push=Push(settings, store, outbox),
        )


class Ocpi:
    """One OCPI CPO party: its core plus registration and commands. ``start()`` it.

    Args:
        core: storage, client, tokens and outbox (:class:`OcpiCore`).
        backend: read side of locations/sessions/CDRs/tariffs.
        executor: carries commands to chargers; ``None`` answers NOT_SUPPORTED.
        authenticator: token → partner; defaults to the tokens stored by registration.

    The core's parts are also attributes of this object (``settings``, ``store``, ``client``,
    ``tokens``, ``outbox``, ``push``).
    """

    def __init__(
        self,
        core: OcpiCore,
        backend: CpoBackend,
        executor: CommandExecutor | None = None,
        *,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.core = core
        self.settings = core.settings
        self.store = core.store
        self.client = core.client
        self.tokens = core.tokens
        self.outbox = core.outbox
        self.push = core.push
        self.backend = backend
        self.authenticator: Authenticator = authenticator or StoreAuthenticator(self.store)
        self.registration = Registration(self.settings, self.store, self.client)
        self.commands = CommandService(self.settings, self.store, backend, executor, self.outbox)
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
