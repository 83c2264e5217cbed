"""Malformed frames to the running server get the spec'd CallError (OCPP-J 1.6 §4, 2.0.1/2.1
Part 4 §4), and neither that connection nor another station's is disturbed."""

from __future__ import annotations

import json

import pytest

from .support import Api, KilowattServer, boot_raw, raw_station, unique

# A message id over the 36 characters OCPP-J 1.6 §4.1.4 / 2.0.1 Part 4 §4.2.1 allow.
LONG_ID = "L" * 40

# (frame sent, expected error code, expected message id) per version family.
CASES_16 = [
    ('[2,"bad-1","FooBar",{}]', "NotImplemented", "bad-1"),
    ('[2,"bad-2","Heartbeat",{"x":1}]', "FormationViolation", "bad-2"),
    (
        '[2,"bad-3","BootNotification",{"chargePointVendor":"V"}]',
        "OccurenceConstraintViolation",
        "bad-3",
    ),
    (
        '[2,"bad-4","BootNotification",{"chargePointVendor":1,"chargePointModel":"M"}]',
        "TypeConstraintViolation",
        "bad-4",
    ),
    (
        '[2,"bad-5","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"X"}]',
        "PropertyConstraintViolation",
        "bad-5",
    ),
    ('[2,"bad-6","Heartbeat"]', "FormationViolation", "bad-6"),
    # Over 36 characters (OCPP-J 1.6 §4.1.4): answered, the id echoed.
    ('[2,"' + LONG_ID + '","Heartbeat",{}]', "FormationViolation", LONG_ID),
]
CASES_2X = [
    ("this is not json", "RpcFrameworkError", "-1"),
    ('{"a":1}', "RpcFrameworkError", "-1"),
    ('[2,"' + LONG_ID + '","Heartbeat",{}]', "RpcFrameworkError", LONG_ID),
    ('[2,"bad-1","FooBar",{}]', "NotImplemented", "bad-1"),
    ('[2,"bad-2","Heartbeat",{"x":1}]', "FormatViolation", "bad-2"),
    (
        '[2,"bad-3","BootNotification",{"reason":"PowerUp"}]',
        "OccurrenceConstraintViolation",
        "bad-3",
    ),
    ('[2,"bad-4","Heartbeat",[]]', "FormatViolation", "bad-4"),
]


@pytest.mark.parametrize(
    ("subprotocol", "cases"),
    [("ocpp1.6", CASES_16), ("ocpp2.0.1", CASES_2X), ("ocpp2.1", CASES_2X)],
)
async def test_malformed_frames_get_call_errors(
    server: KilowattServer, api: Api, subprotocol: str, cases: list[tuple[str, str, str]]
) -> None:
    bystander_id = unique("BYST")
    async with (
        raw_station(server, unique("MAL"), subprotocol) as st,
        raw_station(server, bystander_id, subprotocol) as bystander,
    ):
        await boot_raw(st, subprotocol)
        await boot_raw(bystander, subprotocol)
        for frame, code, msg_id in cases:
            await st.send_raw(frame)
            answer = await st.next_unsolicited()
            assert isinstance(answer, list) and answer[:3] == [4, msg_id, code], (frame, answer)
            assert isinstance(answer[3], str) and answer[4] == {}, (frame, answer)
            if subprotocol != "ocpp1.6":
                assert len(answer[3]) <= 255
            # The connection keeps working after every bad frame, and so does another station.
            assert "currentTime" in await st.result("Heartbeat", {})
        if subprotocol == "ocpp1.6":
            # 1.6 cannot answer a frame whose id it cannot read: no answer, no disconnect.
            await st.send_raw("this is not json")
            assert "currentTime" in await st.result("Heartbeat", {})
            assert st.unsolicited.empty()
        assert "currentTime" in await bystander.result("Heartbeat", {})

    station = await api.station(bystander_id)
    assert station["vendor"] == "RawVendor"


async def test_unknown_subprotocol_is_refused(server: KilowattServer) -> None:
    """No common subprotocol: the handshake completes without one, then the server closes."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    try:
        async with connect(
            server.ocpp_url(unique("NOPROTO")),
            subprotocols=["ocpp9.9"],  # type: ignore[list-item]
        ) as ws:
            assert ws.subprotocol is None
            with pytest.raises(ConnectionClosed):
                await ws.send(json.dumps([2, "x", "Heartbeat", {}]))
                await ws.recv()
    except InvalidHandshake:
        pass  # websockets refuses a missing subprotocol header itself; also a refusal


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"])
async def test_unknown_message_types_are_ignored(server: KilowattServer, subprotocol: str) -> None:
    """No answer to an unknown message type id (OCPP-J 1.6 §4.1.3; OCPP 2.1 Ed1 Part 4
    §4.1.3/§4.4 and the 2026 errata of 2.0.1 Ed4): a Heartbeat sent right after gets its own
    answer and nothing else arrives."""
    async with raw_station(server, unique("UNK"), subprotocol) as st:
        await boot_raw(st, subprotocol)
        for frame in ('[9,"bad-0","Heartbeat",{}]', '[7,"x"]', "[0]"):
            await st.send_raw(frame)
            assert "currentTime" in await st.result("Heartbeat", {})
            assert st.unsolicited.empty(), frame
