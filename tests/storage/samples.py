"""A sampled meter value row as the storage layer takes it (shared by the storage tests)."""

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
