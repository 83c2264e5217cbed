"""Locations, tariffs, EVSE/connector metadata, and the OCPI bridge state (sessions linked to
transactions, reservation id map, CDRs).

Types are frozen as plain SQL types (DateTime, JSON, Text).

Revision ID: 0003_locations
Revises: 0002_ocpi
Create Date: 2026-11-21 10:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_locations"
down_revision: str | None = "0002_ocpi"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("city", sa.String(length=45), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("latitude", sa.String(length=10), nullable=False),
        sa.Column("longitude", sa.String(length=11), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("parking_type", sa.String(length=32), nullable=True),
        sa.Column("facilities", sa.JSON(), nullable=False),
        sa.Column("opening_times", sa.JSON(), nullable=True),
        sa.Column("charging_when_closed", sa.Boolean(), nullable=True),
        sa.Column("help_phone", sa.String(length=32), nullable=True),
        sa.Column("publish", sa.Boolean(), nullable=False),
        sa.Column("tariff_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
    )
    op.create_index(op.f("ix_locations_created_at"), "locations", ["created_at"], unique=False)
    op.create_table(
        "ocpi_cdrs",
        sa.Column("id", sa.String(length=39), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_cdrs")),
        sa.UniqueConstraint("session_id", name=op.f("uq_ocpi_cdrs_session_id")),
    )
    op.create_index(op.f("ix_ocpi_cdrs_created_at"), "ocpi_cdrs", ["created_at"], unique=False)
    op.create_table(
        "ocpi_reservations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("reservation_id", sa.String(length=36), nullable=False),
        sa.Column("station_id", sa.String(length=255), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("expiry", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_reservations")),
        sa.UniqueConstraint(
            "country_code",
            "party_id",
            "reservation_id",
            name=op.f("uq_ocpi_reservations_country_code"),
        ),
    )
    op.create_table(
        "ocpi_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("station_id", sa.String(length=255), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("connector_id", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("id_tag", sa.String(length=36), nullable=False),
        sa.Column("remote_start_id", sa.Integer(), nullable=True),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("cdr_token", sa.JSON(), nullable=False),
        sa.Column("auth_method", sa.String(length=16), nullable=False),
        sa.Column("authorization_reference", sa.String(length=36), nullable=True),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_sessions")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_ocpi_sessions_transaction_id")),
    )
    op.create_index(
        op.f("ix_ocpi_sessions_created_at"), "ocpi_sessions", ["created_at"], unique=False
    )
    op.create_index(op.f("ix_ocpi_sessions_id_tag"), "ocpi_sessions", ["id_tag"], unique=False)
    op.create_index(
        op.f("ix_ocpi_sessions_remote_start_id"), "ocpi_sessions", ["remote_start_id"], unique=False
    )
    op.create_index(op.f("ix_ocpi_sessions_status"), "ocpi_sessions", ["status"], unique=False)
    op.create_table(
        "tariffs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("tax_included", sa.String(length=3), nullable=False),
        sa.Column("elements", sa.JSON(), nullable=False),
        sa.Column("alt_text", sa.JSON(), nullable=True),
        sa.Column("alt_url", sa.Text(), nullable=True),
        sa.Column("min_price", sa.JSON(), nullable=True),
        sa.Column("max_price", sa.JSON(), nullable=True),
        sa.Column("start_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariffs")),
    )
    op.create_index(op.f("ix_tariffs_created_at"), "tariffs", ["created_at"], unique=False)
    op.create_table(
        "connector_metadata",
        sa.Column("station_id", sa.String(length=255), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("standard", sa.String(length=32), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=True),
        sa.Column("power_type", sa.String(length=20), nullable=True),
        sa.Column("max_voltage", sa.Integer(), nullable=True),
        sa.Column("max_amperage", sa.Integer(), nullable=True),
        sa.Column("max_electric_power", sa.Integer(), nullable=True),
        sa.Column("capabilities", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_connector_metadata_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "station_id", "evse_id", "connector_id", name=op.f("pk_connector_metadata")
        ),
    )
    op.create_table(
        "evse_metadata",
        sa.Column("station_id", sa.String(length=255), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("evse_code", sa.String(length=48), nullable=True),
        sa.Column("capabilities", sa.JSON(), nullable=True),
        sa.Column("floor_level", sa.String(length=4), nullable=True),
        sa.Column("physical_reference", sa.String(length=16), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_evse_metadata_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", "evse_id", name=op.f("pk_evse_metadata")),
    )


def downgrade() -> None:
    op.drop_table("evse_metadata")
    op.drop_table("connector_metadata")
    op.drop_index(op.f("ix_tariffs_created_at"), table_name="tariffs")
    op.drop_table("tariffs")
    op.drop_index(op.f("ix_ocpi_sessions_status"), table_name="ocpi_sessions")
    op.drop_index(op.f("ix_ocpi_sessions_remote_start_id"), table_name="ocpi_sessions")
    op.drop_index(op.f("ix_ocpi_sessions_id_tag"), table_name="ocpi_sessions")
    op.drop_index(op.f("ix_ocpi_sessions_created_at"), table_name="ocpi_sessions")
    op.drop_table("ocpi_sessions")
    op.drop_table("ocpi_reservations")
    op.drop_index(op.f("ix_ocpi_cdrs_created_at"), table_name="ocpi_cdrs")
    op.drop_table("ocpi_cdrs")
    op.drop_index(op.f("ix_locations_created_at"), table_name="locations")
    op.drop_table("locations")
