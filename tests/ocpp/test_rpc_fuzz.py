"""Fuzzing :meth:`RpcConnection.receive`: whatever arrives, only documented outcomes occur.

Documented outcomes: events of the types in :data:`kilowatt.ocpp.rpc_events.Event`, and frames that
are valid JSON arrays: CALLERRORs (type 4) with a known code in the version's spelling, on 2.1
CALLRESULTERRORs (type 5), and our own queued CALL (type 2) when an answer frees the slot. No
exception escapes, and the connection keeps working afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kilowatt.ocpp.errors import CallError, ErrorCode, wire_code
from kilowatt.ocpp.rpc import RpcConnection, version_actions
from kilowatt.ocpp.rpc_events import (
    CallReceived,
    CallTimedOut,
    ErrorReceived,
    ProtocolViolation,
    ResultErrorReceived,
    ResultReceived,
    SendReceived,
)
from kilowatt.ocpp.version import OcppVersion

EVENT_TYPES = (
    CallReceived,
    SendReceived,
    ResultReceived,
    ErrorReceived,
    ResultErrorReceived,
    CallTimedOut,
    ProtocolViolation,
)
CODES = {v: {wire_code(c, v) for c in ErrorCode} for v in OcppVersion}
FIXED_ID = "fixed"  # the id of our outstanding CALL in every run, so answers can hit it

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
ids = st.sampled_from([FIXED_ID, "a", "", "x" * 36, "x" * 37, "-1"]) | st.text(max_size=40)
names = st.sampled_from(
    ["Heartbeat", "BootNotification", "Reset", "DataTransfer", "NotifyPeriodicEventStream", "X"]
)
payloads = st.sampled_from(
    [
        {},
        {"currentTime": "2024-01-01T00:00:00Z"},
        {"status": "Accepted"},
        {"status": "Nope"},
        {"chargePointVendor": "V", "chargePointModel": "M"},
        {"chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"},
        {"vendorId": "v"},
    ]
) | st.dictionaries(st.text(max_size=10), json_values, max_size=4)
frames = st.one_of(
    st.tuples(st.just(2), ids, names, payloads).map(list),
    st.tuples(st.just(3), ids, payloads).map(list),
    st.tuples(
        st.sampled_from([4, 5]), ids, st.text(max_size=30), st.text(max_size=10), payloads
    ).map(list),
    st.tuples(st.just(6), ids, names, payloads).map(list),
)


def mutate(frame: list[Any], data: st.DataObject) -> list[Any]:
    """Drop, add, or replace one element of a well-formed frame."""
    op = data.draw(st.sampled_from(["drop", "add", "replace", "none"]))
    i = data.draw(st.integers(0, len(frame) - 1))
    if op == "drop":
        return frame[:i] + frame[i + 1 :]
    if op == "add":
        return [*frame[:i], data.draw(json_values), *frame[i:]]
    if op == "replace":
        return [*frame[:i], data.draw(json_values), *frame[i + 1 :]]
    return frame


messages = st.one_of(
    json_values.map(lambda v: msgspec.json.encode(v).decode()),
    st.lists(json_values, max_size=6).map(lambda v: msgspec.json.encode(v).decode()),
    st.binary(max_size=60),
    st.text(max_size=60),
)

V16_CALL = '[2,"after","Heartbeat",{}]'


def check(conn: RpcConnection, version: OcppVersion, message: str | bytes) -> None:
    events = conn.receive(message, 1.0)
    for event in events:
        assert isinstance(event, EVENT_TYPES), event
        if isinstance(event, CallReceived):
            conn.send_result(event.message_id, object())  # an InternalError answer
    for out in conn.data_to_send():
        frame = json.loads(out)
        assert isinstance(frame, list) and frame[0] in (2, 4, 5), frame
        if frame[0] == 2:
            continue
        assert frame[0] == 4 or version is OcppVersion.V21
        assert len(frame) == 5 and frame[2] in CODES[version], frame
        assert isinstance(frame[1], str) and frame[1]
        if len(frame[1]) > 36:
            # An over-long id is only ever echoed, so that the peer can correlate.
            sent = json.loads(message)
            assert isinstance(sent, list) and sent[1] == frame[1], (sent, frame)
        assert isinstance(frame[3], str) and isinstance(frame[4], dict)
        if version.is_2x:
            assert len(frame[3]) <= 255
    # Still usable: a valid CALL gets its event.
    (event,) = conn.receive(V16_CALL, 2.0)
    assert isinstance(event, CallReceived) and event.message_id == "after"
    conn.send_error("after", CallError(ErrorCode.GENERIC_ERROR))


def fresh(version: OcppVersion, lenient: bool) -> RpcConnection:
    conn = RpcConnection(version, lenient=lenient, message_id_factory=lambda: FIXED_ID)
    request = version_actions(version)["Reset"].request
    reset = {"type": "Hard"} if version is OcppVersion.V16 else {"type": "Immediate"}
    conn.send_call(msgspec.convert(reset, request), 0.0)
    conn.send_call(msgspec.convert(reset, request), 0.0)  # queued behind the first
    conn.data_to_send()
    return conn


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.sampled_from(list(OcppVersion)), st.booleans(), messages)
def test_random_messages(version: OcppVersion, lenient: bool, message: str | bytes) -> None:
    check(fresh(version, lenient), version, message)


@FUZZ
@given(st.sampled_from(list(OcppVersion)), st.booleans(), frames, st.data())
def test_mutated_frames(
    version: OcppVersion, lenient: bool, frame: list[Any], data: st.DataObject
) -> None:
    message = msgspec.json.encode(mutate(frame, data)).decode()
    check(fresh(version, lenient), version, message)


@FUZZ
@given(
    st.sampled_from(list(OcppVersion)),
    st.lists(st.one_of(messages, frames.map(json.dumps)), max_size=8),
)
def test_sequences(version: OcppVersion, sequence: list[str | bytes]) -> None:
    conn = fresh(version, False)
    for message in sequence:
        check(conn, version, message)
