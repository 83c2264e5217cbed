"""OCPI 2.3.0 objects — also Kilowatt's canonical (version-neutral) model.

The :class:`~kilowatt.ocpi.protocols.CpoBackend` returns these objects; responses for 2.2.1
partners are derived from them by :mod:`kilowatt.ocpi.convert`.

What 2.3.0 changes against 2.2.1 (OCPI 2.3.0 changelog, ``types``, ``mod_tariffs``,
``mod_locations``, ``mod_tokens``, ``credentials``):

- ``Price`` is ``{before_taxes, taxes[]}`` (``TaxAmount{name, account_number?, percentage?,
  amount}``) instead of ``{excl_vat, incl_vat?}``; tariffs carry ``tax_included`` and
  ``min_price``/``max_price`` become ``PriceLimit{before_taxes, after_taxes?}``.
- ``Location.help_phone`` and ``Location.parking_places``; ``EVSE.parking``,
  ``EVSE.accepted_service_providers``; ``Connector.capabilities`` (ISO 15118 Plug & Charge).
- ``TokenType`` gains ``EMAID``; ``ConnectorType`` becomes open (e.g. ``MCS``).
- ``Credentials.hub_party_id`` replaces the HUB role.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

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

__all__ = [
    "CDR",
    "EVSE",
    "AuthorizationInfo",
    "CdrLocation",
    "CdrToken",
    "Connector",
    "ConnectorCapability",
    "Credentials",
    "EvseParking",
    "Location",
    "Parking",
    "Price",
    "PriceLimit",
    "ReserveNow",
    "Session",
    "StartSession",
    "Tariff",
    "TaxAmount",
    "TaxIncluded",
    "Token",
    "TokenType",
]


class TokenType(StrEnum):
    """2.3.0 ``mod_tokens`` §TokenType enum (2.2.1 plus ``EMAID``)."""

    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    EMAID = "EMAID"
    OTHER = "OTHER"
    RFID = "RFID"


class ConnectorCapability(StrEnum):
    """2.3.0 ``mod_locations`` §ConnectorCapability enum."""

    ISO_15118_2_PLUG_AND_CHARGE = "ISO_15118_2_PLUG_AND_CHARGE"
    ISO_15118_20_PLUG_AND_CHARGE = "ISO_15118_20_PLUG_AND_CHARGE"


class TaxIncluded(StrEnum):
    """2.3.0 ``mod_tariffs`` §TaxIncluded enum: whether ``PriceComponent.price`` has taxes in."""

    YES = "YES"
    NO = "NO"
    NA = "N/A"


class TaxAmount(OcpiModel):
    """2.3.0 ``types`` §TaxAmount class: ``amount`` in the currency, ``percentage`` 0–100."""

    name: str
    account_number: str | None = None
    percentage: Number | None = None
    amount: Number


class Price(OcpiModel):
    """2.3.0 ``types`` §Price class: cost before taxes and the taxes applied."""

    before_taxes: Number
    taxes: list[TaxAmount] | None = None

    @property
    def after_taxes(self) -> Number:
        """``before_taxes`` plus every tax amount."""
        return self.before_taxes + sum((t.amount for t in self.taxes or []), Number(0))


class PriceLimit(OcpiModel):
    """2.3.0 ``mod_tariffs`` §PriceLimit class (tariff ``min_price``/``max_price``)."""

    before_taxes: Number
    after_taxes: Number | None = None


class Connector(OcpiModel):
    """2.3.0 ``mod_locations`` §Connector object: volts, amperes, watts (``max_electric_power``)."""

    id: str = Field(max_length=36)
    standard: str
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: list[str] | None = None
    terms_and_conditions: str | None = None
    capabilities: list[ConnectorCapability] | None = None
    last_updated: DateTime


class EvseParking(OcpiModel):
    """2.3.0 ``mod_locations`` §EVSEParking class: which Parking an EVSE serves."""

    parking_id: str
    evse_position: str | None = None


class Parking(OcpiModel):
    """2.3.0 ``mod_locations`` §Parking class (AFIR reporting); fields beyond these are kept."""

    id: str
    physical_reference: str | None = None
    vehicle_types: list[str] | None = None
    max_vehicle_weight: Number | None = None
    max_vehicle_height: Number | None = None
    max_vehicle_length: Number | None = None
    max_vehicle_width: Number | None = None
    parking_space_length: Number | None = None
    parking_space_width: Number | None = None
    dangerous_goods_allowed: bool | None = None
    direction: str | None = None
    drive_through: bool | None = None
    restricted_to_type: bool | None = None
    reservation_required: bool | None = None
    time_limit: Number | None = None
    roofed: bool | None = None
    images: list[Image] | None = None
    lighting: bool | None = None
    refrigeration_outlet: bool | None = None
    standards: list[str] | None = None
    apds_reference: str | None = None


class EVSE(OcpiModel):
    """2.3.0 ``mod_locations`` §EVSE object."""

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
    parking: list[EvseParking] | None = None
    images: list[Image] | None = None
    accepted_service_providers: list[str] | None = None
    last_updated: DateTime


class Location(OcpiModel):
    """2.3.0 ``mod_locations`` §Location object."""

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
    parking_places: list[Parking] | None = None
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
    help_phone: str | None = None
    last_updated: DateTime


class CdrToken(OcpiModel):
    """2.3.0 ``mod_cdrs`` §CdrToken class."""

    country_code: str = Field(max_length=2)
    party_id: str = Field(max_length=3)
    uid: str = Field(max_length=36)
    type: TokenType
    contract_id: str = Field(max_length=36)


class Session(OcpiModel):
    """2.3.0 ``mod_sessions`` §Session object: ``kwh`` in kWh, ``total_cost`` a Price."""

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


class CdrLocation(OcpiModel):
    """2.3.0 ``mod_cdrs`` §CdrLocation class."""

    id: str
    name: str | None = None
    address: str
    city: str
    postal_code: str | None = None
    state: str | None = None
    country: str
    coordinates: GeoLocation
    evse_uid: str
    evse_id: str
    connector_id: str
    connector_standard: str
    connector_format: ConnectorFormat
    connector_power_type: PowerType


class Tariff(OcpiModel):
    """2.3.0 ``mod_tariffs`` §Tariff object."""

    country_code: str = Field(max_length=2)
    party_id: str = Field(max_length=3)
    id: str = Field(max_length=36)
    currency: str = Field(max_length=3)
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: str | None = None
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    preauthorize_amount: Number | None = None
    elements: list[TariffElement] = Field(min_length=1)
    tax_included: TaxIncluded = TaxIncluded.NO
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


class CDR(OcpiModel):
    """2.3.0 ``mod_cdrs`` §CDR object: energy in kWh, times in hours, costs as Price."""

    country_code: str = Field(max_length=2)
    party_id: str = Field(max_length=3)
    id: str = Field(max_length=39)
    start_date_time: DateTime
    end_date_time: DateTime
    session_id: str | None = None
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: str | None = None
    cdr_location: CdrLocation
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
    """2.3.0 ``mod_tokens`` §Token object (pushed by eMSPs to the CPO)."""

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
    """2.3.0 ``mod_tokens`` §AuthorizationInfo object (real-time authorization answer)."""

    allowed: AllowedType
    token: Token
    location: LocationReferences | None = None
    authorization_reference: str | None = None
    info: DisplayText | None = None


class StartSession(OcpiModel):
    """2.3.0 ``mod_commands`` §StartSession object."""

    response_url: str
    token: Token
    location_id: str
    evse_uid: str | None = None
    connector_id: str | None = None
    authorization_reference: str | None = None


class ReserveNow(OcpiModel):
    """2.3.0 ``mod_commands`` §ReserveNow object."""

    response_url: str
    token: Token
    expiry_date: DateTime
    reservation_id: str
    location_id: str
    evse_uid: str | None = None
    authorization_reference: str | None = None


class Credentials(OcpiModel):
    """2.3.0 ``credentials`` §Credentials object (``hub_party_id`` new in 2.3.0)."""

    token: str = Field(max_length=64)
    url: str
    hub_party_id: str | None = None
    roles: list[CredentialsRole] = Field(min_length=1)
