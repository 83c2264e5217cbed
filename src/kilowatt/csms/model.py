"""Version-neutral domain types: the inputs and outputs of the CSMS services.

They carry no OCPP version: a handler translates a 1.6 or 2.x payload into these types and the
results back. Times are aware UTC datetimes; energies are Wh as exact :class:`~decimal.Decimal`;
powers W; currents A; durations s.

EVSE/connector numbering: OCPP 2.x addresses a connector as (evseId, connectorId). OCPP 1.6 has
no EVSE level; a 1.6 handler passes ``evse_id = connector_id = connectorId`` (each 1.6 connector
is its own EVSE, and connectorId 0, the station as a whole, is EVSE 0 connector 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

__all__ = [
    "MAX_EVSE_ID",
    "AuthStatus",
    "AuthorizationResult",
    "BootInfo",
    "BootResult",
    "ConfigurationEntry",
    "ConnectDecision",
    "ConnectorInfo",
    "EvseInfo",
    "IdTokenInfo",
    "IdTokenInput",
    "JournalEntryInfo",
    "MeterValueInfo",
    "Page",
    "RegistrationStatus",
    "SampledValue",
    "StationEventInfo",
    "StationInfo",
    "StatusReport",
    "TokenStatus",
    "TransactionInfo",
    "TransactionStatus",
    "VariableReport",
    "place_error",
]

T = TypeVar("T")
D = TypeVar("D")

MAX_EVSE_ID = 1000
"""Largest EVSE id and largest connector id a station may use (1.6 ``connectorId``; 2.x
``evse.id``, ``evseId``, ``evse.connectorId``, ``connectorId``).

Every id a station names becomes a stored EVSE/connector row, so an unbounded id (``2^62``, or
2^31 - 1 within the OCPP integer type) would let one station create rows without end. No
charging station has a thousand EVSEs; a station naming one beyond the bound is answered
PropertyConstraintViolation (see :func:`place_error`). Ids are never negative (the schemas'
``minimum: 0``)."""


def place_error(evse_id: int | None, connector_id: int | None) -> str | None:
    """Why an (EVSE id, connector id) a station named cannot be stored, or None when it can.

    Args:
        evse_id: The EVSE id (1.6: the connectorId), None when the message names none.
        connector_id: The connector id (within the EVSE), None when the message names none.

    Returns:
        A message for the CallError description, or None.
    """
    for name, value in (("evse id", evse_id), ("connector id", connector_id)):
        if value is not None and not 0 <= value <= MAX_EVSE_ID:
            return f"{name} {value} is outside 0..{MAX_EVSE_ID}, the ids this CSMS stores"
    return None


ENERGY_REGISTER = "Energy.Active.Import.Register"
"""The measurand from which transaction energy is derived (default measurand of a sample)."""


class Sample(Protocol):
    """What :func:`~kilowatt.csms.transactions.energy_wh` reads of a sampled value.

    Both a new :class:`SampledValue` and a stored :class:`MeterValueInfo` have it.
    """

    @property
    def measurand(self) -> str: ...
    @property
    def phase(self) -> str | None: ...
    @property
    def location(self) -> str | None: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def value(self) -> Decimal: ...


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def from_row(cls: type[D], row: Mapping[Any, Any], **overrides: Any) -> D:
    """Build dataclass ``cls`` from a DB row whose keys include the field names."""
    names = _FIELD_NAMES.get(cls)
    if names is None:  # dataclasses.fields() walks the class every time: once per class
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    values = {name: row[name] for name in names if name in row and name not in overrides}
    return cls(**values, **overrides)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: ``items`` after ``offset``, and ``total`` matching items overall."""

    items: list[T]
    total: int


# --- stations -----------------------------------------------------------------------------------


class RegistrationStatus(StrEnum):
    """BootNotification answer (OCPP 1.6 RegistrationStatus, 2.0.1 RegistrationStatusEnumType)."""

    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class ConnectDecision(StrEnum):
    """Outcome of the handshake check (:meth:`StationService.check_connection`)."""

    ACCEPT = "accept"
    """Upgrade the connection."""
    UNKNOWN = "unknown"
    """Unknown identity and registration ``known``: answer HTTP 404."""
    UNAUTHORIZED = "unauthorized"
    """Missing/wrong password or a security profile downgrade: answer HTTP 401."""


@dataclass(frozen=True, slots=True)
class ConnectorInfo:
    """Latest StatusNotification of a connector (status/error code as the station sent them)."""

    connector_id: int
    status: str | None = None
    error_code: str | None = None
    info: str | None = None
    vendor_error_code: str | None = None
    status_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EvseInfo:
    """An EVSE and its connectors."""

    evse_id: int
    connectors: tuple[ConnectorInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class StationInfo:
    """A station record. ``evses`` is filled by ``StationService.get`` (empty in lists)."""

    id: str
    ocpp_version: str | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    boot_status: str | None
    last_boot: datetime | None
    last_seen: datetime | None
    connected: bool
    security_profile: int
    has_password: bool
    location_id: str | None
    created_at: datetime
    updated_at: datetime
    evses: tuple[EvseInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class BootInfo:
    """What a BootNotification tells about the station (1.6 4.2, 2.0.1 B01)."""

    vendor: str
    model: str
    serial_number: str | None = None
    firmware_version: str | None = None
    reason: str | None = None
    """2.x BootReasonEnumType (e.g. ``PowerUp``); None for 1.6."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Other fields worth keeping (iccid, imsi, meter type...), stored as a station event."""


@dataclass(frozen=True, slots=True)
class BootResult:
    """BootNotification answer: status, heartbeat ``interval`` in s, CSMS ``current_time``."""

    status: RegistrationStatus
    interval: int
    current_time: datetime


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A StatusNotification (1.6 4.9, 2.0.1 G01). ``connector_id`` None: EVSE-level only."""

    evse_id: int
    connector_id: int | None
    status: str
    error_code: str | None = None
    """1.6 ChargePointErrorCode (``NoError`` is stored as given); None in 2.x."""
    info: str | None = None
    vendor_error_code: str | None = None
    timestamp: datetime | None = None
    """When the station saw the change; CSMS time when None."""


@dataclass(frozen=True, slots=True)
class VariableReport:
    """One variable attribute of the 2.x device model (NotifyReport B07, GetVariables B06)."""

    component: str
    variable: str
    attribute_type: str = "Actual"
    value: str | None = None
    component_instance: str | None = None
    variable_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    mutability: str | None = None
    data_type: str | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class ConfigurationEntry:
    """A 1.6 configuration key (GetConfiguration 5.8); ``value`` None when not set."""

    key: str
    value: str | None
    readonly: bool = False


@dataclass(frozen=True, slots=True)
class StationEventInfo:
    """A stored station notification; ``kind`` names it (e.g. ``SecurityEventNotification``)."""

    id: int
    station_id: str
    at: datetime
    kind: str
    data: dict[str, Any]


# --- authorization -------------------------------------------------------------------------------


class TokenStatus(StrEnum):
    """Stored status of an id token."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"


class AuthStatus(StrEnum):
    """Result of an authorization (1.6 AuthorizationStatus, 2.0.1 AuthorizationStatusEnumType).

    ``UNKNOWN`` is 2.x only; a 1.6 handler answers it as ``Invalid``.
    """

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class AuthorizationResult:
    """IdTagInfo / IdTokenInfo content: status, optional expiry and group (parent) id."""

    status: AuthStatus
    expiry: datetime | None = None
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class IdTokenInput:
    """Operator-provided fields of an id token (``PUT /id-tokens/{id}``)."""

    status: TokenStatus = TokenStatus.ACCEPTED
    type: str | None = None
    """2.x IdTokenEnumType (``ISO14443``, ``eMAID``, ``Central``...); None matches any type."""
    expiry: datetime | None = None
    group_id: str | None = None
    max_concurrent_transactions: int | None = None
    """At most this many active transactions at once (ConcurrentTx beyond); None = no limit."""


@dataclass(frozen=True, slots=True)
class IdTokenInfo:
    """A stored id token."""

    id_token: str
    type: str | None
    status: TokenStatus
    expiry: datetime | None
    group_id: str | None
    max_concurrent_transactions: int | None
    created_at: datetime
    updated_at: datetime


# --- transactions -------------------------------------------------------------------------------


class TransactionStatus(StrEnum):
    """A stored transaction's ``status``: ``active`` from its begin, ``completed`` once ended."""

    ACTIVE = "active"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class SampledValue:
    """One sampled value (1.6 SampledValue, 2.x SampledValueType), with its MeterValue timestamp.

    ``value`` is exact and already scaled: a 2.x handler applies ``unitOfMeasure.multiplier``
    (``value.scaleb(multiplier)``). ``unit`` as sent (``Wh``, ``kWh``, ``W``, ``A``...), None
    when the station left it out (the spec default for energy is Wh).
    """

    value: Decimal
    timestamp: datetime
    measurand: str = ENERGY_REGISTER
    phase: str | None = None
    unit: str | None = None
    context: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class MeterValueInfo:
    """A stored sampled value; absent phase/location/context are ``None``."""

    id: int
    station_id: str
    transaction_id: int | None
    evse_id: int
    connector_id: int
    timestamp: datetime
    measurand: str
    phase: str | None
    unit: str | None
    context: str | None
    location: str | None
    value: Decimal


@dataclass(frozen=True, slots=True)
class TransactionInfo:
    """A charging session. ``id`` is the CSMS integer id (1.6 transactionId; API id)."""

    id: int
    station_id: str
    station_tx_id: str | None
    """The station's own transactionId string (2.x); None for 1.6."""
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    id_token_type: str | None
    status: TransactionStatus
    started_at: datetime
    stopped_at: datetime | None
    meter_start_wh: Decimal | None
    meter_stop_wh: Decimal | None
    energy_wh: Decimal | None
    """Energy delivered in Wh: (latest or final) Energy.Active.Import.Register − meter start."""
    stop_reason: str | None
    charging_state: str | None
    remote_start_id: int | None
    reservation_id: int | None
    last_seq_no: int | None
    updated_at: datetime

    @property
    def duration_s(self) -> float | None:
        """Duration in s from start to stop; None while active."""
        if self.stopped_at is None:
            return None
        return (self.stopped_at - self.started_at).total_seconds()


@dataclass(slots=True)
class TransactionMessage:
    """What one station message says about a transaction, in version-neutral terms.

    The input of :meth:`~kilowatt.csms.transactions.TransactionService.begin`, ``update`` and
    ``end``.

    Not frozen, unlike the other value types here: one is built per transaction message and a
    frozen dataclass of this size takes ~1.5 µs to build against ~0.3 µs (the service does
    not change it; neither should the caller once it is passed).

    The transaction is named by ``transaction_id`` (the id the CSMS assigned: 1.6
    transactionId) or ``station_tx_id`` (the station's own id: 2.x transactionId), or neither
    (samples outside a transaction, or a begin whose id the CSMS assigns now). Fields left
    None are not stated by this message and leave the stored value alone.
    """

    station_id: str
    timestamp: datetime
    """When it happened, by the station's clock (start, sample or stop time)."""
    transaction_id: int | None = None
    station_tx_id: str | None = None
    seq_no: int | None = None
    """The station's message number within the transaction (2.x seqNo): a (transaction,
    seq_no) is processed once; None where the protocol has none (1.6)."""
    trigger_reason: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    id_token: str | None = None
    id_token_type: str | None = None
    charging_state: str | None = None
    remote_start_id: int | None = None
    reservation_id: int | None = None
    meter_start_wh: Decimal | None = None
    """Register reading at the start in Wh, when the begin states it (1.6 meterStart)."""
    meter_stop_wh: Decimal | None = None
    """Register reading at the end in Wh, when the end states it (1.6 meterStop); else the
    last Energy.Active.Import.Register sample is the meter stop."""
    stopped_reason: str | None = None
    """Why it ended (``Local`` when an end does not say)."""
    samples: Sequence[SampledValue] = ()
    offline: bool = False
    """The station queued the message while offline (informational)."""


@dataclass(slots=True)
class TransactionResult:
    """What :class:`~kilowatt.csms.transactions.TransactionService` did with a message.

    ``transaction``: the transaction after it (None: unknown and not created, e.g. a 1.6
    StopTransaction with an unknown id; the samples were kept without a transaction);
    ``authorization``: set when the message carried an id token; ``created``: this message
    created the transaction (False on a replay); ``duplicate``: its (transaction, seq_no) was
    processed before, nothing changed; ``ended``: this message completed the transaction;
    ``new_samples``: samples stored now (replays skipped). Not frozen, for the reason given
    at :class:`TransactionMessage`.
    """

    transaction: TransactionInfo | None
    authorization: AuthorizationResult | None
    created: bool = False
    duplicate: bool = False
    ended: bool = False
    new_samples: int = 0


# --- journal --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JournalEntryInfo:
    """A journaled OCPP-J frame.

    ``direction`` is ``in`` (station → CSMS) or ``out``; ``message_type`` is the OCPP-J message
    type id (2 CALL, 3 CALLRESULT, 4 CALLERROR, ...).
    """

    id: int
    station_id: str
    at: datetime
    direction: str
    message_type: int
    action: str | None
    message_id: str | None
    frame: str
