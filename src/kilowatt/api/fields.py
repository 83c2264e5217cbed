"""Bounded field types of the API: integers, decimals and optional-but-not-null fields.

Every number the API takes is bounded to what storage holds (:mod:`kilowatt.csms.limits`), so
an out-of-range value is a 422 with a message and never an overflow (HTTP 500) in the database.
The JSON schema of each type states the same bounds, so ``/openapi.json`` tells a client
exactly which values are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from annotated_types import GroupedMetadata
from fastapi import Path
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from kilowatt.csms.limits import INT32_MAX, INT32_MIN, INT64_MAX

__all__ = [
    "COORDINATE_PLACES",
    "DecimalRule",
    "EvseIdPath",
    "Int32",
    "NonNegativeInt32",
    "PositiveInt32",
    "Timestamp",
    "TransactionIdPath",
    "bounded_decimal",
    "coordinate",
    "omittable",
]


def _not_bool(value: Any) -> Any:
    # JSON true/false is not a JSON-schema integer; pydantic's lax mode would take it as 1/0.
    if isinstance(value, bool):
        raise ValueError("expected an integer, not a boolean")
    return value


Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX), BeforeValidator(_not_bool)]
"""A body integer of OCPP ``integer`` / 32-bit column range (``1.0`` counts, ``true`` not)."""

NonNegativeInt32 = Annotated[int, Field(ge=0, le=INT32_MAX), BeforeValidator(_not_bool)]
"""A body integer from 0 to 2^31 - 1 (V, A, W maxima, s durations, Wh steps)."""


def _rfc3339_text(value: Any) -> Any:
    # JSON Schema's date-time is a string; pydantic's lax mode would read a number (or a string
    # of digits) as Unix seconds, accepting requests the published schema says are invalid.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _DIGITS.fullmatch(value.strip()) is not None:
        raise ValueError("expected an RFC 3339 date-time string, e.g. 2026-12-03T10:00:00Z")
    return value


_DIGITS = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?")

Timestamp = Annotated[datetime, BeforeValidator(_rfc3339_text)]
"""A body date-time: an RFC 3339 string only (``2026-12-03T10:00:00Z``); numbers are refused."""

PositiveInt32 = Annotated[int, Field(ge=1, le=INT32_MAX), BeforeValidator(_not_bool)]
"""A body integer from 1 to 2^31 - 1 (counts that must be at least one)."""

EvseIdPath = Annotated[int, Path(ge=1, le=INT32_MAX, description="EVSE or connector id, from 1")]
"""An EVSE or connector id in a path: 1 to 2^31 - 1 (OCPP ``integer``, a 32-bit column)."""

TransactionIdPath = Annotated[
    int, Path(ge=1, le=INT64_MAX, description="Kilowatt's transaction id (1.6 transactionId)")
]
"""A transaction id in a path: 1 to 2^63 - 1 (a 64-bit column; ids start at 1)."""


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**kwargs: Any) -> Any:
    """A body field that may be omitted but not sent as ``null`` (PATCH: "leave unchanged").

    Declare it with the non-null type (``name: str = omittable(max_length=45)``): the schema
    then says ``string`` only, and a ``null`` is a 422, as the schema predicts. Omitted, the
    attribute holds ``None`` and is absent from ``model_dump(exclude_unset=True)``.

    Args:
        **kwargs: constraints and metadata for :func:`pydantic.Field`.

    Returns:
        The field definition.
    """
    return Field(None, json_schema_extra=_drop_default, **kwargs)


@dataclass(frozen=True)
class DecimalRule(GroupedMetadata):
    """The validators and JSON schema of a bounded decimal: ``Annotated[Decimal, rule]``."""

    items: tuple[Any, ...]

    def __iter__(self) -> Iterator[Any]:
        """The pydantic metadata, in order (pydantic expands a grouped metadata)."""
        return iter(self.items)


def _decimal(
    number: dict[str, Any], pattern: str, places: int, description: str, **bounds: Any
) -> DecimalRule:
    """A decimal type: a JSON number in ``number``'s range or a string matching ``pattern``.

    Both forms are validated exactly as the schema states them.
    """
    quantum = Decimal(1).scaleb(-places)
    compiled = re.compile(pattern)

    def _check_string(value: Any) -> Any:
        if isinstance(value, str) and compiled.fullmatch(value) is None:
            raise ValueError(f"expected a decimal string in range with at most {places} decimals")
        return value

    def _round(value: Decimal) -> Decimal:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -places:
            return value.quantize(quantum, rounding=ROUND_HALF_EVEN)
        return value

    schema = {
        "anyOf": [{"type": "number", **number}, {"type": "string", "pattern": pattern}],
        "description": f"{description}; a number or a decimal string of at most {places} "
        "decimals (a number's extra digits are rounded half-even)",
    }
    return DecimalRule(
        (
            BeforeValidator(_check_string),
            Field(allow_inf_nan=False, **bounds),
            AfterValidator(_round),
            WithJsonSchema(schema),
        )
    )


def bounded_decimal(integer_digits: int, places: int, description: str) -> DecimalRule:
    """An exact non-negative decimal below ``10**integer_digits``, ``places`` decimals kept.

    Accepted as a JSON number or a decimal string (``"0.25"``, no sign, no exponent). A string
    with more decimals is refused (422); a JSON number is a binary float on the wire, so its
    extra digits are rounded half-even to ``places`` decimals. Bounded so that the stored text
    and every JSON number the API answers with stay short and finite.

    Args:
        integer_digits: digits before the point (the value is below ``10**integer_digits``).
        places: decimal places kept.
        description: the field's description, with its unit.

    Returns:
        The rule, for ``Annotated[Decimal, rule]``.
    """
    limit = 10**integer_digits
    return _decimal(
        {"minimum": 0, "exclusiveMaximum": limit},
        rf"^[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{places}}})?$",
        places,
        description,
        ge=0,
        lt=limit,
    )


COORDINATE_PLACES = 6
"""Decimal places of a coordinate: the stored text is at most 10 (latitude) / 11 characters."""


def coordinate(limit: int, description: str) -> DecimalRule:
    """A WGS 84 coordinate in decimal degrees, ``-limit`` to ``limit``, 6 decimals at most.

    Args:
        limit: 90 for a latitude, 180 for a longitude.
        description: the field's description.

    Returns:
        The rule, for ``Annotated[Decimal, rule]``.
    """
    places = COORDINATE_PLACES
    below = {90: "[0-8]?[0-9]", 180: "(1[0-7][0-9]|[0-9]?[0-9])"}[limit]
    pattern = rf"^-?({limit}(\.0{{1,{places}}})?|{below}(\.[0-9]{{1,{places}}})?)$"
    return _decimal(
        {"minimum": -limit, "maximum": limit},
        pattern,
        places,
        description,
        ge=-limit,
        le=limit,
    )
