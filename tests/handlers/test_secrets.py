"""Secrets in the message journal: masked per action and version, other frames untouched, and a
new 1.6 AuthorizationKey sent through the raw-call command never reaches the journal in clear."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kilowatt.handlers.recorder import FrameRecorder
from kilowatt.handlers.secrets import MASK, SECRET_ACTIONS, mask_secrets
from kilowatt.ocpp import v16
from kilowatt.ocpp.version import OcppVersion

from .conftest import Csms, Station16

SECRET = "s3cret-Passw0rd-0123456789"


def frame(*parts: Any) -> str:
    return json.dumps(list(parts), separators=(",", ":"))


def test_16_change_configuration_authorization_key_is_masked() -> None:
    text = frame(2, "1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": SECRET})
    masked = mask_secrets("out", 2, "ChangeConfiguration", text)
    assert SECRET not in masked
    assert masked == text.replace(SECRET, MASK)  # byte-identical elsewhere
    assert json.loads(masked)[3] == {"key": "AuthorizationKey", "value": MASK}
    other = frame(2, "2", "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"})
    assert mask_secrets("out", 2, "ChangeConfiguration", other) is other
    lower = frame(2, "3", "ChangeConfiguration", {"key": "authorizationkey", "value": SECRET})
    assert SECRET not in mask_secrets("out", 2, "ChangeConfiguration", lower)


def test_16_get_configuration_answer_is_masked() -> None:
    keys = [
        {"key": "HeartbeatInterval", "readonly": False, "value": "120"},
        {"key": "AuthorizationKey", "readonly": False, "value": SECRET},
    ]
    text = frame(3, "7", {"configurationKey": keys, "unknownKey": ["X"]})
    masked = json.loads(mask_secrets("in", 3, "GetConfiguration", text))
    assert masked[2]["configurationKey"][0] == keys[0]
    assert masked[2]["configurationKey"][1] == {**keys[1], "value": MASK}
    assert masked[2]["unknownKey"] == ["X"]
    request = frame(2, "7", "GetConfiguration", {"key": ["AuthorizationKey"]})
    assert mask_secrets("out", 2, "GetConfiguration", request) is request


@pytest.mark.parametrize("instance", [None, "x"])
def test_2x_set_variables_basic_auth_password_is_masked(instance: str | None) -> None:
    variable: dict[str, Any] = {"name": "BasicAuthPassword"}
    if instance is not None:
        variable["instance"] = instance
    data = [
        {
            "attributeValue": SECRET,
            "component": {"name": "SecurityCtrlr"},
            "variable": variable,
        },
        {
            "attributeValue": "60",
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"},
        },
    ]
    text = json.dumps([2, "a", "SetVariables", {"setVariableData": data}])  # with spaces
    masked = mask_secrets("out", 2, "SetVariables", text)
    assert masked == text.replace(SECRET, MASK)
    assert json.loads(masked)[3]["setVariableData"][1] == data[1]
    answer = frame(3, "a", {"setVariableResult": []})
    assert mask_secrets("in", 3, "SetVariables", answer) is answer


def test_2x_get_variables_answer_and_notify_report_are_masked() -> None:
    result = {
        "attributeStatus": "Accepted",
        "attributeValue": SECRET,
        "component": {"name": "SecurityCtrlr"},
        "variable": {"name": "BasicAuthPassword"},
    }
    text = frame(3, "b", {"getVariableResult": [result]})
    masked = json.loads(mask_secrets("in", 3, "GetVariables", text))
    assert masked[2]["getVariableResult"] == [{**result, "attributeValue": MASK}]
    report = {
        "component": {"name": "SecurityCtrlr"},
        "variable": {"name": "BasicAuthPassword"},
        "variableAttribute": [{"type": "Actual", "value": SECRET}],
    }
    public = {
        "component": {"name": "SecurityCtrlr"},
        "variable": {"name": "Identity"},
        "variableAttribute": [{"type": "Actual", "value": "CP1"}],
    }
    notify = frame(2, "c", "NotifyReport", {"requestId": 1, "reportData": [report, public]})
    masked = json.loads(mask_secrets("in", 2, "NotifyReport", notify))
    assert masked[3]["reportData"][0]["variableAttribute"] == [{"type": "Actual", "value": MASK}]
    assert masked[3]["reportData"][1] == public


def test_2x_set_network_profile_passwords_and_vpn_key_are_masked() -> None:
    data = {
        "ocppInterface": "Wired0",
        "ocppTransport": "JSON",
        "messageTimeout": 30,
        "ocppCsmsUrl": "wss://csms.example/ocpp",
        "securityProfile": 2,
        "identity": "CP1",
        "basicAuthPassword": SECRET + "1",
        "apn": {"apn": "internet", "apnPassword": SECRET + "2", "apnAuthentication": "AUTO"},
        "vpn": {"server": "vpn", "user": "u", "password": SECRET + "3", "key": SECRET + "4",
                "type": "IKEv2"},
    }  # fmt: skip
    text = frame(2, "d", "SetNetworkProfile", {"configurationSlot": 1, "connectionData": data})
    masked = mask_secrets("out", 2, "SetNetworkProfile", text)
    assert SECRET not in masked
    got = json.loads(masked)[3]["connectionData"]
    assert got["basicAuthPassword"] == got["apn"]["apnPassword"] == MASK
    assert got["vpn"]["password"] == got["vpn"]["key"] == MASK
    assert got["vpn"]["user"] == "u" and got["ocppCsmsUrl"] == data["ocppCsmsUrl"]


def test_public_and_other_frames_are_the_same_object() -> None:
    texts = [
        ("CertificateSigned", 2, frame(2, "1", "CertificateSigned", {"certificateChain": "PEM"})),
        ("SignCertificate", 2, frame(2, "2", "SignCertificate", {"csr": "CSR"})),
        ("InstallCertificate", 2, frame(2, "3", "InstallCertificate", {"certificate": "PEM"})),
        ("DataTransfer", 2, frame(2, "4", "DataTransfer", {"vendorId": "v", "data": SECRET})),
        ("Heartbeat", 3, frame(3, "5", {"currentTime": "2025-01-01T00:00:00Z"})),
        ("ChangeConfiguration", 4, frame(4, "6", "GenericError", "", {})),
        (None, 0, "junk"),
    ]
    for action, message_type, text in texts:
        assert action not in SECRET_ACTIONS or message_type == 4
        assert mask_secrets("out", message_type, action, text) is text


def test_unreadable_frames_of_secret_actions_are_masked_whole() -> None:
    assert mask_secrets("out", 2, "ChangeConfiguration", '[2,"1","ChangeConfi') == MASK
    deep = "[" * 5000 + "]" * 5000
    assert mask_secrets("in", 3, "GetConfiguration", deep) == MASK
    short = frame(2, "1")
    assert mask_secrets("out", 2, "ChangeConfiguration", short) is short


def test_secret_text_elsewhere_falls_back_to_compact_json() -> None:
    # The value also appears as a key name: replacing its text everywhere would change the
    # key, so the frame is re-encoded instead, still with no secret left.
    text = frame(2, "1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": "key"})
    masked = mask_secrets("out", 2, "ChangeConfiguration", text)
    assert json.loads(masked)[3] == {"key": "AuthorizationKey", "value": MASK}


def test_recorder_masks_the_call_and_the_correlated_answer() -> None:
    rows: list[tuple[Any, ...]] = []
    observe = FrameRecorder(lambda *row: rows.append(row))
    call = frame(2, "9", "GetVariables", {"getVariableData": []})
    observe("out", call, 2, "9", "GetVariables")
    result = {
        "attributeStatus": "Accepted",
        "attributeValue": SECRET,
        "component": {"name": "SecurityCtrlr"},
        "variable": {"name": "BasicAuthPassword"},
    }
    observe("in", frame(3, "9", {"getVariableResult": [result]}).encode(), 3, "9", None)
    assert rows[0][4] is call
    assert rows[1][3] == "GetVariables"
    assert SECRET not in rows[1][4] and MASK in rows[1][4]


async def test_authorization_key_sent_by_raw_call_is_masked_in_the_journal(csms: Csms) -> None:
    async with csms.connect("CPKEY", Station16, OcppVersion.V16) as cp:
        await cp.call(
            v16.BootNotificationRequest(charge_point_vendor="Acme", charge_point_model="M")
        )
        answer = await csms.gateway.call(
            "CPKEY", "ChangeConfiguration", {"key": "AuthorizationKey", "value": SECRET}, 5
        )
        assert answer == {"status": "Accepted"}
        assert cp.received[-1] == v16.ChangeConfigurationRequest(
            key="AuthorizationKey", value=SECRET
        )  # the station got the secret itself
    page = await csms.services.journal.list("CPKEY", limit=10)
    frames = {(e.direction, e.message_type, e.action): e.frame for e in page.items}
    sent = frames[("out", 2, "ChangeConfiguration")]
    assert SECRET not in sent and MASK in sent
    assert json.loads(sent)[3] == {"key": "AuthorizationKey", "value": MASK}
    assert ("in", 3, "ChangeConfiguration") in frames
    assert all(SECRET not in e.frame for e in page.items)
