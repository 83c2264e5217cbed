"""The runtime of one simulated station: connection, boot, heartbeat, sessions, offline queue.

:class:`SimStation` holds everything that does not depend on the OCPP version; the subclasses in
:mod:`kilowatt.simulator.v16` and :mod:`kilowatt.simulator.v2x` build and read the messages of
their version and answer the CSMS's commands.

Behaviour, with the spec sources:

* Boot (1.6 §4.2, 2.0.1 B01–B03): BootNotification on every connection; Accepted sets the
  heartbeat interval; Pending/Rejected wait ``interval`` s (or ``boot_retry_s`` when 0) and
  send it again. Transaction messages wait until Accepted.
* Status (1.6 §4.9, 2.0.1 G01): a StatusNotification on every change of a connector's status,
  and for every connector after each accepted boot.
* Sessions: plug in, Authorize, start, periodic meter values at the sample interval, stop with a
  reason, unplug. Every transaction message goes through the :class:`OfflineQueue` and one sender
  delivers it head first, connected or not (see :mod:`kilowatt.simulator.queue`).
* Reconnect with exponential backoff and full jitter (2.0.1 B10 RetryBackOff*); scenario
  outages close the connection and keep the station offline for a while.

All times are on the simulated clock (:class:`SimClock`), in s; the timestamps a station reports
are the wall-clock instants of those times (see :class:`SimClock` for the two frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, ClassVar

from kilowatt.ocpp.errors import CallError, CallTimeout
from kilowatt.ocpp.version import OcppVersion
from kilowatt.simulator.connect import ConnectFailure, describe_failure
from kilowatt.simulator.meter import EvModel, MeterModel, MeterReading
from kilowatt.simulator.profiles import ChargingProfile, ProfileStore, to_posix
from kilowatt.simulator.queue import OfflineQueue, QueuedMessage
from kilowatt.simulator.reservations import ReservationStore
from kilowatt.simulator.scenario import MeterProfile, Scenario
from kilowatt.simulator.status import ChargePointStatus, StatusMachine16
from kilowatt.transport import (
    ConnectionClosed,
    HandshakeFailed,
    backoff_delays,
    connect_ocpp,
    station_url,
)
from kilowatt.transport.connection import OcppConnection
from kilowatt.transport.peer import StationClient

__all__ = ["Evse", "Session", "SimClock", "SimStation", "Stats", "StopReason"]

logger = logging.getLogger("kilowatt.simulator")

_S = ChargePointStatus


class SimClock:
    """The simulated clock of a run: POSIX seconds that pass ``scale`` times faster than the
    wall clock, starting at the wall-clock time of creation.

    Two time frames, on purpose:

    * **Durations are simulated.** Sessions, idle times, sample and heartbeat intervals,
      charging-profile periods and the energy the meter integrates run on :meth:`now`, so a
      600-second session takes one real second at ``scale`` 600 and still delivers 600 seconds'
      worth of energy.
    * **Instants sent to or received from the CSMS are real.** Every timestamp a station
      reports (:meth:`iso`) is the wall-clock time at which the simulated event happened, so the
      CSMS never sees a date in the future; the times between two such timestamps are therefore
      ``scale`` times shorter than the simulated durations they frame. Absolute times the CSMS
      sends (a charging profile's ``startSchedule``/``validFrom``/``validTo``, a reservation's
      expiry) are mapped onto the simulated timeline with :meth:`from_wall`, so they fall due at
      the real instant the CSMS meant.

    With ``scale`` 1 the two frames coincide.

    Args:
        scale: simulated seconds per wall-clock second (> 0).
        wall: returns the wall-clock POSIX time in s (inject for tests).
        monotonic: returns a monotonic time in s (inject for tests).
    """

    def __init__(
        self,
        scale: float = 1.0,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scale = scale
        self._monotonic = monotonic
        self._wall0 = wall()
        self._mono0 = monotonic()

    def now(self) -> float:
        """Simulated POSIX time in s (runs ``scale`` times faster than the wall clock)."""
        return self._wall0 + (self._monotonic() - self._mono0) * self.scale

    def wall(self, sim_seconds: float) -> float:
        """How many wall-clock seconds ``sim_seconds`` simulated seconds take."""
        return max(0.0, sim_seconds) / self.scale

    def to_wall(self, at: float | None = None) -> float:
        """The wall-clock POSIX time (s) at which the simulated instant ``at`` (default: now)
        happens in this run."""
        sim = self.now() if at is None else at
        return self._wall0 + (sim - self._wall0) / self.scale

    def from_wall(self, posix: float) -> float:
        """The simulated instant that happens at the wall-clock POSIX time ``posix`` (s): the
        inverse of :meth:`to_wall`, for absolute times the CSMS sends."""
        return self._wall0 + (posix - self._wall0) * self.scale

    def from_ocpp(self, value: datetime | str | None) -> float | None:
        """An absolute OCPP dateTime the CSMS sent (RFC 3339 text or datetime) as a simulated
        instant (:meth:`from_wall`); None stays None."""
        posix = to_posix(value)
        return None if posix is None else self.from_wall(posix)

    async def sleep(self, sim_seconds: float) -> None:
        """Sleep ``sim_seconds`` simulated seconds."""
        await asyncio.sleep(self.wall(sim_seconds))

    def iso(self, at: float | None = None) -> str:
        """The simulated instant ``at`` (default: now) as the OCPP dateTime the station reports:
        its wall-clock time (:meth:`to_wall`), UTC with milliseconds and ``Z``."""
        moment = datetime.fromtimestamp(self.to_wall(at), UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StopReason(Enum):
    """Why a session stopped; each version spells it its own way (see the adapters)."""

    LOCAL = "Local"
    REMOTE = "Remote"
    EV_DISCONNECTED = "EVDisconnected"
    HARD_RESET = "HardReset"
    SOFT_RESET = "SoftReset"
    DEAUTHORIZED = "DeAuthorized"
    UNLOCK = "UnlockCommand"
    FAULT = "Other"
    POWER_LOSS = "PowerLoss"
    SHUTDOWN = "Shutdown"
    """The run ended (duration elapsed, Ctrl-C, SIGTERM): the station is switched off by its
    operator, which no version names; see the adapters for the spelling (``Other``)."""


@dataclass
class Stats:
    """Counters of a run (one instance shared by all stations of a :class:`Simulation`).

    ``calls`` counts CALLs exchanged in both directions: ours that were answered and the
    CSMS's that we answered. ``errors`` counts CallErrors and timeouts of our calls,
    failed connection attempts and handler failures. ``rejected`` counts sessions that did not
    start because the id token was not accepted (Authorize answered other than Accepted).
    ``stopped_at_end`` counts sessions the end of the run stopped (:meth:`SimStation.shutdown`).
    """

    stations: int = 0
    connected: int = 0
    sessions_active: int = 0
    sessions_completed: int = 0
    energy_wh: float = 0.0
    calls: int = 0
    errors: int = 0
    connections: int = 0
    boots: int = 0
    queued: int = 0
    dropped: int = 0
    rejected: int = 0
    stopped_at_end: int = 0

    def snapshot(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict (energy rounded to 0.1 Wh)."""
        return {
            "stations": self.stations,
            "connected": self.connected,
            "sessions_active": self.sessions_active,
            "sessions_completed": self.sessions_completed,
            "energy_wh": round(self.energy_wh, 1),
            "calls": self.calls,
            "errors": self.errors,
            "connections": self.connections,
            "boots": self.boots,
            "queued": self.queued,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "stopped_at_end": self.stopped_at_end,
        }


_local_ids = itertools.count(1)


@dataclass
class Session:
    """One charging session (a transaction once started).

    ``transaction_id`` is the CSMS-assigned integer as text (1.6; None until StartTransaction is
    answered) or the station's own UUID (2.x). ``seq_no`` numbers the 2.x TransactionEvents.
    """

    evse_id: int
    id_token: str
    started: float
    meter_start_wh: float
    transaction_id: str | None = None
    local_id: int = field(default_factory=lambda: next(_local_ids))
    seq_no: int = 0
    remote_start_id: int | None = None
    reservation_id: int | None = None
    stop_reason: StopReason | None = None
    ended: float | None = None
    meter_stop_wh: float | None = None
    rejected: bool = False
    updates: int = 0
    """Periodic meter samples taken (queued) during the session."""

    def next_seq(self) -> int:
        """The next 2.x ``seqNo`` (0 for the Started event)."""
        value = self.seq_no
        self.seq_no += 1
        return value


class Evse:
    """One EVSE with one connector (id 1 in 2.x; the 1.6 connector id equals the EVSE id).

    ``status`` holds the detailed 1.6-style state; 2.x derives its connector status from it.
    """

    def __init__(self, evse_id: int, meter: MeterModel) -> None:
        self.id = evse_id
        self.status = StatusMachine16()
        self.meter = meter
        self.session: Session | None = None
        self.busy = False
        """A session is being set up or runs (blocks a second start)."""
        self.operative = True
        self.pending_inoperative = False
        self.fault: str | None = None
        self.stop_event = asyncio.Event()
        self.stop_reason: StopReason | None = None
        self.last_update: float | None = None
        self.rejections = 0
        """Sessions refused here because the id token was not accepted."""

    @property
    def free(self) -> bool:
        """True when a new session may start here (reservations are checked separately)."""
        return not self.busy and self.operative and self.fault is None


class SimStation:
    """One simulated station. Subclasses implement the version-specific messages.

    Args:
        number: 1-based station number (the identity is ``scenario.identity(number)``).
        url: the CSMS endpoint without the identity.
        scenario: the site description (versions, timings, sessions, faults, outages).
        stats: counters shared with the :class:`Simulation`.
        clock: the simulated clock shared by the run.
        ssl_context: the client TLS context for a ``wss://`` URL (None: the transport's
            default, which verifies against the system's trust store).
    """

    version: ClassVar[OcppVersion]
    connector_zero: ClassVar[bool] = False
    """1.6 reports the status of connector 0 (the whole charge point) as well."""

    def __init__(
        self,
        number: int,
        url: str,
        scenario: Scenario,
        *,
        stats: Stats | None = None,
        clock: SimClock | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.number = number
        self.ssl_context = ssl_context
        self.url = url
        self.scenario = scenario
        self.identity = scenario.identity(number)
        self.stats = stats if stats is not None else Stats()
        self.clock = clock if clock is not None else SimClock(scenario.time_scale)
        override = scenario.override(number)
        self.override = override
        self.password = (
            override.password if override and override.password is not None else scenario.password
        )
        evses = override.evses if override and override.evses else scenario.evses
        self.max_power_w = (
            override.max_power_w if override and override.max_power_w else scenario.max_power_w
        )
        seed = None if scenario.seed is None else scenario.seed * 100003 + number
        self.random = random.Random(seed)
        self.evses = [
            Evse(
                i,
                MeterModel(
                    self.max_power_w,
                    phases=scenario.phases,
                    energy_wh=float(self.random.randint(0, 5_000_000)),
                    seed=None if seed is None else seed * 31 + i,
                ),
            )
            for i in range(1, evses + 1)
        ]
        self.profiles = ProfileStore(evses, phases=scenario.phases)
        self.reservations = ReservationStore()
        self.queue: OfflineQueue[Any] = OfflineQueue(scenario.queue_capacity)
        self.link: StationClient | None = None
        self.registered = False
        """The current connection's BootNotification was Accepted."""
        self.ever_registered = False
        self.boot_status: str | None = None
        self.heartbeat_interval = float(scenario.heartbeat_interval_s)
        self.offline_until = 0.0
        self.rebooting = False
        self.reboots = 0
        """Reboots begun (a reset scheduled for later is dropped when another came first)."""
        self._in_reboot = False
        self._sending = 0
        """StatusNotifications spawned and not yet answered (a reboot lets them out first)."""
        self.boot_reason = "PowerUp"
        self._tokens = itertools.cycle(scenario.sessions.id_tokens)
        self._change = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.closing = False
        """The run is ending (:meth:`shutdown`): no new session starts."""
        self.connected_once = False
        """A connection was opened at least once (its boot may still have been refused)."""
        self.connect_failure: ConnectFailure | None = None
        """The last failed connection attempt, or None (kept after a later success)."""
        self.failed_attempts = 0
        self.completed: list[Session] = []
        """Sessions that have ended, oldest first."""
        self.log: list[tuple[str, str]] = []
        """(direction, action) of every message, for tests and debugging."""

    # -- version-specific hooks ------------------------------------------------------------

    def make_peer(self, connection: OcppConnection) -> StationClient:
        """Return the version's :class:`StationClient` for a new connection."""
        raise NotImplementedError

    def boot_request(self) -> Any:
        """The BootNotification request."""
        raise NotImplementedError

    def read_boot(self, response: Any) -> tuple[str, int]:
        """(status, interval s) of a BootNotification response."""
        return str(response.status), int(response.interval)

    def heartbeat_request(self) -> Any:
        """A Heartbeat request."""
        raise NotImplementedError

    def status_requests(self, evse: Evse | None) -> list[Any]:
        """StatusNotification request(s) for ``evse`` (None: connector 0, 1.6 only)."""
        raise NotImplementedError

    async def authorize(self, id_token: str) -> bool:
        """Authorize ``id_token`` online, or decide offline; True when it may charge."""
        raise NotImplementedError

    def queue_started(self, session: Session) -> None:
        """Queue the transaction start (StartTransaction / TransactionEvent Started)."""
        raise NotImplementedError

    def queue_updated(self, session: Session, trigger: str = "MeterValuePeriodic") -> None:
        """Queue a periodic sample (MeterValues / TransactionEvent Updated)."""
        raise NotImplementedError

    def queue_ended(self, session: Session) -> None:
        """Queue the transaction end (StopTransaction / TransactionEvent Ended)."""
        raise NotImplementedError

    def tx_answered(self, message: QueuedMessage[Any], response: Any) -> None:
        """React to the CSMS's answer to a queued transaction message."""

    def sample_interval(self) -> float:
        """MeterValueSampleInterval / TxUpdatedInterval in s (0 = no periodic samples)."""
        raise NotImplementedError

    def authorize_remote(self) -> bool:
        """AuthorizeRemoteTxRequests / AuthCtrlr.AuthorizeRemoteStart."""
        raise NotImplementedError

    def message_attempts(self) -> tuple[int, float]:
        """(attempts, retry interval s) for transaction messages answered with a CallError."""
        return 3, 30.0

    def visible_status(self, evse: Evse) -> str:
        """The status the version reports for ``evse``."""
        return evse.status.status.value

    # -- change notification ------------------------------------------------------------

    def notify(self) -> None:
        """Wake everything waiting in :meth:`wait_for` to re-check its condition."""
        self._change.set()
        self._change = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Wait until ``predicate()`` holds (re-checked on every :meth:`notify`).

        ``timeout`` is in simulated s; returns False when it expires first.
        """
        deadline = None if timeout is None else self.clock.now() + timeout
        while not predicate():
            event = self._change
            if deadline is None:
                await event.wait()
                continue
            remaining = deadline - self.clock.now()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), self.clock.wall(remaining))
        return True

    def spawn(self, coro: Any, name: str | None = None) -> asyncio.Task[Any]:
        """Run ``coro`` as a task owned by this station (cancelled by :meth:`stop`)."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats.errors += 1
            logger.error("%s: task failed", self.identity, exc_info=task.exception())

    # -- sending --------------------------------------------------------------------------

    async def call(self, request: Any) -> Any | None:
        """Send a non-transaction CALL if connected; return the response or None.

        None means: not connected, timed out, or answered with a CallError (counted in
        ``errors``). Such messages are not queued: their information is re-sent after the next
        boot (statuses) or is worthless later (heartbeats).
        """
        link = self.link
        if link is None:
            return None
        action = type(request).__name__.removesuffix("Request")
        self.log.append(("out", action))
        try:
            response = await link.call(request, timeout=self.scenario.call_timeout_s)
        except CallError as exc:
            self.stats.errors += 1
            logger.info("%s: %s answered with %s", self.identity, action, exc)
            return None
        except (CallTimeout, ConnectionClosed) as exc:
            self.stats.errors += 1
            logger.info("%s: %s not answered: %r", self.identity, action, exc)
            return None
        self.stats.calls += 1
        return response

    def enqueue(
        self,
        action: str,
        build: Callable[[], Any],
        *,
        session: Session | None = None,
        droppable: bool = False,
    ) -> None:
        """Queue a transaction message (see :mod:`kilowatt.simulator.queue`).

        ``build`` returns the request at send time, or None to skip the message.
        """
        before = self.queue.dropped
        message: QueuedMessage[Any] = QueuedMessage(action, build, droppable, self.clock.now())
        message.meta["session"] = session
        self.queue.put(message)
        self.stats.queued += 1
        self.stats.dropped += self.queue.dropped - before
        self.notify()

    @property
    def ready(self) -> bool:
        """Connected with an accepted boot: transaction messages may flow."""
        return self.link is not None and self.registered

    async def _sender(self) -> None:
        """Deliver the offline queue head first, one message at a time, forever."""
        while True:
            await self.wait_for(lambda: bool(self.queue) and self.ready)
            message = self.queue.peek()
            link = self.link
            if message is None or link is None:  # pragma: no cover - guarded by wait_for
                continue
            request = message.build()
            if request is None:  # the builder decided the message is moot (see the adapters)
                self.queue.pop()
                self.stats.queued -= 1
                continue
            self.log.append(("out", message.action))
            try:
                response = await link.call(request, timeout=self.scenario.call_timeout_s)
            except CallError as exc:
                self.stats.errors += 1
                message.attempts += 1
                attempts, interval = self.message_attempts()
                logger.info("%s: %s refused: %s", self.identity, message.action, exc)
                if message.attempts >= max(1, attempts):
                    self.queue.pop()  # the spec allows giving up (1.6 TransactionMessageAttempts)
                    self.stats.queued -= 1
                else:
                    await self.clock.sleep(interval * message.attempts)
                continue
            except CallTimeout:
                # Keep the message at the head and send it again: the CSMS may have processed
                # it, so it may see a duplicate -- exactly what a real charger does.
                self.stats.errors += 1
                continue
            except ConnectionClosed:
                # Kept at the head; replayed first after the reconnect.
                await self._wait_replaced(link)
                continue
            self.stats.calls += 1
            self.queue.pop()
            self.stats.queued -= 1
            self.tx_answered(message, response)
            self.notify()

    async def _wait_replaced(self, link: StationClient) -> None:
        """Wait until ``link`` is no longer the current connection."""
        await self.wait_for(lambda: self.link is not link)

    # -- status ---------------------------------------------------------------------------

    def set_status(self, evse: Evse, target: ChargePointStatus) -> None:
        """Move ``evse`` to ``target`` and send StatusNotification if the visible status changed.

        Raises:
            IllegalTransition: the version's state machine forbids the move.
        """
        before = self.visible_status(evse)
        if not evse.status.can_move(target) and evse.status.can_move(_S.AVAILABLE):
            # e.g. Preparing -> Unavailable is not in the 1.6 table: the car leaves first.
            self.set_status(evse, _S.AVAILABLE)
            before = self.visible_status(evse)
        evse.status.move(target)
        if self.visible_status(evse) != before:
            self.send_status(evse)
        self.notify()

    def send_status(self, evse: Evse | None) -> None:
        """Send the StatusNotification(s) of ``evse`` in the background (if registered)."""
        if not self.ready:
            return
        for request in self.status_requests(evse):
            self._sending += 1
            self.spawn(self._send_status(request), name=f"{self.identity}-status")

    async def _send_status(self, request: Any) -> None:
        try:
            await self.call(request)
        finally:
            self._sending -= 1
            self.notify()

    def idle_status(self, evse: Evse) -> ChargePointStatus:
        """The status of ``evse`` without a session: Faulted, Unavailable, Reserved or
        Available, in that order of precedence."""
        if evse.fault is not None:
            return _S.FAULTED
        if not evse.operative:
            return _S.UNAVAILABLE
        if self.reservations.for_evse(evse.id) is not None:
            return _S.RESERVED
        return _S.AVAILABLE

    def settle(self, evse: Evse) -> None:
        """Put an EVSE without a session into its idle status."""
        if evse.busy:
            return
        target = self.idle_status(evse)
        if evse.status.status is not target:
            self.set_status(evse, target)

    def evse(self, evse_id: int) -> Evse | None:
        """The EVSE with this id, or None."""
        if 1 <= evse_id <= len(self.evses):
            return self.evses[evse_id - 1]
        return None

    # -- meter ----------------------------------------------------------------------------

    def limit_w(self, evse: Evse, now: float) -> float | None:
        """The charging limit in W on ``evse`` now, from the installed profiles."""
        return self.profiles.limit_at(evse.id, now)

    def advance(self, evse: Evse) -> MeterReading:
        """Bring ``evse``'s meter to now and return a reading; count delivered energy."""
        now = self.clock.now()
        last = evse.last_update if evse.last_update is not None else now
        before = evse.meter.energy_wh
        # Step at most 10 s at a time so the SoC taper and profile periods are followed.
        t = last
        while t < now:
            step = min(10.0, now - t)
            limit = self.limit_w(evse, t)
            charging = evse.status.status in (_S.CHARGING, _S.SUSPENDED_EV)
            evse.meter.advance(step, limit_w=limit, energize=charging)
            t += step
        evse.last_update = now
        self.stats.energy_wh += evse.meter.energy_wh - before
        return evse.meter.reading()

    def pick_ev(self) -> EvModel:
        """A car drawn from the scenario's meter profiles (weighted)."""
        profiles = self.scenario.meter_profiles
        if self.override is not None and self.override.meter_profile is not None:
            chosen = self.scenario.profile(self.override.meter_profile)
            profiles = [chosen] if chosen is not None else profiles
        profile: MeterProfile = self.random.choices(profiles, [p.weight for p in profiles])[0]
        low, high = profile.soc_start_pct
        return EvModel(
            battery_wh=profile.battery_wh,
            soc_pct=self.random.uniform(low, high),
            max_power_w=profile.max_power_w,
            target_soc_pct=profile.soc_target_pct,
        )

    # -- sessions -------------------------------------------------------------------------

    def next_token(self) -> str:
        """The next id token of the scenario's list (round robin)."""
        return next(self._tokens)

    def reserve_for(self, evse: Evse, id_token: str) -> tuple[bool, int | None]:
        """(may start, reservation id consumed) for ``id_token`` on ``evse``."""
        reservation = self.reservations.for_evse(evse.id)
        if reservation is None:
            return True, None
        if not self.reservations.matches(evse.id, id_token):
            return False, None
        self.reservations.cancel(reservation.id)
        return True, reservation.id

    async def run_session(
        self,
        evse: Evse,
        id_token: str,
        *,
        authorize: bool,
        remote_start_id: int | None = None,
        duration_s: float | None = None,
        profile: ChargingProfile | None = None,
    ) -> Session | None:
        """Run one session on ``evse`` from plug-in to unplug; return it (None if refused).

        ``profile`` is a TxProfile sent with a remote start, installed once the transaction
        exists. The caller must have set ``evse.busy``; it is cleared at the end.
        """
        try:
            return await self._session(
                evse, id_token, authorize, remote_start_id, duration_s, profile
            )
        finally:
            evse.busy = False
            if evse.meter.ev is not None:
                evse.meter.unplug()
            self.settle(evse)
            self.notify()  # :meth:`shutdown` waits for every EVSE to be free

    async def _session(
        self,
        evse: Evse,
        id_token: str,
        authorize: bool,
        remote_start_id: int | None,
        duration_s: float | None,
        profile: ChargingProfile | None,
    ) -> Session | None:
        if self.closing:
            return None
        if authorize and not self.scenario.sessions.plug_in_first:
            # The driver taps the card first (the connector stays free while it is checked).
            if not await self.authorize(id_token):
                self.token_rejected(evse)
                return None
            authorize = False
            if self.closing:
                return None
        evse.meter.plug(self.pick_ev())
        evse.last_update = self.clock.now()
        self.set_status(evse, _S.PREPARING)
        if authorize and not await self.authorize(id_token):
            self.token_rejected(evse)
            self.set_status(evse, self.idle_status_after_session(evse))
            return None
        if self.closing:
            # The run ended while the token was checked: no transaction starts, so none is
            # left to stop (and nothing happens after this point without an await).
            self.set_status(evse, self.idle_status_after_session(evse))
            return None
        allowed, reservation_id = self.reserve_for(evse, id_token)
        if not allowed or evse.fault is not None or not evse.operative:
            self.set_status(evse, self.idle_status_after_session(evse))
            return None
        reading = self.advance(evse)
        session = Session(
            evse.id,
            id_token,
            self.clock.now(),
            reading.energy_wh,
            remote_start_id=remote_start_id,
            reservation_id=reservation_id,
        )
        evse.session = session
        evse.stop_event.clear()
        evse.stop_reason = None
        self.begin_transaction(session)
        self.profiles.transaction_started(
            evse.id, session.transaction_id or f"local-{session.local_id}", session.started
        )
        if profile is not None:
            profile.evse_id = evse.id
            self.profiles.install(profile)
        self.stats.sessions_active += 1
        self.set_status(evse, _S.CHARGING)
        self.queue_started(session)
        if duration_s is None:
            low, high = self.scenario.sessions.duration_s
            duration_s = self.random.uniform(low, high)
        end = session.started + duration_s
        next_sample = session.started + (self.sample_interval() or float("inf"))
        reason = StopReason.LOCAL
        while True:
            now = self.clock.now()
            wake = min(end, next_sample)
            if wake > now:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(evse.stop_event.wait(), self.clock.wall(wake - now))
            reading = self.advance(evse)
            if evse.stop_reason is not None:
                reason = evse.stop_reason
                break
            if session.rejected:
                reason = StopReason.DEAUTHORIZED
                break
            now = self.clock.now()
            ev = evse.meter.ev
            if ev is not None and ev.full and evse.status.status is _S.CHARGING:
                self.set_status(evse, _S.SUSPENDED_EV)
                self.queue_updated(session, "ChargingStateChanged")
            if now >= end:
                break
            if now >= next_sample:
                session.updates += 1
                self.queue_updated(session)
                interval = self.sample_interval() or float("inf")
                next_sample = max(next_sample + interval, now + interval * 0.5)
        return await self._finish(evse, session, reason)

    def token_rejected(self, evse: Evse) -> None:
        """Count a session refused because its id token was not accepted."""
        self.stats.rejected += 1
        evse.rejections += 1

    def idle_status_after_session(self, evse: Evse) -> ChargePointStatus:
        """Where a connector goes when a car leaves: like :meth:`idle_status`, but an
        inoperative change scheduled during the session takes effect now."""
        if evse.pending_inoperative:
            evse.pending_inoperative = False
            evse.operative = False
        return self.idle_status(evse)

    def change_availability(self, targets: list[Evse], operative: bool) -> bool:
        """Make ``targets`` operative or inoperative and settle each; a busy EVSE going
        inoperative is only scheduled (for when its session ends). True if any was scheduled."""
        scheduled = False
        for evse in targets:
            if operative:
                evse.operative = True
                evse.pending_inoperative = False
            elif evse.busy:
                evse.pending_inoperative = True
                scheduled = True
            else:
                evse.operative = False
            self.settle(evse)
        return scheduled

    def begin_transaction(self, session: Session) -> None:
        """Assign ids for a new transaction (2.x: its own UUID) and tell the profile store."""

    async def _finish(self, evse: Evse, session: Session, reason: StopReason) -> Session:
        reading = self.advance(evse)
        session.stop_reason = reason
        session.ended = self.clock.now()
        session.meter_stop_wh = reading.energy_wh
        self.queue_ended(session)
        self.completed.append(session)
        evse.session = None
        self.profiles.transaction_ended(evse.id)
        self.stats.sessions_active -= 1
        self.stats.sessions_completed += 1
        if evse.status.status is not _S.FINISHING:
            self.set_status(evse, _S.FINISHING)
        evse.meter.unplug()
        target = self.idle_status_after_session(evse)
        # Finishing -> Reserved is not in the 1.6 table: pass through Available.
        if target is _S.RESERVED:
            self.set_status(evse, _S.AVAILABLE)
        self.set_status(evse, target)
        return session

    def request_stop(self, evse: Evse, reason: StopReason) -> bool:
        """Ask the session on ``evse`` to stop; False when there is none."""
        if evse.session is None:
            return False
        evse.stop_reason = reason
        evse.stop_event.set()
        return True

    def find_session(self, transaction_id: str) -> Evse | None:
        """The EVSE running the transaction with this id, or None."""
        for evse in self.evses:
            if evse.session is not None and evse.session.transaction_id == transaction_id:
                return evse
        return None

    def start_remote(
        self,
        evse: Evse,
        id_token: str,
        remote_start_id: int | None = None,
        profile: ChargingProfile | None = None,
    ) -> None:
        """Start a session asked for by the CSMS (the caller checked ``evse.free``)."""
        evse.busy = True
        self.spawn(
            self.run_session(
                evse,
                id_token,
                authorize=self.authorize_remote(),
                remote_start_id=remote_start_id,
                profile=profile,
            ),
            name=f"{self.identity}-remote-{evse.id}",
        )

    async def _driver(self, evse: Evse) -> None:
        """Automatic sessions on ``evse``: a car arrives, charges, leaves, the EVSE idles.

        When the id token is refused, the driver does not present it again at once: the EVSE
        waits for the next card (:meth:`next_card_wall_s`), as a real charger stands idle until
        someone taps a card again, so a CSMS that rejects every token sees a few Authorize
        calls, not a tight loop.
        """
        sessions = self.scenario.sessions
        await self.wait_for(lambda: self.ever_registered or self.closing)
        await self.clock.sleep(self.random.uniform(*sessions.first_delay_s))
        count = 0
        while sessions.max_sessions is None or count < sessions.max_sessions:
            await self.wait_for(
                lambda: self.closing or (evse.free and self.reservations.for_evse(evse.id) is None)
            )
            if self.closing:
                return
            evse.busy = True
            rejections = evse.rejections
            await self.run_session(evse, self.next_token(), authorize=sessions.authorize)
            count += 1
            if evse.rejections > rejections:
                await asyncio.sleep(self.next_card_wall_s())
            else:
                await self.clock.sleep(self.random.uniform(*sessions.idle_s))

    def next_card_wall_s(self) -> float:
        """How long an EVSE waits after a refused id token before the next one is presented,
        in wall-clock s: ``sessions.next_card_s`` (simulated s, drawn uniformly) at the run's
        time scale, but never less than ``sessions.next_card_min_wall_s`` -- at a high time
        scale the simulated pause alone would shrink to milliseconds."""
        sessions = self.scenario.sessions
        pause = self.clock.wall(self.random.uniform(*sessions.next_card_s))
        return max(pause, sessions.next_card_min_wall_s)

    async def stop_all_sessions(self, reason: StopReason) -> None:
        """Stop every session and wait until they have ended (their end messages queued)."""
        for evse in self.evses:
            self.request_stop(evse, reason)
        await self.wait_for(lambda: all(e.session is None for e in self.evses))

    # -- scenario events ------------------------------------------------------------------

    async def _fault(self, at_s: float, evse_id: int, code: str, duration: float | None) -> None:
        evse = self.evse(evse_id)
        if evse is None:
            return
        await self.clock.sleep(at_s)
        evse.fault = code
        if not self.request_stop(evse, StopReason.FAULT):
            self.settle(evse)
        if duration is None:
            return
        await self.clock.sleep(duration)
        evse.fault = None
        self.settle(evse)

    async def _outage(self, at_s: float, duration: float) -> None:
        await self.clock.sleep(at_s)
        await self.go_offline(duration)

    async def go_offline(self, duration: float) -> None:
        """Drop the connection now and stay offline for ``duration`` simulated s."""
        self.offline_until = self.clock.now() + duration
        self.notify()
        link = self.link
        if link is not None:
            with contextlib.suppress(Exception):
                await link.close(1001, "network outage (simulated)")

    # -- connection -----------------------------------------------------------------------

    async def _connection_loop(self) -> None:
        delays = backoff_delays(self.scenario.reconnect_initial_s, self.scenario.reconnect_max_s)
        while not self._stopping:
            wait = self.offline_until - self.clock.now()
            if wait > 0:
                await self.clock.sleep(wait)
                continue
            try:
                peer = await connect_ocpp(
                    self.url,
                    self.identity,
                    self.make_peer,
                    versions=[self.version],
                    password=self.password,
                    ssl=self.ssl_context,
                    call_timeout=self.scenario.call_timeout_s,
                    ping_interval=None,
                )
            except (HandshakeFailed, OSError, TimeoutError) as exc:
                # Retry whatever the cause, like a charger (2.0.1 B10); the reason is kept for
                # the operator (kilowatt simulate prints it and exits non-zero when a station
                # never got in).
                self.stats.errors += 1
                self.failed_attempts += 1
                target = station_url(self.url, self.identity)
                self.connect_failure = ConnectFailure(
                    target, describe_failure(exc, target), self.failed_attempts
                )
                logger.info("%s: %s", self.identity, self.connect_failure)
                await asyncio.sleep(next(delays))
                continue
            self.connected_once = True
            delays = backoff_delays(
                self.scenario.reconnect_initial_s, self.scenario.reconnect_max_s
            )
            await self._online(peer)
            if self._stopping:
                break
            if self.rebooting:
                self.rebooting = False
                continue  # a reboot reconnects at once, like a charger that powers up again
            await asyncio.sleep(next(delays))

    async def _online(self, peer: StationClient) -> None:
        """Serve one connection: boot, statuses, heartbeats, until it closes."""
        self.link = peer
        self.stats.connected += 1
        self.stats.connections += 1
        self.notify()
        work = self.spawn(self._boot_and_beat(peer), name=f"{self.identity}-boot")
        try:
            await peer.connection.wait_closed()
        finally:
            work.cancel()
            self.link = None
            self.registered = False
            self.stats.connected -= 1
            self.notify()
            if not peer.connection.closed:
                # Cancelled (the simulation stops) while connected: close the socket now, or
                # the CSMS keeps seeing the station connected until the process exits.
                with contextlib.suppress(Exception):
                    await peer.close(1000, "simulation ended")

    async def _boot_and_beat(self, peer: StationClient) -> None:
        while True:
            response = await self.call(self.boot_request())
            if response is None:
                await self.clock.sleep(self.scenario.boot_retry_s)
                continue
            status, interval = self.read_boot(response)
            self.boot_status = status
            if status == "Accepted":
                if interval > 0:
                    self.heartbeat_interval = float(interval)
                    self.heartbeat_changed(interval)
                break
            await self.clock.sleep(interval if interval > 0 else self.scenario.boot_retry_s)
        self.stats.boots += 1
        self.boot_reason = "PowerUp"
        self.registered = True
        self.ever_registered = True
        self.notify()
        if self.connector_zero:
            self.send_status(None)
        for evse in self.evses:
            self.send_status(evse)
        while True:
            await self.clock.sleep(self.heartbeat_interval or 300.0)
            await self.call(self.heartbeat_request())

    def heartbeat_changed(self, interval: int) -> None:
        """Store the heartbeat interval the CSMS gave (in the configuration store)."""

    async def reboot(self, reason: StopReason, boot_reason: str = "RemoteReset") -> None:
        """Reset: stop every session, deliver what is queued, close, boot again.

        Configuration, availability and the meter registers survive, as on real hardware
        (1.6 §5.14 Reset; 2.0.1 B11/B12).
        """
        if self._in_reboot:
            return  # a second reset while rebooting changes nothing
        self._in_reboot = True
        self.reboots += 1
        try:
            await self.stop_all_sessions(reason)
            # Deliver the transaction messages and the statuses of the stopped sessions: a
            # charger finishes what it is sending before it restarts.
            await self.wait_for(
                lambda: (not self.queue and not self._sending) or not self.ready, timeout=30.0
            )
            self.reservations.expire(float("inf"))
            self.boot_reason = boot_reason
            self.rebooting = True
            link = self.link
            for evse in self.evses:
                evse.status = StatusMachine16(self.idle_status(evse))
            if link is not None:
                await link.close(1000, "reset")
        finally:
            self._in_reboot = False

    # -- lifecycle ------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the station until cancelled (or :meth:`stop`)."""
        self.stats.stations += 1
        try:
            self.spawn(self._sender(), name=f"{self.identity}-sender")
            self.spawn(self._reservation_expiry(), name=f"{self.identity}-reservations")
            if self.scenario.sessions.auto:
                for evse in self.evses:
                    self.spawn(self._driver(evse), name=f"{self.identity}-driver-{evse.id}")
            for fault in self.scenario.faults:
                if self.scenario.applies(fault.station, self.number):
                    self.spawn(
                        self._fault(fault.at_s, fault.evse, fault.error_code, fault.duration_s)
                    )
            for outage in self.scenario.outages:
                if self.scenario.applies(outage.station, self.number):
                    self.spawn(self._outage(outage.at_s, outage.duration_s))
            await self._connection_loop()
        finally:
            await self.stop()

    async def _reservation_expiry(self) -> None:
        while True:
            await self.clock.sleep(1.0)
            for reservation in self.reservations.expire(self.clock.now()):
                evse = self.evse(reservation.evse_id)
                if evse is not None:
                    self.settle(evse)

    async def shutdown(self) -> None:
        """End the run like a charger its operator switches off: stop every session, then,
        while connected with an accepted boot, deliver what is queued before going.

        Each running session stops with :attr:`StopReason.SHUTDOWN` (1.6 StopTransaction reason
        ``Other``; 2.x TransactionEvent ``Ended`` with stoppedReason ``Other`` and triggerReason
        ``AbnormalCondition``) and is counted in ``stats.stopped_at_end``; no new session starts.
        The wait covers the offline queue (those end messages included) and the status
        notifications in flight. A station that is offline keeps its queue, as before: nothing
        is sent and the messages go with the process.

        Not bounded here: the caller bounds it (:meth:`Simulation.stop` does, in wall-clock s)
        and calls :meth:`stop` afterwards.
        """
        self.closing = True
        self.notify()
        for evse in self.evses:
            if self.request_stop(evse, StopReason.SHUTDOWN):
                self.stats.stopped_at_end += 1
        await self.wait_for(lambda: not any(evse.busy for evse in self.evses))
        await self.wait_for(lambda: (not self.queue and not self._sending) or not self.ready)

    async def stop(self) -> None:
        """Stop every task and close the connection (running sessions are abandoned: call
        :meth:`shutdown` first to stop them)."""
        if self._stopping:
            return
        self._stopping = True
        link = self.link
        if link is not None:
            with contextlib.suppress(Exception):
                await link.close(1000, "simulation ended")
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.stats.stations -= 1
        self.stats.sessions_active -= sum(1 for e in self.evses if e.session is not None)
