"""OCPP-J details against the running server: subprotocol choice, permessage-deflate for 2.1,
percent-decoded identities, queued concurrent CSMS calls, exact decimals and unit scaling, and
station notifications stored (not canned)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from websockets.asyncio.client import connect

from .chargers import REGISTER, Driver, charger
from .support import Api, KilowattServer, boot_raw, dec, eventually, now_iso, raw_station, unique


async def test_server_picks_first_supported_subprotocol(server: KilowattServer) -> None:
    for offered, chosen in [
        (["ocpp2.1", "ocpp2.0.1", "ocpp1.6"], "ocpp2.1"),
        (["ocpp1.6", "ocpp2.0.1"], "ocpp1.6"),
        (["ocpp9", "ocpp2.0.1"], "ocpp2.0.1"),
    ]:
        async with connect(
            server.ocpp_url(unique("SUB")),
            subprotocols=offered,  # type: ignore[arg-type]
        ) as ws:
            assert ws.subprotocol == chosen, (offered, ws.subprotocol)


async def test_ocpp21_negotiates_permessage_deflate(server: KilowattServer) -> None:
    async with connect(
        server.ocpp_url(unique("DEFL")),
        subprotocols=["ocpp2.1"],  # type: ignore[list-item]
        compression="deflate",
    ) as ws:
        names = [ext.name for ext in ws.protocol.extensions]
        assert "permessage-deflate" in names, names


async def test_identity_is_last_path_segment_percent_decoded(
    server: KilowattServer, api: Api
) -> None:
    suffix = uuid.uuid4().hex[:6]
    async with connect(
        server.ocpp_url(f"CP%2A{suffix}", path="some/deep/path"),
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
    ) as ws:
        assert ws.subprotocol == "ocpp1.6"
        await ws.send(
            '[2,"b1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]'
        )
        assert (await ws.recv()).startswith('[3,"b1"')
        station = await api.station(f"CP*{suffix}")
        assert station["connected"] is True


async def test_concurrent_api_calls_are_queued_not_dropped(
    server: KilowattServer, api: Api
) -> None:
    identity = unique("QUEUE")
    async with charger(server, identity, "2.0.1") as cp:
        await Driver(cp, "2.0.1").boot()
        base = f"/stations/{identity}"
        answers = await asyncio.gather(
            *[api.json("POST", f"{base}/calls/ClearCache") for _ in range(5)],
            api.json("POST", f"{base}/commands/reset", json={"type": "soft"}),
            api.json("POST", f"{base}/commands/unlock-connector", json={"evse_id": 1}),
        )
        assert all(a["status"] in ("Accepted", "Unlocked") for a in answers), answers
        assert len(cp.got("ClearCache")) == 5 and len(cp.got("Reset")) == 1


async def test_meter_values_keep_exact_decimals_and_scale_units(
    server: KilowattServer, api: Api
) -> None:
    token = unique("DEC")
    await api.put_token(token)

    # 1.6: an exact decimal string, and a kWh register.
    identity = unique("DEC16")
    async with raw_station(server, identity) as st:
        await boot_raw(st, "ocpp1.6")
        start = {"connectorId": 1, "idTag": token, "meterStart": 1000, "timestamp": now_iso()}
        tx = (await st.result("StartTransaction", start))["transactionId"]
        sample = {
            "timestamp": now_iso(),
            "sampledValue": [
                {"value": "1.2345678901234", "measurand": "Current.Import", "unit": "A"},
                {"value": "2.5", "measurand": REGISTER, "unit": "kWh"},
            ],
        }
        await st.result(
            "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [sample]}
        )
        values = {v["measurand"]: v for v in await api.meter_values(tx)}
        assert dec(values["Current.Import"]["value"]) == dec("1.2345678901234"), values
        tx_now = await api.json("GET", f"/transactions/{tx}")
        assert dec(tx_now["energy_wh"]) == 1500, tx_now  # 2.5 kWh - 1000 Wh

    # 2.0.1: unitOfMeasure multiplier 3 on a kWh-style reading (value 1.75, multiplier 3 = 1750).
    identity = unique("DEC2")
    async with raw_station(server, identity, "ocpp2.0.1") as st:
        await boot_raw(st, "ocpp2.0.1")
        tx2 = f"T-{uuid.uuid4().hex[:8]}"
        event: dict[str, Any] = {
            "eventType": "Started",
            "timestamp": now_iso(),
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": {"transactionId": tx2},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": token, "type": "ISO14443"},
            "meterValue": [
                {
                    "timestamp": now_iso(),
                    "sampledValue": [
                        {
                            "value": 1.75,
                            "measurand": REGISTER,
                            "unitOfMeasure": {"unit": "Wh", "multiplier": 3},
                        }
                    ],
                }
            ],
        }
        await st.result("TransactionEvent", event)
    (stored,) = await api.transactions(station_id=identity)
    assert dec(stored["meter_start_wh"]) == 1750, stored
    (value,) = await api.meter_values(stored["id"])
    assert dec(value["value"]) == 1750, value


async def test_station_notifications_are_handled_and_stored(
    server: KilowattServer, api: Api
) -> None:
    identity = unique("NOTE16")
    async with raw_station(server, identity) as st:
        await boot_raw(st, "ocpp1.6")
        answer = await st.result("DataTransfer", {"vendorId": "com.unknown.vendor", "data": "x"})
        assert answer["status"] == "UnknownVendorId", answer
        assert await st.result("FirmwareStatusNotification", {"status": "Downloading"}) == {}
        assert await st.result("DiagnosticsStatusNotification", {"status": "Uploaded"}) == {}
        assert (
            await st.result(
                "SecurityEventNotification",
                {"type": "FirmwareUpdated", "timestamp": now_iso(), "techInfo": "v2"},
            )
            == {}
        )

    async def stored_16() -> None:
        events = (await api.json("GET", f"/stations/{identity}/events"))["items"]
        kinds = {e["kind"] for e in events}
        assert {"FirmwareStatusNotification", "SecurityEventNotification"} <= kinds, events

    await eventually(stored_16)

    identity = unique("NOTE2")
    async with raw_station(server, identity, "ocpp2.0.1") as st:
        await boot_raw(st, "ocpp2.0.1")
        report = {
            "requestId": 1,
            "generatedAt": now_iso(),
            "seqNo": 0,
            "tbc": False,
            "reportData": [
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                    "variableAttribute": [{"type": "Actual", "value": "120"}],
                }
            ],
        }
        assert await st.result("NotifyReport", report) == {}
        notify = {
            "generatedAt": now_iso(),
            "seqNo": 0,
            "eventData": [
                {
                    "eventId": 1,
                    "timestamp": now_iso(),
                    "trigger": "Delta",
                    "actualValue": "Faulted",
                    "eventNotificationType": "HardWiredNotification",
                    "component": {"name": "Connector"},
                    "variable": {"name": "AvailabilityState"},
                }
            ],
        }
        assert await st.result("NotifyEvent", notify) == {}
        answer = await st.result("DataTransfer", {"vendorId": "com.unknown.vendor"})
        assert answer["status"] == "UnknownVendorId", answer

    async def stored_2x() -> None:
        variables = (await api.json("GET", f"/stations/{identity}/variables"))["items"]
        assert any(
            v["component"] == "OCPPCommCtrlr"
            and v["variable"] == "HeartbeatInterval"
            and v["value"] == "120"
            for v in variables
        ), variables
        events = (await api.json("GET", f"/stations/{identity}/events"))["items"]
        assert "NotifyEvent" in {e["kind"] for e in events}, events

    await eventually(stored_2x)


async def test_second_connection_with_same_identity_takes_over(
    server: KilowattServer, api: Api
) -> None:
    """A station that reconnects before the CSMS noticed the old socket died: the new
    connection serves calls, and the old one closing does not mark the station offline."""
    identity = unique("DUP")
    async with raw_station(server, identity, handler=lambda a, p: {"status": "Accepted"}) as old:
        await boot_raw(old, "ocpp1.6")
        async with raw_station(
            server, identity, handler=lambda a, p: {"status": "Accepted"}
        ) as new:
            await boot_raw(new, "ocpp1.6")
            answer = await api.json("POST", f"/stations/{identity}/calls/ClearCache")
            assert answer == {"status": "Accepted"}
            assert [f[2] for f in new.inbound_calls] == ["ClearCache"], new.inbound_calls
            assert old.inbound_calls == []
            await old.close()  # the old socket goes away (if the server had not closed it)

            async def old_closed() -> None:
                assert f"{identity}: disconnected" in server.log_tail(), "close not yet seen"

            await eventually(old_closed)
            problems = []
            response = await api.request("POST", f"/stations/{identity}/calls/ClearCache")
            if response.status_code != 200:
                problems.append(f"call after old socket closed: {response.status_code}")
            if (await api.station(identity))["connected"] is not True:
                problems.append("station shown disconnected while the new socket is open")
            assert "currentTime" in await new.result("Heartbeat", {})
            assert not problems, problems

    async def offline() -> None:
        assert (await api.station(identity))["connected"] is False

    await eventually(offline)
