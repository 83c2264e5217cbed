"""Codec benchmark: decode + validate + encode of one CALL frame, Kilowatt vs the ``ocpp`` package.

Run: ``python -m bench.codec`` (``--iterations N``, ``--json``).

Both sides start from the frame text a station sends and end with the frame text to send on:

- Kilowatt: the frame is split with msgspec (payload kept raw), the payload decoded and validated
  into the generated Struct by :func:`kilowatt.ocpp.codec.decode_payload`, then encoded back
  with :func:`kilowatt.ocpp.codec.encode_payload` inside a new frame.
- ``ocpp`` (2.1.0): its own per-message path, as ``ChargePoint.route_message`` runs it:
  ``ocpp.messages.unpack`` (json.loads), ``_validate_payload`` (cached jsonschema validator, with
  the Decimal re-parse it does for the 1.6 smart-charging messages), then ``Call.to_json()``
  (json.dumps). The package normally also hops to a thread for validation
  (``run_in_executor``); that cost is left out, so the ratio is a lower bound.

Reported: µs per message (best of ``--repeat`` runs) and the ratio ocpp/Kilowatt.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec

from kilowatt.ocpp import v16, v201
from kilowatt.ocpp.codec import decode_payload, encode_payload

_SAMPLED = [
    {"value": "1234.5", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
    {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
    {"value": "31.2", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
    {"value": "229.8", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
    {"value": "54", "measurand": "SoC", "unit": "Percent", "location": "EV"},
]

CASES: list[tuple[str, str, str, type[Any], dict[str, Any]]] = [
    (
        "1.6 BootNotification",
        "1.6",
        "BootNotification",
        v16.BootNotificationRequest,
        {
            "chargePointVendor": "VendorX",
            "chargePointModel": "SingleSocketCharger",
            "chargePointSerialNumber": "SN-0001",
            "firmwareVersion": "1.2.3",
            "meterType": "ABB B23",
        },
    ),
    (
        "1.6 MeterValues (5 sampled values)",
        "1.6",
        "MeterValues",
        v16.MeterValuesRequest,
        {
            "connectorId": 1,
            "transactionId": 42,
            "meterValue": [{"timestamp": "2024-05-01T12:00:00Z", "sampledValue": _SAMPLED}],
        },
    ),
    (
        "2.0.1 TransactionEvent",
        "2.0.1",
        "TransactionEvent",
        v201.TransactionEventRequest,
        {
            "eventType": "Updated",
            "timestamp": "2024-05-01T12:00:00.000Z",
            "triggerReason": "MeterValuePeriodic",
            "seqNo": 7,
            "transactionInfo": {"transactionId": "f3b2c1d0-tx", "chargingState": "Charging"},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "04A2B3C4D5", "type": "ISO14443"},
            "meterValue": [
                {
                    "timestamp": "2024-05-01T12:00:00.000Z",
                    "sampledValue": [
                        {
                            "value": 1234.5,
                            "measurand": "Energy.Active.Import.Register",
                            "unitOfMeasure": {"unit": "Wh"},
                        },
                        {"value": 7200, "measurand": "Power.Active.Import"},
                        {"value": 54, "measurand": "SoC", "location": "EV"},
                    ],
                }
            ],
        },
    ),
]

_Frame = tuple[int, str, str, msgspec.Raw]
_frame_decoder = msgspec.json.Decoder(_Frame)
_frame_encoder = msgspec.json.Encoder()


def kilowatt_path(type_: type[Any]) -> Callable[[bytes], bytes]:
    """Frame in -> typed, validated payload -> frame out, the Kilowatt way."""

    def run(frame: bytes) -> bytes:
        kind, message_id, action, raw = _frame_decoder.decode(frame)
        payload = decode_payload(type_, raw)
        return _frame_encoder.encode(
            (kind, message_id, action, msgspec.Raw(encode_payload(payload)))
        )

    return run


def ocpp_path(version: str) -> Callable[[bytes], str]:
    """Frame in -> validated dict -> frame out, as the ``ocpp`` package does per message."""
    from ocpp import messages

    def run(frame: bytes) -> str:
        msg = messages.unpack(frame.decode())
        messages._validate_payload(msg, version)
        out: str = msg.to_json()
        return out

    return run


def measure(fn: Callable[[bytes], object], frame: bytes, iterations: int, repeat: int) -> float:
    """Best time per call over ``repeat`` runs of ``iterations`` calls, in µs."""
    fn(frame)  # warm caches (decoders, validators)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(iterations):
            fn(frame)
        best = min(best, time.perf_counter() - start)
    return best / iterations * 1e6


def run(iterations: int, repeat: int) -> list[dict[str, Any]]:
    """Measure every case; return one row per case."""
    rows = []
    for label, version, action, type_, payload in CASES:
        frame = json.dumps([2, "bench-1", action, payload], separators=(",", ":")).encode()
        ours_out = kilowatt_path(type_)(frame)
        assert json.loads(ours_out) == json.loads(frame), label
        ours = measure(kilowatt_path(type_), frame, iterations, repeat)
        peer = measure(ocpp_path(version), frame, max(1, iterations // 10), repeat)
        rows.append({"message": label, "kilowatt_us": ours, "ocpp_us": peer, "ratio": peer / ours})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the table (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description="Kilowatt codec vs ocpp package validation")
    parser.add_argument("--iterations", type=int, default=20000, help="calls per run (Kilowatt)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best one counts")
    parser.add_argument("--json", action="store_true", help="print JSON rows")
    args = parser.parse_args(argv)
    rows = run(args.iterations, args.repeat)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'message':<38}{'kilowatt µs':>12}{'ocpp µs':>10}{'ratio':>8}")
    for row in rows:
        print(
            f"{row['message']:<38}{row['kilowatt_us']:>12.2f}{row['ocpp_us']:>10.1f}"
            f"{row['ratio']:>7.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
