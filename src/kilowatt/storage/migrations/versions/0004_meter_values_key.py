"""Meter values: the unique key led by the time, no foreign key on the station.

New samples of every station then go to the right end of the key's index (a few pages per
group commit instead of one per station); see :class:`kilowatt.storage.models.MeterValue`.
Samples outside a transaction get a partial index on the station, used when it is deleted.
SQLite rebuilds the table (batch mode); PostgreSQL alters it in place.

Revision ID: 0004_meter_values_key
Revises: 0003_locations
Create Date: 2026-11-21 13:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_meter_values_key"
down_revision: str | None = "0003_locations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KEY = [
    "station_id",
    "evse_id",
    "connector_id",
    "timestamp",
    "measurand",
    "phase",
    "location",
    "context",
    "value",
]
_NEW_KEY = [
    "timestamp",
    "station_id",
    "evse_id",
    "connector_id",
    "measurand",
    "phase",
    "location",
    "context",
    "value",
]
_PARTIAL = "ix_meter_values_station_id_without_transaction"
_WITHOUT_TRANSACTION = sa.text("transaction_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("meter_values") as batch:
        batch.drop_constraint("fk_meter_values_station_id_stations", type_="foreignkey")
        batch.drop_constraint("uq_meter_values_station_id", type_="unique")
        batch.create_unique_constraint("uq_meter_values_timestamp", _NEW_KEY)
    op.create_index(
        _PARTIAL,
        "meter_values",
        ["station_id"],
        sqlite_where=_WITHOUT_TRANSACTION,
        postgresql_where=_WITHOUT_TRANSACTION,
    )


def downgrade() -> None:
    op.drop_index(_PARTIAL, table_name="meter_values")
    with op.batch_alter_table("meter_values") as batch:
        batch.drop_constraint("uq_meter_values_timestamp", type_="unique")
        batch.create_unique_constraint("uq_meter_values_station_id", _OLD_KEY)
        batch.create_foreign_key(
            "fk_meter_values_station_id_stations",
            "stations",
            ["station_id"],
            ["id"],
            ondelete="CASCADE",
        )
