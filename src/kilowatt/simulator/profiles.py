"""Charging profiles and composite schedules, version-neutral.

Sources: OCPP 1.6 §3.13 "Smart Charging" (profile purposes, stacking, composite schedule,
§5.16 SetChargingProfile, §5.5 ClearChargingProfile, §5.7 GetCompositeSchedule) and OCPP 2.0.1
Part 2 K01/K08/K10 (the same rules with ChargingStationMaxProfile for 1.6's
ChargePointMaxProfile).

Rules applied at a time t for an EVSE:

* Within one purpose, the profile with the highest stack level that has a period active at t
  wins; a TxProfile only applies to the transaction it names (or, without a transaction id, to
  the transaction running on its EVSE), and takes precedence over TxDefaultProfiles.
* An EVSE-specific TxDefaultProfile beats one installed on EVSE 0 (the whole station).
* The station maximum profile (EVSE 0) caps the result.

Limits are converted between A and W with ``W = A × V × phases`` (V nominal 230).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from kilowatt.simulator.meter import NOMINAL_VOLTAGE_V

__all__ = [
    "ChargingProfile",
    "ChargingSchedule",
    "CompositeSchedule",
    "ProfileKind",
    "ProfileStore",
    "Purpose",
    "RateUnit",
    "Recurrency",
    "SchedulePeriod",
]


class Purpose(StrEnum):
    """ChargingProfilePurpose; STATION_MAX is 1.6 ChargePointMaxProfile / 2.x
    ChargingStationMaxProfile."""

    STATION_MAX = "StationMax"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"


class ProfileKind(StrEnum):
    """ChargingProfileKind: when the schedule's time 0 is."""

    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class Recurrency(StrEnum):
    """RecurrencyKind of a Recurring profile."""

    DAILY = "Daily"
    WEEKLY = "Weekly"


class RateUnit(StrEnum):
    """ChargingRateUnit: amperes per phase or watts."""

    A = "A"
    W = "W"


@dataclass(slots=True)
class SchedulePeriod:
    """A period starting ``start_s`` seconds after the schedule's start, with ``limit`` in the
    schedule's unit (A per phase or W) and optional number of phases."""

    start_s: int
    limit: float
    phases: int | None = None


@dataclass(slots=True)
class ChargingSchedule:
    """A schedule: periods sorted by start, a unit, an optional absolute start (s, POSIX) and
    duration (s)."""

    unit: RateUnit
    periods: list[SchedulePeriod]
    start: float | None = None
    duration_s: int | None = None
    min_rate: float | None = None


@dataclass(slots=True)
class ChargingProfile:
    """A charging profile installed on ``evse_id`` (0 = the whole station).

    ``valid_from``/``valid_to`` are POSIX timestamps in s; ``transaction_id`` is the 1.6
    integer or 2.x string id as text.
    """

    id: int
    stack_level: int
    purpose: Purpose
    kind: ProfileKind
    schedule: ChargingSchedule
    evse_id: int = 0
    recurrency: Recurrency | None = None
    valid_from: float | None = None
    valid_to: float | None = None
    transaction_id: str | None = None
    installed_at: float = 0.0


@dataclass(slots=True)
class CompositeSchedule:
    """The result of GetCompositeSchedule: periods relative to ``start`` (s, POSIX)."""

    evse_id: int
    start: float
    duration_s: int
    unit: RateUnit
    periods: list[SchedulePeriod] = field(default_factory=list)


def _to_unit(limit: float, unit: RateUnit, target: RateUnit, phases: int, volts: float) -> float:
    if unit is target:
        return limit
    if target is RateUnit.W:
        return limit * volts * phases
    return limit / (volts * phases)


@dataclass(slots=True)
class _Active:
    """A transaction running on an EVSE, as profiles see it."""

    transaction_id: str
    started: float


class ProfileStore:
    """The charging profiles of one station.

    Args:
        evses: number of EVSEs; profiles on other EVSE ids are rejected.
        phases: phases used for A ↔ W conversion when a period names none.
        voltage_v: voltage for A ↔ W conversion, in V.
        max_stack_level: highest stack level accepted (1.6 ChargeProfileMaxStackLevel).
    """

    def __init__(
        self,
        evses: int,
        *,
        phases: int = 3,
        voltage_v: float = NOMINAL_VOLTAGE_V,
        max_stack_level: int = 10,
    ) -> None:
        self.evses = evses
        self.phases = phases
        self.voltage_v = voltage_v
        self.max_stack_level = max_stack_level
        self._profiles: dict[int, ChargingProfile] = {}
        self._transactions: dict[int, _Active] = {}

    def __len__(self) -> int:
        return len(self._profiles)

    def profiles(self) -> list[ChargingProfile]:
        """Every installed profile, by id."""
        return [self._profiles[k] for k in sorted(self._profiles)]

    # -- transactions --------------------------------------------------------------------
    def transaction_started(self, evse_id: int, transaction_id: str, now: float) -> None:
        """Tell the store a transaction runs on ``evse_id`` (Relative profiles start now)."""
        self._transactions[evse_id] = _Active(transaction_id, now)

    def transaction_ended(self, evse_id: int) -> None:
        """The transaction on ``evse_id`` ended: its TxProfiles are removed (1.6 §3.13.3)."""
        active = self._transactions.pop(evse_id, None)
        if active is None:
            return
        for profile in list(self._profiles.values()):
            if profile.purpose is Purpose.TX and profile.evse_id == evse_id:
                del self._profiles[profile.id]

    # -- install / clear -----------------------------------------------------------------
    def check(self, profile: ChargingProfile) -> str | None:
        """Why ``profile`` cannot be installed, or None when it can."""
        if not 0 <= profile.evse_id <= self.evses:
            return "unknown EVSE"
        if not 0 <= profile.stack_level <= self.max_stack_level:
            return "stack level out of range"
        if profile.purpose is Purpose.STATION_MAX and profile.evse_id != 0:
            return "a station maximum profile must be installed on EVSE 0"
        if profile.purpose is Purpose.TX:
            if profile.evse_id == 0:
                return "a TxProfile needs an EVSE"
            if profile.evse_id not in self._transactions:
                return "no transaction on the EVSE"
        if not profile.schedule.periods or profile.schedule.periods[0].start_s != 0:
            return "the first period must start at 0"
        if profile.kind is ProfileKind.RECURRING and profile.recurrency is None:
            return "a recurring profile needs a recurrency kind"
        return None

    def install(self, profile: ChargingProfile) -> str | None:
        """Install ``profile``; return None on success or the reason it was rejected.

        A profile with the same id replaces the old one; so does one with the same purpose,
        stack level and EVSE (1.6 §5.16, 2.0.1 K01.FR.05/06).
        """
        reason = self.check(profile)
        if reason is not None:
            return reason
        profile.schedule.periods.sort(key=lambda p: p.start_s)
        for other in list(self._profiles.values()):
            if other.id == profile.id or (
                other.purpose is profile.purpose
                and other.stack_level == profile.stack_level
                and other.evse_id == profile.evse_id
            ):
                del self._profiles[other.id]
        self._profiles[profile.id] = profile
        return None

    def clear(
        self,
        *,
        profile_id: int | None = None,
        evse_id: int | None = None,
        purpose: Purpose | None = None,
        stack_level: int | None = None,
    ) -> int:
        """Remove matching profiles (all criteria given must match); return how many.

        With ``profile_id`` only that profile is considered (1.6 §5.5: the id wins).
        """
        if profile_id is not None:
            return 1 if self._profiles.pop(profile_id, None) is not None else 0
        removed = 0
        for profile in list(self._profiles.values()):
            if (
                (evse_id is None or profile.evse_id == evse_id)
                and (purpose is None or profile.purpose is purpose)
                and (stack_level is None or profile.stack_level == stack_level)
            ):
                del self._profiles[profile.id]
                removed += 1
        return removed

    # -- evaluation ----------------------------------------------------------------------
    def _schedule_start(self, profile: ChargingProfile, evse_id: int, t: float) -> float | None:
        schedule = profile.schedule
        if profile.kind is ProfileKind.RELATIVE:
            active = self._transactions.get(evse_id)
            return active.started if active is not None else None
        base = schedule.start
        if base is None:
            base = profile.valid_from if profile.valid_from is not None else profile.installed_at
        if profile.kind is ProfileKind.RECURRING:
            period = 86400.0 if profile.recurrency is Recurrency.DAILY else 7 * 86400.0
            if t < base:
                return None
            return base + math.floor((t - base) / period) * period
        return base

    def _limit_of(
        self, profile: ChargingProfile, evse_id: int, t: float, unit: RateUnit
    ) -> float | None:
        """The limit (in ``unit``) ``profile`` sets at ``t``, or None when inactive then."""
        if profile.valid_from is not None and t < profile.valid_from:
            return None
        if profile.valid_to is not None and t >= profile.valid_to:
            return None
        start = self._schedule_start(profile, evse_id, t)
        if start is None or t < start:
            return None
        offset = t - start
        schedule = profile.schedule
        if schedule.duration_s is not None and offset >= schedule.duration_s:
            return None
        current: SchedulePeriod | None = None
        for period in schedule.periods:
            if period.start_s <= offset:
                current = period
            else:
                break
        if current is None:
            return None
        phases = current.phases or self.phases
        return _to_unit(current.limit, schedule.unit, unit, phases, self.voltage_v)

    def _winner(
        self, candidates: list[ChargingProfile], evse_id: int, t: float, unit: RateUnit
    ) -> float | None:
        for profile in sorted(candidates, key=lambda p: -p.stack_level):
            limit = self._limit_of(profile, evse_id, t, unit)
            if limit is not None:
                return limit
        return None

    def limit_at(self, evse_id: int, t: float, unit: RateUnit = RateUnit.W) -> float | None:
        """The effective limit on ``evse_id`` at ``t`` (s, POSIX) in ``unit``; None = no limit.

        ``evse_id`` 0 asks for the station-wide limit only.
        """
        station = self._winner(
            [p for p in self._profiles.values() if p.purpose is Purpose.STATION_MAX], 0, t, unit
        )
        if evse_id == 0:
            return station
        active = self._transactions.get(evse_id)
        tx_limit: float | None = None
        if active is not None:
            tx_limit = self._winner(
                [
                    p
                    for p in self._profiles.values()
                    if p.purpose is Purpose.TX
                    and p.evse_id == evse_id
                    and p.transaction_id in (None, active.transaction_id)
                ],
                evse_id,
                t,
                unit,
            )
        if tx_limit is None:
            defaults = [p for p in self._profiles.values() if p.purpose is Purpose.TX_DEFAULT]
            tx_limit = self._winner([p for p in defaults if p.evse_id == evse_id], evse_id, t, unit)
            if tx_limit is None:
                tx_limit = self._winner([p for p in defaults if p.evse_id == 0], evse_id, t, unit)
        limits = [x for x in (station, tx_limit) if x is not None]
        return min(limits) if limits else None

    def _breakpoints(self, evse_id: int, start: float, end: float) -> list[float]:
        points = {start}
        for profile in self._profiles.values():
            for edge in (profile.valid_from, profile.valid_to):
                if edge is not None and start < edge < end:
                    points.add(edge)
            # Each period start of this profile's schedule, for every repetition in the window.
            t = start
            while t < end:
                base = self._schedule_start(profile, evse_id, t)
                if base is None:
                    if profile.kind is ProfileKind.RECURRING and profile.schedule.start:
                        t = max(t, profile.schedule.start)
                        if t >= end:
                            break
                        points.add(t)
                        continue
                    break
                for period in profile.schedule.periods:
                    point = base + period.start_s
                    if start < point < end:
                        points.add(point)
                if profile.schedule.duration_s is not None:
                    point = base + profile.schedule.duration_s
                    if start < point < end:
                        points.add(point)
                if profile.kind is not ProfileKind.RECURRING:
                    break
                step = 86400.0 if profile.recurrency is Recurrency.DAILY else 7 * 86400.0
                t = base + step
                if start < t < end:
                    points.add(t)
        return sorted(points)

    def composite(
        self,
        evse_id: int,
        now: float,
        duration_s: int,
        unit: RateUnit = RateUnit.W,
        *,
        evse_max_w: float | None = None,
    ) -> CompositeSchedule:
        """Answer GetCompositeSchedule for ``duration_s`` seconds from ``now``.

        Periods are relative to ``now``; consecutive periods with the same limit are merged.
        Where no profile applies, the EVSE's physical maximum (``evse_max_w``, W) is used when
        given, as the spec's composite schedule includes the hardware limit (1.6 §3.13.5).
        """
        end = now + duration_s
        result = CompositeSchedule(evse_id, now, duration_s, unit)
        hardware = (
            None
            if evse_max_w is None
            else _to_unit(evse_max_w, RateUnit.W, unit, self.phases, self.voltage_v)
        )
        for point in self._breakpoints(evse_id, now, end):
            limit = self.limit_at(evse_id, point, unit)
            if hardware is not None:
                limit = hardware if limit is None else min(limit, hardware)
            if limit is None:
                continue
            limit = round(limit, 1)
            if result.periods and result.periods[-1].limit == limit:
                continue
            result.periods.append(SchedulePeriod(int(point - now), limit))
        if result.periods and result.periods[0].start_s != 0:
            # No limit at the start of the window: the EVSE may use its full power; the spec
            # needs a period at 0, so report the hardware maximum (or nothing when unknown).
            result.periods.clear()
        return result


def to_posix(value: datetime | str | None) -> float | None:
    """Convert an OCPP dateTime (RFC 3339 string or datetime) to POSIX seconds."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def from_posix(value: float) -> str:
    """Format POSIX seconds as an OCPP dateTime (UTC, millisecond precision, ``Z``)."""
    text = datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
