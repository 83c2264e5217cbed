"""Run a whole simulated site: N stations of one OCPP version in one process."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from kilowatt.simulator.scenario import Scenario
from kilowatt.simulator.station import SimClock, SimStation, Stats
from kilowatt.simulator.v2x import Station21, Station201
from kilowatt.simulator.v16 import Station16

__all__ = ["STATION_CLASSES", "Simulation"]

STATION_CLASSES: dict[str, type[SimStation]] = {
    "1.6": Station16,
    "2.0.1": Station201,
    "2.1": Station21,
}


class Simulation:
    """N simulated stations against one CSMS.

    Args:
        url: the CSMS endpoint without the identity, e.g. ``ws://127.0.0.1:9000/ocpp``; each
            station connects to ``url/<identity>``.
        scenario: the site; default: one 1.6 station with two EVSEs.
        **overrides: scenario attributes to replace (``stations=10``, ``version="2.0.1"``,
            ``evses=1``, ``password=...``, ``prefix="SIM"``, ``duration_s=60``), as the CLI does.

    Usage::

        simulation = Simulation("ws://127.0.0.1:9000/ocpp", stations=10, version="2.0.1")
        stats = await simulation.run()          # until duration_s, or until cancelled
        print(stats)                            # the dict of :meth:`summary`
    """

    def __init__(self, url: str, scenario: Scenario | None = None, **overrides: Any) -> None:
        scenario = scenario if scenario is not None else Scenario()
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if overrides:
            scenario = msgspec.structs.replace(scenario, **overrides)
            # Re-validate the combination (e.g. a bad version string from a caller).
            scenario = msgspec.convert(msgspec.to_builtins(scenario), Scenario)
        self.url = url
        self.scenario = scenario
        self.stats = Stats()
        self.clock = SimClock(scenario.time_scale)
        station_class = STATION_CLASSES[scenario.version]
        self.stations: list[SimStation] = [
            station_class(n, url, scenario, stats=self.stats, clock=self.clock)
            for n in range(1, scenario.stations + 1)
        ]
        self.started: float | None = None
        self.finished: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._at_end: dict[str, Any] | None = None

    @property
    def elapsed_s(self) -> float:
        """Wall-clock seconds since :meth:`start` (until the end of the run)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    def summary(self) -> dict[str, Any]:
        """The statistics as a JSON-ready dict: stations, connected, sessions_active,
        sessions_completed, energy_wh (Wh), calls, calls_per_s, errors, elapsed_s and more."""
        # After the run, report the state at its end (before stopping disconnected everything).
        data = dict(self._at_end) if self._at_end is not None else self.stats.snapshot()
        elapsed = self.elapsed_s
        data["calls_per_s"] = round(data["calls"] / elapsed, 1) if elapsed > 0 else 0.0
        data["elapsed_s"] = round(elapsed, 2)
        data["version"] = self.scenario.version
        data["stations"] = len(self.stations)
        return data

    def start(self) -> None:
        """Start every station in the background (staggered by the event loop, not by time)."""
        self.started = time.monotonic()
        for station in self.stations:
            self._tasks.append(asyncio.create_task(station.run(), name=station.identity))

    async def stop(self) -> None:
        """Stop every station and close its connection."""
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
        """Run until ``scenario.duration_s`` (wall clock) has passed, or until cancelled;
        return :meth:`summary`. ``on_tick`` is called every ``tick_s`` s (the live view)."""
        self.start()
        deadline = (
            None
            if self.scenario.duration_s is None
            else time.monotonic() + self.scenario.duration_s
        )
        try:
            while deadline is None or time.monotonic() < deadline:
                wait = tick_s if deadline is None else min(tick_s, deadline - time.monotonic())
                await asyncio.sleep(max(0.0, wait))
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
