"""Pydantic models of request bodies, and of responses for the OpenAPI document.

Responses are produced from the service dataclasses (see :mod:`.responses`); the response
models here describe the same JSON for ``/docs``. Energies in Wh, times RFC 3339 UTC.

The version-neutral commands are msgspec Structs (:mod:`kilowatt.csms.commands`), not pydantic
models: :func:`command_schemas` turns them into the JSON schemas of their routes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from kilowatt.api.fields import PositiveInt32, Timestamp
from kilowatt.csms.commands import Command, answer_type
from kilowatt.csms.limits import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectorOut(BaseModel):
    """A connector of an EVSE with its latest StatusNotification (status, error code, time)."""

    connector_id: int
    status: str | None
    error_code: str | None
    info: str | None
    vendor_error_code: str | None
    status_at: datetime | None


class EvseOut(BaseModel):
    """An EVSE of a station with its connectors (1.6: one EVSE per connector, same id)."""

    evse_id: int
    connectors: list[ConnectorOut]


class StationOut(BaseModel):
    """A registered station: identity, boot data, connection state, security profile, EVSEs."""

    id: str
    connected: bool
    ocpp_version: str | None = Field(description="1.6, 2.0.1 or 2.1 (last connection)")
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    boot_status: str | None = Field(description="Last BootNotification answer")
    last_boot: datetime | None
    last_seen: datetime | None
    security_profile: int = Field(
        description="0 none, 1 Basic auth, 2 TLS + Basic auth, 3 mutual TLS: the profile the "
        "handshake enforces (a station with a password is never below 1)"
    )
    has_password: bool
    location_id: str | None
    created_at: datetime
    updated_at: datetime
    evses: list[EvseOut]


# A password with profile 0 would never be asked for at the handshake: the service answers
# 422, and the schema says so, so a schema-valid body is never refused.
_NO_PASSWORD_WITH_PROFILE_0: dict[str, Any] = {
    "not": {
        "required": ["security_profile", "password"],
        "properties": {"security_profile": {"const": 0}, "password": {"type": "string"}},
    }
}


# Profiles 1 and 2 check a password at the handshake: registering one without a password is a
# 422 from the service, stated here so that the schema predicts it.
_PASSWORD_FOR_PROFILES_1_2: dict[str, Any] = {
    "if": {"required": ["security_profile"], "properties": {"security_profile": {"enum": [1, 2]}}},
    "then": {"required": ["password"], "properties": {"password": {"type": "string"}}},
}

IDENTITY_PATTERN = r"^(?!\.\.?$)[A-Za-z0-9\-._~*]{1,48}$"
"""A station identity (:mod:`kilowatt.csms.identity`) as a JSON-schema pattern."""


class StationCreate(_In):
    """Body of ``POST /stations``: an identity to register, its security profile, password.

    Without ``security_profile`` a station with a password gets profile 1, one without gets
    profile 0; profile 0 with a password is refused (422), and so are profiles 1 and 2
    without one.
    """

    # python-re: the identity pattern needs a lookahead (no '.' or '..'), which pydantic's
    # default Rust regex engine lacks.
    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
        json_schema_extra={**_NO_PASSWORD_WITH_PROFILE_0, **_PASSWORD_FOR_PROFILES_1_2},
    )

    # The pattern is stated for clients, not checked here: the service checks the identity
    # rule (kilowatt.csms.identity) and its 422 names what is wrong in the operator's terms.
    id: str = Field(
        description="OCPP identity: 1-48 of A-Z a-z 0-9 - . _ ~ * (not '.' or '..')",
        json_schema_extra={"pattern": IDENTITY_PATTERN, "minLength": 1, "maxLength": 48},
    )
    security_profile: Literal[0, 1, 2] | None = Field(
        None, description="Omitted: 1 with a password, else 0. 0 with a password is refused"
    )
    password: str | None = Field(
        None, min_length=16, max_length=40, description="Basic auth password, profiles 1 and 2"
    )
    location_id: str | None = Field(None, max_length=36, description="An existing location")


class StationPatch(_In):
    """Body of ``PATCH /stations/{id}``; omitted fields stay unchanged.

    A password on a profile-0 station without ``security_profile`` makes it profile 1;
    ``security_profile: 0`` alone removes the stored password; 0 with a password is refused.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_NO_PASSWORD_WITH_PROFILE_0)

    security_profile: Literal[0, 1, 2] | None = None
    password: str | None = Field(None, min_length=16, max_length=40)
    location_id: str | None = Field(
        None, max_length=36, description="An existing location; null removes the location"
    )


class IdTokenOut(BaseModel):
    """An id token (1.6 idTag, 2.x IdToken) and its authorization data."""

    id_token: str
    type: str | None
    status: Literal["Accepted", "Blocked", "Expired", "Invalid"]
    expiry: datetime | None
    group_id: str | None
    max_concurrent_transactions: int | None
    created_at: datetime
    updated_at: datetime


class IdTokenPut(_In):
    """Body of ``PUT /id-tokens/{id_token}``: the token's status, type, expiry and limits."""

    status: Literal["Accepted", "Blocked", "Expired", "Invalid"] = "Accepted"
    type: str | None = Field(
        None, max_length=32, description="2.x IdTokenEnumType; null matches any"
    )
    expiry: Timestamp | None = Field(None, description="RFC 3339 with offset")
    group_id: str | None = Field(None, max_length=255)
    max_concurrent_transactions: PositiveInt32 | None = Field(None, description="null: no limit")


class TransactionOut(BaseModel):
    """A charging session; energies in Wh (exact decimals), ``duration_s`` in s."""

    id: int
    station_id: str
    station_tx_id: str | None = Field(description="The station's transaction id (2.x)")
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    id_token_type: str | None
    status: Literal["active", "completed"]
    started_at: datetime
    stopped_at: datetime | None
    meter_start_wh: float | None = Field(description="Wh, exact decimal")
    meter_stop_wh: float | None = Field(description="Wh, exact decimal")
    energy_wh: float | None = Field(description="Wh delivered, exact decimal")
    duration_s: float | None = Field(description="s from start to stop; null while active")
    stop_reason: str | None
    charging_state: str | None
    remote_start_id: int | None
    reservation_id: int | None
    last_seq_no: int | None
    updated_at: datetime


class MeterValueOut(BaseModel):
    """One sampled value of a station (OCPP SampledValue), in ``unit`` (Wh by default)."""

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
    value: float = Field(description="exact decimal, as sent by the station")


class JournalEntryOut(BaseModel):
    """One OCPP-J frame in or out, as recorded in the message journal."""

    id: int
    station_id: str
    at: datetime
    direction: Literal["in", "out"]
    message_type: int = Field(
        description="2 CALL, 3 CALLRESULT, 4 CALLERROR, 5, 6 (2.1); 0 not an OCPP-J message "
        "(an unreadable frame in, or the close the CSMS sent)"
    )
    action: str | None
    message_id: str | None
    frame: str = Field(description="The frame text as sent on the wire")


class StationEventOut(BaseModel):
    """A stored station notification (``kind`` = action name, ``data`` in wire names)."""

    id: int
    station_id: str
    at: datetime
    kind: str
    data: dict[str, object]


class CallErrorOut(BaseModel):
    """502 body: the station answered a CALLERROR (``code``, ``description``, ``details``)."""

    detail: str
    code: str
    description: str
    details: dict[str, object]


class FieldError(BaseModel):
    """One invalid part of a request: where (``loc``) and why (``msg``)."""

    loc: list[str | int] = Field(
        description='Where: "path", "query", "header" or "body", then names and indexes'
    )
    msg: str = Field(description="Why, for a human")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class ErrorOut(BaseModel):
    """Every error body of the API (401, 404, 409, 422, 504): a message, maybe field errors.

    ``{"detail": "..."}``; a request that does not fit its schema (422) adds ``errors``, one
    :class:`FieldError` per problem. ``errors`` is omitted, never ``null``, when absent.
    """

    detail: str = Field(description="What went wrong, for a human")
    errors: list[FieldError] = Field(
        None,  # type: ignore[arg-type]
        description="422 only: each invalid parameter or body field",
        json_schema_extra=_no_default,
    )


class StationList(BaseModel):
    """A page of stations (``items``) and the total count (``total``)."""

    items: list[StationOut]
    total: int


class IdTokenList(BaseModel):
    """A page of id tokens (``items``) and the total count (``total``)."""

    items: list[IdTokenOut]
    total: int


class TransactionList(BaseModel):
    """A page of transactions (``items``) and the total count (``total``)."""

    items: list[TransactionOut]
    total: int


class MeterValueList(BaseModel):
    """A page of meter values (``items``) and the total count (``total``)."""

    items: list[MeterValueOut]
    total: int


class JournalList(BaseModel):
    """A page of journal entries, newest first (``items``), and the total count."""

    items: list[JournalEntryOut]
    total: int


class StationEventList(BaseModel):
    """A page of station notifications, newest first (``items``), and the total count."""

    items: list[StationEventOut]
    total: int


def command_schemas(command: type[Command[Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(request, answer)``: the JSON schemas of a command's request body and of its answer.

    OpenAPI 3.1 / JSON Schema 2020-12, generated from the command's Structs, with nested
    definitions inlined so that each schema stands alone inside an operation.
    """
    (request, answer), definitions = msgspec.json.schema_components(
        [command, answer_type(command)], ref_template="#/$defs/{name}"
    )
    return _bound_integers(_inline(request, definitions)), _inline(answer, definitions)


INT64_FIELDS = frozenset({"transaction_id"})
"""Command fields that hold a Kilowatt transaction id (a 64-bit column); other integers are
OCPP ``integer`` (32 bit, OCPP 2.0.1 Part 2 §2.1)."""


def integer_bounds(field: str | None) -> tuple[int, int]:
    """``(minimum, maximum)`` of an integer command field named ``field`` (None: unnamed)."""
    if field in INT64_FIELDS:
        return INT64_MIN, INT64_MAX
    return INT32_MIN, INT32_MAX


def _bound_integers(schema: Any, field: str | None = None) -> Any:
    # The schema states the bounds the route enforces (calls.py), so a number too large for
    # storage or for OCPP is a documented 422, never an overflow.
    if isinstance(schema, list):
        return [_bound_integers(item, field) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _bound_integers(sub, name) for name, sub in value.items()}
        else:
            out[key] = _bound_integers(value, field)
    if out.get("type") == "integer":
        low, high = integer_bounds(field)
        out["minimum"] = max(out.get("minimum", low), low)
        out["maximum"] = min(out.get("maximum", high), high)
    return out


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(definitions[ref.removeprefix("#/$defs/")], definitions)
        return {key: _inline(value, definitions) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    return schema
