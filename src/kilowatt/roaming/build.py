"""OCPI as CPO on top of the CSMS: the single entry point of the composition root.

:func:`install_ocpi` builds the OCPI layer (:class:`kilowatt.ocpi.Ocpi`) with the CSMS as its
backend (:mod:`.ocpi_backend`), OCPP as its command executor (:mod:`.ocpi_commands`), eMSP
tokens as the CSMS's remote authorizer (:mod:`.ocpi_authorizer`) and the event bus feeding the
push outbox (:mod:`.ocpi_events`); it mounts ``/ocpi`` and ``/api/v1/ocpi/partners`` on the
application and starts the outbox worker and the event consumer. In ``app.py``::

    self.ocpi = await install_ocpi(self.api, settings, self.services, self.gateway, self.db,
                                   BearerAuth(self.api_key))
    ...
    await self.ocpi.stop()

Without ``ocpi_country_code``/``ocpi_party_id`` in the settings OCPI stays off (a warning is
logged; the handle's ``stop()`` does nothing). Options from the ``[ocpi]`` table of the TOML
file (``settings.extra["ocpi"]``) or keyword arguments: ``command_timeout`` (s),
``max_limit``, ``default_limit``, ``retry_base``/``retry_max`` (s), ``delivery_lease`` (s),
``business_name``, ``default_currency``, ``pending_session_timeout`` (s, default 300: a
session whose remote start was accepted but whose transaction has not started by then is
PATCHed INVALID) and ``pending_session_sweep`` (s, how often that is checked; default the
smaller of 30 and half the timeout).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from kilowatt.bridges.ocpi_authorizer import OcpiAuthorizer
from kilowatt.bridges.ocpi_backend import CsmsCpoBackend
from kilowatt.bridges.ocpi_commands import OcppCommandExecutor
from kilowatt.bridges.ocpi_events import EventPump
from kilowatt.bridges.ocpi_sessions import PendingSweeper, SessionTracker
from kilowatt.bridges.ocpi_state import BridgeState
from kilowatt.bridges.ocpi_view import CsmsView, Party
from kilowatt.config import Settings
from kilowatt.csms.gateway import StationGateway
from kilowatt.csms.services import Services
from kilowatt.ocpi.app import Ocpi
from kilowatt.ocpi.settings import OcpiSettings, utcnow
from kilowatt.storage import Database

__all__ = ["OcpiHandle", "install_ocpi"]

log = logging.getLogger("kilowatt.bridges.ocpi")

_INSTALLED = "kilowatt_ocpi_installed"
"""Flag on ``app.state``: :func:`install_ocpi` ran for this application."""

_OPTIONS = (
    "command_timeout",
    "max_limit",
    "default_limit",
    "retry_base",
    "retry_max",
    "delivery_lease",
)


@dataclass
class OcpiHandle:
    """What :func:`install_ocpi` started; ``ocpi`` is None when OCPI is not configured."""

    ocpi: Ocpi | None = None
    events: EventPump | None = None
    sessions: SessionTracker | None = None
    state: BridgeState | None = None
    services: Services | None = None
    sweeper: PendingSweeper | None = None

    @property
    def enabled(self) -> bool:
        """True when OCPI is mounted and running."""
        return self.ocpi is not None

    async def idle(self) -> None:
        """Wait until published events are handled and commands in flight resolved."""
        if self.events is not None:
            await self.events.idle()
        if self.ocpi is not None:
            await self.ocpi.commands.wait_idle()
        if self.events is not None:
            await self.events.idle()

    async def stop(self) -> None:
        """Stop the event consumer and the outbox worker (pending work stays in the database)."""
        if self.services is not None:
            self.services.authorization.set_remote_authorizer(None)
        if self.sweeper is not None:
            await self.sweeper.stop()
        if self.events is not None:
            await self.events.stop()
        if self.ocpi is not None:
            await self.ocpi.stop()


def _public_url(settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.http_port}"


async def install_ocpi(
    app: FastAPI,
    settings: Settings,
    services: Services,
    gateway: StationGateway,
    db: Database,
    api_key_dependency: Callable[..., Any] | None,
    *,
    clock: Callable[[], datetime] = utcnow,
    **options: Any,
) -> OcpiHandle:
    """Mount OCPI 2.2.1/2.3.0 (CPO) on ``app`` and start its background work.

    Args:
        app: the HTTP application (gets ``/ocpi/...`` and ``/api/v1/ocpi/partners...``).
        settings: ``ocpi_country_code``, ``ocpi_party_id``, ``public_url`` (default
            ``http://<host>:<http_port>``), ``[ocpi]`` options.
        services / gateway / db: the CSMS.
        api_key_dependency: FastAPI dependency guarding the operator endpoints.
        options: override ``[ocpi]`` options (see the module docstring).

    Returns:
        An :class:`OcpiHandle`; call ``await handle.stop()`` at shutdown.

    Raises:
        RuntimeError: OCPI is already installed on ``app``. A second installation would run
            a second outbox worker, event pump and session tracker over the same tables:
            every push could then be delivered twice and a transaction start announced
            twice (each tracker has its own lock).
    """
    if getattr(app.state, _INSTALLED, False):
        raise RuntimeError("OCPI is already installed on this application")
    if not settings.ocpi_country_code or not settings.ocpi_party_id:
        log.info(
            "OCPI is off: set --ocpi-country-code and --ocpi-party-id "
            "(KILOWATT_OCPI_COUNTRY_CODE, KILOWATT_OCPI_PARTY_ID) to enable it"
        )
        return OcpiHandle()
    extra = dict(settings.extra.get("ocpi", {}) or {})
    extra.update(options)
    party = Party(settings.ocpi_country_code.upper(), settings.ocpi_party_id.upper())
    cfg = OcpiSettings(
        country_code=party.country_code,
        party_id=party.party_id,
        public_url=_public_url(settings),
        business_name=str(extra.get("business_name", "Kilowatt CPO")),
        clock=clock,
        **{k: extra[k] for k in _OPTIONS if k in extra},
    )
    setattr(app.state, _INSTALLED, True)
    await db.migrate()
    view = CsmsView(services, party)
    state = BridgeState(db)
    pending_timeout = float(extra.get("pending_session_timeout", 300.0))
    sessions = SessionTracker(
        view,
        state,
        clock=clock,
        default_currency=str(extra.get("default_currency", "EUR")),
        pending_timeout=pending_timeout,
    )
    sweeper = PendingSweeper(
        sessions, float(extra.get("pending_session_sweep", min(30.0, pending_timeout / 2)))
    )
    backend = CsmsCpoBackend(view, state, sessions)

    async def parties(partner_id: str) -> list[tuple[str, str]]:
        partner = await ocpi.store.get_partner(partner_id)
        roles = partner.roles if partner is not None else []
        return [(r.get("country_code", ""), r.get("party_id", "")) for r in roles]

    executor = OcppCommandExecutor(gateway, view, sessions, state, parties=parties, clock=clock)
    # The OCPI store writes through the CSMS's group-commit writer: one writer connection for
    # SQLite (see kilowatt.ocpi.store).
    ocpi = Ocpi(cfg, db.engine, backend, executor, writer=db.write)
    sessions.ocpi = ocpi
    app.include_router(ocpi.router())
    app.include_router(ocpi.operator_router(api_key_dependency))
    services.authorization.set_remote_authorizer(OcpiAuthorizer(services, ocpi, state, sessions))
    events = EventPump(services.bus, view, sessions, ocpi)
    await ocpi.start(run_worker=True)
    events.start()
    sweeper.start()
    versions = "/".join(v.value for v in cfg.versions)
    log.info("OCPI %s as %s*%s: %s", versions, party.country_code, party.party_id, cfg.versions_url)
    return OcpiHandle(
        ocpi=ocpi,
        events=events,
        sessions=sessions,
        state=state,
        services=services,
        sweeper=sweeper,
    )
