"""The composition root: the only module that wires every layer into a running node.

Build order (:class:`Kilowatt`'s constructor; nothing is wired anywhere else):

1. settings → :class:`~kilowatt.storage.Database` → its repositories
   (:class:`~kilowatt.storage.sql.SqlRepositories`);
2. when OCPI is configured, the roaming parts the CSMS needs: the OCPI store and token
   service and the :class:`~kilowatt.roaming.OcpiAuthorizer` (eMSP tokens);
3. :meth:`Services.create <kilowatt.csms.services.Services.create>` on those repositories, with
   that remote authorizer;
4. the station gateway (:class:`~kilowatt.handlers.ConnectedStations`);
5. the rest of roaming over the services and gateway (:func:`~kilowatt.roaming.build_roaming`);
6. the HTTP app: the operator API (``/api/v1``, docs at ``/docs``) with the OCPI routers
   (``/ocpi``, ``/api/v1/ocpi/partners``) included;
7. at :meth:`Kilowatt.start`: migrations, roaming's background work, then the OCPP WebSocket
   server (handshake auth hook, TLS) and the HTTP server, on **one** event loop::

    node = Kilowatt(settings)
    await node.start()          # both servers listening
    ...
    await node.stop()           # close frames sent, pending writes committed

:func:`serve` runs a node until SIGINT/SIGTERM (what ``kilowatt serve`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import uvicorn

from kilowatt.api import create_api, load_or_create_api_key
from kilowatt.api.security import BearerAuth
from kilowatt.config import Settings
from kilowatt.csms.auth_throttle import AuthThrottle
from kilowatt.csms.events import DomainEvent, StationDeleted
from kilowatt.csms.identity import check_identity
from kilowatt.csms.model import ConnectDecision, StationInfo
from kilowatt.csms.services import Services
from kilowatt.handlers import ConnectedStations, handler_factory
from kilowatt.ocpi import OcpiCore, build_operator_router, build_router
from kilowatt.ocpi.store import OcpiStore
from kilowatt.roaming import OcpiAuthorizer, Roaming, RoamingConfig, RoamingState, build_roaming
from kilowatt.storage import Database
from kilowatt.storage.sql import SqlRepositories
from kilowatt.transport import (
    AuthResult,
    HandshakeRequest,
    OcppServer,
    Refusal,
    certificate_common_name,
    serve_ocpp,
)
from kilowatt.transport.limits import InboundLimits

__all__ = ["Kilowatt", "auth_hook", "auth_throttle", "serve", "tls_context"]

log = logging.getLogger("kilowatt.app")

PRUNE_INTERVAL = 3600.0
"""How often (s) the message journal is pruned to its retention."""


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """Server TLS for wss:// (security profile 2: TLS 1.2 or later, OCPP 2.0.1 A00.FR.3xx /
    1.6 Security Whitepaper §2.4); None without ``tls_cert``/``tls_key``."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(settings.tls_cert), str(settings.tls_key))
    return context


def auth_throttle(settings: Settings) -> AuthThrottle:
    """The failed-login throttle of a node, from ``settings.auth_throttle_*``."""
    return AuthThrottle(
        identity_failures=settings.auth_throttle_failures,
        address_failures=settings.auth_throttle_address_failures,
        max_delay=settings.auth_throttle_max_delay,
    )


def auth_hook(
    services: Services, throttle: AuthThrottle | None = None
) -> Callable[[HandshakeRequest], Any]:
    """The handshake check run before the WebSocket upgrade.

    An identity that breaks the station-id rule (:func:`~kilowatt.csms.identity.check_identity`:
    ≤ 48 URL-safe characters, no ``:``, not ``.``/``..``) gets HTTP 400 whatever the
    registration mode, so no station row the API cannot address is ever created.
    Unknown identity: accepted under open registration (the station is created when the
    connection opens), HTTP 404 under ``known``. Known identity: its security profile decides
    (:meth:`~kilowatt.csms.stations.StationService.check_connection`): wrong/missing Basic-auth
    password, or a profile-2 station without TLS (a downgrade), gets HTTP 401 and counts as
    a failure for ``throttle`` (per identity and per remote address); while either is
    throttled the handshake gets HTTP 429 with ``Retry-After`` before the password is checked.
    """

    async def check(request: HandshakeRequest) -> AuthResult:
        problem = check_identity(request.identity)
        if problem is not None:
            log.info("refused station identity %r: %s", request.identity, problem)
            return HTTPStatus.BAD_REQUEST
        address = request.remote_host
        if throttle is not None:
            blocked = throttle.check(request.identity, address)
            if blocked is not None:
                return Refusal(
                    HTTPStatus.TOO_MANY_REQUESTS,
                    retry_after=blocked.retry_after,
                    reason="too many failed logins, retry later",
                )
        cn = None
        if request.certificate is not None:
            cn = certificate_common_name(request.certificate)
        decision = await services.stations.check_connection(
            request.identity, request.password, tls=request.tls, client_cert_cn=cn
        )
        if decision is ConnectDecision.ACCEPT:
            if throttle is not None and request.password is not None:
                throttle.success(request.identity)
            return None
        if decision is ConnectDecision.UNKNOWN:
            log.info("refused unknown station %s (registration known)", request.identity)
            return HTTPStatus.NOT_FOUND
        if throttle is not None:
            throttle.failure(request.identity, address)  # logs, rate-limited
        else:
            log.warning(
                "refused station %s from %s: bad credentials or security profile",
                request.identity,
                address,
            )
        return HTTPStatus.UNAUTHORIZED

    return check


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the node decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class Kilowatt:
    """One running Kilowatt node (OCPP server + HTTP server + services) on this event loop.

    Args:
        settings: the node's settings; ports 0 pick free ports (see :attr:`ocpp_port`).
        throttle: the failed-login throttle of the handshake; built from ``settings`` when
            None (tests pass one with their own clock).
    """

    def __init__(self, settings: Settings, *, throttle: AuthThrottle | None = None) -> None:
        self.settings = settings
        self.throttle = auth_throttle(settings) if throttle is None else throttle
        self.db = Database(settings.database_url)
        roaming_config = RoamingConfig.from_settings(settings)
        authorizer: OcpiAuthorizer | None = None
        if roaming_config is not None:
            ocpi_core = OcpiCore.create(
                roaming_config.ocpi, OcpiStore(self.db.engine, self.db.write)
            )
            roaming_state = RoamingState(self.db)
            authorizer = OcpiAuthorizer(ocpi_core.tokens, roaming_state, self._station)
        self.services = Services.create(
            SqlRepositories(self.db), settings, remote_authorizer=authorizer
        )
        self.gateway = ConnectedStations()
        self.roaming: Roaming | None = None
        """OCPI as CPO; None when OCPI is off (no ``ocpi_country_code``/``ocpi_party_id``)."""
        if roaming_config is not None and authorizer is not None:
            self.roaming = build_roaming(
                roaming_config, ocpi_core, roaming_state, authorizer, self.services, self.gateway
            )
        self.api_key, self.api_key_generated = load_or_create_api_key(settings)
        self.api = create_api(self.services, self.gateway, settings, api_key=self.api_key)
        if self.roaming is not None:
            self.api.include_router(build_router(self.roaming.ocpi))
            self.api.include_router(
                build_operator_router(self.roaming.ocpi, BearerAuth(self.api_key))
            )
        self.ocpp: OcppServer[Any] | None = None
        self._http: _Uvicorn | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._prune_task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._stopped = False
        self.services.bus.add_listener(self._on_domain_event)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Migrate the database, then start the OCPP and HTTP servers."""
        settings = self.settings
        await self.db.migrate()
        if self.roaming is not None:
            await self.roaming.start()
        # A single node restarting holds no sockets: no station can still be connected.
        await self.services.stations.mark_all_disconnected()
        if invalid := await self.services.stations.invalid_identities():
            log.warning(
                "%d station(s) have an identity the API cannot address (created before the "
                "identity rule); list or delete them with: kilowatt stations invalid [--delete]",
                len(invalid),
            )
        if settings.registration == "open":
            log.warning(
                "registration is open: any station that connects is registered; "
                "use --registration known in production"
            )
        self.ocpp = serve_ocpp(
            handler_factory(self.services, self.gateway),
            settings.host,
            settings.ocpp_port,
            auth=auth_hook(self.services, self.throttle),
            ssl=tls_context(settings),
            call_timeout=settings.call_timeout,
            limits=InboundLimits(
                rate=settings.ocpp_inbound_rate,
                burst=settings.ocpp_inbound_burst,
                violation_budget=settings.ocpp_violation_budget,
                violation_window=settings.ocpp_violation_window,
            ),
        )
        await self.ocpp.start()
        config = uvicorn.Config(
            self.api,
            host=settings.host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        self._http = _Uvicorn(config)
        self._http_task = asyncio.create_task(self._http.serve(), name="kw-http")
        while not self._http.started:
            if self._http_task.done():
                await self._http_task  # raises what made it fail (e.g. port in use)
                raise RuntimeError("the HTTP server stopped during start-up")
            await asyncio.sleep(0.01)
        self._prune_task = asyncio.create_task(self._prune_loop(), name="kw-journal-prune")
        scheme = "wss" if self.settings.tls_enabled else "ws"
        log.info(
            "listening: OCPP %s://%s:%d/ocpp/<identity>, HTTP http://%s:%d (API /api/v1, /docs)",
            scheme,
            settings.host,
            self.ocpp_port,
            settings.host,
            self.http_port,
        )

    async def stop(self) -> None:
        """Stop both servers, send close frames, commit pending writes. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._prune_task is not None:
            self._prune_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prune_task
        if self._http is not None:
            self._http.should_exit = True
        if self.ocpp is not None:
            # Close code 1001 (going away) on every station connection; their handlers record
            # the disconnection before wait_closed returns.
            self.ocpp.close()
            await self.ocpp.wait_closed()
        if self._http_task is not None:
            with contextlib.suppress(Exception):
                await self._http_task
        if self.roaming is not None:
            await self.roaming.stop()
        await self.services.flush()
        await self.db.close()
        log.info("stopped")

    @property
    def ocpp_port(self) -> int:
        """The bound OCPP port (useful with ``ocpp_port=0``)."""
        assert self.ocpp is not None
        return self.ocpp.port

    @property
    def http_port(self) -> int:
        """The bound HTTP port (useful with ``http_port=0``)."""
        assert self._http is not None
        port: int = self._http.servers[0].sockets[0].getsockname()[1]
        return port

    async def _station(self, station_id: str) -> StationInfo:
        # The OCPI authorizer is built before the services it is given to, and looks stations
        # up through them when a token is presented (the one cycle between the CSMS and
        # roaming: the CSMS asks eMSP tokens, OCPI asks where the station is).
        return await self.services.stations.get(station_id)

    def _on_domain_event(self, event: DomainEvent) -> None:
        # A deleted station may not keep a socket whose every write would now fail: close it
        # (1008 policy violation); under open registration it may connect again as new.
        if isinstance(event, StationDeleted):
            handler = self.gateway.get(event.station_id)
            if handler is not None:
                task = asyncio.create_task(handler.close(1008, "station deleted"))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    async def _prune_loop(self) -> None:
        while True:
            try:
                removed = await self.services.journal.prune()
                if removed:
                    log.info("journal: pruned %d frames", removed)
            except Exception:
                log.exception("journal pruning failed")
            await asyncio.sleep(PRUNE_INTERVAL)


async def serve(
    settings: Settings, *, on_started: Callable[[Kilowatt], None] | None = None
) -> None:
    """Run a node until SIGINT or SIGTERM, then stop it cleanly."""
    node = Kilowatt(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await node.start()
        if on_started is not None:
            on_started(node)
        await stop.wait()
        log.info("shutting down")
    finally:
        await node.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
