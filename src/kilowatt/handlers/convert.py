"""Small conversions shared by the per-version handlers: times, JSON views, sampled values.

Wire times are RFC 3339 strings (the generated messages keep them verbatim, see
:mod:`kilowatt.ocpp.codec`); the services take aware UTC :class:`~datetime.datetime`.
Values of sampled values are exact :class:`~decimal.Decimal` (1.6 sends them as strings,
2.x as JSON numbers with an optional power-of-ten ``unitOfMeasure.multiplier``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from kilowatt.csms.model import ENERGY_REGISTER, SampledValue
from kilowatt.ocpp.codec import number_in_range
from kilowatt.ocpp.errors import CallError, ErrorCode

__all__ = [
    "configuration_text",
    "format_time",
    "json_view",
    "parse_time",
    "samples_2x",
    "samples_16",
]


def configuration_text(value: Any) -> Any:
    """A configuration value given as JSON, as the text a station is sent.

    ``true``/``false`` for booleans, the number's text for numbers; anything else as it is (the
    caller rejects what is not a string).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return value


def parse_time(text: str) -> datetime:
    """An RFC 3339 ``date-time`` (already checked against the schema pattern) as aware UTC.

    ``datetime.fromisoformat`` rejects a lower-case ``z`` offset that RFC 3339 §5.6 allows, and
    fractions beyond microseconds are cut (the wire text is kept in the journal anyway).
    """
    if text.endswith("z"):
        text = text[:-1] + "Z"
    if "t" in text:
        text = text.replace("t", "T", 1)
    return datetime.fromisoformat(text).astimezone(UTC)


def format_time(value: datetime) -> str:
    """An aware datetime as the RFC 3339 UTC text stations parse most reliably (``...Z``).

    Milliseconds at most: some 1.6 firmwares choke on microseconds.
    """
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def json_view(payload: Any) -> dict[str, Any]:
    """A typed payload as a JSON object with wire names (what is stored for notifications).

    Decimals become strings so that their precision survives the JSON column.
    """
    data = msgspec.to_builtins(payload)
    return data if isinstance(data, dict) else {"value": data}


def _decimal(text: str) -> Decimal | None:
    """A 1.6 sampled ``value`` as a number, or None when it is none Kilowatt stores.

    OCPP 1.6 §7.43 makes ``value`` a string holding a "Raw" decimal. ``NaN``, ``Infinity``,
    ``1E+999``, 40-digit mantissas and non-numbers are refused by the same rule as a 2.x
    schema ``number`` (:func:`kilowatt.ocpp.codec.number_in_range`), but the message is still
    accepted: refusing a whole StopTransaction for one sample would leave the transaction
    open while the station retries it. The frame stays in the message journal.
    """
    if len(text) > 128:  # no meter writes more; refused before a costly parse of megabytes
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if number_in_range(value) else None


_WIRE: dict[Any, str] = {}
"""Enum member → its wire text (a MeterValue reads six enums per sample; ``.value`` of an
enum member is a descriptor lookup, a dict hit is not)."""


def _value(item: Any) -> str | None:
    """An enum member's wire value, or None."""
    if item is None:
        return None
    text = _WIRE.get(item)
    if text is not None and type(text) is str:
        return text
    value = getattr(item, "value", item)
    text = value if type(value) is str else str(value)
    if len(_WIRE) < 4096 and item is not value:  # enum members only (a bounded set)
        _WIRE[item] = text
    return text


def samples_16(meter_values: Any) -> list[SampledValue]:
    """1.6 ``MeterValue`` / ``TransactionData`` lists → sampled values (OCPP 1.6 §7.31-7.32).

    A ``SignedData`` value is not a number: it is kept out of the numeric samples (the whole
    frame stays in the journal); so is a value that is not a decimal within the number rule
    (``NaN``, ``Infinity``, ``1E+999``: see ``_decimal``). Absent measurand means
    Energy.Active.Import.Register and absent unit Wh (the spec defaults); the unit is stored as
    sent.
    """
    out: list[SampledValue] = []
    for meter_value in meter_values or ():
        at = parse_time(meter_value.timestamp)
        for sv in meter_value.sampled_value:
            if _value(sv.format) == "SignedData":
                continue
            number = _decimal(sv.value)
            if number is None:
                continue
            out.append(
                SampledValue(
                    value=number,
                    timestamp=at,
                    measurand=_value(sv.measurand) or ENERGY_REGISTER,
                    phase=_value(sv.phase),
                    unit=_value(sv.unit),
                    context=_value(sv.context),
                    location=_value(sv.location),
                )
            )
    return out


def samples_2x(meter_values: Any) -> list[SampledValue]:
    """2.x ``MeterValueType`` lists → sampled values.

    Per OCPP 2.0.1 Part 2 §2 MeterValueType, SampledValueType, UnitOfMeasureType.

    The multiplier is a power of ten applied here (``value × 10^multiplier``) so the stored
    value is in ``unit``; the unit defaults to Wh as the spec says.

    Raises:
        CallError: PropertyConstraintViolation when a scaled value leaves the number rule
            (:func:`kilowatt.ocpp.codec.number_in_range`): ``1`` with multiplier 1000 is
            ``1E+1000``, which the codec's check of the unscaled value cannot see.
    """
    out: list[SampledValue] = []
    for meter_value in meter_values or ():
        at = parse_time(meter_value.timestamp)
        for sv in meter_value.sampled_value:
            unit_of_measure = sv.unit_of_measure
            value = Decimal(sv.value)
            unit = None
            if unit_of_measure is not None:
                unit = unit_of_measure.unit
                if unit_of_measure.multiplier:
                    value = value.scaleb(unit_of_measure.multiplier)
                    if not number_in_range(value):
                        raise CallError(
                            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                            f"sampled value × 10^{unit_of_measure.multiplier} is outside the "
                            "number rule (magnitude below 1e18)",
                        )
            out.append(
                SampledValue(
                    value=value,
                    timestamp=at,
                    measurand=_value(sv.measurand) or ENERGY_REGISTER,
                    phase=_value(sv.phase),
                    unit=unit,
                    context=_value(sv.context),
                    location=_value(sv.location),
                )
            )
    return out
