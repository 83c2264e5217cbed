"""Golden tests: the exact answer frame, per OCPP version, to each class of malformed frame.

The table was produced by running the frames through ``RpcConnection`` once and reviewed line by
line against OCPP-J 1.6 §4, OCPP 2.0.1 Part 4 §4 and OCPP 2.1 Part 4 §4 (see the table in the
docstring of :mod:`kilowatt.ocpp.rpc` for the choices where the specs are silent). ``None`` means
no answer at all: 1.6 cannot answer a frame whose message id it cannot read, no version answers
an unknown message type (OCPP-J 1.6 §4.1.3; OCPP 2.1 Ed1 Part 4 §4.1.3/§4.4 and the 2026 errata
of 2.0.1 Ed4, which deprecate MessageTypeNotSupported), and nobody answers a SEND or a
CALLRESULTERROR. A CALL whose id is a string over 36 characters is answered with that id echoed.
Payload failures use the real generated messages (BootNotification, StatusNotification).

A payload that breaks its schema is answered with a description that carries msgspec's
validation message, whose wording is msgspec's and changes between its releases. Those answers
are :class:`Rejected` entries: the test checks what is ours (the frame shape, the message id, the
error code, ``details == {}``, the 255-character bound of 2.0.1+) and that the description names
the offending schema fields, instead of comparing the text.
"""
# ruff: noqa: E501

from __future__ import annotations

import json
from typing import Any, NamedTuple

import msgspec
import pytest

from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.ocpp.rpc import RpcConnection, version_actions
from kilowatt.ocpp.rpc_events import (
    CallReceived,
    ErrorReceived,
    ProtocolViolation,
    ResultErrorReceived,
)
from kilowatt.ocpp.version import OcppVersion


class Rejected(NamedTuple):
    """The answer to a payload that breaks its schema: a CALLERROR with ``code`` whose
    description names every one of ``names`` (fields of the official schemas)."""

    code: str
    names: tuple[str, ...]


def assert_rejected(
    frame: Any, message_type: int, message_id: str, expected: Rejected, version: str
) -> None:
    """Check a CALLERROR (4) or CALLRESULTERROR (5) answer against ``expected``."""
    assert isinstance(frame, list) and len(frame) == 5, frame
    assert frame[:3] == [message_type, message_id, expected.code], frame
    description, details = frame[3], frame[4]
    assert isinstance(description, str) and description, frame
    assert details == {}, frame
    if version != "1.6":
        assert len(description) <= 255  # OCPP 2.0.1 Part 4 §4.2.3
    for name in expected.names:
        assert name in description, (name, description)


LONG_ACTION = '[2,"g1","' + "A" * 300 + '",{}]'
LONG_ACTION_ANSWER_16 = '[4,"g1","NotImplemented","unknown action ' + "A" * 300 + '",{}]'
# 2.0.1+ limits a description to 255 characters (OCPP 2.0.1 Part 4 §4.2.3).
LONG_ACTION_ANSWER_2X = '[4,"g1","NotImplemented","unknown action ' + "A" * 240 + '",{}]'

GOLDEN: list[tuple[str, str, str | bytes, str | Rejected | None]] = [
    ("1.6", "not-json", '[2,"g1"', None),
    ("1.6", "not-utf8", b'[2,"g\xff","Heartbeat",{}]', None),
    ("1.6", "action-too-long-for-description", LONG_ACTION, LONG_ACTION_ANSWER_16),
    ("1.6", "not-array", '{"a":1}', None),
    ("1.6", "empty-array", "[]", None),
    ("1.6", "type-not-int", '["2","g1","Heartbeat",{}]', None),
    ("1.6", "type-bool", '[true,"g1","Heartbeat",{}]', None),
    ("1.6", "unknown-type", '[7,"g1","Heartbeat",{}]', None),
    ("1.6", "unknown-type-bad-id", "[7,1]", None),
    ("1.6", "callresulterror-type", '[5,"g1","GenericError","",{}]', None),
    ("1.6", "send-type", '[6,"g1","Heartbeat",{}]', None),
    ("1.6", "id-missing", "[2]", None),
    ("1.6", "id-not-string", '[2,17,"Heartbeat",{}]', None),
    ("1.6", "id-empty", '[2,"","Heartbeat",{}]', None),
    (
        "1.6",
        "id-too-long",
        '[2,"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","Heartbeat",{}]',
        '[4,"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","FormationViolation","message id must be a string of 1 to 36 characters, got 37 characters",{}]',
    ),
    (
        "1.6",
        "arity-short",
        '[2,"g1","Heartbeat"]',
        '[4,"g1","FormationViolation","CALL frame must have 4 elements, got 3",{}]',
    ),
    (
        "1.6",
        "arity-long",
        '[2,"g1","Heartbeat",{},{}]',
        '[4,"g1","FormationViolation","CALL frame must have 4 elements, got 5",{}]',
    ),
    (
        "1.6",
        "action-not-string",
        '[2,"g1",5,{}]',
        '[4,"g1","FormationViolation","action must be a string, got a number",{}]',
    ),
    (
        "1.6",
        "payload-not-object",
        '[2,"g1","Heartbeat",[]]',
        '[4,"g1","FormationViolation","payload must be a JSON object, got an array",{}]',
    ),
    (
        "1.6",
        "payload-null",
        '[2,"g1","Heartbeat",null]',
        '[4,"g1","FormationViolation","payload must be a JSON object, got null",{}]',
    ),
    (
        "1.6",
        "unknown-action",
        '[2,"g1","FooBar",{}]',
        '[4,"g1","NotImplemented","unknown action FooBar",{}]',
    ),
    (
        "1.6",
        "unknown-field",
        '[2,"g1","Heartbeat",{"extraField":1}]',
        Rejected("FormationViolation", ("extraField",)),
    ),
    (
        "1.6",
        "wrong-direction",
        '[2,"g1","RemoteStartTransaction",{"idTag":"a"}]',
        '[4,"g1","NotSupported","RemoteStartTransaction is not accepted in a CALL from this side",{}]',
    ),
    (
        "1.6",
        "wrong-type",
        '[2,"g1","BootNotification",{"chargePointVendor":1,"chargePointModel":"M"}]',
        Rejected("TypeConstraintViolation", ("chargePointVendor",)),
    ),
    (
        "1.6",
        "missing-field",
        '[2,"g1","BootNotification",{"chargePointVendor":"V"}]',
        Rejected("OccurenceConstraintViolation", ("chargePointModel",)),
    ),
    (
        "1.6",
        "bad-enum",
        '[2,"g1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Bogus"}]',
        Rejected("PropertyConstraintViolation", ("status",)),
    ),
    (
        "1.6",
        "too-long",
        '[2,"g1","BootNotification",{"chargePointVendor":"V","chargePointModel":"MMMMMMMMMMMMMMMMMMMMM"}]',
        Rejected("PropertyConstraintViolation", ("chargePointModel",)),
    ),
    (
        "1.6",
        "null-field",
        '[2,"g1","BootNotification",{"chargePointVendor":null,"chargePointModel":"M"}]',
        Rejected("TypeConstraintViolation", ("chargePointVendor",)),
    ),
    ("2.0.1", "not-json", '[2,"g1"', '[4,"-1","RpcFrameworkError","message is not valid JSON",{}]'),
    (
        "2.0.1",
        "not-utf8",
        b'[2,"g\xff","Heartbeat",{}]',
        '[4,"-1","RpcFrameworkError","message is not valid JSON",{}]',
    ),
    ("2.0.1", "action-too-long-for-description", LONG_ACTION, LONG_ACTION_ANSWER_2X),
    (
        "2.0.1",
        "not-array",
        '{"a":1}',
        '[4,"-1","RpcFrameworkError","message is an object, not an array",{}]',
    ),
    (
        "2.0.1",
        "empty-array",
        "[]",
        '[4,"-1","RpcFrameworkError","message type id must be an integer, got nothing",{}]',
    ),
    (
        "2.0.1",
        "type-not-int",
        '["2","g1","Heartbeat",{}]',
        '[4,"g1","RpcFrameworkError","message type id must be an integer, got a string",{}]',
    ),
    (
        "2.0.1",
        "type-bool",
        '[true,"g1","Heartbeat",{}]',
        '[4,"g1","RpcFrameworkError","message type id must be an integer, got a boolean",{}]',
    ),
    ("2.0.1", "unknown-type", '[7,"g1","Heartbeat",{}]', None),
    ("2.0.1", "unknown-type-bad-id", "[7,1]", None),
    ("2.0.1", "callresulterror-type", '[5,"g1","GenericError","",{}]', None),
    ("2.0.1", "send-type", '[6,"g1","Heartbeat",{}]', None),
    (
        "2.0.1",
        "id-missing",
        "[2]",
        '[4,"-1","RpcFrameworkError","message id must be a string of 1 to 36 characters, got nothing",{}]',
    ),
    (
        "2.0.1",
        "id-not-string",
        '[2,17,"Heartbeat",{}]',
        '[4,"-1","RpcFrameworkError","message id must be a string of 1 to 36 characters, got a number",{}]',
    ),
    (
        "2.0.1",
        "id-empty",
        '[2,"","Heartbeat",{}]',
        '[4,"-1","RpcFrameworkError","message id must be a string of 1 to 36 characters, got an empty string",{}]',
    ),
    (
        "2.0.1",
        "id-too-long",
        '[2,"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","Heartbeat",{}]',
        '[4,"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","RpcFrameworkError","message id must be a string of 1 to 36 characters, got 37 characters",{}]',
    ),
    (
        "2.0.1",
        "arity-short",
        '[2,"g1","Heartbeat"]',
        '[4,"g1","RpcFrameworkError","CALL frame must have 4 elements, got 3",{}]',
    ),
    (
        "2.0.1",
        "arity-long",
        '[2,"g1","Heartbeat",{},{}]',
        '[4,"g1","RpcFrameworkError","CALL frame must have 4 elements, got 5",{}]',
    ),
    (
        "2.0.1",
        "action-not-string",
        '[2,"g1",5,{}]',
        '[4,"g1","RpcFrameworkError","action must be a string, got a number",{}]',
    ),
    (
        "2.0.1",
        "payload-not-object",
        '[2,"g1","Heartbeat",[]]',
        '[4,"g1","FormatViolation","payload must be a JSON object, got an array",{}]',
    ),
    (
        "2.0.1",
        "payload-null",
        '[2,"g1","Heartbeat",null]',
        '[4,"g1","FormatViolation","payload must be a JSON object, got null",{}]',
    ),
    (
        "2.0.1",
        "unknown-action",
        '[2,"g1","FooBar",{}]',
        '[4,"g1","NotImplemented","unknown action FooBar",{}]',
    ),
    (
        "2.0.1",
        "unknown-field",
        '[2,"g1","Heartbeat",{"extraField":1}]',
        Rejected("FormatViolation", ("extraField",)),
    ),
    (
        "2.0.1",
        "wrong-direction",
        '[2,"g1","RequestStartTransaction",{"idToken":{"idToken":"a","type":"Central"},"remoteStartId":1}]',
        '[4,"g1","NotSupported","RequestStartTransaction is not accepted in a CALL from this side",{}]',
    ),
    (
        "2.0.1",
        "wrong-type",
        '[2,"g1","BootNotification",{"chargingStation":{"model":1,"vendorName":"V"},"reason":"PowerUp"}]',
        Rejected("TypeConstraintViolation", ("chargingStation", "model")),
    ),
    (
        "2.0.1",
        "missing-field",
        '[2,"g1","BootNotification",{"chargingStation":{"vendorName":"V"},"reason":"PowerUp"}]',
        Rejected("OccurrenceConstraintViolation", ("chargingStation", "model")),
    ),
    (
        "2.0.1",
        "bad-enum",
        '[2,"g1","BootNotification",{"chargingStation":{"model":"M","vendorName":"V"},"reason":"Bogus"}]',
        Rejected("PropertyConstraintViolation", ("reason",)),
    ),
    (
        "2.0.1",
        "too-long",
        '[2,"g1","BootNotification",{"chargingStation":{"model":"MMMMMMMMMMMMMMMMMMMMM","vendorName":"V"},"reason":"PowerUp"}]',
        Rejected("PropertyConstraintViolation", ("chargingStation", "model")),
    ),
    (
        "2.0.1",
        "null-field",
        '[2,"g1","BootNotification",{"chargingStation":{"model":null,"vendorName":"V"},"reason":"PowerUp"}]',
        Rejected("TypeConstraintViolation", ("chargingStation", "model")),
    ),
    ("2.1", "not-json", '[2,"g1"', '[4,"-1","RpcFrameworkError","message is not valid JSON",{}]'),
    (
        "2.1",
        "not-utf8",
        b'[2,"g\xff","Heartbeat",{}]',
        '[4,"-1","RpcFrameworkError","message is not valid JSON",{}]',
    ),
    ("2.1", "action-too-long-for-description", LONG_ACTION, LONG_ACTION_ANSWER_2X),
    (
        "2.1",
        "not-array",
        '{"a":1}',
        '[4,"-1","RpcFrameworkError","message is an object, not an array",{}]',
    ),
    (
        "2.1",
        "empty-array",
        "[]",
        '[4,"-1","RpcFrameworkError","message type id must be an integer, got nothing",{}]',
    ),
    (
        "2.1",
        "type-not-int",
        '["2","g1","Heartbeat",{}]',
        '[4,"g1","RpcFrameworkError","message type id must be an integer, got a string",{}]',
    ),
    (
        "2.1",
        "type-bool",
        '[true,"g1","Heartbeat",{}]',
        '[4,"g1","RpcFrameworkError","message type id must be an integer, got a boolean",{}]',
    ),
    ("2.1", "unknown-type", '[7,"g1","Heartbeat",{}]', None),
    ("2.1", "unknown-type-bad-id", "[7,1]", None),
    ("2.1", "callresulterror-type", '[5,"g1","GenericError","",{}]', None),
    ("2.1", "send-type", '[6,"g1","Heartbeat",{}]', None),
    (
        "2.1",
        "id-missing",
        "[2]",
        '[4,"-1","RpcFrameworkError","message id must be a string of 1 to 36 characters, got nothing",{}]',
    ),
    (
        "2.1",
        "id-not-string",
        '[2,17,"Heartbeat",{}]',
        '[4,"-1","RpcFrameworkError","message id must be a string of 1 to 36 characters, got a number",{}]',
    ),
    (
        "2.1",
        "id-empty",
        '[2,"","Heartbeat",{}]',
        '[4,"-1","RpcFrameworkError","message id must be a string of 1 to 36 characters, got an empty string",{}]',
    ),
    (
        "2.1",
        "id-too-long",
        '[2,"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","Heartbeat",{}]',
        '[4,"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","RpcFrameworkError","message id must be a string of 1 to 36 characters, got 37 characters",{}]',
    ),
    (
        "2.1",
        "arity-short",
        '[2,"g1","Heartbeat"]',
        '[4,"g1","RpcFrameworkError","CALL frame must have 4 elements, got 3",{}]',
    ),
    (
        "2.1",
        "arity-long",
        '[2,"g1","Heartbeat",{},{}]',
        '[4,"g1","RpcFrameworkError","CALL frame must have 4 elements, got 5",{}]',
    ),
    (
        "2.1",
        "action-not-string",
        '[2,"g1",5,{}]',
        '[4,"g1","RpcFrameworkError","action must be a string, got a number",{}]',
    ),
    (
        "2.1",
        "payload-not-object",
        '[2,"g1","Heartbeat",[]]',
        '[4,"g1","FormatViolation","payload must be a JSON object, got an array",{}]',
    ),
    (
        "2.1",
        "payload-null",
        '[2,"g1","Heartbeat",null]',
        '[4,"g1","FormatViolation","payload must be a JSON object, got null",{}]',
    ),
    (
        "2.1",
        "unknown-action",
        '[2,"g1","FooBar",{}]',
        '[4,"g1","NotImplemented","unknown action FooBar",{}]',
    ),
    (
        "2.1",
        "unknown-field",
        '[2,"g1","Heartbeat",{"extraField":1}]',
        Rejected("FormatViolation", ("extraField",)),
    ),
    (
        "2.1",
        "wrong-direction",
        '[2,"g1","RequestStartTransaction",{"idToken":{"idToken":"a","type":"Central"},"remoteStartId":1}]',
        '[4,"g1","NotSupported","RequestStartTransaction is not accepted in a CALL from this side",{}]',
    ),
    (
        "2.1",
        "wrong-type",
        '[2,"g1","BootNotification",{"chargingStation":{"model":1,"vendorName":"V"},"reason":"PowerUp"}]',
        Rejected("TypeConstraintViolation", ("chargingStation", "model")),
    ),
    (
        "2.1",
        "missing-field",
        '[2,"g1","BootNotification",{"chargingStation":{"vendorName":"V"},"reason":"PowerUp"}]',
        Rejected("OccurrenceConstraintViolation", ("chargingStation", "model")),
    ),
    (
        "2.1",
        "bad-enum",
        '[2,"g1","BootNotification",{"chargingStation":{"model":"M","vendorName":"V"},"reason":"Bogus"}]',
        Rejected("PropertyConstraintViolation", ("reason",)),
    ),
    (
        "2.1",
        "too-long",
        '[2,"g1","BootNotification",{"chargingStation":{"model":"MMMMMMMMMMMMMMMMMMMMM","vendorName":"V"},"reason":"PowerUp"}]',
        Rejected("PropertyConstraintViolation", ("chargingStation", "model")),
    ),
    (
        "2.1",
        "null-field",
        '[2,"g1","BootNotification",{"chargingStation":{"model":null,"vendorName":"V"},"reason":"PowerUp"}]',
        Rejected("TypeConstraintViolation", ("chargingStation", "model")),
    ),
]


@pytest.mark.parametrize(
    ("version", "case", "frame", "answer"),
    GOLDEN,
    ids=[f"{v}-{case}" for v, case, _, _ in GOLDEN],
)
def test_golden_answer(
    version: str, case: str, frame: str | bytes, answer: str | Rejected | None
) -> None:
    conn = RpcConnection(OcppVersion(version))
    (event,) = conn.receive(frame, 0.0)
    out = conn.data_to_send()
    if isinstance(answer, Rejected):
        (sent,) = out
        assert_rejected(json.loads(sent), 4, "g1", answer, version)
    else:
        assert out == ([answer] if answer is not None else [])
    if version == "2.1" and case == "callresulterror-type":
        # Valid from 2.1 on: the peer could not accept one of our CALLRESULTs.
        assert event == ResultErrorReceived("g1", CallError(ErrorCode.GENERIC_ERROR))
    else:
        assert isinstance(event, ProtocolViolation)
        assert event.answered is (answer is not None)
        if isinstance(answer, Rejected):
            assert event.code == answer.code
        elif answer is not None:
            assert event.code == json.loads(answer)[2]
    # The connection still works afterwards.
    (ok,) = conn.receive('[2,"ok","Heartbeat",{}]', 0.0)
    assert isinstance(ok, CallReceived)


def test_golden_cases_cover_every_version() -> None:
    cases = {v: {case for vv, case, _, _ in GOLDEN if vv == v} for v in ("1.6", "2.0.1", "2.1")}
    assert cases["1.6"] == cases["2.0.1"] == cases["2.1"]


@pytest.mark.parametrize(
    ("version", "answer"),
    [
        ("1.6", '[4,"g1","NotSupported","DataTransfer not supported",{}]'),
        ("2.0.1", '[4,"g1","NotSupported","DataTransfer not supported",{}]'),
        ("2.1", '[4,"g1","NotSupported","DataTransfer not supported",{}]'),
    ],
)
def test_golden_known_but_not_supported(version: str, answer: str) -> None:
    v = OcppVersion(version)
    actions = {k: s for k, s in version_actions(v).items() if k != "DataTransfer"}
    conn = RpcConnection(v, actions=actions)
    conn.receive('[2,"g1","DataTransfer",{"vendorId":"v"}]', 0.0)
    assert conn.data_to_send() == [answer]


@pytest.mark.parametrize(
    ("version", "answer"),
    [
        ("1.6", '[4,"h1","GenericError","message id h1 is already used by an unanswered CALL",{}]'),
        (
            "2.0.1",
            '[4,"h1","RpcFrameworkError","message id h1 is already used by an unanswered CALL",{}]',
        ),
        (
            "2.1",
            '[4,"h1","RpcFrameworkError","message id h1 is already used by an unanswered CALL",{}]',
        ),
    ],
)
def test_golden_duplicate_id(version: str, answer: str) -> None:
    conn = RpcConnection(OcppVersion(version))
    conn.receive('[2,"h1","Heartbeat",{}]', 0.0)
    conn.receive('[2,"h1","Heartbeat",{}]', 0.0)
    assert conn.data_to_send() == [answer]


RESET = {
    OcppVersion.V16: ("Reset", {"type": "Hard"}),
    OcppVersion.V201: ("Reset", {"type": "Immediate"}),
    OcppVersion.V21: ("Reset", {"type": "Immediate"}),
}


@pytest.mark.parametrize(
    ("version", "answer"),
    [
        ("1.6", None),
        ("2.0.1", None),
        # 2.1 answers a CALLRESULT it cannot accept with a CALLRESULTERROR.
        ("2.1", Rejected("PropertyConstraintViolation", ("status",))),
    ],
)
def test_golden_invalid_callresult(version: str, answer: Rejected | None) -> None:
    v = OcppVersion(version)
    actions = version_actions(v)
    action, payload = RESET[v]
    conn = RpcConnection(v, message_id_factory=lambda: "c1")
    request = actions[action].request
    conn.send_call(msgspec.convert(payload, request), 0.0)
    assert len(conn.data_to_send()) == 1
    (event,) = conn.receive('[3,"c1",{"status":"Maybe"}]', 1.0)
    assert isinstance(event, ErrorReceived)
    assert (event.message_id, event.action, event.local) == ("c1", "Reset", True)
    error = event.error
    assert error.code == ErrorCode.PROPERTY_CONSTRAINT_VIOLATION and error.details == {}
    assert "status" in error.description
    out = conn.data_to_send()
    if answer is None:
        assert out == []
    else:
        (sent,) = out
        frame = json.loads(sent)
        assert_rejected(frame, 5, "c1", answer, version)
        assert frame[3] == error.description  # the same words both ways


# The pre-errata answer of 2.0.1 Part 4 §4.2.3, kept as an opt-in of the core.
OPT_IN_UNKNOWN_TYPE = [
    ("1.6", '[7,"g1","Heartbeat",{}]', None),
    (
        "2.0.1",
        '[7,"g1","Heartbeat",{}]',
        '[4,"g1","MessageTypeNotSupported","message type id 7 is not supported by OCPP 2.0.1",{}]',
    ),
    (
        "2.0.1",
        "[7,1]",
        '[4,"-1","MessageTypeNotSupported","message type id 7 is not supported by OCPP 2.0.1",{}]',
    ),
    (
        "2.0.1",
        '[6,"g1","Heartbeat",{}]',
        '[4,"g1","MessageTypeNotSupported","message type id 6 is not supported by OCPP 2.0.1",{}]',
    ),
    (
        "2.1",
        '[9,"' + "y" * 40 + '"]',
        '[4,"'
        + "y" * 40
        + '","MessageTypeNotSupported","message type id 9 is not supported by OCPP 2.1",{}]',
    ),
]


@pytest.mark.parametrize(("version", "frame", "answer"), OPT_IN_UNKNOWN_TYPE)
def test_golden_unknown_type_answered_on_opt_in(
    version: str, frame: str, answer: str | None
) -> None:
    conn = RpcConnection(OcppVersion(version), answer_unknown_message_type=True)
    (event,) = conn.receive(frame, 0.0)
    assert isinstance(event, ProtocolViolation)
    assert conn.data_to_send() == ([answer] if answer else [])
    assert event.answered is (answer is not None)
    assert event.code == (json.loads(answer)[2] if answer else None)


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
@pytest.mark.parametrize("frame", ['[7,"x"]', '[9,"g1","Heartbeat",{}]', "[-1]", '[0,"g1",{}]'])
def test_golden_unknown_type_ignored_by_default(version: str, frame: str) -> None:
    """The errata: no frame is sent, the event reports the frame for the journal and logs."""
    conn = RpcConnection(OcppVersion(version))
    (event,) = conn.receive(frame, 0.0)
    assert conn.data_to_send() == []
    assert isinstance(event, ProtocolViolation)
    assert event.answered is False and event.code is None
    assert "is not supported by OCPP" in event.description
    # Silence, then the next CALL gets its own answer only.
    (ok,) = conn.receive('[2,"ok","Heartbeat",{}]', 0.0)
    assert isinstance(ok, CallReceived)


@pytest.mark.parametrize(
    ("version", "code"),
    [("1.6", "FormationViolation"), ("2.0.1", "RpcFrameworkError"), ("2.1", "RpcFrameworkError")],
)
@pytest.mark.parametrize("length", [37, 100, 5000])
def test_golden_long_message_id_is_echoed(version: str, code: str, length: int) -> None:
    """OCPP-J 1.6 §4.1.4 / 2.0.1 Part 4 §4.2.1: at most 36 characters; the answer echoes it."""
    long_id = "i" * length
    conn = RpcConnection(OcppVersion(version))
    (event,) = conn.receive(f'[2,"{long_id}","Heartbeat",{{}}]', 0.0)
    (sent,) = conn.data_to_send()
    frame = json.loads(sent)
    assert frame[:3] == [4, long_id, code] and frame[4] == {}
    assert isinstance(event, ProtocolViolation) and event.answered and event.code == code
    # A CALLRESULT with such an id cannot be ours: reported, never answered.
    (stray,) = conn.receive(f'[3,"{long_id}",{{}}]', 0.0)
    assert isinstance(stray, ProtocolViolation) and not stray.answered
    assert conn.data_to_send() == []
