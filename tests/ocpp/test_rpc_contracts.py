"""The small contract modules the RPC core builds on: versions, error codes, CallError."""

from __future__ import annotations

from typing import Any

import pytest

from kilowatt.ocpp import rpc
from kilowatt.ocpp.errors import CallError, CallTimeout, ErrorCode, parse_code, wire_code
from kilowatt.ocpp.rpc import RpcConnection, version_actions
from kilowatt.ocpp.version import OcppVersion


def test_versions_and_subprotocols() -> None:
    for v in OcppVersion:
        assert OcppVersion.from_subprotocol(v.subprotocol) is v
    assert OcppVersion.V16.subprotocol == "ocpp1.6" and not OcppVersion.V16.is_2x
    assert OcppVersion.V201.is_2x and OcppVersion.V21.is_2x
    for bad in ("ocpp1.5", "1.6", "", "OCPP1.6"):
        with pytest.raises(ValueError):
            OcppVersion.from_subprotocol(bad)


@pytest.mark.parametrize(
    ("code", "v16", "v2x"),
    [
        (ErrorCode.FORMAT_VIOLATION, "FormationViolation", "FormatViolation"),
        (
            ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
            "OccurenceConstraintViolation",
            "OccurrenceConstraintViolation",
        ),
        (ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED, "ProtocolError", "MessageTypeNotSupported"),
        (ErrorCode.RPC_FRAMEWORK_ERROR, "FormationViolation", "RpcFrameworkError"),
        (ErrorCode.NOT_IMPLEMENTED, "NotImplemented", "NotImplemented"),
        (ErrorCode.NOT_SUPPORTED, "NotSupported", "NotSupported"),
    ],
)
def test_wire_codes(code: ErrorCode, v16: str, v2x: str) -> None:
    assert wire_code(code, OcppVersion.V16) == v16
    assert wire_code(code, OcppVersion.V201) == wire_code(code, OcppVersion.V21) == v2x


def test_parse_code_accepts_both_spellings() -> None:
    for v in OcppVersion:
        assert parse_code("FormationViolation", v) is ErrorCode.FORMAT_VIOLATION
        assert parse_code("FormatViolation", v) is ErrorCode.FORMAT_VIOLATION
        assert parse_code("NotSupported", v) is ErrorCode.NOT_SUPPORTED
        assert parse_code("Bogus", v) is None


def test_call_error_value() -> None:
    a = CallError(ErrorCode.NOT_SUPPORTED, "no", {"k": 1})
    assert str(a) == "NotSupported: no" and str(CallError("X")) == "X"
    assert repr(a) == "CallError(<ErrorCode.NOT_SUPPORTED: 'NotSupported'>, 'no', {'k': 1})"
    assert a == CallError("NotSupported", "no", {"k": 1})
    assert a != CallError("NotSupported", "no")
    assert a != "NotSupported"
    assert hash(a) == hash(CallError(ErrorCode.NOT_SUPPORTED, "no"))
    assert CallError("X").details == {}


def test_call_timeout() -> None:
    exc = CallTimeout("Reset", "m1", 30.0)
    assert str(exc) == "Reset (m1) not answered within 30 s"
    assert (exc.action, exc.message_id, exc.timeout) == ("Reset", "m1", 30.0)


def test_known_actions_fall_back_without_generated_package(monkeypatch: Any) -> None:
    actions = dict(version_actions(OcppVersion.V16))

    def missing(version: OcppVersion) -> Any:
        raise ImportError("no generated package")

    monkeypatch.setattr(rpc, "version_actions", missing)
    conn = RpcConnection(OcppVersion.V16, actions={"Heartbeat": actions["Heartbeat"]})
    # Without the version's list, an action not given is unknown: NotImplemented.
    conn.receive('[2,"a","Authorize",{"idTag":"x"}]', 0)
    assert conn.data_to_send()[0].startswith('[4,"a","NotImplemented"')
    with pytest.raises(ImportError):
        RpcConnection(OcppVersion.V16)


def test_type_index_is_shared_and_refreshed() -> None:
    actions = version_actions(OcppVersion.V16)
    first = rpc._type_index(actions)
    assert rpc._type_index(actions) is first
    copy = dict(actions)
    assert rpc._type_index(copy) is not first


def test_type_index_survives_id_reuse() -> None:
    # A cached entry whose mapping is gone and whose id() was reused must not be trusted.
    actions = dict(version_actions(OcppVersion.V16))
    rpc._TYPE_INDEX[id(actions)] = ({}, {})
    index = rpc._type_index(actions)
    assert index[actions["Heartbeat"].request] is actions["Heartbeat"]
