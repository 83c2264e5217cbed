"""Wire types shared by OCPI 2.2.1 and 2.3.0 (identical in both versions).

Sources: OCPI 2.2.1 Part I "Types" (``types.asciidoc``), Part II module chapters
(``mod_locations``, ``mod_sessions``, ``mod_cdrs``, ``mod_tariffs``, ``mod_tokens``,
``mod_commands``), ``credentials.asciidoc`` and ``version_information_endpoint.asciidoc``;
OCPI 2.3.0 keeps these shapes unchanged. Version-specific objects live in
:mod:`kilowatt.ocpi.models.v221` and :mod:`kilowatt.ocpi.models.v230`.

Conventions:

- Optional fields are ``None`` and are *omitted* on the wire (``exclude_none``), never ``null``.
- ``DateTime`` is always timezone-aware UTC and serialises as ``YYYY-MM-DDTHH:MM:SSZ``
  (OCPI 2.2.1 Part I §"DateTime type"); a timestamp without a designator is read as UTC.
- ``Number`` is a :class:`~decimal.Decimal` in Python (exact prices) and a JSON number on the
  wire (OCPI 2.2.1 Part I §"number type": at most 4 decimals).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """Format a datetime as OCPI ``DateTime`` (RFC 3339, UTC, ``Z`` suffix, ms when present)."""
    value = _as_utc(value)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _decimal_to_number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


DateTime = Annotated[
    datetime,
    AfterValidator(_as_utc),
    PlainSerializer(format_datetime, return_type=str, when_used="json"),
]
"""OCPI DateTime: aware UTC datetime, ``2015-06-29T20:39:09Z`` on the wire."""

Number = Annotated[
    Decimal,
    PlainSerializer(_decimal_to_number, return_type=float, when_used="json"),
]
"""OCPI number: exact Decimal in Python, a JSON number on the wire."""


class OcpiModel(BaseModel):
    """Base of every OCPI object: unknown fields from peers are ignored, enums kept as values."""

    model_config = ConfigDict(extra="ignore", use_enum_values=False, populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict of this object, optional fields omitted (never ``null``)."""
        return self.model_dump(mode="json", exclude_none=True)


# ----------------------------------------------------------------------------- enums


class VersionNumber(StrEnum):
    """Supported OCPI versions (``version_information_endpoint`` §VersionNumber enum)."""

    V2_2_1 = "2.2.1"
    V2_3_0 = "2.3.0"


class ModuleID(StrEnum):
    """Module identifiers (2.2.1 ``version_information_endpoint`` §ModuleID enum)."""

    CDRS = "cdrs"
    CHARGING_PROFILES = "chargingprofiles"
    COMMANDS = "commands"
    CREDENTIALS = "credentials"
    HUB_CLIENT_INFO = "hubclientinfo"
    LOCATIONS = "locations"
    SESSIONS = "sessions"
    TARIFFS = "tariffs"
    TOKENS = "tokens"


class InterfaceRole(StrEnum):
    """Which side of a module an endpoint implements (2.2.1 §InterfaceRole enum)."""

    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


class Role(StrEnum):
    """Party roles (2.2.1 Part I §Role enum; 2.3.0 drops HUB in favour of ``hub_party_id``)."""

    CPO = "CPO"
    EMSP = "EMSP"
    HUB = "HUB"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class Status(StrEnum):
    """EVSE status (2.2.1 ``mod_locations`` §Status enum)."""

    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


class Capability(StrEnum):
    """EVSE capabilities (2.2.1 ``mod_locations`` §Capability enum)."""

    CHARGING_PROFILE_CAPABLE = "CHARGING_PROFILE_CAPABLE"
    CHARGING_PREFERENCES_CAPABLE = "CHARGING_PREFERENCES_CAPABLE"
    CHIP_CARD_SUPPORT = "CHIP_CARD_SUPPORT"
    CONTACTLESS_CARD_SUPPORT = "CONTACTLESS_CARD_SUPPORT"
    CREDIT_CARD_PAYABLE = "CREDIT_CARD_PAYABLE"
    DEBIT_CARD_PAYABLE = "DEBIT_CARD_PAYABLE"
    PED_TERMINAL = "PED_TERMINAL"
    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE"
    RESERVABLE = "RESERVABLE"
    RFID_READER = "RFID_READER"
    START_SESSION_CONNECTOR_REQUIRED = "START_SESSION_CONNECTOR_REQUIRED"
    TOKEN_GROUP_CAPABLE = "TOKEN_GROUP_CAPABLE"
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE"


class ConnectorFormat(StrEnum):
    """2.2.1 ``mod_locations`` §ConnectorFormat enum."""

    SOCKET = "SOCKET"
    CABLE = "CABLE"


class PowerType(StrEnum):
    """2.2.1 ``mod_locations`` §PowerType enum."""

    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class ParkingType(StrEnum):
    """2.2.1 ``mod_locations`` §ParkingType enum."""

    ALONG_MOTORWAY = "ALONG_MOTORWAY"
    PARKING_GARAGE = "PARKING_GARAGE"
    PARKING_LOT = "PARKING_LOT"
    ON_DRIVEWAY = "ON_DRIVEWAY"
    ON_STREET = "ON_STREET"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE"


class SessionStatus(StrEnum):
    """2.2.1 ``mod_sessions`` §SessionStatus enum: PENDING → ACTIVE → COMPLETED (or INVALID)."""

    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"
    RESERVATION = "RESERVATION"


class AuthMethod(StrEnum):
    """2.2.1 ``mod_cdrs`` §AuthMethod enum."""

    AUTH_REQUEST = "AUTH_REQUEST"
    COMMAND = "COMMAND"
    WHITELIST = "WHITELIST"


class CdrDimensionType(StrEnum):
    """2.2.1 ``mod_sessions`` §CdrDimensionType enum (volumes: kWh, A, kW, hours, %)."""

    CURRENT = "CURRENT"
    ENERGY = "ENERGY"
    ENERGY_EXPORT = "ENERGY_EXPORT"
    ENERGY_IMPORT = "ENERGY_IMPORT"
    MAX_CURRENT = "MAX_CURRENT"
    MIN_CURRENT = "MIN_CURRENT"
    MAX_POWER = "MAX_POWER"
    MIN_POWER = "MIN_POWER"
    PARKING_TIME = "PARKING_TIME"
    POWER = "POWER"
    RESERVATION_TIME = "RESERVATION_TIME"
    STATE_OF_CHARGE = "STATE_OF_CHARGE"
    TIME = "TIME"


class TariffDimensionType(StrEnum):
    """2.2.1 ``mod_tariffs`` §TariffDimensionType enum.

    Units of ``PriceComponent.price``: ENERGY per kWh, TIME and PARKING_TIME per hour, FLAT per
    session. Units of ``step_size``: ENERGY in Wh, TIME/PARKING_TIME in seconds, FLAT ignored.
    """

    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class TariffType(StrEnum):
    """2.2.1 ``mod_tariffs`` §TariffType enum."""

    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


class DayOfWeek(StrEnum):
    """2.2.1 ``mod_tariffs`` §DayOfWeek enum."""

    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class ReservationRestrictionType(StrEnum):
    """2.2.1 ``mod_tariffs`` §ReservationRestrictionType enum."""

    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class WhitelistType(StrEnum):
    """2.2.1 ``mod_tokens`` §WhitelistType enum: when the CPO must ask the eMSP in real time.

    ALWAYS: always real-time; ALLOWED: local whitelist allowed, real-time preferred;
    ALLOWED_OFFLINE: real-time, fall back to the whitelist only when the eMSP is unreachable;
    NEVER: whitelist only, never ask.
    """

    ALWAYS = "ALWAYS"
    ALLOWED = "ALLOWED"
    ALLOWED_OFFLINE = "ALLOWED_OFFLINE"
    NEVER = "NEVER"


class AllowedType(StrEnum):
    """2.2.1 ``mod_tokens`` §AllowedType enum."""

    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"


class ProfileType(StrEnum):
    """2.2.1 ``types`` §ProfileType enum."""

    CHEAP = "CHEAP"
    FAST = "FAST"
    GREEN = "GREEN"
    REGULAR = "REGULAR"


class CommandType(StrEnum):
    """2.2.1 ``mod_commands`` §CommandType enum (also the last URL segment)."""

    CANCEL_RESERVATION = "CANCEL_RESERVATION"
    RESERVE_NOW = "RESERVE_NOW"
    START_SESSION = "START_SESSION"
    STOP_SESSION = "STOP_SESSION"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR"


class CommandResponseType(StrEnum):
    """2.2.1 ``mod_commands`` §CommandResponseType enum: the immediate answer."""

    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class CommandResultType(StrEnum):
    """2.2.1 ``mod_commands`` §CommandResultType enum: the charger's answer, POSTed later."""

    ACCEPTED = "ACCEPTED"
    CANCELED_RESERVATION = "CANCELED_RESERVATION"
    EVSE_OCCUPIED = "EVSE_OCCUPIED"
    EVSE_INOPERATIVE = "EVSE_INOPERATIVE"
    FAILED = "FAILED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    TIMEOUT = "TIMEOUT"
    UNKNOWN_RESERVATION = "UNKNOWN_RESERVATION"


# ----------------------------------------------------------------------------- small objects


class DisplayText(OcpiModel):
    """2.2.1 ``types`` §DisplayText class: ``language`` ISO 639-1, ``text`` ≤ 512 chars."""

    language: str = Field(max_length=2)
    text: str = Field(max_length=512)


class GeoLocation(OcpiModel):
    """2.2.1 ``mod_locations`` §GeoLocation class: WGS 84 decimal degrees as strings."""

    latitude: str = Field(max_length=10)
    longitude: str = Field(max_length=11)


class AdditionalGeoLocation(GeoLocation):
    """2.2.1 ``mod_locations`` §AdditionalGeoLocation class."""

    name: DisplayText | None = None


class Image(OcpiModel):
    """2.2.1 ``types`` §Image class."""

    url: str
    thumbnail: str | None = None
    category: str
    type: str = Field(max_length=4)
    width: int | None = None
    height: int | None = None


class BusinessDetails(OcpiModel):
    """2.2.1 ``types`` §BusinessDetails class."""

    name: str = Field(max_length=100)
    website: str | None = None
    logo: Image | None = None


class RegularHours(OcpiModel):
    """2.2.1 ``mod_locations`` §RegularHours class: weekday 1 (Mon)–7 (Sun), ``HH:MM`` local."""

    weekday: int = Field(ge=1, le=7)
    period_begin: str
    period_end: str


class ExceptionalPeriod(OcpiModel):
    """2.2.1 ``mod_locations`` §ExceptionalPeriod class."""

    period_begin: DateTime
    period_end: DateTime


class Hours(OcpiModel):
    """2.2.1 ``mod_locations`` §Hours class."""

    twentyfourseven: bool
    regular_hours: list[RegularHours] | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None


class EnergySource(OcpiModel):
    """2.2.1 ``mod_locations`` §EnergySource class (percentage 0–100)."""

    source: str
    percentage: Number


class EnvironmentalImpact(OcpiModel):
    """2.2.1 ``mod_locations`` §EnvironmentalImpact class (g/kWh)."""

    category: str
    amount: Number


class EnergyMix(OcpiModel):
    """2.2.1 ``mod_locations`` §EnergyMix class."""

    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: str | None = None
    energy_product_name: str | None = None


class StatusSchedule(OcpiModel):
    """2.2.1 ``mod_locations`` §StatusSchedule class."""

    period_begin: DateTime
    period_end: DateTime | None = None
    status: Status


class PublishTokenType(OcpiModel):
    """2.2.1 ``mod_locations`` §PublishTokenType class."""

    uid: str | None = None
    type: str | None = None
    visual_number: str | None = None
    issuer: str | None = None
    group_id: str | None = None


class CdrDimension(OcpiModel):
    """2.2.1 ``mod_sessions`` §CdrDimension class; volume unit depends on ``type``."""

    type: CdrDimensionType
    volume: Number


class ChargingPeriod(OcpiModel):
    """2.2.1 ``mod_sessions`` §ChargingPeriod class: a period starts here, ends at the next."""

    start_date_time: DateTime
    dimensions: list[CdrDimension]
    tariff_id: str | None = None


class TariffRestrictions(OcpiModel):
    """2.2.1 ``mod_tariffs`` §TariffRestrictions class.

    Times ``HH:MM`` and dates ``YYYY-MM-DD`` are in the Location's local time; kWh in kWh,
    currents in A, powers in kW, durations in seconds. Minimums are inclusive, maximums
    exclusive.
    """

    start_time: str | None = None
    end_time: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    min_kwh: Number | None = None
    max_kwh: Number | None = None
    min_current: Number | None = None
    max_current: Number | None = None
    min_power: Number | None = None
    max_power: Number | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[DayOfWeek] | None = None
    reservation: ReservationRestrictionType | None = None


class PriceComponent(OcpiModel):
    """2.2.1 ``mod_tariffs`` §PriceComponent class.

    ``price`` per unit of ``type`` (per kWh, per hour, or flat); ``vat`` in percent;
    ``step_size`` in Wh (ENERGY) or seconds (TIME, PARKING_TIME).
    """

    type: TariffDimensionType
    price: Number
    vat: Number | None = None
    step_size: int = Field(ge=0)


class TariffElement(OcpiModel):
    """2.2.1 ``mod_tariffs`` §TariffElement class."""

    price_components: list[PriceComponent]
    restrictions: TariffRestrictions | None = None


class EnergyContract(OcpiModel):
    """2.2.1 ``mod_tokens`` §EnergyContract class."""

    supplier_name: str
    contract_id: str | None = None


class LocationReferences(OcpiModel):
    """2.2.1 ``mod_tokens`` §LocationReferences class (body of real-time authorize)."""

    location_id: str
    evse_uids: list[str] | None = None


class CommandResponse(OcpiModel):
    """2.2.1 ``mod_commands`` §CommandResponse object: ``timeout`` in seconds."""

    result: CommandResponseType
    timeout: int
    message: list[DisplayText] | None = None


class CommandResult(OcpiModel):
    """2.2.1 ``mod_commands`` §CommandResult object, POSTed to ``response_url``."""

    result: CommandResultType
    message: list[DisplayText] | None = None


class CancelReservation(OcpiModel):
    """2.2.1 ``mod_commands`` §CancelReservation object."""

    response_url: str
    reservation_id: str


class StopSession(OcpiModel):
    """2.2.1 ``mod_commands`` §StopSession object."""

    response_url: str
    session_id: str


class UnlockConnector(OcpiModel):
    """2.2.1 ``mod_commands`` §UnlockConnector object."""

    response_url: str
    location_id: str
    evse_uid: str
    connector_id: str


class Version(OcpiModel):
    """``version_information_endpoint`` §Version class."""

    version: str
    url: str


class Endpoint(OcpiModel):
    """``version_information_endpoint`` §Endpoint class."""

    identifier: str
    role: InterfaceRole
    url: str


class VersionDetails(OcpiModel):
    """``version_information_endpoint`` §Version details object (GET ``/ocpi/{version}``)."""

    version: str
    endpoints: list[Endpoint]


class CredentialsRole(OcpiModel):
    """``credentials`` §CredentialsRole class."""

    role: Role
    business_details: BusinessDetails
    party_id: str = Field(max_length=3)
    country_code: str = Field(max_length=2)
