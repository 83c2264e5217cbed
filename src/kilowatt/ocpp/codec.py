"""Payload decode/encode with validation, and the mapping of decode errors to OCPP error codes.

Every typed OCPP payload (the generated ``kilowatt.ocpp.v16``/``v201``/``v21`` messages) is a
msgspec Struct derived from :class:`Payload`. :func:`decode_payload` validates while it decodes
(one pass, C speed); this module is the only place that turns a failure into an OCPP error code.

Error-code mapping (definitions of OCPP 2.0.1 Part 4 §4.3 "RPC Framework Error Codes" and
OCPP-J 1.6 §4.2.3; :func:`kilowatt.ocpp.errors.wire_code` gives the 1.6 spellings
FormationViolation / OccurenceConstraintViolation):

=====================================================  ======================================
Failure                                                Code
=====================================================  ======================================
not JSON, or the payload is not a JSON object          FormatViolation ("syntactically
                                                       incorrect")
a field that the action does not define (strict mode)  FormatViolation (1.6: "not conform the
                                                       PDU structure for Action")
a required field is missing                            OccurrenceConstraintViolation
an array has fewer/more items than minItems/maxItems   OccurrenceConstraintViolation
a field has the wrong JSON type (``"a": 12`` for a     TypeConstraintViolation
string, a string for a number, ``null`` anywhere but
in free-form data)
an integer outside the 32-bit OCPP ``integer``         TypeConstraintViolation ("violates data
(2^63 for ``transactionId``, ``1e999`` for an integer)  type constraints": the width belongs to
                                                       the type, OCPP 2.0.1 Part 2 §2.1)
a value breaks maxLength/minLength, an enum, a         PropertyConstraintViolation ("contains
schema minimum/maximum, multipleOf or the date-time    an invalid value")
pattern
a ``number`` outside :func:`number_in_range`           PropertyConstraintViolation
=====================================================  ======================================

Which code for an out-of-range integer: OCPP-J 1.6 §4.2.3 and OCPP 2.0.1 Part 4 §4.3 define
TypeConstraintViolation as "Payload for Action is syntactically correct but at least one of the
fields violates data type constraints" and PropertyConstraintViolation as "... at least one field
contains an invalid value". OCPP 2.0.1 Part 2 §2.1 defines the ``integer`` type as 32 bit (31 bit
resolution, 1 sign bit), so a value beyond it breaks the *type*: TypeConstraintViolation (1.6
spells it the same). A value inside the type that breaks a schema ``minimum``/``maximum``
(``connectorId`` -1 where the minimum is 0) breaks a property: PropertyConstraintViolation. When
both apply (-2^40 where the minimum is 0), msgspec reports the schema bound, hence
PropertyConstraintViolation.

Wire types:

- Schema ``integer`` is :data:`Integer` (``int`` within :data:`INT32_MIN`..:data:`INT32_MAX`)
  or, where the schema is tighter, ``Annotated[int, Meta(ge=..., le=...)]``.
- Schema ``number`` is :class:`decimal.Decimal`, exact both ways (``1.10000000000000000001``
  survives a round trip). msgspec would also decode a JSON *string* into a Decimal, so number
  fields are annotated :data:`Number` (a ``Decimal`` for type checkers, a marker type for msgspec
  at run time) and checked by a decode hook: only JSON numbers are accepted, and only those
  :func:`number_in_range` accepts (``1E+999`` is a valid JSON number, but no meter measures it
  and a standard parser reads it back as infinity).
- ``customData`` (2.x ``CustomDataType``) allows extra properties; it is :data:`CustomData`, a
  plain ``dict`` at run time whose ``vendorId`` (required, string, at most 255 chars) is checked;
  every other property passes through untouched, numbers as exact Decimals.
- Free-form data (2.x DataTransfer ``data``) is ``Any``: decoded without conversion (numbers as
  Decimal), defaulting to ``msgspec.UNSET`` so that an explicit ``null`` also round-trips.
- Schema ``date-time`` stays ``str`` checked against :data:`DATE_TIME_PATTERN` (RFC 3339 with
  offset): a ``datetime`` would re-encode differently from what the station sent (``Z`` vs
  ``+00:00``, trailing zeros of fractions), and signed data or idempotency keys need the exact text.
- Optional fields default to ``None`` and are omitted on encode, never sent as ``null``. In strict
  mode a received ``null`` for a typed field is a TypeConstraintViolation (no schema type admits
  it); lenient mode reads it as absent.
"""

from __future__ import annotations

import types
import typing
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeAlias

import msgspec

from kilowatt.ocpp.errors import ErrorCode

__all__ = [
    "DATE_TIME_PATTERN",
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "NUMBER_MAX_DIGITS",
    "NUMBER_MAX_EXPONENT",
    "NUMBER_MIN_EXPONENT",
    "CustomData",
    "DateTime",
    "Integer",
    "Integer64",
    "Number",
    "Payload",
    "PayloadError",
    "check_number",
    "decode_payload",
    "encode_payload",
    "number_in_range",
]


class PayloadError(Exception):
    """A payload did not match its schema. ``code`` is the OCPP error code the spec prescribes.

    ``description`` is msgspec's message with the JSON path (e.g. ``... - at `$.idTag```),
    at most 255 characters (the 2.x limit for a CALLERROR description).
    """

    def __init__(self, code: ErrorCode, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class Payload(
    msgspec.Struct,
    forbid_unknown_fields=True,
    omit_defaults=True,
    kw_only=True,
):
    """Base of every generated message and datatype: unknown fields rejected, defaults omitted."""


DATE_TIME_PATTERN: Final = (
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)
"""RFC 3339 ``date-time`` (section 5.6): full date, ``T``, time, optional fraction, offset."""

DateTime: TypeAlias = Annotated[str, msgspec.Meta(pattern=DATE_TIME_PATTERN)]
"""A schema ``"format": "date-time"`` string, kept verbatim."""

# The same numbers as kilowatt.csms.limits, written here because ocpp/ imports nothing outside
# itself. Source: OCPP 2.0.1 Part 2 §2.1, "integer: 32 bit (31 bit resolution, 1 sign bit)".
INT32_MIN: Final = -(2**31)
"""Smallest OCPP ``integer`` (-2^31)."""

INT32_MAX: Final = 2**31 - 1
"""Largest OCPP ``integer`` (2^31 - 1)."""

Integer: TypeAlias = Annotated[int, msgspec.Meta(ge=INT32_MIN, le=INT32_MAX)]
"""A schema ``integer`` without tighter bounds: the 32-bit OCPP ``integer`` (Part 2 §2.1)."""

INT64_MIN: Final = -(2**63)
"""Smallest :data:`Integer64` (-2^63)."""

INT64_MAX: Final = 2**63 - 1
"""Largest :data:`Integer64` (2^63 - 1)."""

Integer64: TypeAlias = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
"""A 1.6 energy register in Wh (StartTransaction ``meterStart``, StopTransaction ``meterStop``).

The 1.6 schemas give ``integer`` no width, and a busy fast charger's lifetime register passes
2^31 Wh (2.1 GWh) within a few years: these two fields take 64 bits, as storage does.
"""

NUMBER_MAX_EXPONENT: Final = 17
"""Largest power of ten a schema ``number`` may reach: magnitudes below 10^18 are accepted.

10^18 Wh is an exawatt-hour, W, A, V and prices are smaller still; the bound keeps every
accepted value a finite IEEE-754 double for API clients (``1E+999`` is not one)."""

NUMBER_MIN_EXPONENT: Final = -24
"""Smallest power of ten of a non-zero schema ``number``: magnitudes from 10^-24 up.

Float noise from a station (``2.7755575615628914E-17``) stays well inside; ``1E-999999999``
does not (and would make exact ``multipleOf`` arithmetic allocate a 10^9-digit fraction)."""

NUMBER_MAX_DIGITS: Final = 34
"""Most significant digits of a schema ``number`` (trailing zeros not counted).

IEEE 754 decimal128 precision. OCPP 2.0.1 Part 2 §2.1 asks to keep "the full resolution of
the source data"; no meter resolves 35 digits, so more is refused rather than rounded."""

if TYPE_CHECKING:
    Number: TypeAlias = Decimal
    CustomData: TypeAlias = dict[str, Any]
else:

    class _DecimalMarker(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return type(obj) is Decimal

    class _DictMarker(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return type(obj) is dict

    class Number(metaclass=_DecimalMarker):
        """A schema ``number``: a JSON number decoded exactly as :class:`decimal.Decimal`."""

    class CustomData(metaclass=_DictMarker):
        """A 2.x ``customData`` object: a dict with ``vendorId`` and any extra properties."""


_MULTIPLE_TOLERANCE: Final = Fraction(1, 10**9)


def check_number(
    value: Decimal | None,
    field: str,
    *,
    ge: Decimal | None = None,
    le: Decimal | None = None,
    multiple_of: Decimal | None = None,
) -> None:
    """Check a decoded schema ``number`` against minimum/maximum/multipleOf.

    Generated ``__post_init__`` methods call this (msgspec cannot put ``Meta(ge=...)`` on a
    Decimal). ``multipleOf`` tolerates a relative error of 1e-9 so that a station's float
    artefacts (``0.30000000000000004`` for a multiple of 0.1) are accepted, as the usual schema
    validators do; exact multiples are always accepted.

    Raises:
        ValueError: the value breaks a bound (msgspec turns it into a ValidationError).
    """
    if value is None:
        return
    if not value.is_finite():
        raise ValueError(f"Expected `number`, got `{value}` - at `{field}`")
    if ge is not None and value < ge:
        raise ValueError(f"Expected `number` >= {ge} - at `{field}`")
    if le is not None and value > le:
        raise ValueError(f"Expected `number` <= {le} - at `{field}`")
    if multiple_of is not None:
        quotient = Fraction(value) / Fraction(multiple_of)
        if abs(quotient - round(quotient)) > _MULTIPLE_TOLERANCE * max(Fraction(1), abs(quotient)):
            raise ValueError(
                f"Expected `number` that is a multiple of {multiple_of} - at `{field}`"
            )


def number_in_range(value: Decimal) -> bool:
    """Tell whether ``value`` is a number Kilowatt accepts in a schema ``number`` field.

    The documented rule (docs/howto/security.md, "Numbers a station sends"): finite; zero or a
    magnitude from 10^:data:`NUMBER_MIN_EXPONENT` to below 10^(:data:`NUMBER_MAX_EXPONENT` + 1);
    at most :data:`NUMBER_MAX_DIGITS` significant digits. A payload with a number outside it is
    answered PropertyConstraintViolation (the value is invalid, not its type: OCPP 2.0.1 Part 2
    §2.1 gives ``decimal`` no width). The 1.6 handlers apply the same rule to the ``value``
    strings of sampled values.

    Args:
        value: A decoded number.

    Returns:
        ``True`` when the value is within the rule.
    """
    if not value.is_finite():
        return False
    if not value:
        return True
    if not NUMBER_MIN_EXPONENT <= value.adjusted() <= NUMBER_MAX_EXPONENT:
        return False
    # Hot path (every number of every payload): a text this short cannot hold more digits;
    # as_tuple() costs ~8x as much as str() and is left to the rare long number.
    if len(str(value)) <= NUMBER_MAX_DIGITS:
        return True
    digits = value.as_tuple().digits
    if len(digits) <= NUMBER_MAX_DIGITS:
        return True
    significant = len(digits)
    while significant and digits[significant - 1] == 0:
        significant -= 1
    return significant <= NUMBER_MAX_DIGITS


_NUMBER_RULE: Final = (
    f"Expected `number` that is 0 or of magnitude 1e{NUMBER_MIN_EXPONENT} to "
    f"<1e{NUMBER_MAX_EXPONENT + 1} with at most {NUMBER_MAX_DIGITS} significant digits"
)


def _dec_hook(type_: type[Any], obj: Any) -> Any:
    if type_ is Number:
        if type(obj) is Decimal:
            number = obj
        elif type(obj) is int:
            number = Decimal(obj)
        else:
            raise TypeError(f"Expected `number`, got `{_json_type(obj)}`")
        if not number_in_range(number):
            raise ValueError(_NUMBER_RULE)
        return number
    if type_ is CustomData:
        if type(obj) is not dict:
            raise TypeError(f"Expected `object`, got `{_json_type(obj)}`")
        vendor_id = obj.get("vendorId", _MISSING)
        if vendor_id is _MISSING:
            raise TypeError("Object missing required field `vendorId`")
        if type(vendor_id) is not str:
            raise TypeError(f"Expected `str`, got `{_json_type(vendor_id)}` (vendorId)")
        if len(vendor_id) > 255:
            raise ValueError("Expected `str` of length <= 255 (vendorId)")
        return obj
    raise NotImplementedError(f"no decoder for {type_!r}")


_MISSING: Final = object()


def _json_type(obj: object) -> str:
    # Only called from _dec_hook with a value decoded from JSON (floats arrive as Decimal), so
    # anything that is not null, bool, number, string or array is an object.
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "bool"
    if isinstance(obj, int):
        return "int"
    if isinstance(obj, float | Decimal):
        return "float"
    if isinstance(obj, str):
        return "str"
    if isinstance(obj, list):
        return "array"
    return "object"


_encoder: Final = msgspec.json.Encoder(decimal_format="number")
_untyped: Final = msgspec.json.Decoder(float_hook=Decimal)
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def _decoder(type_: type[Any]) -> msgspec.json.Decoder[Any]:
    dec = _decoders.get(type_)
    if dec is None:
        dec = msgspec.json.Decoder(type_, dec_hook=_dec_hook, float_hook=Decimal)
        _decoders[type_] = dec
    return dec


def encode_payload(payload: Any) -> bytes:
    """Encode a typed payload to JSON bytes: wire names, no optional fields, exact decimals."""
    return _encoder.encode(payload)


def decode_payload(
    type_: type[Any], data: bytes | str | msgspec.Raw, *, lenient: bool = False
) -> Any:
    """Decode and validate ``data`` (a JSON object) as ``type_``.

    Args:
        type_: a generated payload Struct, e.g. ``kilowatt.ocpp.v16.BootNotificationRequest``.
        data: the payload's JSON text (the 4th element of a CALL, the 3rd of a CALLRESULT), as
            bytes, str or the ``msgspec.Raw`` a frame decoder kept it as.
        lenient: tolerate fields the schema does not define (they are dropped) and ``null`` for
            optional fields (read as absent). Costs nothing unless the strict decode fails.

    Raises:
        PayloadError: with FormatViolation, TypeConstraintViolation, PropertyConstraintViolation
            or OccurrenceConstraintViolation as the failure requires (see the module docstring).
    """
    if type(data) is msgspec.Raw:
        data = bytes(data)
    try:
        result = _decoder(type_).decode(data)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if lenient and message.startswith("Object contains unknown field"):
            return _decode_pruned(type_, data)
        raise PayloadError(_classify(message), _truncate(message)) from None
    except (msgspec.DecodeError, UnicodeError) as exc:
        # Our own words for invalid UTF-8: msgspec's wording (and whether it raises
        # UnicodeDecodeError or DecodeError) has changed between its releases.
        if isinstance(exc, UnicodeError) or not _is_utf8(data):
            raise PayloadError(ErrorCode.FORMAT_VIOLATION, "payload is not valid UTF-8") from None
        raise PayloadError(ErrorCode.FORMAT_VIOLATION, _truncate(str(exc))) from None
    if not lenient and _has_null(data):
        _check_nulls(type_, data)
    return result


def _is_utf8(data: bytes | str) -> bool:
    if isinstance(data, str):
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _has_null(data: bytes | str) -> bool:
    return (b"null" in data) if isinstance(data, bytes) else ("null" in data)


def _truncate(message: str) -> str:
    return message if len(message) <= 255 else message[:252] + "..."


_TYPE_BOUNDS: Final = (
    f"Expected `int` >= {INT32_MIN} - ",
    f"Expected `int` <= {INT32_MAX} - ",
    f"Expected `int` >= {INT64_MIN} - ",
    f"Expected `int` <= {INT64_MAX} - ",
)
"""How msgspec words a breach of :data:`Integer`'s or :data:`Integer64`'s own bounds (the type,
not a schema bound)."""


def _classify(message: str) -> ErrorCode:
    """Map a msgspec ValidationError message to the OCPP error code (see the module table)."""
    if message.startswith(_TYPE_BOUNDS) or message.startswith("Number out of range"):
        return ErrorCode.TYPE_CONSTRAINT_VIOLATION
    if message.startswith("Object missing required field"):
        return ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    if message.startswith("Object contains unknown field"):
        return ErrorCode.FORMAT_VIOLATION
    if message.startswith("Expected `array` of length"):
        return ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    if message.startswith("Expected `object`, got") and " - at `" not in message:
        return ErrorCode.FORMAT_VIOLATION  # the payload itself is not an object
    if message.startswith("Expected `") and ", got `" in message.split(" - at `", 1)[0]:
        return ErrorCode.TYPE_CONSTRAINT_VIOLATION
    if message.startswith(("Expected `", "Invalid enum value")):
        return ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    return ErrorCode.FORMAT_VIOLATION


# --- walking the Struct type information (slow paths only) --------------------------------------

_ANY: Final = "any"
_LEAF: Final = "leaf"
_Shape: TypeAlias = Any  # "any" | "leaf" | ("list", shape) | ("struct", {wire: (shape, label)})
_shapes: dict[Any, _Shape] = {}


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = rest[0] if len(rest) == 1 else Any
        else:
            return tp


def _shape(tp: Any) -> _Shape:
    tp = _unwrap(tp)
    cached = _shapes.get(tp)
    if cached is not None:
        return cached
    if tp is Any or tp is CustomData or tp is msgspec.UnsetType:
        return _ANY
    if typing.get_origin(tp) is list:
        return ("list", _shape(typing.get_args(tp)[0]))
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        fields: dict[str, Any] = {}
        shape = ("struct", fields)
        _shapes[tp] = shape
        for info in msgspec.structs.fields(tp):
            inner = _unwrap(info.type)
            label = getattr(inner, "__name__", "value")
            fields[info.encode_name] = (_shape(info.type), label)
        return shape
    return _LEAF


def _prune(obj: Any, shape: _Shape) -> Any:
    if shape in (_ANY, _LEAF):
        return obj
    if shape[0] == "list":
        return [_prune(x, shape[1]) for x in obj] if isinstance(obj, list) else obj
    if not isinstance(obj, dict):
        return obj
    fields = shape[1]
    return {k: _prune(v, fields[k][0]) for k, v in obj.items() if k in fields}


def _decode_pruned(type_: type[Any], data: bytes | str) -> Any:
    obj = _untyped.decode(data)
    pruned = _prune(obj, _shape(type_))
    try:
        return _decoder(type_).decode(_encoder.encode(pruned))
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise PayloadError(_classify(message), _truncate(message)) from None


def _find_null(obj: Any, shape: _Shape, path: str) -> tuple[str, str] | None:
    if shape in (_ANY, _LEAF):
        return None
    if shape[0] == "list":
        # Only reached after a successful typed decode: a list-typed value is a JSON array (a
        # null one was reported by the caller before recursing).
        for i, x in enumerate(obj):
            found = _find_null(x, shape[1], f"{path}[{i}]")
            if found:
                return found
        return None
    if not isinstance(obj, dict):
        return None
    fields = shape[1]
    for k, v in obj.items():
        spec = fields.get(k)
        if spec is None:
            continue
        sub_shape, label = spec
        if v is None and sub_shape != _ANY:
            return f"{path}.{k}", label
        found = _find_null(v, sub_shape, f"{path}.{k}")
        if found:
            return found
    return None


def _check_nulls(type_: type[Any], data: bytes | str) -> None:
    found = _find_null(_untyped.decode(data), _shape(type_), "$")
    if found is not None:
        path, label = found
        raise PayloadError(
            ErrorCode.TYPE_CONSTRAINT_VIOLATION, f"Expected `{label}`, got `null` - at `{path}`"
        )
