"""Edge paths of the payload codec: non-finite numbers, odd JSON types, nulls, lenient pruning.

Every test goes through the public functions (``decode_payload``, ``check_number`` and the
generated constructors that call it) and checks the outcome: the OCPP error code, the message
with its JSON path, or the decoded value.

A description is compared in full only where the codec words it (``check_number``, the decode
hook of numbers and ``customData``, the strict null walk, invalid UTF-8). Where it passes on
msgspec's validation message, a test checks the code and that the description names the
offending field: msgspec's wording is not ours and changes between its releases.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import msgspec
import pytest

from kilowatt.ocpp import v16, v201
from kilowatt.ocpp.codec import PayloadError, check_number, decode_payload
from kilowatt.ocpp.errors import ErrorCode


def failure(type_: type[object], data: bytes | str, *, lenient: bool = False) -> PayloadError:
    with pytest.raises(PayloadError) as info:
        decode_payload(type_, data, lenient=lenient)
    return info.value


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_check_number_rejects_non_finite(value: str) -> None:
    # check_number's own words.
    with pytest.raises(ValueError, match=r"Expected `number`, got `.*` - at `limit`"):
        check_number(Decimal(value), "limit")


def test_generated_constructor_rejects_non_finite_number() -> None:
    # JSON cannot carry NaN or infinities; a payload built in code can, and its bound check
    # (the generated __post_init__) refuses it before it could be encoded.
    with pytest.raises(ValueError, match="at `limit`"):
        v16.ChargingSchedulePeriod(start_period=0, limit=Decimal("Infinity"))
    period = v16.ChargingSchedulePeriod(start_period=0, limit=Decimal("16.1"))
    assert period.limit == Decimal("16.1")


def test_number_given_an_object_is_a_type_violation() -> None:
    err = failure(v201.CostUpdatedRequest, b'{"totalCost":{},"transactionId":"t"}')
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    # The decode hook's words; msgspec appends where (the field name comes from the schema).
    assert err.description.startswith("Expected `number`, got `object`")
    assert "totalCost" in err.description


def test_number_beyond_double_range_is_a_property_violation() -> None:
    # 1e999 is a valid JSON number but outside the documented number rule (no finite double):
    # refused as an invalid value, never decoded into a Decimal a later layer would store.
    err = failure(v201.CostUpdatedRequest, b'{"totalCost":1e999,"transactionId":"t"}')
    assert err.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    assert err.description.startswith("Expected `number` that is 0 or of magnitude")
    assert "totalCost" in err.description


def test_integer_beyond_double_range_is_a_type_violation() -> None:
    # An integer field given 1e999: no 32-bit OCPP integer (Part 2 §2.1), so the data type is
    # violated (OCPP-J 1.6 §4.2.3: TypeConstraintViolation).
    data = b'{"connectorId":1e999,"meterValue":[]}'
    err = failure(v16.MeterValuesRequest, data)
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert "connectorId" in err.description


def test_number_accepts_json_integers_and_fractions_exactly() -> None:
    req = decode_payload(v201.CostUpdatedRequest, b'{"totalCost":12,"transactionId":"t"}')
    assert req.total_cost == Decimal(12) and type(req.total_cost) is Decimal
    req = decode_payload(
        v201.CostUpdatedRequest, b'{"totalCost":0.10000000000000000001,"transactionId":"t"}'
    )
    assert req.total_cost == Decimal("0.10000000000000000001")


# --- customData ---------------------------------------------------------------------------------


def test_custom_data_given_a_number_is_a_type_violation() -> None:
    err = failure(v201.HeartbeatRequest, b'{"customData":1.5}')
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert err.description.startswith("Expected `object`, got `float`")  # the decode hook's
    assert "customData" in err.description


@pytest.mark.parametrize(
    ("vendor_id", "json_type"),
    [(b"2.5", "float"), (b"7", "int"), (b"true", "bool"), (b"[]", "array"), (b"{}", "object")],
)
def test_custom_data_vendor_id_of_the_wrong_type(vendor_id: bytes, json_type: str) -> None:
    err = failure(v201.HeartbeatRequest, b'{"customData":{"vendorId":' + vendor_id + b"}}")
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert err.description.startswith(f"Expected `str`, got `{json_type}` (vendorId)")  # ours


def test_custom_data_keeps_extra_properties_exactly() -> None:
    req = decode_payload(
        v201.HeartbeatRequest, b'{"customData":{"vendorId":"V","x":1.25,"y":null,"z":[1]}}'
    )
    assert req.custom_data == {"vendorId": "V", "x": Decimal("1.25"), "y": None, "z": [1]}


# --- nulls in strict mode -----------------------------------------------------------------------

METER_VALUES = (
    b'{"connectorId":1,"meterValue":[{"timestamp":"2024-01-01T00:00:00Z",'
    b'"sampledValue":[{"value":"1"},{"value":"2","unit":%s}]}]}'
)


def test_strict_null_inside_a_list_of_structs_is_located() -> None:
    # The strict null walk's own words, with the path it builds.
    err = failure(v16.MeterValuesRequest, METER_VALUES % b"null")
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert (
        err.description == "Expected `Unit`, got `null` - at `$.meterValue[0].sampledValue[1].unit`"
    )


def test_lenient_null_inside_a_list_of_structs_is_absent() -> None:
    req = decode_payload(v16.MeterValuesRequest, METER_VALUES % b"null", lenient=True)
    assert req.meter_value[0].sampled_value[1].unit is None
    strict = decode_payload(v16.MeterValuesRequest, METER_VALUES % b'"Wh"')
    assert strict.meter_value[0].sampled_value[1].unit == v16.Unit.WH


def test_strict_null_inside_a_nested_struct_is_located() -> None:
    data = b'{"idTagInfo":{"status":"Accepted","expiryDate":null}}'
    err = failure(v16.AuthorizeResponse, data)
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert err.description == "Expected `str`, got `null` - at `$.idTagInfo.expiryDate`"


def test_strict_text_null_in_strings_is_not_a_null() -> None:
    # The quick byte check sees "null"; the walk finds no JSON null and the payload is accepted.
    data = (METER_VALUES % b'"Wh"').replace(b'"1"', b'"null"')
    req = decode_payload(v16.MeterValuesRequest, data)
    assert req.meter_value[0].sampled_value[0].value == "null"


# --- lenient pruning ----------------------------------------------------------------------------


def test_lenient_unknown_field_next_to_a_non_object_struct_field() -> None:
    # Pruning leaves a non-object where a struct belongs untouched; the re-decode then reports it.
    data = b'{"extra":1,"idTagInfo":"Accepted"}'
    err = failure(v16.AuthorizeResponse, data, lenient=True)
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert "idTagInfo" in err.description and "extra" not in err.description
    assert failure(v16.AuthorizeResponse, data).code is ErrorCode.FORMAT_VIOLATION  # strict


def test_lenient_unknown_fields_are_dropped_at_every_level() -> None:
    data = b'{"extra":1,"idTagInfo":{"status":"Accepted","more":[1,2]}}'
    resp = decode_payload(v16.AuthorizeResponse, data, lenient=True)
    assert resp.id_tag_info.status == v16.IdTagInfoStatus.ACCEPTED


# --- types other than the generated payloads ----------------------------------------------------
# decode_payload takes any msgspec Struct; these pin what it does with shapes the generated
# messages never have.


class Unsupported:
    pass


class HasUnsupported(msgspec.Struct):
    value: Unsupported


class HasDateTime(msgspec.Struct):
    moment: datetime.datetime


class Pair(msgspec.Struct, array_like=True):
    name: str
    count: int


class HasPair(msgspec.Struct):
    pair: Pair


class Open(msgspec.Struct):
    name: str | None = None


def test_field_type_without_a_decoder_is_a_programming_error() -> None:
    with pytest.raises(NotImplementedError, match="no decoder for"):
        decode_payload(HasUnsupported, b'{"value":1}')


def test_unclassified_validation_message_is_a_format_violation() -> None:
    err = failure(HasDateTime, b'{"moment":"yesterday"}')
    assert err.code is ErrorCode.FORMAT_VIOLATION
    assert "moment" in err.description


def test_strict_null_walk_skips_array_like_structs() -> None:
    decoded = decode_payload(HasPair, b'{"pair":["null",2]}')
    assert decoded == HasPair(pair=Pair(name="null", count=2))


def test_strict_null_walk_skips_fields_the_type_does_not_define() -> None:
    decoded = decode_payload(Open, b'{"other":null,"name":"x"}')
    assert decoded == Open(name="x")
    err = failure(Open, b'{"other":1,"name":null}')
    assert err.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert err.description == "Expected `str`, got `null` - at `$.name`"


# --- not JSON, not UTF-8 ------------------------------------------------------------------------
# Invalid UTF-8 gets the codec's own words, whichever exception msgspec raises for it (a
# UnicodeEncodeError for a str it cannot encode, a DecodeError for bytes); any other text that is
# not JSON is a FormatViolation with msgspec's description.

UTF8_ERROR = "payload is not valid UTF-8"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param('{"vendorId":"\ud800"}', id="str-with-a-lone-surrogate"),
        pytest.param(b'{"vendorId":"\xff"}', id="bytes-not-utf8-in-a-string"),
        pytest.param(b"\xff", id="bytes-not-utf8-not-json"),
    ],
)
def test_invalid_utf8_is_a_format_violation_in_our_words(data: bytes | str) -> None:
    err = failure(v201.DataTransferRequest, data)
    assert err.code is ErrorCode.FORMAT_VIOLATION
    assert err.description == UTF8_ERROR


@pytest.mark.parametrize(
    "data",
    [
        pytest.param('{"vendorId":', id="str"),
        pytest.param(b'{"vendorId":', id="bytes"),
        pytest.param(msgspec.Raw(b'{"vendorId":"V",}'), id="raw"),
    ],
)
def test_text_that_is_not_json_is_a_format_violation(data: bytes | str | msgspec.Raw) -> None:
    with pytest.raises(PayloadError) as info:
        decode_payload(v201.DataTransferRequest, data)
    err = info.value
    assert err.code is ErrorCode.FORMAT_VIOLATION
    assert err.description and err.description != UTF8_ERROR
    assert len(err.description) <= 255
