"""``/api/v1/locations`` and station EVSE/connector metadata, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from kilowatt.csms import Services
from kilowatt.csms.locations import LocationChanged

BODY: dict[str, Any] = {
    "name": "Depot",
    "address": "Main Street 1",
    "city": "Utrecht",
    "postal_code": "3511",
    "country": "NLD",
    "coordinates": {"latitude": "52.0907", "longitude": "5.1214"},
    "time_zone": "Europe/Amsterdam",
    "parking_type": "PARKING_LOT",
    "facilities": ["CAFE", "WIFI"],
    "opening_times": {
        "twentyfourseven": False,
        "regular_hours": [{"weekday": 1, "period_begin": "07:00", "period_end": "22:00"}],
    },
}


async def test_location_crud_and_list(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/locations", json={**BODY, "id": "L1"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["coordinates"] == {"latitude": "52.0907", "longitude": "5.1214"}
    assert created["opening_times"]["regular_hours"][0]["period_begin"] == "07:00"
    assert created["publish"] is True and created["station_ids"] == []
    r = await client.post("/api/v1/locations", json=BODY)
    generated = r.json()["id"]
    assert r.status_code == 201 and len(generated) == 36
    assert (await client.post("/api/v1/locations", json={**BODY, "id": "L1"})).status_code == 409
    page = (await client.get("/api/v1/locations", params={"limit": 1})).json()
    assert page["total"] == 2 and [i["id"] for i in page["items"]] == ["L1"]
    r = await client.patch("/api/v1/locations/L1", json={"name": "Depot 2", "help_phone": "+31"})
    assert r.json()["name"] == "Depot 2" and r.json()["city"] == "Utrecht"
    assert (await client.delete("/api/v1/locations/L1")).status_code == 204
    assert (await client.get("/api/v1/locations/L1")).status_code == 404


async def test_location_validation(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/locations", json={**BODY, "country": "NL"})
    assert r.status_code == 422
    r = await client.post("/api/v1/locations", json={**BODY, "time_zone": "Mars/Olympus"})
    assert r.status_code == 422 and "time zone" in r.json()["detail"]
    bad = {**BODY, "coordinates": {"latitude": "95", "longitude": "5"}}
    assert (await client.post("/api/v1/locations", json=bad)).status_code == 422
    missing = {k: v for k, v in BODY.items() if k != "city"}
    r = await client.post("/api/v1/locations", json=missing)
    assert r.status_code == 422 and "city" in r.json()["detail"]
    # A tariff_id naming no tariff fits the schema: a conflict with the stored state (409).
    r = await client.post("/api/v1/locations", json={**BODY, "tariff_id": "nope"})
    assert r.status_code == 409 and "nope" in r.json()["detail"]


async def test_station_assignment_and_metadata(
    client: httpx.AsyncClient, api_services: Services
) -> None:
    await client.post("/api/v1/locations", json={**BODY, "id": "L1"})
    with api_services.bus.subscribe(LocationChanged) as events:
        assert (await client.post("/api/v1/stations", json={"id": "CP1"})).status_code == 201
        r = await client.patch("/api/v1/stations/CP1", json={"location_id": "L1"})
        assert r.json()["location_id"] == "L1"
        event = await events.get()
        assert isinstance(event, LocationChanged)
        assert (event.location_id, event.station_id) == ("L1", "CP1")
        r = await client.patch(
            "/api/v1/stations/CP1/evses/1/connectors/2",
            json={
                "standard": "IEC_62196_T2_COMBO",
                "format": "CABLE",
                "power_type": "DC",
                "max_voltage": 920,
                "max_amperage": 200,
                "max_electric_power": 150000,
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["power_type"] == "DC" and r.json()["max_electric_power"] == 150000
        r = await client.patch(
            "/api/v1/stations/CP1/evses/1", json={"capabilities": ["RESERVABLE"]}
        )
        assert r.json()["capabilities"] == ["RESERVABLE"]
    location = (await client.get("/api/v1/locations/L1")).json()
    assert location["station_ids"] == ["CP1"]
    r = await client.patch("/api/v1/stations/CP1/evses/1", json={"capabilities": ["FLYING"]})
    assert r.status_code == 422
    r = await client.patch("/api/v1/stations/NOPE/evses/1", json={"floor_level": "1"})
    assert r.status_code == 404
    # Deleting the location leaves the station without one.
    await client.delete("/api/v1/locations/L1")
    assert (await client.get("/api/v1/stations/CP1")).json()["location_id"] is None
