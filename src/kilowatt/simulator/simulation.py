"""Run a whole simulated site: N stations of one OCPP version in one process."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from kilowatt.simulator.connect import ConnectFailure, check_url, client_ssl_context
from kilowatt.simulator.scenario import Scenario
from kilowatt.simulator.station import SimClock, SimStation, Stats
from kilowatt.simulator.v2x import Station21, Station201
from kilowatt.simulator.v16 import Station16

__all__ = ["STATION_CLASSES", "STOP_GRACE_S", "Simulation"]

STATION_CLASSES: dict[str, type[SimStation]] = {
    "1.6": Station16,
    "2.0.1": Station201,
    "2.1": Station21,
}

STOP_GRACE_S = 5.0
"""Default bound, in wall-clock s, of the graceful part of :meth:`Simulation.stop` (stopping the
sessions and delivering their end messages); the stations are cut off after it."""


class Simulation:
    """N simulated stations against one CSMS.

    Args:
        url: the CSMS endpoint without the identity, e.g. ``ws://127.0.0.1:9000/ocpp``; each
            station connects to ``url/<identity>``.
        scenario: the site; default: one 1.6 station with two EVSEs.
        ssl_context: the client TLS context for a ``wss://`` URL; default: one trusting
            ``scenario.ca_file`` when set, else the transport's (the system's trust store).
        **overrides: scenario attributes to replace (``stations=10``, ``version="2.0.1"``,
            ``evses=1``, ``password=...``, ``prefix="SIM"``, ``duration_s=60``,
            ``ca_file="ca.pem"``), as the CLI does; None values are ignored.

    Raises:
        ValueError: ``url`` is not a ``ws://``/``wss://`` URL with a host
            (:func:`~kilowatt.simulator.connect.check_url`), an override is invalid, or
            ``ca_file`` does not apply or cannot be loaded.

    Usage::

        simulation = Simulation("ws://127.0.0.1:9000/ocpp", stations=10, version="2.0.1")
        stats = await simulation.run()          # until duration_s, end(), or cancelled
        print(stats)                            # the dict of :meth:`summary`
        for station, failure in simulation.never_connected():
            print(failure)                      # "cannot connect to ws://...: connection refused"
    """

    def __init__(
        self,
        url: str,
        scenario: Scenario | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        **overrides: Any,
    ) -> None:
        check_url(url)
        scenario = scenario if scenario is not None else Scenario()
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if overrides:
            scenario = msgspec.structs.replace(scenario, **overrides)
            # Re-validate the combination (e.g. a bad version string from a caller).
            scenario = msgspec.convert(msgspec.to_builtins(scenario), Scenario)
        if ssl_context is None:
            # One context for every station: loading the CA file per station would cost
            # a file read and a parse each, for the same trust.
            ssl_context = client_ssl_context(url, scenario.ca_file)
        self.url = url
        self.scenario = scenario
        self.stats = Stats()
        self.clock = SimClock(scenario.time_scale)
        station_class = STATION_CLASSES[scenario.version]
        self.stations: list[SimStation] = [
            station_class(
                n, url, scenario, stats=self.stats, clock=self.clock, ssl_context=ssl_context
            )
            for n in range(1, scenario.stations + 1)
        ]
        self.started: float | None = None
        self.finished: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._at_end: dict[str, Any] | None = None
        self._end = asyncio.Event()

    @property
    def elapsed_s(self) -> float:
        """Wall-clock seconds since :meth:`start` (until the end of the run)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    def summary(self) -> dict[str, Any]:
        """The statistics as a JSON-ready dict: stations, connected, sessions_active,
        sessions_completed, energy_wh (Wh), calls, calls_per_s, errors, rejected,
        stopped_at_end, never_connected, elapsed_s (s) and more (see ``docs/simulator.md``)."""
        # After the run, report the state at its end (before stopping disconnected everything).
        data = dict(self._at_end) if self._at_end is not None else self.stats.snapshot()
        elapsed = self.elapsed_s
        data["calls_per_s"] = round(data["calls"] / elapsed, 1) if elapsed > 0 else 0.0
        data["elapsed_s"] = round(elapsed, 2)
        data["version"] = self.scenario.version
        data["stations"] = len(self.stations)
        data["never_connected"] = sum(1 for s in self.stations if not s.connected_once)
        return data

    def never_connected(self) -> list[tuple[SimStation, ConnectFailure | None]]:
        """The stations that never opened a connection during the run, each with its last
        failed attempt (None: its first attempt had not ended yet), in station order."""
        return [(s, s.connect_failure) for s in self.stations if not s.connected_once]

    def start(self) -> None:
        """Start every station in the background (staggered by the event loop, not by time)."""
        self.started = time.monotonic()
        for station in self.stations:
            self._tasks.append(asyncio.create_task(station.run(), name=station.identity))

    def end(self) -> None:
        """Make :meth:`run` return now, as if the duration had elapsed (its sessions are then
        stopped by :meth:`stop`); for a signal handler. Does nothing after the run."""
        self._end.set()

    async def stop(self, *, grace_s: float = STOP_GRACE_S) -> None:
        """Stop every station and close its connection.

        First, for at most ``grace_s`` wall-clock seconds, every station ends its running
        sessions and delivers what it has queued (:meth:`SimStation.shutdown`), so the CSMS
        is not left with transactions that never end; then every station is cut off. Queued
        messages of a station that is offline (or still undelivered after ``grace_s``) are
        dropped with it. ``grace_s`` = 0 skips the graceful part. Safe to call twice.
        """
        if self._tasks and self._at_end is None and grace_s > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_s):
                    await asyncio.gather(*(s.shutdown() for s in self.stations))
        if self._at_end is None:
            self._at_end = self.stats.snapshot()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.finished is None:
            self.finished = time.monotonic()

    async def run(
        self,
        *,
        on_tick: Callable[[Simulation], Awaitable[None] | None] | None = None,
        tick_s: float = 0.5,
    ) -> dict[str, Any]:
        """Run until ``scenario.duration_s`` (wall clock) has passed, :meth:`end` is called, or
        the task is cancelled; then :meth:`stop` (gracefully) and return :meth:`summary`.
        ``on_tick`` is called every ``tick_s`` s (the live view)."""
        self.start()
        deadline = (
            None
            if self.scenario.duration_s is None
            else time.monotonic() + self.scenario.duration_s
        )
        try:
            while not self._end.is_set() and (deadline is None or time.monotonic() < deadline):
                wait = tick_s if deadline is None else min(tick_s, deadline - time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._end.wait(), max(0.0, wait))
                if on_tick is not None:
                    result = on_tick(self)
                    if result is not None:
                        await result
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.stop())
        return self.summary()

    def station(self, identity: str) -> SimStation:
        """The station with this identity (KeyError if none)."""
        for station in self.stations:
            if station.identity == identity:
                return station
        raise KeyError(identity)
