"""Replay: a station resending queued messages (new message ids, same content, also after a
reconnect) must not create a second transaction or duplicate meter values."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest

from .chargers import REGISTER
from .support import Api, KilowattServer, boot_raw, dec, now_iso, raw_station, unique


async def test_replay_16_start_meter_values_stop(server: KilowattServer, api: Api) -> None:
    identity, token = unique("RPL16"), unique("RT")
    await api.put_token(token)
    start = {"connectorId": 1, "idTag": token, "meterStart": 100, "timestamp": now_iso()}
    async with raw_station(server, identity) as st:
        await boot_raw(st, "ocpp1.6")
        first = await st.result("StartTransaction", start)
        again = await st.result("StartTransaction", start)
        assert first["idTagInfo"]["status"] == "Accepted"
        assert again["transactionId"] == first["transactionId"], (first, again)
        tx = first["transactionId"]
        meter = {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [
                {
                    "timestamp": now_iso(),
                    "sampledValue": [
                        {"value": "150.5", "measurand": REGISTER, "unit": "Wh"},
                        {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                    ],
                }
            ],
        }
        await st.result("MeterValues", meter)
        await st.result("MeterValues", meter)

    (only,) = await api.transactions(station_id=identity)
    assert only["id"] == tx and only["status"] == "active"
    values = await api.meter_values(tx)
    assert len(values) == 2, values
    assert {dec(v["value"]) for v in values} == {dec("150.5"), dec("7.2")}

    # After a reconnect the offline queue is sent again, then the stop (twice).
    stop = {
        "transactionId": tx,
        "meterStop": 300,
        "timestamp": now_iso(),
        "reason": "EVDisconnected",
        "transactionData": [
            {
                "timestamp": now_iso(),
                "sampledValue": [{"value": "300", "measurand": REGISTER, "unit": "Wh"}],
            }
        ],
    }
    async with raw_station(server, identity) as st:
        await boot_raw(st, "ocpp1.6")
        again = await st.result("StartTransaction", start)
        assert again["transactionId"] == tx
        await st.result("MeterValues", meter)
        await st.result("StopTransaction", stop)
        await st.result("StopTransaction", stop)

    (only,) = await api.transactions(station_id=identity)
    assert only["status"] == "completed" and dec(only["energy_wh"]) == 200
    assert only["stop_reason"] == "EVDisconnected"
    values = await api.meter_values(tx)
    assert sorted(dec(v["value"]) for v in values) == [dec("7.2"), dec("150.5"), 300], values


def _at(seq: int) -> str:
    """Distinct sample times, one second apart (a station's clock moves between messages)."""
    base = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return (base + datetime.timedelta(seconds=seq)).isoformat().replace("+00:00", "Z")


def _event(
    event_type: str,
    tx: str,
    seq: int,
    value: int,
    token: str | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    at = at or _at(seq)
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": at,
        "triggerReason": {"Started": "Authorized", "Updated": "MeterValuePeriodic"}.get(
            event_type, "EVCommunicationLost"
        ),
        "seqNo": seq,
        "transactionInfo": {"transactionId": tx},
        "meterValue": [
            {
                "timestamp": at,
                "sampledValue": [
                    {"value": value, "measurand": REGISTER, "unitOfMeasure": {"unit": "Wh"}}
                ],
            }
        ],
    }
    if event_type == "Started":
        payload["evse"] = {"id": 1, "connectorId": 1}
    if event_type == "Ended":
        payload["transactionInfo"]["stoppedReason"] = "EVDisconnected"
    if token:
        payload["idToken"] = {"idToken": token, "type": "ISO14443"}
    return payload


@pytest.mark.parametrize("subprotocol", ["ocpp2.0.1", "ocpp2.1"])
async def test_replay_2x_transaction_events(
    server: KilowattServer, api: Api, subprotocol: str
) -> None:
    identity, token = unique("RPL2"), unique("RT2")
    await api.put_token(token)
    tx = f"T-{uuid.uuid4().hex[:12]}"
    started = _event("Started", tx, 0, 1000, token)
    updated = _event("Updated", tx, 1, 1250)
    ended = _event("Ended", tx, 2, 1600)

    async with raw_station(server, identity, subprotocol) as st:
        await boot_raw(st, subprotocol)
        answer = await st.result("TransactionEvent", started)
        assert answer["idTokenInfo"]["status"] == "Accepted"
        await st.result("TransactionEvent", started)
        await st.result("TransactionEvent", updated)
        await st.result("TransactionEvent", updated)

    (only,) = await api.transactions(station_id=identity)
    assert only["station_tx_id"] == tx and only["status"] == "active"
    assert len(await api.meter_values(only["id"])) == 2

    async with raw_station(server, identity, subprotocol) as st:
        await boot_raw(st, subprotocol)
        for payload in (started, updated, ended, ended):
            await st.result("TransactionEvent", payload)

    (only,) = await api.transactions(station_id=identity)
    assert only["status"] == "completed" and dec(only["energy_wh"]) == 600, only
    values = await api.meter_values(only["id"])
    assert sorted(dec(v["value"]) for v in values) == [1000, 1250, 1600], values


async def test_distinct_samples_with_equal_timestamps_are_kept(
    server: KilowattServer, api: Api
) -> None:
    """Two different messages (seqNo 0 and 1) whose samples share a timestamp (stations with a
    one-second clock do this) are not replays: both values must be stored."""
    identity, token = unique("SAMETS"), unique("ST")
    await api.put_token(token)
    tx, at = f"T-{uuid.uuid4().hex[:12]}", _at(0)
    async with raw_station(server, identity, "ocpp2.0.1") as st:
        await boot_raw(st, "ocpp2.0.1")
        await st.result("TransactionEvent", _event("Started", tx, 0, 1000, token, at=at))
        await st.result("TransactionEvent", _event("Updated", tx, 1, 1010, at=at))
    (only,) = await api.transactions(station_id=identity)
    values = sorted(dec(v["value"]) for v in await api.meter_values(only["id"]))
    assert values == [1000, 1010], values
