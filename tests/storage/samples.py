"""Rows as the storage layer takes them (shared by the storage tests): a sampled meter value,
a location."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def sample(
    i: int, *, station_id: str = "CP1", transaction_id: int | None = None, value: str | None = None
) -> dict[str, Any]:
    """Energy register sample ``i`` s after :data:`AT` (value ``i`` unless given)."""
    return {
        "station_id": station_id,
        "transaction_id": transaction_id,
        "evse_id": 1,
        "connector_id": 1,
        "timestamp": AT + timedelta(seconds=i),
        "measurand": "Energy.Active.Import.Register",
        "phase": "",
        "location": "Outlet",
        "context": "Sample.Periodic",
        "unit": "Wh",
        "value": Decimal(value if value is not None else i),
    }


def location(location_id: str, *, at: datetime = AT, **values: Any) -> dict[str, Any]:
    """A complete location row (created and updated at ``at``)."""
    return {
        "id": location_id,
        "name": None,
        "address": "Main Street 1",
        "city": "Utrecht",
        "postal_code": None,
        "state": None,
        "country": "NLD",
        "latitude": "52.09",
        "longitude": "5.12",
        "time_zone": "Europe/Amsterdam",
        "parking_type": None,
        "facilities": ["CAFE"],
        "opening_times": {"twentyfourseven": True},
        "charging_when_closed": None,
        "help_phone": None,
        "publish": True,
        "tariff_id": None,
        "created_at": at,
        "updated_at": at,
        **values,
    }
