"""CDR pricing: a tariff applied to a session's usage (pure, no I/O).

Spec: OCPI 2.2.1 Part II ``mod_tariffs`` (Tariff, TariffElement, PriceComponent,
TariffRestrictions) and 2.3.0 ``mod_tariffs`` (``tax_included``, ``PriceLimit``).

Rules implemented
-----------------
- Usage is a list of :class:`UsagePeriod` (charging or parking), split at every instant where
  a restriction may change: local ``start_time``/``end_time`` and midnight, ``start_date`` /
  ``end_date``, ``min_duration``/``max_duration`` after session start, and the instants where
  cumulative energy crosses ``min_kwh``/``max_kwh`` (energy is linear within a period).
- For every piece and every dimension (ENERGY always, TIME while charging, PARKING_TIME while
  parking) the *first* TariffElement whose restrictions all hold at the piece's start and that
  has a PriceComponent of that dimension applies (``mod_tariffs`` §TariffElement: "the first
  matching element"). No element: that dimension is free for that piece.
- FLAT is charged once, from the first element with a FLAT component matching at session start.
- ``step_size`` (Wh for ENERGY, seconds for TIME/PARKING_TIME): the *total* volume of a
  dimension is rounded up to a multiple of the step size of the last PriceComponent used for
  that dimension, and the extra volume is billed at that component's price.
- Restrictions: minimums inclusive, maximums exclusive; times/dates/weekdays in the location's
  time zone; ``end_time`` before ``start_time`` crosses midnight; power/current compared with
  the piece's average (kW from energy and duration unless given); an element restricted to
  reservations never applies to charging or parking usage.
- VAT: ``PriceComponent.vat`` (percent) per component. With ``tax_included=YES`` (2.3.0) the
  component price already includes tax. ``incl_vat`` is ``None`` when a used component has no
  ``vat`` and no ``default_vat`` is given.
- ``min_price``/``max_price`` clamp the total (before taxes).
- Amounts are :class:`~decimal.Decimal`, rounded half-up to 4 decimals at the end only.

Units: energy in Wh in, kWh out; durations in seconds in, hours out; prices per kWh/hour.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    DayOfWeek,
    PriceComponent,
    TariffDimensionType,
    TariffRestrictions,
)

__all__ = ["CostBreakdown", "PricedLine", "UsagePeriod", "price_session"]

_D0 = Decimal(0)
_Q = Decimal("0.0001")
_WEEKDAYS = list(DayOfWeek)
Dim = TariffDimensionType


@dataclass(frozen=True, slots=True)
class UsagePeriod:
    """One stretch of a session.

    Attributes:
        start, end: aware datetimes, ``end > start``.
        energy_wh: energy delivered in the period (Wh); 0 while parking.
        parking: ``True`` when the EV is connected but not charging (PARKING_TIME).
        power_kw: average power (kW); derived from energy and duration when ``None``.
        current_a: average current (A), for ``min_current``/``max_current``; unknown → those
            restrictions do not match.
    """

    start: datetime
    end: datetime
    energy_wh: Decimal = _D0
    parking: bool = False
    power_kw: Decimal | None = None
    current_a: Decimal | None = None

    @property
    def seconds(self) -> Decimal:
        """Duration in seconds."""
        return Decimal(str((self.end - self.start).total_seconds()))


@dataclass(frozen=True, slots=True)
class PricedLine:
    """What one PriceComponent billed: ``volume`` in kWh, hours, or 1 (FLAT)."""

    dimension: TariffDimensionType
    element_index: int
    volume: Decimal
    price: Decimal
    vat: Decimal | None
    cost_excl_vat: Decimal
    cost_incl_vat: Decimal | None


@dataclass(slots=True)
class CostBreakdown:
    """The priced session. Costs are per dimension, before taxes; totals rounded to 4 places."""

    currency: str
    excl_vat: Decimal
    incl_vat: Decimal | None
    energy_cost: Decimal
    time_cost: Decimal
    parking_cost: Decimal
    fixed_cost: Decimal
    total_energy_kwh: Decimal
    total_time_h: Decimal
    """Whole session duration (charging + parking), hours (CDR ``total_time``)."""
    total_parking_time_h: Decimal
    lines: list[PricedLine] = field(default_factory=list)
    taxes: dict[Decimal, Decimal] = field(default_factory=dict)
    """VAT percentage → tax amount."""

    def total_price(self) -> v230.Price:
        """The total as a 2.3.0 Price (one TaxAmount named ``VAT`` per rate)."""
        return _price(self.excl_vat, self.taxes if self.incl_vat is not None else None)

    def part_price(self, dimension: TariffDimensionType) -> v230.Price:
        """The cost of one dimension as a 2.3.0 Price."""
        lines = [ln for ln in self.lines if ln.dimension is dimension]
        excl = sum((ln.cost_excl_vat for ln in lines), _D0)
        taxes: dict[Decimal, Decimal] | None = defaultdict(lambda: _D0)
        for ln in lines:
            if ln.cost_incl_vat is None or ln.vat is None or taxes is None:
                taxes = None
                continue
            taxes[ln.vat] += ln.cost_incl_vat - ln.cost_excl_vat
        return _price(excl, dict(taxes) if taxes is not None else None)


def _q(value: Decimal) -> Decimal:
    return value.quantize(_Q, rounding=ROUND_HALF_UP)


def _price(excl: Decimal, taxes: dict[Decimal, Decimal] | None) -> v230.Price:
    if taxes is None:
        return v230.Price(before_taxes=_q(excl))
    return v230.Price(
        before_taxes=_q(excl),
        taxes=[
            v230.TaxAmount(name="VAT", percentage=rate, amount=_q(amount))
            for rate, amount in sorted(taxes.items())
        ],
    )


def _parse_time(value: str) -> time:
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


@dataclass(frozen=True, slots=True)
class _Piece:
    start: datetime
    end: datetime
    energy_wh: Decimal
    parking: bool
    power_kw: Decimal | None
    current_a: Decimal | None
    kwh_before: Decimal
    seconds_before: Decimal

    @property
    def seconds(self) -> Decimal:
        return Decimal(str((self.end - self.start).total_seconds()))


def _matches(r: TariffRestrictions | None, p: _Piece, tz: ZoneInfo) -> bool:
    if r is None:
        return True
    if r.reservation is not None:
        return False
    local = p.start.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    if r.start_time is not None and r.end_time is not None:
        st, et = _parse_time(r.start_time), _parse_time(r.end_time)
        inside = st <= t < et if st <= et else (t >= st or t < et)
        if not inside:
            return False
    elif (r.start_time is not None and t < _parse_time(r.start_time)) or (
        r.end_time is not None and t >= _parse_time(r.end_time)
    ):
        return False
    if r.start_date is not None and local.date() < date.fromisoformat(r.start_date):
        return False
    if r.end_date is not None and local.date() >= date.fromisoformat(r.end_date):
        return False
    if r.min_kwh is not None and p.kwh_before < r.min_kwh:
        return False
    if r.max_kwh is not None and p.kwh_before >= r.max_kwh:
        return False
    if r.min_duration is not None and p.seconds_before < r.min_duration:
        return False
    if r.max_duration is not None and p.seconds_before >= r.max_duration:
        return False
    if r.day_of_week and _WEEKDAYS[local.weekday()] not in r.day_of_week:
        return False
    power = p.power_kw
    if power is None:
        secs = p.seconds
        power = (p.energy_wh / secs * Decimal(3600) / 1000) if secs > 0 else _D0
    if r.min_power is not None and power < r.min_power:
        return False
    if r.max_power is not None and power >= r.max_power:
        return False
    if r.min_current is not None and (p.current_a is None or p.current_a < r.min_current):
        return False
    return not (r.max_current is not None and (p.current_a is None or p.current_a >= r.max_current))


def _boundaries(
    tariff: v230.Tariff, periods: list[UsagePeriod], start: datetime, tz: ZoneInfo
) -> set[datetime]:
    """Instants at which some restriction may start or stop holding."""
    out: set[datetime] = set()
    end = max(p.end for p in periods)
    restrictions = [e.restrictions for e in tariff.elements if e.restrictions is not None]
    times: set[time] = set()
    for r in restrictions:
        for value in (r.start_time, r.end_time):
            if value is not None:
                times.add(_parse_time(value))
        if r.day_of_week or r.start_date or r.end_date:
            times.add(time(0, 0))
        for secs in (r.min_duration, r.max_duration):
            if secs is not None:
                out.add(start + timedelta(seconds=secs))
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        for t in times:
            out.add(datetime.combine(day, t, tzinfo=tz))
        day += timedelta(days=1)
    thresholds = sorted(
        {v * 1000 for r in restrictions for v in (r.min_kwh, r.max_kwh) if v is not None}
    )
    cumulative = _D0
    for p in periods:
        after = cumulative + p.energy_wh
        for wh in thresholds:
            if cumulative < wh < after:
                frac = (wh - cumulative) / p.energy_wh
                out.add(p.start + timedelta(seconds=float(p.seconds * frac)))
        cumulative = after
    return out


def _split(periods: list[UsagePeriod], cuts: set[datetime], start: datetime) -> list[_Piece]:
    pieces: list[_Piece] = []
    kwh = _D0
    for p in periods:
        inner = sorted(c for c in cuts if p.start < c < p.end)
        edges = [p.start, *inner, p.end]
        total = p.seconds
        for a, b in itertools.pairwise(edges):
            secs = Decimal(str((b - a).total_seconds()))
            energy = p.energy_wh * secs / total if total > 0 else _D0
            seconds_before = Decimal(str((a - start).total_seconds()))
            pieces.append(
                _Piece(a, b, energy, p.parking, p.power_kw, p.current_a, kwh / 1000, seconds_before)
            )
            kwh += energy
    return pieces


def _first(
    tariff: v230.Tariff, dim: TariffDimensionType, piece: _Piece, tz: ZoneInfo
) -> tuple[int, PriceComponent] | None:
    for i, element in enumerate(tariff.elements):
        comp = next((c for c in element.price_components if c.type is dim), None)
        if comp is not None and _matches(element.restrictions, piece, tz):
            return i, comp
    return None


def price_session(
    tariff: v230.Tariff,
    periods: list[UsagePeriod],
    *,
    time_zone: str = "UTC",
    default_vat: Decimal | None = None,
) -> CostBreakdown:
    """Price a session's usage with ``tariff``.

    Args:
        tariff: the tariff (canonical 2.3.0 model; 2.2.1 tariffs have ``tax_included=NO``).
        periods: the session's usage in chronological order (may be empty: FLAT only).
        time_zone: IANA zone of the location, for time/date/weekday restrictions.
        default_vat: VAT percent for components without ``vat``.

    Returns:
        A :class:`CostBreakdown` whose ``total_price()`` goes in ``CDR.total_cost``.
    """
    tz = ZoneInfo(time_zone)
    periods = sorted(periods, key=lambda p: p.start)
    if periods:
        start = periods[0].start
        pieces = _split(periods, _boundaries(tariff, periods, start, tz), start)
    else:
        pieces = []
    volume: dict[tuple[Dim, int], Decimal] = defaultdict(lambda: _D0)  # Wh or seconds
    components: dict[tuple[Dim, int], PriceComponent] = {}
    last_used: dict[Dim, tuple[Dim, int]] = {}
    for piece in pieces:
        wanted = [(Dim.ENERGY, piece.energy_wh)]
        wanted.append(
            (Dim.PARKING_TIME, piece.seconds) if piece.parking else (Dim.TIME, piece.seconds)
        )
        for dim, amount in wanted:
            if amount <= 0:
                continue
            hit = _first(tariff, dim, piece, tz)
            if hit is None:
                continue
            key = (dim, hit[0])
            volume[key] += amount
            components[key] = hit[1]
            last_used[dim] = key
    for _dim, key in last_used.items():
        step = components[key].step_size
        total = sum((v for k, v in volume.items() if k[0] is key[0]), _D0)
        if step > 0 and total > 0:
            billed = (total / step).to_integral_value(rounding=ROUND_CEILING) * step
            volume[key] += billed - total

    lines: list[PricedLine] = []
    inclusive = tariff.tax_included is v230.TaxIncluded.YES

    def line(dim: Dim, index: int, comp: PriceComponent, vol: Decimal) -> PricedLine:
        gross = comp.price * vol
        vat = comp.vat if comp.vat is not None else default_vat
        if vat is None:
            return PricedLine(dim, index, vol, comp.price, None, gross, None)
        factor = 1 + vat / 100
        if inclusive:
            return PricedLine(dim, index, vol, comp.price, vat, gross / factor, gross)
        return PricedLine(dim, index, vol, comp.price, vat, gross, gross * factor)

    for (dim, index), amount in sorted(volume.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        unit = Decimal(1000) if dim is Dim.ENERGY else Decimal(3600)
        lines.append(line(dim, index, components[(dim, index)], amount / unit))
    if pieces:
        first_piece = pieces[0]
    else:
        now = datetime.now(tz)
        first_piece = _Piece(now, now, _D0, False, None, None, _D0, _D0)
    flat = _first(tariff, Dim.FLAT, first_piece, tz)
    if flat is not None:
        lines.append(line(Dim.FLAT, flat[0], flat[1], Decimal(1)))

    def cost(dim: Dim) -> Decimal:
        return sum((ln.cost_excl_vat for ln in lines if ln.dimension is dim), _D0)

    excl = sum((ln.cost_excl_vat for ln in lines), _D0)
    incl: Decimal | None = _D0
    taxes: dict[Decimal, Decimal] = defaultdict(lambda: _D0)
    for ln in lines:
        if ln.cost_incl_vat is None or ln.vat is None or incl is None:
            incl = None
            continue
        incl += ln.cost_incl_vat
        taxes[ln.vat] += ln.cost_incl_vat - ln.cost_excl_vat
    excl, incl, taxes = _clamp(tariff, excl, incl, dict(taxes))
    total_s = sum((p.seconds for p in periods), _D0)
    parking_s = sum((p.seconds for p in periods if p.parking), _D0)
    return CostBreakdown(
        currency=tariff.currency,
        excl_vat=_q(excl),
        incl_vat=_q(incl) if incl is not None else None,
        energy_cost=_q(cost(Dim.ENERGY)),
        time_cost=_q(cost(Dim.TIME)),
        parking_cost=_q(cost(Dim.PARKING_TIME)),
        fixed_cost=_q(cost(Dim.FLAT)),
        total_energy_kwh=_q(sum((p.energy_wh for p in periods), _D0) / 1000),
        total_time_h=_q(total_s / 3600),
        total_parking_time_h=_q(parking_s / 3600),
        lines=lines,
        taxes={rate: _q(amount) for rate, amount in taxes.items()},
    )


def _clamp(
    tariff: v230.Tariff, excl: Decimal, incl: Decimal | None, taxes: dict[Decimal, Decimal]
) -> tuple[Decimal, Decimal | None, dict[Decimal, Decimal]]:
    """Apply ``min_price``/``max_price`` (before taxes); taxes scale with the total."""
    target = excl
    if tariff.min_price is not None and excl < tariff.min_price.before_taxes:
        target = tariff.min_price.before_taxes
    if tariff.max_price is not None and excl > tariff.max_price.before_taxes:
        target = tariff.max_price.before_taxes
    if target == excl:
        return excl, incl, taxes
    ratio = target / excl if excl else Decimal(1)
    scaled = {rate: amount * ratio for rate, amount in taxes.items()}
    new_incl = None if incl is None else (incl * ratio if excl else target)
    return target, new_incl, scaled
