"""The operator API end to end in process: real app, real database, in-memory gateway."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from kilowatt.api import load_or_create_api_key
from kilowatt.config import Settings
from kilowatt.csms import Services
from kilowatt.csms.gateway import StationCallError
from kilowatt.csms.model import SampledValue, StatusReport, TransactionMessage

Gateway = Any  # the MemoryGateway fixture of conftest.py

T0 = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


async def test_auth_required(client: httpx.AsyncClient) -> None:
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic x"},
    ):
        response = await client.get("/api/v1/stations", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert isinstance(response.json()["detail"], str)
    bare = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    async with bare:
        response = await bare.post("/api/v1/stations/X/calls/Reset", json={})
        assert response.status_code == 401
        assert "missing Authorization" in response.json()["detail"]
        assert (await bare.get("/docs")).status_code == 200
        assert "/api/v1/stations" in (await bare.get("/openapi.json")).json()["paths"]


async def test_stations_crud(client: httpx.AsyncClient, api_services: Services) -> None:
    created = await client.post(
        "/api/v1/stations",
        json={"id": "CP1", "security_profile": 1, "password": "0123456789abcdef"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] == "CP1" and body["security_profile"] == 1 and body["has_password"]
    assert "password_hash" not in body and body["connected"] is False
    assert (await client.post("/api/v1/stations", json={"id": "CP1"})).status_code == 409
    bad = await client.post("/api/v1/stations", json={"id": "CP2", "password": "short"})
    assert bad.status_code == 422 and "password" in bad.json()["detail"]
    missing = await client.post("/api/v1/stations", json={"id": "CP2", "security_profile": 2})
    assert missing.status_code == 422 and "password" in missing.json()["detail"]

    await api_services.stations.connected("CP1", "1.6")
    await api_services.stations.status_notification(
        "CP1", StatusReport(1, 1, "Charging", "NoError")
    )
    detail = (await client.get("/api/v1/stations/CP1")).json()
    assert detail["connected"] is True and detail["ocpp_version"] == "1.6"
    assert detail["evses"] == [
        {
            "evse_id": 1,
            "connectors": [
                {
                    "connector_id": 1,
                    "status": "Charging",
                    "error_code": "NoError",
                    "info": None,
                    "vendor_error_code": None,
                    "status_at": detail["evses"][0]["connectors"][0]["status_at"],
                }
            ],
        }
    ]
    for name in ("vendor", "model"):
        assert name in detail

    patched = await client.patch("/api/v1/stations/CP1", json={"location_id": "L1"})
    assert patched.json()["location_id"] == "L1" and patched.json()["security_profile"] == 1
    patched = await client.patch(
        "/api/v1/stations/CP1", json={"security_profile": 0, "location_id": None}
    )
    assert patched.json()["location_id"] is None and patched.json()["security_profile"] == 0

    await client.post("/api/v1/stations", json={"id": "CP0"})
    listed = (await client.get("/api/v1/stations", params={"limit": 1, "offset": 1})).json()
    assert listed["total"] == 2 and [s["id"] for s in listed["items"]] == ["CP1"]
    bad_limit = await client.get("/api/v1/stations", params={"limit": 0})
    assert bad_limit.status_code == 422 and isinstance(bad_limit.json()["detail"], str)

    assert (await client.delete("/api/v1/stations/CP1")).status_code == 204
    missing_station = await client.get("/api/v1/stations/CP1")
    assert missing_station.status_code == 404 and "CP1" in missing_station.json()["detail"]
    assert (await client.delete("/api/v1/stations/CP1")).status_code == 404


async def test_id_tokens(client: httpx.AsyncClient) -> None:
    put = await client.put(
        "/api/v1/id-tokens/TAG1",
        json={"status": "Accepted", "expiry": "2030-01-01T00:00:00+01:00", "group_id": "G"},
    )
    assert put.status_code == 201, put.text
    assert put.json()["expiry"] == "2029-12-31T23:00:00Z"
    again = await client.put("/api/v1/id-tokens/TAG1", json={"status": "Blocked"})
    assert again.status_code == 200 and again.json()["status"] == "Blocked"
    assert (await client.put("/api/v1/id-tokens/X", json={"status": "Nope"})).status_code == 422
    assert (await client.get("/api/v1/id-tokens/TAG1")).json()["group_id"] is None
    listed = (await client.get("/api/v1/id-tokens")).json()
    assert listed["total"] == 1 and listed["items"][0]["id_token"] == "TAG1"
    assert (await client.delete("/api/v1/id-tokens/TAG1")).status_code == 204
    assert (await client.get("/api/v1/id-tokens/TAG1")).status_code == 404


async def test_transactions_and_meter_values(
    client: httpx.AsyncClient, api_services: Services
) -> None:
    await api_services.stations.connected("CP1", "1.6")
    tx = api_services.transactions
    start = await tx.begin(
        TransactionMessage(
            "CP1", T0, evse_id=1, connector_id=1, id_token="TAG", meter_start_wh=Decimal("100.5")
        )
    )
    assert start.transaction is not None
    tx_id = start.transaction.id
    sample = SampledValue(Decimal("150.125"), T0.replace(minute=5))
    await tx.update(
        TransactionMessage(
            "CP1",
            sample.timestamp,
            transaction_id=tx_id,
            evse_id=1,
            connector_id=1,
            samples=[sample],
        )
    )
    await tx.begin(
        TransactionMessage(
            "CP1", T0, evse_id=2, connector_id=2, id_token="TAG", meter_start_wh=Decimal(0)
        )
    )

    active = (await client.get("/api/v1/transactions", params={"status": "active"})).json()
    assert active["total"] == 2
    one = (await client.get(f"/api/v1/transactions/{tx_id}")).json()
    for name in (
        "id",
        "station_id",
        "evse_id",
        "connector_id",
        "id_token",
        "status",
        "started_at",
        "stopped_at",
        "meter_start_wh",
        "meter_stop_wh",
        "energy_wh",
    ):
        assert name in one
    assert one["meter_start_wh"] == 100.5 and one["energy_wh"] == 49.625
    assert one["started_at"] == "2025-01-01T10:00:00Z" and one["duration_s"] is None

    await tx.end(
        TransactionMessage(
            "CP1", T0.replace(minute=30), transaction_id=tx_id, meter_stop_wh=Decimal("200.75")
        )
    )
    done = (await client.get(f"/api/v1/transactions/{tx_id}")).json()
    assert done["status"] == "completed" and done["energy_wh"] == 100.25
    assert done["duration_s"] == 1800
    raw = (await client.get(f"/api/v1/transactions/{tx_id}")).text
    assert '"meter_stop_wh":200.75' in raw  # exact decimal, a JSON number

    filtered = await client.get(
        "/api/v1/transactions", params={"station_id": "CP1", "status": "completed"}
    )
    assert [t["id"] for t in filtered.json()["items"]] == [tx_id]
    values = (await client.get(f"/api/v1/transactions/{tx_id}/meter-values")).json()
    assert values["total"] == 1 and values["items"][0]["value"] == 150.125
    assert values["items"][0]["measurand"] == "Energy.Active.Import.Register"
    assert (await client.get("/api/v1/transactions/999999")).status_code == 404
    assert (await client.get("/api/v1/transactions/999999/meter-values")).status_code == 404
    bad = await client.get("/api/v1/transactions", params={"status": "open"})
    assert bad.status_code == 422


async def test_calls(client: httpx.AsyncClient, api_services: Services, gateway: Gateway) -> None:
    url = "/api/v1/stations/CP1/calls/Reset"
    assert (await client.post(url, json={"type": "Hard"})).status_code == 404  # unknown station
    await api_services.stations.connected("CP1", "1.6")
    not_connected = await client.post(url, json={"type": "Hard"})
    assert not_connected.status_code == 409 and "not connected" in not_connected.json()["detail"]

    gateway.connected.add("CP1")
    ok = await client.post(url, json={"type": "Hard"}, params={"timeout": 5})
    assert ok.status_code == 200 and ok.json() == {"status": "Accepted"}
    assert gateway.sent[-1] == ("CP1", "Reset", {"type": "Hard"}, 5.0)

    invalid = await client.post(url, json={"type": "Later"})
    assert invalid.status_code == 422 and "Hard or Soft" in invalid.json()["detail"]
    unknown = await client.post("/api/v1/stations/CP1/calls/Nope", json={})
    assert unknown.status_code == 404

    gateway.answers[("CP1", "UnlockConnector")] = StationCallError(
        "NotSupported", "no unlock", {"why": "fixed cable"}
    )
    error = await client.post("/api/v1/stations/CP1/calls/UnlockConnector", json={"connectorId": 1})
    assert error.status_code == 502
    assert {k: error.json()[k] for k in ("code", "description", "details")} == {
        "code": "NotSupported",
        "description": "no unlock",
        "details": {"why": "fixed cable"},
    }

    gateway.answers[("CP1", "GetConfiguration")] = "hang"
    timeout = await client.post("/api/v1/stations/CP1/calls/GetConfiguration", json={})
    assert timeout.status_code == 504 and "30 s" in timeout.json()["detail"]
    assert (await client.post(url, json={}, params={"timeout": 0})).status_code == 422


async def test_commands(
    client: httpx.AsyncClient, api_services: Services, gateway: Gateway
) -> None:
    await api_services.stations.connected("CP1", "1.6")
    gateway.connected.add("CP1")
    ok = await client.post("/api/v1/stations/CP1/commands/reset", json={"type": "hard"})
    assert ok.status_code == 200 and gateway.sent[-1][1:3] == ("Reset", {"type": "Hard"})
    no_body = await client.post("/api/v1/stations/CP1/commands/reset")
    assert no_body.status_code == 200 and gateway.sent[-1][2] == {"type": "Soft"}
    bad = await client.post("/api/v1/stations/CP1/commands/reset", json={"type": "x"})
    assert bad.status_code == 422
    unknown = await client.post("/api/v1/stations/CP1/commands/explode", json={})
    assert unknown.status_code == 422 and "start-transaction" in unknown.json()["detail"]


async def test_messages(client: httpx.AsyncClient, api_services: Services) -> None:
    await api_services.stations.connected("CP1", "1.6")
    api_services.journal.record("CP1", "in", 2, "m1", "Heartbeat", '[2,"m1","Heartbeat",{}]')
    api_services.journal.record("CP1", "out", 3, "m1", "Heartbeat", '[3,"m1",{}]')
    page = (await client.get("/api/v1/stations/CP1/messages", params={"limit": 10})).json()
    assert page["total"] == 2
    entry = page["items"][0]
    assert {k: entry[k] for k in ("direction", "message_type", "action", "message_id")} == {
        "direction": "out",
        "message_type": 3,
        "action": "Heartbeat",
        "message_id": "m1",
    }
    assert (await client.get("/api/v1/stations/NOPE/messages")).status_code == 404


def test_load_or_create_api_key(tmp_path: Path) -> None:
    assert load_or_create_api_key(Settings(api_key="given", data_dir=tmp_path)) == ("given", False)
    settings = Settings(data_dir=tmp_path / "data")
    key, created = load_or_create_api_key(settings)
    assert created and len(key) >= 32
    assert stat.S_IMODE(os.stat(settings.api_key_file).st_mode) == 0o600
    assert load_or_create_api_key(settings) == (key, False)


def test_create_api_needs_a_key(api_services: Services, gateway: Gateway) -> None:
    from kilowatt.api import create_api

    with pytest.raises(ValueError):
        create_api(api_services, gateway, Settings())
