"""OCPI 2.2.1 objects whose wire shape differs from 2.3.0.

Everything else is shared (:mod:`kilowatt.ocpi.models.common`). Differences modelled here:
``Price{excl_vat, incl_vat?}`` (2.2.1 Part I ``types`` §Price class), tariffs without
``tax_included`` and with ``min_price``/``max_price`` as Price, no ``help_phone``/parking
objects on locations, no connector ``capabilities``, ``TokenType`` without ``EMAID``,
``Credentials`` without ``hub_party_id``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    AdditionalGeoLocation,
    AllowedType,
    AuthMethod,
    BusinessDetails,
    Capability,
    ChargingPeriod,
    ConnectorFormat,
    CredentialsRole,
    DateTime,
    DisplayText,
    EnergyContract,
    EnergyMix,
    GeoLocation,
    Hours,
    Image,
    LocationReferences,
    Number,
    OcpiModel,
    ParkingType,
    PowerType,
    ProfileType,
    PublishTokenType,
    SessionStatus,
    Status,
    StatusSchedule,
    TariffElement,
    TariffType,
    WhitelistType,
)


class TokenType(StrEnum):
    """2.2.1 ``mod_tokens`` §TokenType enum."""

    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


class Price(OcpiModel):
    """2.2.1 ``types`` §Price class: amounts in the session/CDR currency."""

    excl_vat: Number
    incl_vat: Number | None = None


class Connector(OcpiModel):
    """2.2.1 ``mod_locations`` §Connector object."""

    id: str = Field(max_length=36)
    standard: str
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: list[str] | None = None
    terms_and_conditions: str | None = None
    last_updated: DateTime


class EVSE(OcpiModel):
    """2.2.1 ``mod_locations`` §EVSE object."""

    uid: str = Field(max_length=36)
    evse_id: str | None = None
    status: Status
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[Capability] | None = None
    connectors: list[Connector] = Field(min_length=1)
    floor_level: str | None = None
    coordinates: GeoLocation | None = None
    physical_reference: str | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[str] | None = None
    images: list[Image] | None = None
    last_updated: DateTime


class Location(OcpiModel):
    """2.2.1 ``mod_locations`` §Location object."""

    country_code: str = Field(max_length=2)
    party_id: str = Field(max_length=3)
    id: str = Field(max_length=36)
    publish: bool
    publish_allowed_to: list[PublishTokenType] | None = None
    name: str | None = None
    address: str
    city: str
    postal_code: str | None = None
    state: str | None = None
    country: str = Field(max_length=3)
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] | None = None
    parking_type: ParkingType | None = None
    evses: list[EVSE] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[str] | None = None
    time_zone: str
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


class CdrToken(OcpiModel):
    """2.2.1 ``mod_cdrs`` §CdrToken class."""

    country_code: str = Field(max_length=2)
    party_id: str = Field(max_length=3)
    uid: str = Field(max_length=36)
    type: TokenType
    contract_id: str = Field(max_length=36)


class Session(OcpiModel):
    """2.2.1 ``mod_sessions`` §Session object."""

    country_code: str = Field(max_length=2)
    party_id: str = Field(max_length=3)
    id: str = Field(max_length=36)
    start_date_time: DateTime
    end_date_time: DateTime | None = None
    kwh: Number
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: str | None = None
    location_id: str
    evse_uid: str
    connector_id: str
    meter_id: str | None = None
    currency: str = Field(max_length=3)
    charging_periods: list[ChargingPeriod] | None = None
    total_cost: Price | None = None
    status: SessionStatus
    last_updated: DateTime


class Tariff(OcpiModel):
    """2.2.1 ``mod_tariffs`` §Tariff object."""

    country_code: str = Field(max_length=2)
    party_id: str = Field(max_length=3)
    id: str = Field(max_length=36)
    currency: str = Field(max_length=3)
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: str | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    elements: list[TariffElement] = Field(min_length=1)
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


class CDR(OcpiModel):
    """2.2.1 ``mod_cdrs`` §CDR object."""

    country_code: str = Field(max_length=2)
    party_id: str = Field(max_length=3)
    id: str = Field(max_length=39)
    start_date_time: DateTime
    end_date_time: DateTime
    session_id: str | None = None
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: str | None = None
    cdr_location: v230.CdrLocation
    meter_id: str | None = None
    currency: str = Field(max_length=3)
    tariffs: list[Tariff] | None = None
    charging_periods: list[ChargingPeriod] = Field(min_length=1)
    signed_data: dict[str, object] | None = None
    total_cost: Price
    total_fixed_cost: Price | None = None
    total_energy: Number
    total_energy_cost: Price | None = None
    total_time: Number
    total_time_cost: Price | None = None
    total_parking_time: Number | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: str | None = None
    invoice_reference_id: str | None = None
    credit: bool | None = None
    credit_reference_id: str | None = None
    home_charging_compensation: bool | None = None
    last_updated: DateTime


class Token(OcpiModel):
    """2.2.1 ``mod_tokens`` §Token object."""

    country_code: str = Field(max_length=2)
    party_id: str = Field(max_length=3)
    uid: str = Field(max_length=36)
    type: TokenType
    contract_id: str = Field(max_length=36)
    visual_number: str | None = None
    issuer: str
    group_id: str | None = None
    valid: bool
    whitelist: WhitelistType
    language: str | None = None
    default_profile_type: ProfileType | None = None
    energy_contract: EnergyContract | None = None
    last_updated: DateTime


class AuthorizationInfo(OcpiModel):
    """2.2.1 ``mod_tokens`` §AuthorizationInfo object."""

    allowed: AllowedType
    token: Token
    location: LocationReferences | None = None
    authorization_reference: str | None = None
    info: DisplayText | None = None


class StartSession(OcpiModel):
    """2.2.1 ``mod_commands`` §StartSession object."""

    response_url: str
    token: Token
    location_id: str
    evse_uid: str | None = None
    connector_id: str | None = None
    authorization_reference: str | None = None


class ReserveNow(OcpiModel):
    """2.2.1 ``mod_commands`` §ReserveNow object."""

    response_url: str
    token: Token
    expiry_date: DateTime
    reservation_id: str
    location_id: str
    evse_uid: str | None = None
    authorization_reference: str | None = None


class Credentials(OcpiModel):
    """2.2.1 ``credentials`` §Credentials object."""

    token: str = Field(max_length=64)
    url: str
    roles: list[CredentialsRole] = Field(min_length=1)
