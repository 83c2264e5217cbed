"""CDR pricing (kilowatt.ocpi.pricing): step sizes, restrictions, VAT, limits."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from kilowatt.ocpi.models import v230
from kilowatt.ocpi.pricing import UsagePeriod, price_session

AMS = ZoneInfo("Europe/Amsterdam")
D = Decimal


def tariff(*elements: Any, **kw: Any) -> v230.Tariff:
    return v230.Tariff.model_validate(
        {
            "country_code": "NL",
            "party_id": "KWT",
            "id": "T",
            "currency": "EUR",
            "elements": list(elements),
            "last_updated": "2026-01-01T00:00:00Z",
            **kw,
        }
    )


def el(*components: tuple[str, str, int], vat: float | None = None, **restrictions: Any) -> Any:
    comps = [
        {"type": t, "price": p, "step_size": s, **({"vat": vat} if vat is not None else {})}
        for t, p, s in components
    ]
    return {"price_components": comps, **({"restrictions": restrictions} if restrictions else {})}


def usage(start: datetime, minutes: float, kwh: float = 0, **kw: Any) -> UsagePeriod:
    return UsagePeriod(start, start + timedelta(minutes=minutes), D(str(kwh * 1000)), **kw)


T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Amsterdam


def test_energy_step_size_rounds_up() -> None:
    cost = price_session(tariff(el(("ENERGY", "0.25", 1000))), [usage(T0, 30, 1.2)])
    assert cost.excl_vat == D("0.5000") and cost.total_energy_kwh == D("1.2000")


def test_time_step_size_rounds_up() -> None:
    cost = price_session(tariff(el(("TIME", "2.00", 300))), [usage(T0, 6, 1)])
    assert cost.time_cost == D("0.3333")  # 10 minutes billed


def test_step_size_of_last_component_applies_to_dimension_total() -> None:
    t = tariff(
        el(("TIME", "1.20", 60), max_duration=1800),
        el(("TIME", "2.40", 900)),
    )
    cost = price_session(t, [usage(T0, 40, 5)])
    # 30 min at 1.20/h = 0.60; 10 min + 5 min rounding (2400 s → 2700 s) at 2.40/h = 0.60
    assert cost.time_cost == D("1.2000")
    assert [(ln.element_index, ln.volume) for ln in cost.lines] == [(0, D("0.5")), (1, D("0.25"))]


def test_time_of_day_restriction_splits_period_in_local_time() -> None:
    t = tariff(
        el(("ENERGY", "0.20", 1), start_time="08:00", end_time="18:00"),
        el(("ENERGY", "0.10", 1)),
    )
    start = datetime(2026, 3, 4, 17, 30, tzinfo=AMS)
    cost = price_session(t, [usage(start, 60, 2)], time_zone="Europe/Amsterdam")
    assert cost.energy_cost == D("0.3000")


def test_time_restriction_crossing_midnight() -> None:
    t = tariff(el(("TIME", "1.00", 1), start_time="22:00", end_time="06:00"), el(("TIME", "3", 1)))
    start = datetime(2026, 3, 4, 21, 0, tzinfo=AMS)
    cost = price_session(t, [usage(start, 120)], time_zone="Europe/Amsterdam")
    assert cost.time_cost == D("4.0000")  # 1 h at 3 + 1 h at 1


def test_kwh_restriction_interpolates_threshold() -> None:
    t = tariff(el(("ENERGY", "0.30", 1), max_kwh=10), el(("ENERGY", "0.20", 1)))
    cost = price_session(t, [usage(T0, 60, 15)])
    assert cost.energy_cost == D("4.0000")


def test_min_duration_restriction() -> None:
    t = tariff(el(("TIME", "1.00", 1), min_duration=3600), el(("ENERGY", "0.10", 1)))
    cost = price_session(t, [usage(T0, 90, 10)])
    assert cost.time_cost == D("0.5000") and cost.energy_cost == D("1.0000")


def test_power_restriction_uses_average_power() -> None:
    t = tariff(el(("ENERGY", "0.30", 1), max_power=22), el(("ENERGY", "0.60", 1)))
    slow = price_session(t, [usage(T0, 60, 11)])
    fast = price_session(t, [usage(T0, 60, 50)])
    assert slow.energy_cost == D("3.3000") and fast.energy_cost == D("30.0000")


def test_current_restriction_needs_current() -> None:
    t = tariff(el(("ENERGY", "1", 1), min_current=16), el(("ENERGY", "2", 1)))
    assert price_session(t, [usage(T0, 60, 1, current_a=D(32))]).energy_cost == D(1)
    assert price_session(t, [usage(T0, 60, 1)]).energy_cost == D(2)


def test_day_of_week_and_dates() -> None:
    t = tariff(
        el(("ENERGY", "0.50", 1), day_of_week=["SATURDAY", "SUNDAY"]),
        el(("ENERGY", "0.40", 1), start_date="2026-03-04", end_date="2026-03-05"),
        el(("ENERGY", "0.30", 1)),
    )
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    assert price_session(t, [usage(saturday, 60, 1)]).energy_cost == D("0.5")
    assert price_session(t, [usage(T0, 60, 1)]).energy_cost == D("0.4")
    assert price_session(t, [usage(T0 + timedelta(days=1), 60, 1)]).energy_cost == D("0.3")


def test_parking_time_and_flat_once() -> None:
    t = tariff(el(("FLAT", "1.00", 0), ("TIME", "1", 1), ("PARKING_TIME", "6.00", 600)))
    periods = [usage(T0, 60, 7), usage(T0 + timedelta(minutes=60), 11, parking=True)]
    cost = price_session(t, periods)
    assert cost.fixed_cost == D("1.0000")
    assert cost.parking_cost == D("2.0000")  # 11 min → 20 min billed at 6/h
    assert cost.total_parking_time_h == D("0.1833") and cost.total_time_h == D("1.1833")


def test_flat_restriction_evaluated_at_session_start() -> None:
    t = tariff(el(("FLAT", "2", 0), start_time="18:00"), el(("FLAT", "1", 0)))
    assert price_session(t, [usage(T0, 600)], time_zone="UTC").fixed_cost == D(1)


def test_reservation_elements_do_not_price_charging() -> None:
    t = tariff(el(("TIME", "9", 1), reservation="RESERVATION"), el(("TIME", "1", 1)))
    assert price_session(t, [usage(T0, 60)]).time_cost == D(1)


def test_vat_per_component_and_taxes() -> None:
    t = tariff(el(("ENERGY", "0.30", 1), vat=21), el(("FLAT", "1", 0), vat=9))
    cost = price_session(t, [usage(T0, 60, 10)])
    assert cost.excl_vat == D("4.0000") and cost.incl_vat == D("4.7200")
    price = cost.total_price()
    assert [(x.percentage, x.amount) for x in price.taxes or []] == [
        (D(9), D("0.0900")),
        (D(21), D("0.6300")),
    ]


def test_missing_vat_and_default_vat() -> None:
    t = tariff(el(("ENERGY", "0.30", 1)))
    assert price_session(t, [usage(T0, 60, 10)]).incl_vat is None
    assert price_session(t, [usage(T0, 60, 10)], default_vat=D(20)).incl_vat == D("3.6")


def test_tax_included_prices_2_3_0() -> None:
    t = tariff(el(("ENERGY", "0.36", 1), vat=20), tax_included="YES")
    cost = price_session(t, [usage(T0, 60, 10)])
    assert cost.excl_vat == D("3.0000") and cost.incl_vat == D("3.6000")


def test_min_and_max_price() -> None:
    low = tariff(el(("ENERGY", "0.10", 1)), min_price={"before_taxes": 2})
    high = tariff(el(("ENERGY", "0.10", 1)), max_price={"before_taxes": 0.5})
    assert price_session(low, [usage(T0, 60, 1)]).excl_vat == D(2)
    assert price_session(high, [usage(T0, 60, 10)]).excl_vat == D("0.5")


def test_no_usage_only_flat() -> None:
    t = tariff(el(("FLAT", "1.5", 0), ("ENERGY", "1", 1)))
    assert price_session(t, []).excl_vat == D("1.5")


@given(
    wh=st.integers(min_value=1, max_value=200_000),
    step=st.integers(min_value=1, max_value=5000),
    price=st.decimals(min_value=0, max_value=2, places=2),
)
def test_energy_cost_is_price_times_rounded_up_volume(wh: int, step: int, price: Decimal) -> None:
    t = tariff(el(("ENERGY", str(price), step)))
    cost = price_session(t, [UsagePeriod(T0, T0 + timedelta(hours=1), D(wh))])
    expected = price * D(math.ceil(wh / step) * step) / 1000
    assert cost.energy_cost == expected.quantize(D("0.0001"), rounding=ROUND_HALF_UP)


@given(
    minutes=st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=5),
)
def test_splitting_usage_does_not_change_cost(minutes: list[int]) -> None:
    t = tariff(
        el(("ENERGY", "0.25", 1), ("TIME", "1.5", 60), start_time="10:30", end_time="11:00"),
        el(("ENERGY", "0.30", 1), ("TIME", "2", 60)),
    )
    total = sum(minutes)
    whole = price_session(t, [usage(T0, total, total / 10)], time_zone="UTC")
    parts, at = [], T0
    for m in minutes:
        parts.append(usage(at, m, m / 10))
        at += timedelta(minutes=m)
    split = price_session(t, parts, time_zone="UTC")
    # Each priced piece rounds each of its two dimensions to 0.0001 (half up, error <= 0.00005);
    # the tariff's 10:30/11:00 boundaries cut both sides into at most two more pieces each.
    roundings = 2 * (len(minutes) + 2) + 2 * 3
    assert abs(whole.excl_vat - split.excl_vat) <= D("0.00005") * roundings
