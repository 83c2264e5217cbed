"""Builders the composition root calls to put OCPI (as CPO) on top of the CSMS.

Roaming is built in two steps around the CSMS services, because each needs a part of the
other: the CSMS asks eMSP tokens about id tokens it does not know (so the OCPI token service
and :class:`~kilowatt.roaming.authorizer.OcpiAuthorizer` exist first), and the rest of OCPI
reads the CSMS (so it comes after the services and the station gateway). In ``app.py``::

    config = RoamingConfig.from_settings(settings)          # None: OCPI is off
    core = OcpiCore.create(config.ocpi, OcpiStore(db.engine, db.write))
    state = RoamingState(db)
    authorizer = OcpiAuthorizer(core.tokens, state, station_lookup)
    services = Services.create(SqlRepositories(db), settings, remote_authorizer=authorizer)
    gateway = ConnectionGateway()
    roaming = build_roaming(config, core, state, authorizer, services, gateway)
    app.include_router(build_router(roaming.ocpi)); ...
    await roaming.start()   # after the migrations
    ...
    await roaming.stop()

Nothing here migrates, mounts routes or changes an object after it was built.

Options come from the ``[ocpi]`` table of the TOML file (``settings.extra["ocpi"]``) or keyword
arguments of :meth:`RoamingConfig.from_settings`: ``command_timeout`` (s), ``max_limit``,
``default_limit``, ``retry_base``/``retry_max`` (s), ``delivery_lease`` (s),
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

from kilowatt.config import Settings
from kilowatt.csms.gateway import StationGateway
from kilowatt.csms.services import Services
from kilowatt.ocpi.cpo import Ocpi, OcpiCore
from kilowatt.ocpi.settings import OcpiSettings, utcnow
from kilowatt.roaming.authorizer import OcpiAuthorizer
from kilowatt.roaming.backend import CsmsCpoBackend
from kilowatt.roaming.commands import OcppCommandExecutor
from kilowatt.roaming.pump import EventPump
from kilowatt.roaming.sessions import PendingSweeper, SessionTracker
from kilowatt.roaming.state import RoamingState
from kilowatt.roaming.view import CsmsView, Party

__all__ = ["Roaming", "RoamingConfig", "build_roaming"]

log = logging.getLogger("kilowatt.roaming")

_OPTIONS = (
    "command_timeout",
    "max_limit",
    "default_limit",
    "retry_base",
    "retry_max",
    "delivery_lease",
)


def _public_url(settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.http_port}"


@dataclass(frozen=True, slots=True)
class RoamingConfig:
    """What roaming is configured to be (see the module docstring for the options).

    Attributes:
        ocpi: the OCPI layer's settings (party, URLs, limits, clock).
        party: our party (country code, party id), upper case.
        default_currency: currency of sessions at locations without any tariff.
        pending_timeout: seconds a remotely started session may stay PENDING.
        pending_sweep: seconds between two checks for PENDING sessions that timed out.
    """

    ocpi: OcpiSettings
    party: Party
    default_currency: str
    pending_timeout: float
    pending_sweep: float

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        **options: Any,
    ) -> RoamingConfig | None:
        """The configuration from ``settings`` (``options`` override ``[ocpi]``).

        Returns None, and logs how to turn it on, without ``ocpi_country_code`` and
        ``ocpi_party_id``: OCPI is off.
        """
        if not settings.ocpi_country_code or not settings.ocpi_party_id:
            log.info(
                "OCPI is off: set --ocpi-country-code and --ocpi-party-id "
                "(KILOWATT_OCPI_COUNTRY_CODE, KILOWATT_OCPI_PARTY_ID) to enable it"
            )
            return None
        extra = dict(settings.extra.get("ocpi", {}) or {})
        extra.update(options)
        party = Party(settings.ocpi_country_code.upper(), settings.ocpi_party_id.upper())
        pending_timeout = float(extra.get("pending_session_timeout", 300.0))
        return cls(
            ocpi=OcpiSettings(
                country_code=party.country_code,
                party_id=party.party_id,
                public_url=_public_url(settings),
                business_name=str(extra.get("business_name", "Kilowatt CPO")),
                clock=clock,
                **{k: extra[k] for k in _OPTIONS if k in extra},
            ),
            party=party,
            default_currency=str(extra.get("default_currency", "EUR")),
            pending_timeout=pending_timeout,
            pending_sweep=float(extra.get("pending_session_sweep", min(30.0, pending_timeout / 2))),
        )


class Roaming:
    """OCPI as CPO on top of the CSMS, built by :func:`build_roaming`; ``start()`` it.

    Attributes:
        ocpi: the OCPI layer (its routers come from :func:`kilowatt.ocpi.build_router` and
            :func:`kilowatt.ocpi.build_operator_router`).
        pump: CSMS events → OCPI pushes.
        sessions: OCPI sessions and CDRs from transactions.
        state: the roaming tables.
        sweeper: expires remote starts that never became a transaction.
        authorizer: the CSMS's remote authorizer (eMSP tokens).
    """

    def __init__(
        self,
        ocpi: Ocpi,
        pump: EventPump,
        sessions: SessionTracker,
        state: RoamingState,
        sweeper: PendingSweeper,
        authorizer: OcpiAuthorizer,
    ) -> None:
        self.ocpi = ocpi
        self.pump = pump
        self.sessions = sessions
        self.state = state
        self.sweeper = sweeper
        self.authorizer = authorizer

    async def start(self) -> None:
        """Recover pending commands, then start the outbox worker, the event pump and the
        sweeper. Call it once the database is migrated."""
        await self.ocpi.start(run_worker=True)
        self.pump.start()
        self.sweeper.start()
        s = self.ocpi.settings
        versions = "/".join(v.value for v in s.versions)
        log.info("OCPI %s as %s*%s: %s", versions, s.country_code, s.party_id, s.versions_url)

    async def idle(self) -> None:
        """Wait until published events are handled and commands in flight resolved."""
        await self.pump.idle()
        await self.ocpi.commands.wait_idle()
        await self.pump.idle()

    async def stop(self) -> None:
        """Stop the sweeper, the event pump and the outbox worker (pending work stays in the
        database). Safe without :meth:`start`."""
        await self.sweeper.stop()
        await self.pump.stop()
        await self.ocpi.stop()


def build_roaming(
    config: RoamingConfig,
    core: OcpiCore,
    state: RoamingState,
    authorizer: OcpiAuthorizer,
    services: Services,
    gateway: StationGateway,
) -> Roaming:
    """Build OCPI over the CSMS: the view, sessions, backend, command executor and event pump.

    Args:
        config: from :meth:`RoamingConfig.from_settings`.
        core: the OCPI core built before the services (:class:`~kilowatt.ocpi.cpo.OcpiCore`).
        state: the roaming tables.
        authorizer: the remote authorizer the services were created with (its accepted
            tokens link charger-started sessions to eMSPs).
        services / gateway: the CSMS.

    The event pump subscribes to ``services.bus`` here, so no event published from now on is
    missed; nothing runs until :meth:`Roaming.start`.
    """
    clock = config.ocpi.clock
    view = CsmsView(services, config.party)
    sessions = SessionTracker(
        view,
        state,
        core.push,
        authorizer.authorizations,
        clock=clock,
        default_currency=config.default_currency,
        pending_timeout=config.pending_timeout,
    )
    store = core.store

    async def parties(partner_id: str) -> list[tuple[str, str]]:
        partner = await store.get_partner(partner_id)
        roles = partner.roles if partner is not None else []
        return [(r.get("country_code", ""), r.get("party_id", "")) for r in roles]

    executor = OcppCommandExecutor(gateway, view, sessions, state, parties=parties, clock=clock)
    ocpi = Ocpi(core, CsmsCpoBackend(view, state, sessions), executor)
    return Roaming(
        ocpi=ocpi,
        pump=EventPump(services.bus, view, sessions, core.push),
        sessions=sessions,
        state=state,
        sweeper=PendingSweeper(sessions, config.pending_sweep),
        authorizer=authorizer,
    )
