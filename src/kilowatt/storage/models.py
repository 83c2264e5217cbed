"""ORM tables of the version-neutral CSMS core.

Conventions:

- Times are aware UTC (:class:`~kilowatt.storage.types.UtcDateTime`), energies are Wh as exact
  decimals (:class:`~kilowatt.storage.types.DecimalText`).
- Columns that take part in a uniqueness key are NOT NULL with a neutral value ('' or 0) for
  "absent", because SQL treats NULLs as distinct and the key would no longer deduplicate.
- The schema is created by the Alembic revision ``0001_initial``; keep both in step
  (``tests/storage/test_migrations.py`` compares them).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kilowatt.storage.base import Base
from kilowatt.storage.types import DecimalText, UtcDateTime

__all__ = [
    "ConfigurationKey",
    "Connector",
    "ConnectorMetadata",
    "DeviceVariable",
    "Evse",
    "EvseMetadata",
    "IdToken",
    "JournalEntry",
    "Location",
    "MeterValue",
    "OcpiCdr",
    "OcpiReservation",
    "OcpiSession",
    "Station",
    "StationEvent",
    "Tariff",
    "Transaction",
    "TransactionEvent",
]

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Station(Base):
    """A charging station, keyed by its OCPP identity (last URL path segment)."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    ocpp_version: Mapped[str | None] = mapped_column(String(8))
    vendor: Mapped[str | None] = mapped_column(String(255))
    model: Mapped[str | None] = mapped_column(String(255))
    serial_number: Mapped[str | None] = mapped_column(String(255))
    firmware_version: Mapped[str | None] = mapped_column(String(255))
    boot_status: Mapped[str | None] = mapped_column(String(16))
    last_boot: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UtcDateTime)
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    security_profile: Mapped[int] = mapped_column(Integer, default=0)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    location_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (CheckConstraint("security_profile IN (0, 1, 2, 3)", name="security_profile"),)


class Evse(Base):
    """An EVSE of a station (2.x evseId; for 1.6 see ``StationService.status_notification``)."""

    __tablename__ = "evses"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    evse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Connector(Base):
    """A connector of an EVSE with its latest reported status (StatusNotification)."""

    __tablename__ = "connectors"

    station_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    evse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(64))
    info: Mapped[str | None] = mapped_column(String(255))
    vendor_error_code: Mapped[str | None] = mapped_column(String(255))
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        ForeignKeyConstraint(
            ["station_id", "evse_id"],
            ["evses.station_id", "evses.evse_id"],
            ondelete="CASCADE",
        ),
    )


class IdToken(Base):
    """An authorization token (1.6 idTag, 2.x IdToken) and its status."""

    __tablename__ = "id_tokens"

    id_token: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    expiry: Mapped[datetime | None] = mapped_column(UtcDateTime)
    group_id: Mapped[str | None] = mapped_column(String(255))
    max_concurrent_transactions: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('Accepted', 'Blocked', 'Expired', 'Invalid')", name="status"),
    )


class Transaction(Base):
    """A charging session. ``id`` is the integer 1.6 transactionId; 2.x keeps its own id string.

    ``dedup_key`` makes starts idempotent: ``tx:<station transaction id>`` for 2.x, and for 1.6
    ``start:<connector>|<idTag>|<meterStart>|<timestamp>`` (the fields of StartTransaction).
    """

    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    dedup_key: Mapped[str] = mapped_column(String(400))
    station_tx_id: Mapped[str | None] = mapped_column(String(64))
    evse_id: Mapped[int | None] = mapped_column(Integer)
    connector_id: Mapped[int | None] = mapped_column(Integer)
    id_token: Mapped[str | None] = mapped_column(String(255), index=True)
    id_token_type: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    meter_start_wh: Mapped[Decimal | None] = mapped_column(DecimalText)
    meter_stop_wh: Mapped[Decimal | None] = mapped_column(DecimalText)
    energy_wh: Mapped[Decimal | None] = mapped_column(DecimalText)
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    charging_state: Mapped[str | None] = mapped_column(String(32))
    remote_start_id: Mapped[int | None] = mapped_column(Integer)
    reservation_id: Mapped[int | None] = mapped_column(Integer)
    last_seq_no: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("station_id", "dedup_key"),
        CheckConstraint("status IN ('active', 'completed')", name="status"),
        Index("ix_transactions_status_station", "status", "station_id"),
    )


class TransactionEvent(Base):
    """One processed 2.x TransactionEvent; the (transaction, seqNo) key rejects replays."""

    __tablename__ = "transaction_events"

    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("transactions.id", ondelete="CASCADE"), primary_key=True
    )
    seq_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(16))
    trigger_reason: Mapped[str | None] = mapped_column(String(64))
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime)


class MeterValue(Base):
    """One sampled value. The unique key (time, station, EVSE, connector, measurand, phase,
    location, context, value) makes replays of MeterValues/TransactionEvent/StopTransaction
    idempotent. The value is part of the key because chargers with one-second clocks send
    different readings with the same timestamp; a replay repeats the value exactly.

    Why the key starts with the time (migration 0004): new samples of all stations then land
    at the right end of that index, a few pages per group commit; led by the station it took
    one leaf page per station with new samples in every commit, which was the largest part of
    the COMMIT (1.6 benchmark mix: CPU per call −7 %). For the same reason ``station_id`` has
    no foreign key (its cascade would need an index led by the station): a station's samples
    go with its transactions (``transaction_id`` cascades), and the few samples outside a
    transaction are found through a partial index and deleted with the station
    (:meth:`~kilowatt.csms.repositories.StationRepository.delete`).
    """

    __tablename__ = "meter_values"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(255))
    transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("transactions.id", ondelete="CASCADE"), index=True
    )
    evse_id: Mapped[int] = mapped_column(Integer)
    connector_id: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime)
    measurand: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(8))
    location: Mapped[str] = mapped_column(String(16))
    context: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[Decimal] = mapped_column(DecimalText)

    __table_args__ = (
        UniqueConstraint(
            "timestamp",
            "station_id",
            "evse_id",
            "connector_id",
            "measurand",
            "phase",
            "location",
            "context",
            "value",
        ),
        Index(
            "ix_meter_values_station_id_without_transaction",
            "station_id",
            sqlite_where=text("transaction_id IS NULL"),
            postgresql_where=text("transaction_id IS NULL"),
        ),
    )


class JournalEntry(Base):
    """One OCPP-J frame sent or received, verbatim."""

    __tablename__ = "journal"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    direction: Mapped[str] = mapped_column(String(3))
    message_type: Mapped[int] = mapped_column(Integer)
    action: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(64))
    frame: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        Index("ix_journal_station_id_id", "station_id", "id"),
    )


class StationEvent(Base):
    """A notification from a station stored as kind + JSON (security events, firmware status,
    NotifyEvent, charging limits, EV charging needs, reservation updates, DataTransfer...)."""

    __tablename__ = "station_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_station_events_station_kind", "station_id", "kind", "id"),)


class DeviceVariable(Base):
    """A 2.x device-model variable attribute (NotifyReport, GetVariables). 0/'' mean absent."""

    __tablename__ = "device_variables"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    component: Mapped[str] = mapped_column(String(64), primary_key=True)
    component_instance: Mapped[str] = mapped_column(String(64), primary_key=True)
    evse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variable: Mapped[str] = mapped_column(String(64), primary_key=True)
    variable_instance: Mapped[str] = mapped_column(String(64), primary_key=True)
    attribute_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    mutability: Mapped[str | None] = mapped_column(String(16))
    data_type: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConfigurationKey(Base):
    """A 1.6 configuration key (GetConfiguration/ChangeConfiguration)."""

    __tablename__ = "configuration_keys"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    readonly: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- locations, tariffs and EVSE/connector metadata (0003_locations) -----------------------------


class Location(Base):
    """A site where stations stand (OCPI 2.2.1 ``mod_locations`` §Location object fields).

    ``country`` is ISO 3166-1 alpha-3; ``latitude``/``longitude`` WGS 84 decimal degrees as
    text (OCPI GeoLocation); ``opening_times`` the OCPI Hours object as JSON; ``tariff_id`` the
    tariff of every connector here (else the default tariff applies).
    """

    __tablename__ = "locations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(45))
    city: Mapped[str] = mapped_column(String(45))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    state: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(3))
    latitude: Mapped[str] = mapped_column(String(10))
    longitude: Mapped[str] = mapped_column(String(11))
    time_zone: Mapped[str] = mapped_column(String(64))
    parking_type: Mapped[str | None] = mapped_column(String(32))
    facilities: Mapped[list[str]] = mapped_column(JSON)
    opening_times: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    charging_when_closed: Mapped[bool | None] = mapped_column(Boolean)
    help_phone: Mapped[str | None] = mapped_column(String(32))
    publish: Mapped[bool] = mapped_column(Boolean, default=True)
    tariff_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Tariff(Base):
    """A tariff in the OCPI shape (2.2.1/2.3.0 ``mod_tariffs`` §Tariff object).

    ``elements`` is the list of TariffElement objects as JSON (prices as strings, exact);
    ``tax_included`` 2.3.0 ``YES``/``NO``/``N/A``; ``is_default`` marks the tariff applying where
    a location has none (at most one).
    """

    __tablename__ = "tariffs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    type: Mapped[str | None] = mapped_column(String(32))
    tax_included: Mapped[str] = mapped_column(String(3))
    elements: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    alt_text: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    alt_url: Mapped[str | None] = mapped_column(Text)
    min_price: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    max_price: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    start_date_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_date_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EvseMetadata(Base):
    """What OCPP does not say about an EVSE, set by operators (OCPI EVSE fields).

    ``capabilities`` OCPI Capability names; ``evse_code`` overrides the derived eMI3 EVSE ID.
    """

    __tablename__ = "evse_metadata"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    evse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evse_code: Mapped[str | None] = mapped_column(String(48))
    capabilities: Mapped[list[str] | None] = mapped_column(JSON)
    floor_level: Mapped[str | None] = mapped_column(String(4))
    physical_reference: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConnectorMetadata(Base):
    """Physical data of a connector, set by operators (OCPI Connector object).

    ``standard`` OCPI ConnectorType (e.g. ``IEC_62196_T2``), ``format`` SOCKET/CABLE,
    ``power_type`` AC_1_PHASE/AC_3_PHASE/DC..., ``max_voltage`` V, ``max_amperage`` A,
    ``max_electric_power`` W.
    """

    __tablename__ = "connector_metadata"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    evse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    standard: Mapped[str | None] = mapped_column(String(32))
    format: Mapped[str | None] = mapped_column(String(8))
    power_type: Mapped[str | None] = mapped_column(String(20))
    max_voltage: Mapped[int | None] = mapped_column(Integer)
    max_amperage: Mapped[int | None] = mapped_column(Integer)
    max_electric_power: Mapped[int | None] = mapped_column(Integer)
    capabilities: Mapped[list[str] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- OCPI bridge state (0003_locations): sessions, reservations, CDRs ----------------------------


class OcpiSession(Base):
    """An OCPI Session and its link to a CSMS transaction (``kilowatt.bridges``).

    ``status``: REQUESTED (START_SESSION sent, charger not yet answered), PENDING, ACTIVE,
    COMPLETED or INVALID. ``id_tag`` is what the charger sees (1.6: at most 20 characters);
    ``remote_start_id`` links a 2.x TransactionEvent. ``cdr_token`` is the OCPI CdrToken JSON.
    ``announced``: the session PUT was pushed to the eMSP.
    """

    __tablename__ = "ocpi_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    station_id: Mapped[str] = mapped_column(String(255))
    evse_id: Mapped[int | None] = mapped_column(Integer)
    connector_id: Mapped[int | None] = mapped_column(Integer)
    location_id: Mapped[str] = mapped_column(String(36))
    id_tag: Mapped[str] = mapped_column(String(36), index=True)
    remote_start_id: Mapped[int | None] = mapped_column(Integer, index=True)
    transaction_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    cdr_token: Mapped[dict[str, Any]] = mapped_column(JSON)
    auth_method: Mapped[str] = mapped_column(String(16))
    authorization_reference: Mapped[str | None] = mapped_column(String(36))
    announced: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OcpiReservation(Base):
    """OCPI reservation ids (strings per eMSP party) ↔ OCPP reservation ids (``id``, integer)."""

    __tablename__ = "ocpi_reservations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    reservation_id: Mapped[str] = mapped_column(String(36))
    station_id: Mapped[str] = mapped_column(String(255))
    evse_id: Mapped[int | None] = mapped_column(Integer)
    expiry: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("country_code", "party_id", "reservation_id"),)


class OcpiCdr(Base):
    """A CDR created when a session ended: ``data`` the canonical (2.3.0) CDR JSON."""

    __tablename__ = "ocpi_cdrs"

    id: Mapped[str] = mapped_column(String(39), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(36), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_updated: Mapped[datetime] = mapped_column(UtcDateTime)
