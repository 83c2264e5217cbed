"""Payload decode/encode with validation, and the mapping of decode errors to OCPP error codes.

CONTRACT STUB (first version): refined by the messages work package. Keep the signatures.
"""

from __future__ import annotations

from typing import Any

import msgspec

from kilowatt.ocpp.errors import ErrorCode


class PayloadError(Exception):
    """A payload did not match its schema. ``code`` is the OCPP error code the spec prescribes."""

    def __init__(self, code: ErrorCode, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


_encoder = msgspec.json.Encoder(decimal_format="number")


def encode_payload(payload: Any) -> bytes:
    """Encode a typed payload to JSON bytes (wire names; optional fields omitted; exact decimals)."""
    return _encoder.encode(payload)


def decode_payload(type_: type[Any], data: bytes | str, *, lenient: bool = False) -> Any:
    """Decode and validate ``data`` (a JSON object) as ``type_``.

    Raises:
        PayloadError: with FormatViolation, TypeConstraintViolation, PropertyConstraintViolation
            or OccurrenceConstraintViolation as the failure requires (OCPP 2.0.1 Part 4 §4.3).
    """
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.ValidationError as exc:
        raise PayloadError(ErrorCode.FORMAT_VIOLATION, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise PayloadError(ErrorCode.FORMAT_VIOLATION, str(exc)) from None
