"""Building a priced CDR from a finished session (OCPI 2.2.1 Part II ``mod_cdrs``).

The CSMS calls :func:`build_cdr` when a transaction ends, then
:meth:`kilowatt.ocpi.outbox.Push.cdr_created` to POST it once to the eMSP.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    CdrDimension,
    CdrDimensionType,
    ChargingPeriod,
    TariffDimensionType,
)
from kilowatt.ocpi.pricing import UsagePeriod, price_session


def cdr_token(token: v230.Token) -> v230.CdrToken:
    """The ``cdr_token`` of a session or CDR authorized by ``token``."""
    return v230.CdrToken(
        country_code=token.country_code,
        party_id=token.party_id,
        uid=token.uid,
        type=token.type,
        contract_id=token.contract_id,
    )


def charging_periods(periods: Sequence[UsagePeriod], tariff_id: str | None) -> list[ChargingPeriod]:
    """OCPI ChargingPeriods for usage periods: ENERGY (kWh) and TIME or PARKING_TIME (hours)."""
    out = []
    for p in periods:
        hours = p.seconds / 3600
        dims = [
            CdrDimension(
                type=CdrDimensionType.PARKING_TIME if p.parking else CdrDimensionType.TIME,
                volume=hours.quantize(Decimal("0.0001")),
            )
        ]
        if p.energy_wh > 0:
            dims.insert(
                0,
                CdrDimension(
                    type=CdrDimensionType.ENERGY,
                    volume=(p.energy_wh / 1000).quantize(Decimal("0.0001")),
                ),
            )
        out.append(ChargingPeriod(start_date_time=p.start, dimensions=dims, tariff_id=tariff_id))
    return out


def build_cdr(
    *,
    cdr_id: str,
    session: v230.Session,
    location: v230.Location,
    tariff: v230.Tariff,
    periods: Sequence[UsagePeriod],
    end: datetime,
    last_updated: datetime,
    default_vat: Decimal | None = None,
) -> v230.CDR:
    """A CDR for ``session`` at ``location``, priced with ``tariff`` over ``periods``.

    Raises:
        ValueError: the session's EVSE or connector is not part of ``location``.
    """
    evse = next((e for e in location.evses or [] if e.uid == session.evse_uid), None)
    connector = next(
        (c for c in (evse.connectors if evse else []) if c.id == session.connector_id), None
    )
    if evse is None or connector is None:
        raise ValueError("session EVSE/connector not found in location")
    cost = price_session(
        tariff, list(periods), time_zone=location.time_zone, default_vat=default_vat
    )
    has = {ln.dimension for ln in cost.lines}
    return v230.CDR(
        country_code=session.country_code,
        party_id=session.party_id,
        id=cdr_id,
        start_date_time=session.start_date_time,
        end_date_time=end,
        session_id=session.id,
        cdr_token=session.cdr_token,
        auth_method=session.auth_method,
        authorization_reference=session.authorization_reference,
        cdr_location=v230.CdrLocation(
            id=location.id,
            name=location.name,
            address=location.address,
            city=location.city,
            postal_code=location.postal_code,
            state=location.state,
            country=location.country,
            coordinates=location.coordinates,
            evse_uid=evse.uid,
            evse_id=evse.evse_id or evse.uid,
            connector_id=connector.id,
            connector_standard=connector.standard,
            connector_format=connector.format,
            connector_power_type=connector.power_type,
        ),
        meter_id=session.meter_id,
        currency=tariff.currency,
        tariffs=[tariff],
        charging_periods=charging_periods(periods, tariff.id)
        or [ChargingPeriod(start_date_time=session.start_date_time, dimensions=[])],
        total_cost=cost.total_price(),
        total_fixed_cost=cost.part_price(TariffDimensionType.FLAT)
        if TariffDimensionType.FLAT in has
        else None,
        total_energy=cost.total_energy_kwh,
        total_energy_cost=cost.part_price(TariffDimensionType.ENERGY)
        if TariffDimensionType.ENERGY in has
        else None,
        total_time=cost.total_time_h,
        total_time_cost=cost.part_price(TariffDimensionType.TIME)
        if TariffDimensionType.TIME in has
        else None,
        total_parking_time=cost.total_parking_time_h,
        total_parking_cost=cost.part_price(TariffDimensionType.PARKING_TIME)
        if TariffDimensionType.PARKING_TIME in has
        else None,
        last_updated=last_updated,
    )
