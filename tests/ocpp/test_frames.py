"""Frame codec: :func:`parse_frame` classification and the builders."""

from __future__ import annotations

import json

import msgspec
import pytest

from kilowatt.ocpp.frames import (
    Call,
    CallErrorFrame,
    CallResult,
    CallResultErrorFrame,
    FrameError,
    FrameErrorKind,
    MessageType,
    Send,
    build_call,
    build_error,
    build_result,
    build_send,
    parse_frame,
)
from kilowatt.ocpp.version import OcppVersion

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21
K = FrameErrorKind


def test_parse_valid_frames() -> None:
    call = parse_frame(' [2, "a", "Heartbeat", {"x": [1]}] ', V16)
    assert isinstance(call, Call) and (call.message_id, call.action) == ("a", "Heartbeat")
    assert bytes(call.payload) == b'{"x": [1]}'
    result = parse_frame(b'[3,"a",{}]', V201)
    assert isinstance(result, CallResult) and bytes(result.payload) == b"{}"
    err = parse_frame('[4,"a","NotSupported","d",{"k":"v"}]', V201)
    assert err == CallErrorFrame("a", "NotSupported", "d", {"k": "v"})
    rerr = parse_frame('[5,"a","InternalError","",{}]', V21)
    assert rerr == CallResultErrorFrame("a", "InternalError", "", {})
    send = parse_frame('[6,"a","NotifyPeriodicEventStream",{}]', V21)
    assert isinstance(send, Send) and send.action == "NotifyPeriodicEventStream"
    # Non-ASCII ids and payloads, escaped or not.
    call = parse_frame('[2,"é\\u00e9","A",{"s":"ü"}]', V16)
    assert isinstance(call, Call) and call.message_id == "éé"
    assert parse_frame('[2,"' + "x" * 36 + '","A",{}]', V16).message_id == "x" * 36


@pytest.mark.parametrize(
    ("data", "version", "kind", "mtype", "mid"),
    [
        ("[2,", V16, K.NOT_JSON, None, None),
        (b'[2,"\xff","A",{}]', V16, K.NOT_JSON, None, None),
        ('[2,"\ud800","A",{}]', V16, K.NOT_JSON, None, None),
        ("", V16, K.NOT_JSON, None, None),
        ('"x"', V16, K.NOT_ARRAY, None, None),
        ("null", V16, K.NOT_ARRAY, None, None),
        ("[]", V16, K.BAD_MESSAGE_TYPE, None, None),
        ('[null,"a"]', V16, K.BAD_MESSAGE_TYPE, None, "a"),
        ('[2.0,"a","A",{}]', V16, K.BAD_MESSAGE_TYPE, None, "a"),
        ('[false,"a","A",{}]', V16, K.BAD_MESSAGE_TYPE, None, "a"),
        ('[{},"a","A",{}]', V16, K.BAD_MESSAGE_TYPE, None, "a"),
        ('[[],"a","A",{}]', V16, K.BAD_MESSAGE_TYPE, None, "a"),
        ('[1,"a","A",{}]', V21, K.UNKNOWN_MESSAGE_TYPE, 1, "a"),
        ('[-2,"a","A",{}]', V21, K.UNKNOWN_MESSAGE_TYPE, -2, "a"),
        ('[5,"a","c","d",{}]', V16, K.UNKNOWN_MESSAGE_TYPE, 5, "a"),
        ('[6,"a","A",{}]', V201, K.UNKNOWN_MESSAGE_TYPE, 6, "a"),
        ("[2]", V16, K.BAD_MESSAGE_ID, 2, None),
        ('[3,["a"],{}]', V16, K.BAD_MESSAGE_ID, 3, None),
        ('[3,"",{}]', V16, K.BAD_MESSAGE_ID, 3, None),
        ('[3,"' + "x" * 37 + '",{}]', V16, K.BAD_MESSAGE_ID, 3, None),
        ('[2,"a","A"]', V16, K.WRONG_ARITY, 2, "a"),
        ('[3,"a"]', V16, K.WRONG_ARITY, 3, "a"),
        ('[3,"a",{},{}]', V16, K.WRONG_ARITY, 3, "a"),
        ('[4,"a","c","d"]', V16, K.WRONG_ARITY, 4, "a"),
        ('[5,"a","c","d",{},1]', V21, K.WRONG_ARITY, 5, "a"),
        ('[6,"a","A"]', V21, K.WRONG_ARITY, 6, "a"),
        ('[2,"a",null,{}]', V16, K.BAD_ACTION, 2, "a"),
        ('[6,"a",["A"],{}]', V21, K.BAD_ACTION, 6, "a"),
        ('[2,"a","A",[]]', V16, K.PAYLOAD_NOT_OBJECT, 2, "a"),
        ('[2,"a","A","{}"]', V16, K.PAYLOAD_NOT_OBJECT, 2, "a"),
        ('[6,"a","A",1.5]', V21, K.PAYLOAD_NOT_OBJECT, 6, "a"),
        ('[3,"a",true]', V16, K.PAYLOAD_NOT_OBJECT, 3, "a"),
        ('[4,"a",1,"d",{}]', V16, K.BAD_ERROR_CODE, 4, "a"),
        ('[5,"a",null,"d",{}]', V21, K.BAD_ERROR_CODE, 5, "a"),
        ('[4,"a","c",null,{}]', V16, K.BAD_DESCRIPTION, 4, "a"),
        ('[4,"a","c","d",null]', V16, K.BAD_DETAILS, 4, "a"),
        ('[5,"a","c","d",[]]', V21, K.BAD_DETAILS, 5, "a"),
    ],
)
def test_parse_errors(
    data: str | bytes,
    version: OcppVersion,
    kind: FrameErrorKind,
    mtype: int | None,
    mid: str | None,
) -> None:
    with pytest.raises(FrameError) as info:
        parse_frame(data, version)
    exc = info.value
    assert (exc.kind, exc.message_type, exc.message_id) == (kind, mtype, mid)
    assert exc.description == str(exc) and exc.description


def test_error_descriptions() -> None:
    def desc(data: str) -> str:
        with pytest.raises(FrameError) as info:
            parse_frame(data, V201)
        return info.value.description

    assert desc("{}") == "message is an object, not an array"
    assert desc("[]") == "message type id must be an integer, got nothing"
    assert desc('["2","a"]') == "message type id must be an integer, got a string"
    assert desc('[9,"a"]') == "message type id 9 is not supported by OCPP 2.0.1"
    assert desc("[2]") == "message id must be a string of 1 to 36 characters, got nothing"
    assert desc("[2,null]") == "message id must be a string of 1 to 36 characters, got null"
    assert desc("[2,{}]") == "message id must be a string of 1 to 36 characters, got an object"
    assert desc('[4,"a"]') == "CALLERROR frame must have 5 elements, got 2"
    assert desc('[2,"a",true,{}]') == "action must be a string, got a boolean"
    assert desc('[3,"a",[]]') == "payload must be a JSON object, got an array"
    assert desc('[4,"a","c","d",7]') == "error details must be a JSON object, got a number"


def test_builders_round_trip() -> None:
    assert build_call("a", "Heartbeat", b"{}") == '[2,"a","Heartbeat",{}]'
    assert build_send("a", "N", b'{"x":1}') == '[6,"a","N",{"x":1}]'
    assert build_result("a", b'{"x":1}') == '[3,"a",{"x":1}]'
    assert build_error("a", "GenericError", "") == '[4,"a","GenericError","",{}]'
    assert build_error("a", "C", "d", {}) == '[4,"a","C","d",{}]'
    assert (
        build_error("a", "C", "d", {"k": 1}, message_type=MessageType.CALLRESULTERROR)
        == '[5,"a","C","d",{"k":1}]'
    )
    # Ids and texts are JSON-escaped; what we build, we parse back.
    tricky = 'q"\\\n\u2028é'
    frame = build_error(tricky, "C", tricky)
    assert json.loads(frame) == [4, tricky, "C", tricky, {}]
    parsed = parse_frame(build_call(tricky, tricky, b'{"a":1}'), V16)
    assert isinstance(parsed, Call) and parsed.message_id == tricky and parsed.action == tricky
    assert msgspec.json.decode(bytes(parsed.payload)) == {"a": 1}


@pytest.mark.parametrize(
    ("text", "message_id", "raw_message_id"),
    [
        ('[2,"' + "x" * 37 + '","Heartbeat",{}]', None, "x" * 37),
        ('["2","' + "x" * 37 + '"]', None, "x" * 37),
        ('[9,"' + "x" * 37 + '"]', None, "x" * 37),
        ('[9,"g1"]', "g1", "g1"),
        ('[2,"","Heartbeat",{}]', None, None),
        ('[2,17,"Heartbeat",{}]', None, None),
        ('[2,"g1","Heartbeat"]', "g1", "g1"),
    ],
)
def test_raw_message_id_keeps_a_readable_but_invalid_id(
    text: str, message_id: str | None, raw_message_id: str | None
) -> None:
    """An over-long id (OCPP-J 1.6 §4.1.4: at most 36 characters) is kept for the answer to echo."""
    with pytest.raises(FrameError) as info:
        parse_frame(text, OcppVersion.V16)
    assert info.value.message_id == message_id
    assert info.value.raw_message_id == raw_message_id
