"""Targeted tests of the generated messages and the codec: exactness, pass-through, names, modes."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from kilowatt.ocpp import v16, v21, v201
from kilowatt.ocpp.action import Initiator
from kilowatt.ocpp.codec import PayloadError, decode_payload, encode_payload
from kilowatt.ocpp.errors import ErrorCode

ROOT = Path(__file__).resolve().parents[2]


def round_trip(type_: type[object], data: bytes) -> bytes:
    """Decode and re-encode; the JSON must be equal, numbers compared exactly."""
    out = encode_payload(decode_payload(type_, data))
    assert json.loads(out, parse_float=Decimal) == json.loads(data, parse_float=Decimal)
    return out


def code_of(type_: type[object], data: bytes | str, **kw: bool) -> ErrorCode:
    with pytest.raises(PayloadError) as info:
        decode_payload(type_, data, **kw)
    assert len(info.value.description) <= 255
    return info.value.code


# --- building payloads --------------------------------------------------------------------------


def test_build_v16_boot_notification() -> None:
    req = v16.BootNotificationRequest(charge_point_vendor="VendorX", charge_point_model="M1")
    assert encode_payload(req) == b'{"chargePointVendor":"VendorX","chargePointModel":"M1"}'


def test_build_v201_transaction_event() -> None:
    req = v201.TransactionEventRequest(
        event_type=v201.TransactionEvent.STARTED,
        timestamp="2024-05-01T12:00:00Z",
        trigger_reason=v201.TriggerReason.AUTHORIZED,
        seq_no=0,
        transaction_info=v201.Transaction(transaction_id="tx-1"),
        evse=v201.EVSE(id=1, connector_id=1),
        meter_value=[
            v201.MeterValue(
                timestamp="2024-05-01T12:00:00Z",
                sampled_value=[v201.SampledValue(value=Decimal("0.1"))],
            )
        ],
    )
    data = encode_payload(req)
    assert b'"evse":{"id":1,"connectorId":1}' in data
    assert b'"value":0.1' in data
    assert decode_payload(v201.TransactionEventRequest, data) == req


def test_actions_tables() -> None:
    assert v16.ACTIONS["BootNotification"].initiator is Initiator.CHARGING_STATION
    assert v16.ACTIONS["RemoteStartTransaction"].initiator is Initiator.CSMS
    assert v201.ACTIONS["DataTransfer"].initiator is Initiator.BOTH
    assert v201.ACTIONS["TransactionEvent"].request is v201.TransactionEventRequest
    spec = v21.ACTIONS["NotifyPeriodicEventStream"]
    assert spec.send and spec.initiator is Initiator.CHARGING_STATION
    assert [a for a, s in v21.ACTIONS.items() if s.send] == ["NotifyPeriodicEventStream"]


def test_wire_names_are_explicit_and_round_trip() -> None:
    """Every field's wire name is fixed in the Struct; snake_case is only the attribute."""
    for module in (v16, v201, v21):
        for spec in module.ACTIONS.values():
            for type_ in (spec.request, spec.response):
                if type_ is type(None):
                    continue
                for f in msgspec.structs.fields(type_):
                    assert f.name == f.name.lower()
    fields = {f.name: f.encode_name for f in msgspec.structs.fields(v201.StatusNotificationRequest)}
    assert fields["evse_id"] == "evseId"
    assert fields["connector_status"] == "connectorStatus"
    assert v16.Measurand.SO_C == "SoC"
    round_trip(
        v16.MeterValuesRequest,
        b'{"connectorId":1,"meterValue":[{"timestamp":"2024-01-01T00:00:00Z",'
        b'"sampledValue":[{"value":"80","measurand":"SoC","unit":"Percent"}]}]}',
    )


# --- exact numbers and free-form data -----------------------------------------------------------


def test_decimal_exactness() -> None:
    data = (
        b'{"evseId":1,"meterValue":[{"sampledValue":[{"value":1.10000000000000000001},'
        b'{"value":-0.0000000000000000000010},{"value":123456789012345678.5},{"value":1E+17},'
        b'{"value":7}],"timestamp":"2024-01-01T00:00:00.123456+05:30"}]}'
    )
    # Decimal keeps the value and its digits (within the number rule: below 1e18, 34 digits);
    # exponent spelling may change (-1.0E-21)
    out = encode_payload(decode_payload(v201.MeterValuesRequest, data))
    assert out.replace(b"-1.0E-21", b"-0.0000000000000000000010") == data
    decoded = decode_payload(v201.MeterValuesRequest, data)
    assert decoded.meter_value[0].sampled_value[0].value == Decimal("1.10000000000000000001")
    round_trip(v201.MeterValuesRequest, data)
    # Beyond the rule (issue 12 item 4): refused, not kept exactly.
    for big in (b"12345678901234567890.5", b"1E+400"):
        beyond = data.replace(b"1E+17", big)
        assert code_of(v201.MeterValuesRequest, beyond) is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


def test_number_rejects_strings_and_booleans() -> None:
    for value in (b'"1.5"', b"true", b"null", b"[]"):
        data = b'{"evseId":1,"meterValue":[{"sampledValue":[{"value":%s}],' % value
        data += b'"timestamp":"2024-01-01T00:00:00Z"}]}'
        assert code_of(v201.MeterValuesRequest, data) is ErrorCode.TYPE_CONSTRAINT_VIOLATION


def test_v16_multiple_of() -> None:
    def period(limit: bytes) -> bytes:
        return (
            b'{"status":"Accepted","chargingSchedule":{"chargingRateUnit":"A",'
            b'"chargingSchedulePeriod":[{"startPeriod":0,"limit":%s}]}}' % limit
        )

    for ok in (b"16", b"0.3", b"32.0", b"1.7000000000000002"):
        decode_payload(v16.GetCompositeScheduleResponse, period(ok))
    for bad in (b"0.35", b"16.01"):
        code = code_of(v16.GetCompositeScheduleResponse, period(bad))
        assert code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


def test_number_bounds_v21() -> None:
    """2.1 ``BatteryDataType.soC`` is a number in [0, 100]: checked exactly, wire name ``soC``."""

    def battery(soc: bytes) -> bytes:
        return (
            b'{"evseId":1,"serialNumber":"S","soC":%s,"soH":99.5,'
            b'"productionDate":"2024-01-01T00:00:00Z"}' % soc
        )

    for ok in (b"0", b"100", b"99.99999999999999999999", b"0.0"):
        decoded = decode_payload(v21.BatteryData, battery(ok))
        assert decoded.so_c == Decimal(ok.decode())
        round_trip(v21.BatteryData, battery(ok))
    for bad in (b"-0.00000000000000000001", b"100.00000000000000000001"):
        assert code_of(v21.BatteryData, battery(bad)) is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    with pytest.raises(ValueError):
        v21.BatteryData(
            evse_id=1,
            serial_number="S",
            so_c=Decimal(101),
            so_h=Decimal(1),
            production_date="2024-01-01T00:00:00Z",
        )


def test_datatransfer_data_passes_through_untouched() -> None:
    data = (
        b'{"vendorId":"acme","data":{"k":[1.10000000000000000001,null,true,"\xc3\xbc\\u0000",'
        b'{"snake_case":1,"camelCase":{"SoC":2}}],"e":{}}}'
    )
    decoded = decode_payload(v201.DataTransferRequest, data)
    assert decoded.data["k"][0] == Decimal("1.10000000000000000001")
    assert decoded.data["k"][4] == {"snake_case": 1, "camelCase": {"SoC": 2}}
    round_trip(v201.DataTransferRequest, data)
    for free in (b"null", b"5", b'"s"', b"[]", b"{}"):
        round_trip(v201.DataTransferRequest, b'{"vendorId":"a","data":%s}' % free)
    round_trip(v201.DataTransferRequest, b'{"vendorId":"a"}')
    assert decode_payload(v201.DataTransferRequest, b'{"vendorId":"a"}').data is msgspec.UNSET
    # 1.6: the schema types `data` as a string; its content is opaque and kept as is
    round_trip(v16.DataTransferRequest, b'{"vendorId":"a","data":"{\\"camelCase\\":1.10}"}')
    code = code_of(v16.DataTransferRequest, b'{"vendorId":"a","data":{"x":1}}')
    assert code is ErrorCode.TYPE_CONSTRAINT_VIOLATION


def test_custom_data_extra_properties_survive() -> None:
    data = (
        b'{"customData":{"vendorId":"acme","snake_key":[1.50,null],"camelKey":{"deep":"\xe2\x82\xac"}},'
        b'"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V",'
        b'"customData":{"vendorId":"x","n":1E-7}}}'
    )
    decoded = decode_payload(v201.BootNotificationRequest, data)
    assert decoded.custom_data["snake_key"] == [Decimal("1.50"), None]
    round_trip(v201.BootNotificationRequest, data)
    station = b'"chargingStation":{"model":"M","vendorName":"V"}'
    missing = b'{"customData":{"other":1},"reason":"PowerUp",%s}' % station
    assert (
        code_of(v201.BootNotificationRequest, missing) is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    )
    long = data.replace(b'"vendorId":"acme"', b'"vendorId":"%s"' % (b"a" * 256))
    assert code_of(v201.BootNotificationRequest, long) is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    wrong = data.replace(b'"vendorId":"acme"', b'"vendorId":1')
    assert code_of(v201.BootNotificationRequest, wrong) is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    not_object = (
        b'{"customData":"x","reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}'
    )
    assert code_of(v201.BootNotificationRequest, not_object) is ErrorCode.TYPE_CONSTRAINT_VIOLATION


# --- error codes and modes ----------------------------------------------------------------------


BOOT = b'{"chargePointVendor":"V","chargePointModel":"M"}'


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", ErrorCode.FORMAT_VIOLATION),
        (b"{", ErrorCode.FORMAT_VIOLATION),
        (b"[]", ErrorCode.FORMAT_VIOLATION),
        (b'"x"', ErrorCode.FORMAT_VIOLATION),
        (b"null", ErrorCode.FORMAT_VIOLATION),
        (b'{"chargePointVendor":"V"}', ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
        (b'{"chargePointVendor":"V","chargePointModel":1}', ErrorCode.TYPE_CONSTRAINT_VIOLATION),
        (
            b'{"chargePointVendor":"V","chargePointModel":"M","iccid":null}',
            ErrorCode.TYPE_CONSTRAINT_VIOLATION,
        ),
        (
            b'{"chargePointVendor":"%s","chargePointModel":"M"}' % (b"v" * 21),
            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
        ),
        (b'{"chargePointVendor":"V","chargePointModel":"M","x":1}', ErrorCode.FORMAT_VIOLATION),
    ],
)
def test_error_codes(data: bytes, code: ErrorCode) -> None:
    assert code_of(v16.BootNotificationRequest, data) is code


def test_date_time_pattern() -> None:
    ok = b'{"currentTime":"2024-01-01T00:00:00.5-03:00","interval":300,"status":"Accepted"}'
    round_trip(v16.BootNotificationResponse, ok)
    for bad in (b"2024-01-01 00:00:00", b"2024-01-01T00:00:00", b"yesterday"):
        data = ok.replace(b"2024-01-01T00:00:00.5-03:00", bad)
        assert (
            code_of(v16.BootNotificationResponse, data) is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        )


def test_lenient_mode() -> None:
    data = (
        b'{"connectorId":1,"vendorThing":{"a":1},"meterValue":[{"timestamp":"2024-01-01T00:00:00Z",'
        b'"sampledValue":[{"value":"1","extra":2,"unit":null}],"more":[]}]}'
    )
    assert code_of(v16.MeterValuesRequest, data) is ErrorCode.FORMAT_VIOLATION
    decoded = decode_payload(v16.MeterValuesRequest, data, lenient=True)
    assert encode_payload(decoded) == (
        b'{"connectorId":1,"meterValue":[{"timestamp":"2024-01-01T00:00:00Z",'
        b'"sampledValue":[{"value":"1"}]}]}'
    )
    # other failures keep their code in lenient mode
    bad = data.replace(b'"connectorId":1', b'"connectorId":"1"')
    assert code_of(v16.MeterValuesRequest, bad, lenient=True) is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert code_of(v16.MeterValuesRequest, b"[]", lenient=True) is ErrorCode.FORMAT_VIOLATION


def test_raw_and_str_input() -> None:
    assert decode_payload(v16.BootNotificationRequest, msgspec.Raw(BOOT)).charge_point_model == "M"
    assert decode_payload(v16.BootNotificationRequest, BOOT.decode()).charge_point_vendor == "V"


# --- generator and benchmark --------------------------------------------------------------------


def test_generated_code_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/generate_messages.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_benchmark_smoke() -> None:
    from bench import codec

    rows = codec.run(iterations=10, repeat=1)
    assert len(rows) == 3
    assert all(row["kilowatt_us"] > 0 and row["ocpp_us"] > 0 for row in rows)
