"""``/api/v1/tariffs`` (OCPI tariff shape), on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

TARIFF = {
    "id": "T1",
    "currency": "EUR",
    "tax_included": "NO",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": 0.3125, "vat": 21, "step_size": 1000},
                {"type": "TIME", "price": "1.50", "step_size": 60},
            ],
            "restrictions": {"start_time": "08:00", "end_time": "20:00", "day_of_week": ["MONDAY"]},
        },
        {"price_components": [{"type": "FLAT", "price": "0.50", "step_size": 0}]},
    ],
}


async def test_tariff_crud_default_and_exact_prices(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/tariffs", json={**TARIFF, "is_default": True})
    assert r.status_code == 201, r.text
    tariff = r.json()
    component = tariff["elements"][0]["price_components"][0]
    assert component["price"] == "0.3125" and component["vat"] == "21"  # exact decimals
    assert "vat" not in tariff["elements"][0]["price_components"][1]
    assert tariff["is_default"] is True
    r = await client.post("/api/v1/tariffs", json={**TARIFF, "id": "T2", "is_default": True})
    assert r.json()["is_default"] is True
    assert (await client.get("/api/v1/tariffs/T1")).json()["is_default"] is False
    page = (await client.get("/api/v1/tariffs")).json()
    assert page["total"] == 2 and [t["id"] for t in page["items"]] == ["T1", "T2"]
    r = await client.patch("/api/v1/tariffs/T1", json={"tax_included": "YES"})
    assert r.json()["tax_included"] == "YES"
    assert (await client.post("/api/v1/tariffs", json=TARIFF)).status_code == 409
    assert (await client.delete("/api/v1/tariffs/T1")).status_code == 204
    assert (await client.get("/api/v1/tariffs/T1")).status_code == 404


async def test_tariff_validation_and_location_fallback(client: httpx.AsyncClient) -> None:
    assert (
        await client.post("/api/v1/tariffs", json={**TARIFF, "elements": []})
    ).status_code == 422
    bad = {**TARIFF, "elements": [{"price_components": [{"type": "KWH", "price": 1}]}]}
    assert (await client.post("/api/v1/tariffs", json=bad)).status_code == 422
    assert (
        await client.post("/api/v1/tariffs", json={**TARIFF, "currency": "EURO"})
    ).status_code == 422
    assert (await client.post("/api/v1/tariffs", json={"id": "X"})).status_code == 422
    await client.post("/api/v1/tariffs", json=TARIFF)
    location = {
        "id": "L1",
        "address": "A",
        "city": "B",
        "country": "NLD",
        "coordinates": {"latitude": "52", "longitude": "5"},
        "time_zone": "UTC",
        "tariff_id": "T1",
    }
    assert (await client.post("/api/v1/locations", json=location)).json()["tariff_id"] == "T1"
    await client.delete("/api/v1/tariffs/T1")
    assert (await client.get("/api/v1/locations/L1")).json()["tariff_id"] is None
