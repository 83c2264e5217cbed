"""Integers within the OCPP ``integer`` type and numbers within the number rule (issue 12 item 4).

OCPP 2.0.1 Part 2 §2.1 makes ``integer`` 32 bit; every generated integer field of 1.6, 2.0.1
and 2.1 is bounded to it (or tighter, where the schema says so), and the codec answers a value
beyond the type TypeConstraintViolation, a value beyond a schema bound
PropertyConstraintViolation (OCPP-J 1.6 §4.2.3, 2.0.1 Part 4 §4.3).
"""

from __future__ import annotations

import typing
from decimal import Decimal

import msgspec
import pytest

from kilowatt.csms import limits
from kilowatt.ocpp import v16, v21, v201
from kilowatt.ocpp.codec import (
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    PayloadError,
    decode_payload,
    number_in_range,
)
from kilowatt.ocpp.errors import ErrorCode


def failure(type_: type[object], data: bytes) -> PayloadError:
    with pytest.raises(PayloadError) as info:
        decode_payload(type_, data)
    return info.value


def test_codec_bounds_are_the_domain_bounds() -> None:
    # ocpp/ cannot import csms.limits; the two copies must agree.
    assert (INT32_MIN, INT32_MAX) == (limits.INT32_MIN, limits.INT32_MAX)
    assert (INT64_MIN, INT64_MAX) == (limits.INT64_MIN, limits.INT64_MAX)


def _integer_bounds(tp: typing.Any) -> list[tuple[int, int]]:
    """(ge, le) of every int inside an annotation (Annotated, Optional, list)."""
    found: list[tuple[int, int]] = []
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated and args[0] is int:
        metas = [m for m in args[1:] if isinstance(m, msgspec.Meta)]
        found.append((metas[0].ge, metas[0].le))  # type: ignore[arg-type]
    elif tp is int:
        found.append((None, None))  # type: ignore[arg-type]
    else:
        for arg in args:
            found += _integer_bounds(arg)
    return found


@pytest.mark.parametrize("module", [v16, v201, v21], ids=["1.6", "2.0.1", "2.1"])
def test_every_generated_integer_is_within_32_bits(module: typing.Any) -> None:
    checked = 0
    for name in module.__all__:
        cls = getattr(module, name)
        if not (isinstance(cls, type) and issubclass(cls, msgspec.Struct)):
            continue
        hints = typing.get_type_hints(cls, include_extras=True)
        for field in msgspec.structs.fields(cls):
            for ge, le in _integer_bounds(hints[field.name]):
                assert ge is not None and le is not None, (name, field.name)
                if (name, field.encode_name) in WIDE:
                    assert (ge, le) == (INT64_MIN, INT64_MAX)
                else:
                    assert INT32_MIN <= ge <= le <= INT32_MAX, (name, field.name, ge, le)
                checked += 1
    assert checked > 30


WIDE = {("StartTransactionRequest", "meterStart"), ("StopTransactionRequest", "meterStop")}
"""1.6 energy registers (Wh): 64 bits, a busy charger's lifetime register passes 2^31 Wh."""


def test_1_6_energy_register_beyond_32_bits_is_accepted() -> None:
    # 3 GWh: a 350 kW charger at 30 % utilisation reaches it in about three years.
    data = b'{"transactionId":1,"meterStop":3000000000,"timestamp":"2026-12-03T12:00:00Z"}'
    assert decode_payload(v16.StopTransactionRequest, data).meter_stop == 3_000_000_000
    data = b'{"transactionId":1,"meterStop":9223372036854775808,"timestamp":"2026-12-03T12:00:00Z"}'
    err = failure(v16.StopTransactionRequest, data)
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert "meterStop" in err.description


@pytest.mark.parametrize("value", [2**31, 2**63, 2**64 + 1, -(2**31) - 1, -(2**63)])
def test_1_6_transaction_id_beyond_the_type(value: int) -> None:
    data = f'{{"transactionId":{value},"meterStop":1,"timestamp":"2026-12-03T12:00:00Z"}}'
    err = failure(v16.StopTransactionRequest, data.encode())
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert "transactionId" in err.description


@pytest.mark.parametrize("value", [INT32_MIN, -1, 0, INT32_MAX])
def test_1_6_transaction_id_within_the_type(value: int) -> None:
    data = f'{{"transactionId":{value},"meterStop":1,"timestamp":"2026-12-03T12:00:00Z"}}'
    assert decode_payload(v16.StopTransactionRequest, data.encode()).transaction_id == value


def test_schema_minimum_is_a_property_violation_and_the_type_bound_still_applies() -> None:
    # 2.0.1 SalesTariffEntry.ePriceLevel has "minimum": 0: below it is a property violation,
    # above 2^31-1 a type one (the schema gives no maximum).
    base = '{{"relativeTimeInterval":{{"start":0}},"ePriceLevel":{}}}'
    low = failure(v201.SalesTariffEntry, base.format(-1).encode())
    assert low.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    high = failure(v201.SalesTariffEntry, base.format(2**62).encode())
    assert high.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    hints = typing.get_type_hints(v201.SalesTariffEntry, include_extras=True)
    assert _integer_bounds(hints["e_price_level"]) == [(0, INT32_MAX)]


def test_2_0_1_seq_no_beyond_the_type() -> None:
    data = (
        b'{"eventType":"Updated","timestamp":"2026-12-03T12:00:00Z",'
        b'"triggerReason":"MeterValuePeriodic","seqNo":9223372036854775808,'
        b'"transactionInfo":{"transactionId":"t"}}'
    )
    err = failure(v201.TransactionEventRequest, data)
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert "seqNo" in err.description


# --- the number rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-0.0",
        "1",
        "1500.5",
        "-273.15",
        "999999999999999999",  # just below 10^18
        "1E-24",
        "2.7755575615628914E-17",  # float noise a station may send
        "1." + "0" * 60,  # trailing zeros are not precision
        "1234567890123456.789012345678901234",  # 34 significant digits
    ],
)
def test_numbers_within_the_rule(text: str) -> None:
    assert number_in_range(Decimal(text))


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "1E+999",
        "1E18",
        "-1E18",
        "9E-25",
        "1E-999999999",
        "1234567890123456.7890123456789012345",  # 35 significant digits
    ],
)
def test_numbers_outside_the_rule(text: str) -> None:
    assert not number_in_range(Decimal(text))


@pytest.mark.parametrize("literal", [b"1E+999", b"-1e400", b"1e-999999999", b"1" * 40])
def test_2_x_number_outside_the_rule_is_a_property_violation(literal: bytes) -> None:
    data = b'{"totalCost":' + literal + b',"transactionId":"t"}'
    err = failure(v201.CostUpdatedRequest, data)
    assert err.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    assert "totalCost" in err.description


def test_2_x_number_within_the_rule_stays_exact() -> None:
    data = b'{"totalCost":12345678901234567.5,"transactionId":"t"}'
    assert decode_payload(v201.CostUpdatedRequest, data).total_cost == Decimal(
        "12345678901234567.5"
    )
