"""Behaviour of :class:`kilowatt.ocpp.rpc.RpcConnection` with small hand-written actions."""

from __future__ import annotations

import itertools
import json
from enum import Enum
from typing import Annotated, Any

import msgspec
import pytest

from kilowatt.ocpp.action import ActionSpec, Initiator
from kilowatt.ocpp.errors import CallError, ErrorCode, RpcUsageError
from kilowatt.ocpp.rpc import RpcConnection
from kilowatt.ocpp.rpc_events import (
    CallCancelled,
    CallReceived,
    CallTimedOut,
    ErrorReceived,
    ProtocolViolation,
    ResultErrorReceived,
    ResultReceived,
    SendReceived,
)
from kilowatt.ocpp.version import OcppVersion

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21


class _P(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class Status(Enum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


class BootRequest(_P, rename="camel"):
    model: Annotated[str, msgspec.Meta(max_length=20)]
    vendor_name: str
    serial: str | None = None


class BootResponse(_P, rename="camel"):
    status: Status
    interval: int


class HeartbeatRequest(_P):
    pass


class HeartbeatResponse(_P, rename="camel"):
    current_time: str


class ResetRequest(_P):
    type: str


class ResetResponse(_P):
    status: Status


class DataRequest(_P, rename="camel"):
    vendor_id: str


class DataResponse(_P):
    status: Status


class StreamRequest(_P):
    id: int


class StreamDown(_P):
    id: int


ACTIONS: dict[str, ActionSpec] = {
    "BootNotification": ActionSpec(
        "BootNotification", BootRequest, BootResponse, Initiator.CHARGING_STATION
    ),
    "Heartbeat": ActionSpec(
        "Heartbeat", HeartbeatRequest, HeartbeatResponse, Initiator.CHARGING_STATION
    ),
    "Reset": ActionSpec("Reset", ResetRequest, ResetResponse, Initiator.CSMS),
    "DataTransfer": ActionSpec("DataTransfer", DataRequest, DataResponse, Initiator.BOTH),
    "NotifyStream": ActionSpec(
        "NotifyStream", StreamRequest, type(None), Initiator.CHARGING_STATION, send=True
    ),
    "StreamDown": ActionSpec("StreamDown", StreamDown, type(None), Initiator.CSMS, send=True),
}
KNOWN = [*ACTIONS, "Authorize"]


def ids() -> Any:
    counter = itertools.count(1)
    return lambda: f"m{next(counter)}"


def conn(version: OcppVersion = V16, **kw: Any) -> RpcConnection:
    kw.setdefault("actions", ACTIONS)
    kw.setdefault("known_actions", KNOWN)
    kw.setdefault("message_id_factory", ids())
    return RpcConnection(version, **kw)


BOOT = '[2,"b1","BootNotification",{"model":"M","vendorName":"V"}]'


def sent(c: RpcConnection) -> list[Any]:
    return [json.loads(f) for f in c.data_to_send()]


# -- inbound CALLs -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", list(OcppVersion))
def test_call_received_and_answered(version: OcppVersion) -> None:
    c = conn(version)
    (ev,) = c.receive(BOOT, 0.0)
    assert ev == CallReceived("b1", "BootNotification", BootRequest(model="M", vendor_name="V"))
    assert c.unanswered_calls == ("b1",)
    assert c.send_result("b1", BootResponse(status=Status.ACCEPTED, interval=300)) is None
    assert c.data_to_send() == ['[3,"b1",{"status":"Accepted","interval":300}]']
    assert c.data_to_send() == []
    assert not c.unanswered_calls


def test_bytes_input_and_lenient() -> None:
    c = conn(V201, lenient=True)
    (ev,) = c.receive(b'[2,"x","Heartbeat",{"extra":1}]', 0)
    assert isinstance(ev, CallReceived)
    strict = conn(V201)
    (ev,) = strict.receive(b'[2,"x","Heartbeat",{"extra":1}]', 0)
    assert isinstance(ev, ProtocolViolation) and ev.code == "FormatViolation"


def test_invalid_utf8_in_payload() -> None:
    # The frame parser keeps the payload raw, so its strings are first decoded by the codec.
    c = conn(V201)
    (ev,) = c.receive(b'[2,"d","DataTransfer",{"vendorId":"\xff"}]', 0)
    assert isinstance(ev, ProtocolViolation) and ev.code == "FormatViolation"
    assert sent(c) == [[4, "d", "FormatViolation", "payload is not valid UTF-8", {}]]


def test_answer_unknown_or_twice_raises() -> None:
    c = conn()
    with pytest.raises(RpcUsageError):
        c.send_result("nope", HeartbeatResponse(current_time="t"))
    c.receive('[2,"h","Heartbeat",{}]', 0)
    c.send_error("h", CallError(ErrorCode.GENERIC_ERROR))
    with pytest.raises(RpcUsageError):
        c.send_error("h", CallError(ErrorCode.GENERIC_ERROR))
    assert sent(c) == [[4, "h", "GenericError", "", {}]]


def test_send_error_spelling_details_and_truncation() -> None:
    c16, c21 = conn(V16), conn(V21)
    for c in (c16, c21):
        c.receive('[2,"a","Heartbeat",{}]', 0)
        c.receive('[2,"b","Heartbeat",{}]', 0)
        c.send_error("a", CallError(ErrorCode.FORMAT_VIOLATION, "x" * 300, {"k": 1}))
        c.send_error("b", CallError("VendorCode", "d"))
    a16, b16 = sent(c16)
    a21, b21 = sent(c21)
    assert a16 == [4, "a", "FormationViolation", "x" * 300, {"k": 1}]
    assert a21 == [4, "a", "FormatViolation", "x" * 255, {"k": 1}]
    assert b16 == b21 == [4, "b", "VendorCode", "d", {}]


@pytest.mark.parametrize("version", list(OcppVersion))
def test_invalid_own_result_is_internal_error(version: OcppVersion) -> None:
    c = conn(version)
    c.receive(BOOT, 0)
    # Wrong type: our handler's bug, not the peer's.
    err = c.send_result("b1", HeartbeatResponse(current_time="t"))
    assert isinstance(err, CallError) and err.code is ErrorCode.INTERNAL_ERROR
    (frame,) = sent(c)
    assert frame[:3] == [4, "b1", "InternalError"] and frame[4] == {}
    c.receive(BOOT, 0)
    # Right type, invalid content (Structs do not check constraints when built).
    err = c.send_result("b1", BootResponse(status="Bogus", interval=1))  # type: ignore[arg-type]
    assert err is not None and sent(c)[0][2] == "InternalError"
    c.receive(BOOT, 0)
    err = c.send_result("b1", object())
    assert err is not None and sent(c)[0][2] == "InternalError"


def test_validate_outgoing_off_sends_as_is() -> None:
    c = conn(validate_outgoing=False)
    c.receive(BOOT, 0)
    assert c.send_result("b1", HeartbeatResponse(current_time="t")) is None
    assert c.data_to_send() == ['[3,"b1",{"currentTime":"t"}]']


def test_duplicate_inbound_id() -> None:
    for version, code in ((V16, "GenericError"), (V201, "RpcFrameworkError")):
        c = conn(version)
        c.receive(BOOT, 0)
        (ev,) = c.receive(BOOT, 0)
        assert isinstance(ev, ProtocolViolation) and ev.answered and ev.code == code
        assert sent(c)[0][:3] == [4, "b1", code]
        # The first CALL is still the one to answer.
        c.send_result("b1", BootResponse(status=Status.ACCEPTED, interval=1))
        assert sent(c)[0][0] == 3
        # Once answered, the id may come again.
        assert isinstance(c.receive(BOOT, 0)[0], CallReceived)


def test_action_direction_and_support() -> None:
    csms = conn(V201)
    station = conn(V201, side="charging_station")
    (ev,) = csms.receive('[2,"r","Reset",{"type":"Hard"}]', 0)
    assert isinstance(ev, ProtocolViolation) and ev.code == "NotSupported"
    assert isinstance(station.receive('[2,"r","Reset",{"type":"Hard"}]', 0)[0], CallReceived)
    (ev,) = station.receive(BOOT, 0)
    assert isinstance(ev, ProtocolViolation) and ev.code == "NotSupported"
    for c in (csms, station):
        assert isinstance(c.receive('[2,"d","DataTransfer",{"vendorId":"v"}]', 0)[0], CallReceived)
    # A SEND-only action in a CALL frame.
    (ev,) = csms.receive('[2,"s","NotifyStream",{"id":1}]', 0)
    assert ev.code == "NotSupported"  # type: ignore[union-attr]
    (ev,) = csms.receive('[2,"a","Authorize",{}]', 0)
    assert ev.code == "NotSupported"  # type: ignore[union-attr]
    (ev,) = csms.receive('[2,"z","Zap",{}]', 0)
    assert ev.code == "NotImplemented"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        RpcConnection(V16, actions=ACTIONS, side="cpo")  # type: ignore[arg-type]
    assert station.side == "charging_station" and csms.version is V201


# -- our CALLs ---------------------------------------------------------------------------------


def test_call_result_and_queue_fifo() -> None:
    c = conn(V16, call_timeout=10)
    a = c.send_call(ResetRequest(type="Hard"), 1.0)
    b = c.send_call(DataRequest(vendor_id="v"), 2.0)
    d = c.send_call(ResetRequest(type="Soft"), 3.0, timeout=5)
    assert (a, b, d) == ("m1", "m2", "m3")
    assert c.pending_call == "m1" and c.queued_calls == 2
    assert c.data_to_send() == ['[2,"m1","Reset",{"type":"Hard"}]']
    assert c.next_deadline() == 11.0
    (ev,) = c.receive('[3,"m1",{"status":"Accepted"}]', 4.0)
    assert ev == ResultReceived("m1", "Reset", ResetResponse(status=Status.ACCEPTED))
    # The deadline of the next call starts when it is sent.
    assert c.pending_call == "m2" and c.next_deadline() == 14.0
    assert sent(c) == [[2, "m2", "DataTransfer", {"vendorId": "v"}]]
    (ev,) = c.receive('[4,"m2","NotSupported","no",{"a":1}]', 5.0)
    assert ev == ErrorReceived(
        "m2", "DataTransfer", CallError(ErrorCode.NOT_SUPPORTED, "no", {"a": 1})
    )
    assert isinstance(ev, ErrorReceived) and ev.error.details == {"a": 1}
    assert c.next_deadline() == 10.0
    (ev,) = c.receive('[4,"m3","Weird","",{}]', 6.0)
    assert isinstance(ev, ErrorReceived) and ev.error.code == "Weird"
    assert c.pending_call is None and c.next_deadline() is None


def test_v16_spelling_parsed_from_any_version() -> None:
    c = conn(V201)
    c.send_call(ResetRequest(type="Hard"), 0)
    (ev,) = c.receive('[4,"m1","OccurenceConstraintViolation","",{}]', 0)
    assert ev.error.code is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION  # type: ignore[union-attr]


def test_timeout_frees_slot_and_late_answer_ignored() -> None:
    c = conn(call_timeout=30)
    c.send_call(ResetRequest(type="Hard"), 0)
    c.send_call(ResetRequest(type="Soft"), 10)
    assert c.handle_timeout(29.9) == []
    assert c.handle_timeout(30.0) == [CallTimedOut("m1", "Reset", 30)]
    assert c.pending_call == "m2" and c.next_deadline() == 60.0
    assert len(c.data_to_send()) == 2
    (ev,) = c.receive('[3,"m1",{"status":"Accepted"}]', 31)
    assert isinstance(ev, ProtocolViolation) and not ev.answered
    assert c.data_to_send() == []  # a CALLRESULT is never answered
    (ev,) = c.receive('[4,"m1","GenericError","",{}]', 31)
    assert isinstance(ev, ProtocolViolation)
    assert c.pending_call == "m2"
    # Zero timeouts expire in one handle_timeout call, in order.
    z = conn(call_timeout=0)
    z.send_call(ResetRequest(type="Hard"), 0)
    z.send_call(ResetRequest(type="Soft"), 0)
    assert [e.message_id for e in z.handle_timeout(0)] == ["m1", "m2"]  # type: ignore[union-attr]


def test_crossing_calls() -> None:
    c = conn(V201)
    c.send_call(ResetRequest(type="Hard"), 0)
    # Their CALL while ours is outstanding is delivered at once.
    (ev,) = c.receive(BOOT, 1)
    assert isinstance(ev, CallReceived)
    c.send_result("b1", BootResponse(status=Status.ACCEPTED, interval=1))
    assert [f[0] for f in sent(c)] == [2, 3]
    (ev,) = c.receive('[3,"m1",{"status":"Accepted"}]', 2)
    assert isinstance(ev, ResultReceived)


@pytest.mark.parametrize("version", list(OcppVersion))
def test_invalid_result_is_local_error(version: OcppVersion) -> None:
    c = conn(version)
    c.send_call(ResetRequest(type="Hard"), 0)
    c.data_to_send()
    c.send_call(ResetRequest(type="Soft"), 0)
    (ev,) = c.receive('[3,"m1",{"status":"Maybe"}]', 1)
    assert isinstance(ev, ErrorReceived) and ev.local
    assert ev.error.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    frames = sent(c)
    if version is V21:
        assert frames[0][:3] == [5, "m1", "PropertyConstraintViolation"]
        assert frames[1][:2] == [2, "m2"]
    else:
        assert [f[0] for f in frames] == [2]


def test_malformed_answers_end_our_call() -> None:
    c = conn(V21)
    c.send_call(ResetRequest(type="Hard"), 0)
    c.send_call(ResetRequest(type="Hard"), 0)
    c.send_call(ResetRequest(type="Hard"), 0)
    c.data_to_send()
    (ev,) = c.receive('[3,"m1",[]]', 1)
    assert isinstance(ev, ErrorReceived) and ev.local
    assert ev.error.code is ErrorCode.FORMAT_VIOLATION
    assert sent(c)[0][:3] == [5, "m1", "FormatViolation"]
    (ev,) = c.receive('[4,"m2",1,"",{}]', 1)
    assert isinstance(ev, ErrorReceived) and ev.local
    assert ev.error.code is ErrorCode.RPC_FRAMEWORK_ERROR
    assert [f[0] for f in sent(c)] == [2]  # a CALLERROR is never answered
    (ev,) = c.receive('[3,"m1",{}, 1]', 1)  # not ours any more
    assert isinstance(ev, ProtocolViolation) and not ev.answered
    assert c.pending_call == "m3"


def test_send_call_usage_errors() -> None:
    c = conn(V201)
    with pytest.raises(RpcUsageError):
        c.send_call(BootRequest(model="m", vendor_name="v"), 0)  # only the station sends it
    with pytest.raises(RpcUsageError):
        c.send_call(object(), 0)
    with pytest.raises(RpcUsageError):
        c.send_call(ResetRequest(type="Hard"), 0, action="Nope")
    with pytest.raises(RpcUsageError):
        c.send_call(ResetRequest(type="Hard"), 0, action="DataTransfer")
    with pytest.raises(RpcUsageError):
        c.send_call(StreamDown(id=1), 0)
    with pytest.raises(RpcUsageError):
        c.send_call(ResetRequest(type=1), 0)  # type: ignore[arg-type]
    assert c.send_call(ResetRequest(type="Hard"), 0, action="Reset") == "m1"
    bad = conn(message_id_factory=lambda: "x" * 37)
    with pytest.raises(RpcUsageError):
        bad.send_call(ResetRequest(type="Hard"), 0)
    default = RpcConnection(V16, actions=ACTIONS)
    mid = default.send_call(ResetRequest(type="Hard"), 0)
    assert len(mid) == 36


# -- OCPP 2.1 SEND and CALLRESULTERROR --------------------------------------------------------


def test_send_frames_v21() -> None:
    c = conn(V21)
    (ev,) = c.receive('[6,"s1","NotifyStream",{"id":7}]', 0)
    assert ev == SendReceived("s1", "NotifyStream", StreamRequest(id=7))
    for bad in (
        '[6,"s2","Heartbeat",{}]',
        '[6,"s2","Zap",{}]',
        '[6,"s2","StreamDown",{"id":1}]',
        '[6,"s2","NotifyStream",{"id":"x"}]',
        '[6,"s2","NotifyStream",[]]',
        '[6,"s2",1,{}]',
    ):
        (ev,) = c.receive(bad, 0)
        assert isinstance(ev, ProtocolViolation) and not ev.answered, bad
    assert c.data_to_send() == []  # a SEND is never answered
    c.send_call(ResetRequest(type="Hard"), 0)
    # A SEND is not subject to the one-CALL rule.
    assert c.send_message(StreamDown(id=2)) == "m2"
    assert sent(c) == [[2, "m1", "Reset", {"type": "Hard"}], [6, "m2", "StreamDown", {"id": 2}]]
    with pytest.raises(RpcUsageError):
        c.send_message(ResetRequest(type="Hard"))
    with pytest.raises(RpcUsageError):
        conn(V201).send_message(StreamDown(id=2))


def test_callresulterror_v21() -> None:
    c = conn(V21)
    (ev,) = c.receive('[5,"x","FormatViolation","bad",{}]', 0)
    assert ev == ResultErrorReceived("x", CallError(ErrorCode.FORMAT_VIOLATION, "bad"))
    (ev,) = c.receive('[5,"x","Odd","bad",{}]', 0)
    assert ev.error.code == "Odd"  # type: ignore[union-attr]
    (ev,) = c.receive('[5,"x","Odd","bad",[]]', 0)
    assert isinstance(ev, ProtocolViolation) and not ev.answered
    assert c.data_to_send() == []


# -- close -------------------------------------------------------------------------------------


def test_close_cancels_everything() -> None:
    c = conn()
    c.send_call(ResetRequest(type="Hard"), 0)
    c.send_call(ResetRequest(type="Soft"), 0)
    c.receive(BOOT, 0)
    assert c.close() == [CallCancelled("m1", "Reset"), CallCancelled("m2", "Reset")]
    assert c.closed and c.pending_call is None and c.queued_calls == 0
    assert c.data_to_send() == []
    assert c.receive(BOOT, 0) == []
    # A handler finishing after the close is not an error.
    assert c.send_result("b1", BootResponse(status=Status.ACCEPTED, interval=1)) is None
    c.send_error("b1", CallError(ErrorCode.GENERIC_ERROR))
    assert c.data_to_send() == []
    with pytest.raises(RpcUsageError):
        c.send_call(ResetRequest(type="Hard"), 0)
    with pytest.raises(RpcUsageError):
        conn(V21).close() or c.send_message(StreamDown(id=1))
    assert c.close() == []


def test_validate_outgoing_off_skips_request_check() -> None:
    c = conn(validate_outgoing=False)
    c.send_call(ResetRequest(type=1), 0)  # type: ignore[arg-type]
    assert c.data_to_send() == ['[2,"m1","Reset",{"type":1}]']
