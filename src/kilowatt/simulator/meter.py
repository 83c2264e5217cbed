"""A plausible electricity meter and EV battery for one EVSE.

The meter register (Energy.Active.Import.Register, Wh) only ever increases, across sessions, as a
real meter's does. Power (W) is the least of the EVSE rating, the active charging-profile limit
and what the EV accepts; the EV accepts less above 80 % state of charge (constant-voltage phase
of a lithium-ion charge) and nothing at its target SoC, which makes the connector SuspendedEV as
a full car does. Current (A) follows from power, voltage (V) and the number of phases.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["NOMINAL_VOLTAGE_V", "EvModel", "MeterModel", "MeterReading"]

NOMINAL_VOLTAGE_V = 230.0
"""Nominal phase-to-neutral voltage in V (EN 50160: 230 V ± 10 %)."""

TAPER_START_PCT = 80.0
"""SoC (%) above which the EV reduces the power it accepts."""


@dataclass(slots=True)
class EvModel:
    """The car plugged into an EVSE.

    Attributes:
        battery_wh: usable battery capacity in Wh.
        soc_pct: state of charge in %, 0..100.
        max_power_w: the most the car's on-board charger (AC) or battery (DC) accepts, in W.
        target_soc_pct: the SoC (%) at which the car stops charging.
    """

    battery_wh: float = 60000.0
    soc_pct: float = 30.0
    max_power_w: float = 11000.0
    target_soc_pct: float = 100.0

    def accepted_power_w(self) -> float:
        """The power (W) the car accepts now: full power up to 80 % SoC, then a linear taper
        down to 10 % of it at the target, and 0 W once the target is reached."""
        if self.soc_pct >= self.target_soc_pct:
            return 0.0
        if self.soc_pct <= TAPER_START_PCT or self.target_soc_pct <= TAPER_START_PCT:
            return self.max_power_w
        span = self.target_soc_pct - TAPER_START_PCT
        left = (self.target_soc_pct - self.soc_pct) / span
        return self.max_power_w * (0.1 + 0.9 * left)

    @property
    def full(self) -> bool:
        """True when the car has reached its target SoC and accepts no more energy."""
        return self.soc_pct >= self.target_soc_pct


@dataclass(slots=True, frozen=True)
class MeterReading:
    """One sample of the meter: register in Wh, power W, current A (per phase), voltage V,
    SoC % (None without a car)."""

    energy_wh: float
    power_w: float
    current_a: float
    voltage_v: float
    soc_pct: float | None


class MeterModel:
    """The meter of one EVSE.

    Args:
        max_power_w: the EVSE rating in W.
        phases: number of phases used (1 or 3); current = power / (voltage × phases).
        energy_wh: the register's initial value in Wh.
        seed: seeds the small voltage ripple so runs are reproducible.
    """

    def __init__(
        self,
        max_power_w: float = 22000.0,
        *,
        phases: int = 3,
        energy_wh: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.max_power_w = max_power_w
        self.phases = phases
        self.energy_wh = energy_wh
        self.power_w = 0.0
        self.voltage_v = NOMINAL_VOLTAGE_V
        self.ev: EvModel | None = None
        self._random = random.Random(seed)

    def plug(self, ev: EvModel) -> None:
        """A car is connected."""
        self.ev = ev

    def unplug(self) -> None:
        """The car leaves; power drops to 0 W."""
        self.ev = None
        self.power_w = 0.0

    def offered_w(self, limit_w: float | None) -> float:
        """The power in W the EVSE offers: its rating, capped by a charging limit (W)."""
        return self.max_power_w if limit_w is None else max(0.0, min(self.max_power_w, limit_w))

    def advance(self, dt_s: float, *, limit_w: float | None = None, energize: bool = True) -> None:
        """Let ``dt_s`` seconds pass with the power path closed (``energize``) or open.

        The register grows by power × time; the car's SoC by the same energy over its capacity.
        The power is held constant over the step, so callers should step no more than a few
        seconds at a time for a smooth taper.
        """
        if dt_s < 0:
            raise ValueError("time does not run backwards")
        self.voltage_v = NOMINAL_VOLTAGE_V + self._random.uniform(-2.0, 2.0)
        if self.ev is None or not energize:
            self.power_w = 0.0
            return
        self.power_w = min(self.offered_w(limit_w), self.ev.accepted_power_w())
        energy = self.power_w * dt_s / 3600.0
        self.energy_wh += energy
        self.ev.soc_pct = min(100.0, self.ev.soc_pct + energy / self.ev.battery_wh * 100.0)

    @property
    def current_a(self) -> float:
        """Current per phase in A."""
        return self.power_w / (self.voltage_v * self.phases)

    def reading(self) -> MeterReading:
        """A sample of every measurand the simulator reports."""
        return MeterReading(
            energy_wh=math.floor(self.energy_wh * 10) / 10,
            power_w=round(self.power_w, 1),
            current_a=round(self.current_a, 2),
            voltage_v=round(self.voltage_v, 1),
            soc_pct=None if self.ev is None else round(self.ev.soc_pct, 1),
        )
