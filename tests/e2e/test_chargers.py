"""Real third-party charge points (PyPI ``ocpp``, 1.6 / 2.0.1 / 2.1) against ``kilowatt serve``:
boot, status, authorize, a charging session, remote start/stop, station control through the
API, errors surfacing as HTTP statuses, disconnect and the journal. Checked through the API.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from .chargers import FAIL_VENDOR, HANG_VENDOR, REGISTER, VERSIONS, Driver, charger
from .support import Api, KilowattServer, dec, eventually, unique

pytestmark = pytest.mark.parametrize("version", VERSIONS)


async def test_boot_status_heartbeat_disconnect(
    server: KilowattServer, api: Api, version: str
) -> None:
    identity = unique(f"PY{version}")
    async with charger(server, identity, version) as cp:
        drv = Driver(cp, version)
        await drv.boot(vendor="VendorX", model="ModelY")
        await drv.heartbeat()
        await drv.status(1, "Available")
        await drv.status(2, "Faulted")

        station = await api.station(identity)
        assert station["id"] == identity
        assert station["connected"] is True
        assert station["ocpp_version"] == version
        assert (station["vendor"], station["model"]) == ("VendorX", "ModelY")
        assert station["serial_number"] == "SN-1"
        assert station["firmware_version"] == "1.2.3"
        assert station["last_boot"] is not None and station["last_seen"] is not None
        connectors = {
            (evse["evse_id"], c["connector_id"]): c
            for evse in station["evses"]
            for c in evse["connectors"]
        }
        assert connectors[(1, 1)]["status"] == "Available", station["evses"]
        faulted = connectors[(2, 2 if version == "1.6" else 1)]
        assert faulted["status"] == "Faulted", station["evses"]
        if version == "1.6":
            assert connectors[(1, 1)]["error_code"] == "NoError"

        listed = await api.json("GET", "/stations", params={"limit": 500})
        assert identity in {s["id"] for s in listed["items"]}
        assert listed["total"] >= 1

    async def disconnected() -> None:
        assert (await api.station(identity))["connected"] is False

    await eventually(disconnected)


async def test_authorize_known_unknown_blocked(
    server: KilowattServer, api: Api, version: str
) -> None:
    good, blocked, unknown = unique("GOOD"), unique("BLK"), unique("UNK")
    await api.put_token(good)
    await api.put_token(blocked, status="Blocked")
    token = await api.json("GET", f"/id-tokens/{good}")
    assert token["id_token"] == good and token["status"] == "Accepted"

    async with charger(server, unique(f"AUTH{version}"), version) as cp:
        drv = Driver(cp, version)
        await drv.boot()
        assert await drv.authorize(good) == "Accepted"
        assert await drv.authorize(blocked) == "Blocked"
        assert await drv.authorize(unknown) in (
            ("Invalid",) if version == "1.6" else ("Unknown", "Invalid")
        )

    await api.json("DELETE", f"/id-tokens/{blocked}", expect=204)
    await api.json("GET", f"/id-tokens/{blocked}", expect=404)


async def test_charging_session_with_meter_values(
    server: KilowattServer, api: Api, version: str
) -> None:
    identity, token = unique(f"SESS{version}"), unique("TAG")
    await api.put_token(token)
    async with charger(server, identity, version) as cp:
        drv = Driver(cp, version)
        await drv.boot()
        await drv.status(1, "Preparing" if version == "1.6" else "Occupied")
        tx, auth = await drv.start(token, 1000)
        assert auth == "Accepted"

        active = await api.transactions(station_id=identity, status="active")
        assert len(active) == 1, active
        tx_id = active[0]["id"]
        if version == "1.6":
            assert tx_id == tx
        else:
            assert active[0]["station_tx_id"] == tx

        await drv.meter(tx, 1500)
        await drv.meter(tx, 2200)
        mid = await api.json("GET", f"/transactions/{tx_id}")
        assert mid["status"] == "active" and dec(mid["energy_wh"]) == Decimal(1200)

        await drv.stop(tx, 3000, token)

    done = await api.json("GET", f"/transactions/{tx_id}")
    assert done["id"] == tx_id and done["station_id"] == identity
    assert done["status"] == "completed"
    assert (done["evse_id"], done["connector_id"]) == (1, 1)
    assert done["id_token"] == token
    assert done["started_at"] and done["stopped_at"]
    assert dec(done["meter_start_wh"]) == 1000
    assert dec(done["meter_stop_wh"]) == 3000
    assert dec(done["energy_wh"]) == 2000
    assert await api.transactions(station_id=identity, status="active") == []
    completed = await api.transactions(station_id=identity, status="completed")
    assert [t["id"] for t in completed] == [tx_id]

    values = await api.meter_values(tx_id)
    register = sorted(dec(v["value"]) for v in values if v["measurand"] == REGISTER)
    expected = [1500, 2200, 3000] if version == "1.6" else [1000, 1500, 2200, 3000]
    assert register == expected, values
    assert all(v["transaction_id"] == tx_id and v["unit"] == "Wh" for v in values), values


async def test_remote_start_and_stop_commands(
    server: KilowattServer, api: Api, version: str
) -> None:
    identity, token = unique(f"RS{version}"), unique("REM")
    await api.put_token(token)
    async with charger(server, identity, version) as cp:
        drv = Driver(cp, version)
        await drv.boot()
        answer = await api.json(
            "POST",
            f"/stations/{identity}/commands/start-transaction",
            json={"id_token": token, "evse_id": 1, "connector_id": 1},
        )
        assert answer["status"] == "Accepted", answer
        name = "RemoteStartTransaction" if version == "1.6" else "RequestStartTransaction"
        (request,) = cp.got(name)
        remote_start_id = None
        if version == "1.6":
            assert request["id_tag"] == token and request.get("connector_id") == 1
        else:
            assert request["id_token"]["id_token"] == token
            remote_start_id = request["remote_start_id"]
            assert isinstance(remote_start_id, int)

        tx, _ = await drv.start(token, 500, remote_start_id=remote_start_id)
        (active,) = await api.transactions(station_id=identity, status="active")
        if remote_start_id is not None:
            assert active["remote_start_id"] == remote_start_id

        answer = await api.json(
            "POST",
            f"/stations/{identity}/commands/stop-transaction",
            json={"transaction_id": active["id"]},
        )
        assert answer["status"] == "Accepted", answer
        name = "RemoteStopTransaction" if version == "1.6" else "RequestStopTransaction"
        (request,) = cp.got(name)
        assert request["transaction_id"] == tx
        await drv.stop(tx, 900)

    done = await api.json("GET", f"/transactions/{active['id']}")
    assert done["status"] == "completed" and dec(done["energy_wh"]) == 400


async def test_raw_calls_and_control_commands(
    server: KilowattServer, api: Api, version: str
) -> None:
    identity = unique(f"CTL{version}")
    base = f"/stations/{identity}"
    async with charger(server, identity, version) as cp:
        await Driver(cp, version).boot()
        v16 = version == "1.6"

        # Raw calls: wire names in, the station's answer out.
        reset = {"type": "Soft"} if v16 else {"type": "Immediate"}
        assert await api.json("POST", f"{base}/calls/Reset", json=reset) == {"status": "Accepted"}
        unlock = {"connectorId": 1} if v16 else {"evseId": 1, "connectorId": 1}
        answer = await api.json("POST", f"{base}/calls/UnlockConnector", json=unlock)
        assert answer == {"status": "Unlocked"}
        assert await api.json("POST", f"{base}/calls/ClearCache") == {"status": "Accepted"}

        # Version-neutral commands.
        async def command(name: str, params: dict[str, Any]) -> Any:
            return await api.json("POST", f"{base}/commands/{name}", json=params)

        assert (await command("reset", {"type": "hard"}))["status"] == "Accepted"
        assert (await command("unlock-connector", {"evse_id": 1, "connector_id": 1}))[
            "status"
        ] == "Unlocked"
        assert (await command("change-availability", {"operative": False, "evse_id": 1}))[
            "status"
        ] == "Accepted"
        trigger = await command("trigger-message", {"message": "StatusNotification", "evse_id": 1})
        assert trigger["status"] == "Accepted"
        assert (await command("clear-cache", {}))["status"] == "Accepted"
        transfer = await command(
            "data-transfer", {"vendor_id": "com.example", "message_id": "m", "data": "hi"}
        )
        assert transfer["status"] == "Accepted" and transfer.get("data") == "hi"

        resets = cp.got("Reset")
        assert [r["type"] for r in resets] == (["Soft", "Hard"] if v16 else ["Immediate"] * 2)
        unlocks = cp.got("UnlockConnector")
        assert len(unlocks) == 2
        (availability,) = cp.got("ChangeAvailability")
        if v16:
            assert availability["type"] == "Inoperative" and availability["connector_id"] == 1
        else:
            assert availability["operational_status"] == "Inoperative"
            assert availability["evse"]["id"] == 1
        (trig,) = cp.got("TriggerMessage")
        assert trig["requested_message"] == "StatusNotification"
        assert len(cp.got("ClearCache")) == 2


async def test_configuration_and_variables(server: KilowattServer, api: Api, version: str) -> None:
    identity = unique(f"CFG{version}")
    base = f"/stations/{identity}"
    async with charger(server, identity, version) as cp:
        await Driver(cp, version).boot()
        if version == "1.6":
            key, unknown = "HeartbeatInterval", "NoSuchKey"
        else:
            key, unknown = "OCPPCommCtrlr.HeartbeatInterval", "OCPPCommCtrlr.NoSuchVariable"

        got = await api.json(
            "POST", f"{base}/commands/get-configuration", json={"keys": [key, unknown]}
        )
        entries = {e["key"]: e for e in got["configuration"]}
        assert entries[key]["value"] == "300", got
        assert unknown in got["unknown"], got

        changed = await api.json(
            "POST", f"{base}/commands/set-configuration", json={"key": key, "value": "42"}
        )
        assert changed["status"] == "Accepted", changed
        got = await api.json("POST", f"{base}/commands/get-configuration", json={"keys": [key]})
        assert {e["key"]: e["value"] for e in got["configuration"]}[key] == "42", got

        if version == "1.6":
            assert cp.config["HeartbeatInterval"][0] == "42"
            raw = await api.json(
                "POST",
                f"{base}/calls/ChangeConfiguration",
                json={"key": "NumberOfConnectors", "value": "2"},
            )
            assert raw == {"status": "Rejected"}
            raw = await api.json(
                "POST", f"{base}/calls/GetConfiguration", json={"key": ["MeterValueSampleInterval"]}
            )
            assert raw["configurationKey"] == [
                {"key": "MeterValueSampleInterval", "readonly": False, "value": "60"}
            ]
        else:
            assert cp.variables[("OCPPCommCtrlr", "HeartbeatInterval")] == "42"
            raw = await api.json(
                "POST",
                f"{base}/calls/SetVariables",
                json={
                    "setVariableData": [
                        {
                            "attributeValue": "15",
                            "component": {"name": "SampledDataCtrlr"},
                            "variable": {"name": "TxUpdatedInterval"},
                        }
                    ]
                },
            )
            assert raw["setVariableResult"][0]["attributeStatus"] == "Accepted"
            raw = await api.json(
                "POST",
                f"{base}/calls/GetVariables",
                json={
                    "getVariableData": [
                        {
                            "component": {"name": "SampledDataCtrlr"},
                            "variable": {"name": "TxUpdatedInterval"},
                        }
                    ]
                },
            )
            assert raw["getVariableResult"][0]["attributeValue"] == "15"


async def test_call_errors_map_to_http_statuses(
    server: KilowattServer, api: Api, version: str
) -> None:
    identity = unique(f"ERR{version}")
    base = f"/stations/{identity}"
    async with charger(server, identity, version) as cp:
        drv = Driver(cp, version)
        await drv.boot()

        # The station's CallError -> 502 {code, description, details}.
        response = await api.request(
            "POST", f"{base}/calls/DataTransfer", json={"vendorId": FAIL_VENDOR}
        )
        assert response.status_code == 502, response.text
        body = response.json()
        assert body["code"] == "GenericError"
        assert body["description"] == "station refused"
        assert body["details"] == {"why": "e2e"}
        response = await api.request(
            "POST", f"{base}/commands/data-transfer", json={"vendor_id": FAIL_VENDOR}
        )
        assert response.status_code == 502, response.text

        # Invalid payloads and unknown actions/commands: refused before anything is sent.
        for path, payload in [
            ("calls/Reset", {"type": "Bogus"}),
            ("calls/Reset", {}),
            ("calls/UnlockConnector", {"connectorId": "one"}),
            ("commands/start-transaction", {}),
            ("commands/stop-transaction", {"transaction_id": "x"}),
        ]:
            response = await api.request("POST", f"{base}/{path}", json=payload)
            assert response.status_code == 422, (path, payload, response.text)
        for path in ["calls/NoSuchAction", "commands/no-such-command"]:
            response = await api.request("POST", f"{base}/{path}", json={})
            assert response.status_code in (404, 422), (path, response.text)
        # A station-initiated action is not a CSMS call.
        response = await api.request("POST", f"{base}/calls/Heartbeat", json={})
        assert response.status_code in (404, 422), response.text
        assert cp.got("Reset") == [] and cp.got("UnlockConnector") == []

        # No answer within ?timeout= -> 504; the late answer is ignored, the link still works.
        response = await api.request(
            "POST",
            f"{base}/calls/DataTransfer",
            params={"timeout": 1},
            json={"vendorId": HANG_VENDOR},
        )
        assert response.status_code == 504, response.text
        cp.hold.set()
        await drv.heartbeat()
        answer = await api.json("POST", f"{base}/calls/ClearCache")
        assert answer == {"status": "Accepted"}

    # Not connected -> 409; unknown station -> 404.
    async def offline() -> None:
        response = await api.request("POST", f"{base}/calls/ClearCache", json={})
        assert response.status_code == 409, response.text

    await eventually(offline)
    response = await api.request("POST", f"{base}/commands/reset", json={"type": "soft"})
    assert response.status_code == 409, response.text
    response = await api.request("POST", "/stations/NO-SUCH-STATION/calls/ClearCache", json={})
    assert response.status_code == 404, response.text


async def test_journal_shows_frames(server: KilowattServer, api: Api, version: str) -> None:
    identity = unique(f"JRN{version}")
    async with charger(server, identity, version) as cp:
        drv = Driver(cp, version)
        await drv.boot()
        await drv.heartbeat()
        await api.json("POST", f"/stations/{identity}/calls/ClearCache")

    async def journaled() -> list[dict[str, Any]]:
        items = await api.messages(identity)
        seen = {(m["direction"], m["message_type"], m["action"]) for m in items}
        assert ("in", 2, "BootNotification") in seen, items
        assert ("in", 2, "Heartbeat") in seen, items
        assert ("out", 2, "ClearCache") in seen, items
        assert any(m["direction"] == "out" and m["message_type"] == 3 for m in items), items
        assert any(m["direction"] == "in" and m["message_type"] == 3 for m in items), items
        return items

    items = await eventually(journaled)
    boot = next(m for m in items if m["action"] == "BootNotification" and m["direction"] == "in")
    answers = [
        m for m in items if m["direction"] == "out" and m["message_id"] == boot["message_id"]
    ]
    assert len(answers) == 1 and answers[0]["message_type"] == 3, items
    assert '"BootNotification"' in boot["frame"] and boot["at"]
    page = await api.json("GET", f"/stations/{identity}/messages", params={"limit": 2})
    assert len(page["items"]) == 2 and page["total"] == len(items)
