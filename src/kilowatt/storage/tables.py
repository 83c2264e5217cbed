"""The Core :class:`~sqlalchemy.Table` of each model, for the SQL repositories and statements."""

from __future__ import annotations

from sqlalchemy import Table

from kilowatt.storage import models

__all__ = [
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
