"""Hostile numbers from a station over a real socket (issue 12 item 4, the OCPP side).

Each case is sent as exact frames by a raw OCPP-J station to ``kilowatt serve`` and checked
against the answer the specification prescribes:

- an integer beyond the 32-bit OCPP ``integer`` (OCPP 2.0.1 Part 2 §2.1): 2^63 as
  ``transactionId``, 2^62 as ``connectorId`` → TypeConstraintViolation (OCPP-J 1.6 §4.2.3,
  2.0.1 Part 4 §4.3: "violates data type constraints");
- an EVSE/connector id inside the type but beyond what Kilowatt stores (``MAX_EVSE_ID``) →
  PropertyConstraintViolation, and no EVSE row;
- a 1.6 sampled ``value`` of ``1E+999``/``NaN``/``Infinity`` → the message is accepted, the
  value is not stored; a 2.x ``number`` of ``1E+999`` → PropertyConstraintViolation;
- a second StartTransaction / TransactionEvent Started on a busy connector/EVSE → answered,
  the older transaction ends with ``stop_reason`` ``Superseded``.

After every refusal the same connection keeps working (a Heartbeat is answered), and whatever
the API then serves parses with a strict JSON parser (no ``Infinity``/``NaN`` constants, no
number that overflows a double).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from kilowatt.csms.model import MAX_EVSE_ID

from .support import Api, KilowattServer, boot_raw, now_iso, raw_station, unique


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} overflows a double")
    return value


async def strict_json(api: Api, path: str) -> Any:
    """GET ``path`` and parse it as a strict JSON parser would (RFC 8259, IEEE doubles)."""
    response = await api.request("GET", path)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_constant=_refuse_constant, parse_float=_finite_float)


async def assert_alive(station: Any) -> None:
    assert "currentTime" in await station.result("Heartbeat", {})


def code_of(frame: list[Any]) -> str:
    assert frame[0] == 4, frame
    return str(frame[2])


async def start_16(station: Any, connector: int, meter_start: int = 1000) -> int:
    answer = await station.result(
        "StartTransaction",
        {
            "connectorId": connector,
            "idTag": "HOSTILE",
            "meterStart": meter_start,
            "timestamp": now_iso(),
        },
    )
    return int(answer["transactionId"])


async def test_1_6_integers_beyond_the_ocpp_type_are_type_violations(
    server: KilowattServer, api: Api
) -> None:
    identity = unique("HN16")
    async with raw_station(server, identity, "ocpp1.6") as st:
        await boot_raw(st, "ocpp1.6")
        stop = {"transactionId": 2**63, "meterStop": 1, "timestamp": now_iso()}
        assert code_of(await st.call("StopTransaction", stop)) == "TypeConstraintViolation"
        await assert_alive(st)
        meter = {
            "connectorId": 1,
            "transactionId": 2**63,
            "meterValue": [{"timestamp": now_iso(), "sampledValue": [{"value": "1"}]}],
        }
        assert code_of(await st.call("MeterValues", meter)) == "TypeConstraintViolation"
        await assert_alive(st)
        status = {"connectorId": 2**62, "errorCode": "NoError", "status": "Available"}
        assert code_of(await st.call("StatusNotification", status)) == "TypeConstraintViolation"
        await assert_alive(st)
        # Inside the type, beyond what this CSMS stores: a property violation, no EVSE row.
        status["connectorId"] = MAX_EVSE_ID + 1
        assert code_of(await st.call("StatusNotification", status)) == (
            "PropertyConstraintViolation"
        )
        start = {"connectorId": 2**31 - 1, "idTag": "T", "meterStart": 0, "timestamp": now_iso()}
        assert code_of(await st.call("StartTransaction", start)) == ("PropertyConstraintViolation")
        status["connectorId"] = 1
        assert await st.result("StatusNotification", status) == {}
        await assert_alive(st)

    station = await strict_json(api, f"/stations/{identity}")
    assert [e["evse_id"] for e in station["evses"]] == [1]
    assert await api.transactions(station_id=identity) == []


async def test_1_6_non_finite_meter_values_are_not_stored(server: KilowattServer, api: Api) -> None:
    identity = unique("HNMV")
    async with raw_station(server, identity, "ocpp1.6") as st:
        await boot_raw(st, "ocpp1.6")
        tx = await start_16(st, 1)
        hostile = ["1E+999", "NaN", "Infinity", "-Infinity", "1" * 40, "1E-999999999"]
        meter = {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [
                {
                    "timestamp": now_iso(),
                    "sampledValue": [{"value": v} for v in [*hostile, "1500.5"]],
                }
            ],
        }
        # Accepted (refusing would make a station retry forever); only the number is kept.
        assert await st.result("MeterValues", meter) == {}
        stop = {
            "transactionId": tx,
            "meterStop": 2000,
            "timestamp": now_iso(),
            "transactionData": [
                {"timestamp": now_iso(), "sampledValue": [{"value": "1E+999"}]},
            ],
        }
        assert await st.result("StopTransaction", stop) == {}
        await assert_alive(st)

    values = await strict_json(api, f"/transactions/{tx}/meter-values?limit=500")
    assert [str(item["value"]) for item in values["items"]] == ["1500.5"]
    transaction = await strict_json(api, f"/transactions/{tx}")
    assert transaction["status"] == "completed"
    assert transaction["meter_stop_wh"] == 2000
    await strict_json(api, "/transactions?limit=500")


@pytest.mark.parametrize("subprotocol", ["ocpp2.0.1", "ocpp2.1"])
async def test_2x_hostile_numbers_are_refused(
    server: KilowattServer, api: Api, subprotocol: str
) -> None:
    identity = unique("HN2X")
    async with raw_station(server, identity, subprotocol) as st:
        await boot_raw(st, subprotocol)

        def event(seq: int, kind: str, value: Any, **extra: Any) -> dict[str, Any]:
            return {
                "eventType": kind,
                "timestamp": now_iso(),
                "triggerReason": "MeterValuePeriodic",
                "seqNo": seq,
                "transactionInfo": {"transactionId": "TX-HOSTILE"},
                "evse": {"id": 1, "connectorId": 1},
                "meterValue": [{"timestamp": now_iso(), "sampledValue": [{"value": value}]}],
                **extra,
            }

        assert await st.result("TransactionEvent", event(0, "Started", 10)) == {}
        # 1E+999 is a valid JSON number, outside the documented number rule.
        frame = await st.call("TransactionEvent", event(1, "Updated", 0))
        assert frame[0] == 3
        raw = json.dumps([2, "hn-big", "TransactionEvent", event(2, "Updated", 0)])
        await st.send_raw(raw.replace('"value": 0', '"value": 1E+999'))
        answer = await st.next_unsolicited()
        assert answer[:3] == [4, "hn-big", "PropertyConstraintViolation"], answer
        # Integers beyond the type, and a multiplier that scales a value past the rule.
        assert code_of(await st.call("TransactionEvent", event(2**31, "Updated", 1))) == (
            "TypeConstraintViolation"
        )
        scaled = event(3, "Updated", 1)
        scaled["meterValue"][0]["sampledValue"][0]["unitOfMeasure"] = {"multiplier": 1000}
        assert code_of(await st.call("TransactionEvent", scaled)) == ("PropertyConstraintViolation")
        status = {
            "timestamp": now_iso(),
            "connectorStatus": "Available",
            "evseId": 2**62,
            "connectorId": 1,
        }
        assert code_of(await st.call("StatusNotification", status)) == "TypeConstraintViolation"
        status["evseId"] = MAX_EVSE_ID + 1
        assert code_of(await st.call("StatusNotification", status)) == (
            "PropertyConstraintViolation"
        )
        await assert_alive(st)

    station = await strict_json(api, f"/stations/{identity}")
    assert all(e["evse_id"] <= MAX_EVSE_ID for e in station["evses"])
    (tx,) = await api.transactions(station_id=identity)
    values = await strict_json(api, f"/transactions/{tx['id']}/meter-values?limit=500")
    assert sorted(str(item["value"]) for item in values["items"]) == ["0", "10"]


async def test_1_6_second_start_on_a_busy_connector_supersedes_the_first(
    server: KilowattServer, api: Api
) -> None:
    identity = unique("HNSS")
    async with raw_station(server, identity, "ocpp1.6") as st:
        await boot_raw(st, "ocpp1.6")
        first = await start_16(st, 1, meter_start=1000)
        second = await start_16(st, 1, meter_start=1500)
        assert second != first
        other = await start_16(st, 2, meter_start=0)  # another connector is not touched
        await assert_alive(st)

    old = await strict_json(api, f"/transactions/{first}")
    assert (old["status"], old["stop_reason"], old["meter_stop_wh"]) == (
        "completed",
        "Superseded",
        1500,
    )
    assert old["energy_wh"] == 500
    for tx in (second, other):
        assert (await strict_json(api, f"/transactions/{tx}"))["status"] == "active"

    # The station's own late StopTransaction for the superseded one still applies.
    async with raw_station(server, identity, "ocpp1.6") as st:
        stop = {"transactionId": first, "meterStop": 1400, "timestamp": now_iso()}
        await st.result("StopTransaction", stop)
    old = await strict_json(api, f"/transactions/{first}")
    assert (old["status"], old["stop_reason"], old["meter_stop_wh"]) == (
        "completed",
        "Local",
        1400,
    )


async def test_2x_second_started_on_a_busy_evse_supersedes_the_first(
    server: KilowattServer, api: Api
) -> None:
    identity = unique("HNS2")
    async with raw_station(server, identity, "ocpp2.0.1") as st:
        await boot_raw(st, "ocpp2.0.1")
        for name in ("TX-A", "TX-B"):
            started = {
                "eventType": "Started",
                "timestamp": now_iso(),
                "triggerReason": "Authorized",
                "seqNo": 0,
                "transactionInfo": {"transactionId": name},
                "evse": {"id": 1, "connectorId": 1},
            }
            assert await st.result("TransactionEvent", started) == {}
        await assert_alive(st)

    by_station_id = {t["station_tx_id"]: t for t in await api.transactions(station_id=identity)}
    assert by_station_id["TX-A"]["status"] == "completed"
    assert by_station_id["TX-A"]["stop_reason"] == "Superseded"
    assert by_station_id["TX-B"]["status"] == "active"
