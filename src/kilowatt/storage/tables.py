"""The Core :class:`~sqlalchemy.Table` of each model, for the SQL repositories and statements."""

from __future__ import annotations

from sqlalchemy import Table, UniqueConstraint

from kilowatt.storage import models

__all__ = [
    "DEVICE_VARIABLE_KEY",
    "METER_VALUE_KEY",
    "configuration_keys",
    "connector_metadata",
    "connectors",
    "device_variables",
    "evse_metadata",
    "evses",
    "id_tokens",
    "journal",
    "locations",
    "meter_values",
    "station_events",
    "stations",
    "tariffs",
    "transaction_events",
    "transactions",
]

stations: Table = models.Station.__table__  # type: ignore[assignment]
evses: Table = models.Evse.__table__  # type: ignore[assignment]
connectors: Table = models.Connector.__table__  # type: ignore[assignment]
id_tokens: Table = models.IdToken.__table__  # type: ignore[assignment]
transactions: Table = models.Transaction.__table__  # type: ignore[assignment]
transaction_events: Table = models.TransactionEvent.__table__  # type: ignore[assignment]
meter_values: Table = models.MeterValue.__table__  # type: ignore[assignment]
journal: Table = models.JournalEntry.__table__  # type: ignore[assignment]
station_events: Table = models.StationEvent.__table__  # type: ignore[assignment]
device_variables: Table = models.DeviceVariable.__table__  # type: ignore[assignment]
configuration_keys: Table = models.ConfigurationKey.__table__  # type: ignore[assignment]
locations: Table = models.Location.__table__  # type: ignore[assignment]
tariffs: Table = models.Tariff.__table__  # type: ignore[assignment]
evse_metadata: Table = models.EvseMetadata.__table__  # type: ignore[assignment]
connector_metadata: Table = models.ConnectorMetadata.__table__  # type: ignore[assignment]


def _unique_columns(table: Table) -> tuple[str, ...]:
    """The columns of ``table``'s one multi-column unique constraint, in declaration order."""
    (constraint,) = [
        c for c in table.constraints if isinstance(c, UniqueConstraint) and len(c.columns) > 1
    ]
    return tuple(column.name for column in constraint.columns)


DEVICE_VARIABLE_KEY: tuple[str, ...] = tuple(c.name for c in device_variables.primary_key.columns)
"""What identifies a device-model variable row (its primary key): the SQL upsert's conflict
target and the in-memory twin's dict key."""

METER_VALUE_KEY: tuple[str, ...] = _unique_columns(meter_values)
"""What identifies a meter value sample (the unique key that makes replays no-ops)."""
