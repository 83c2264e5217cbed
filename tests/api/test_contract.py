"""Regression tests for what schemathesis found (issue 12 items 4 and 8).

Numbers out of storage range are 422 with an ``ErrorOut`` body, never a 500; every error body
fits the schema the OpenAPI document declares for it; statuses that can occur are declared.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from kilowatt.csms.limits import INT32_MAX, INT64_MAX

LOCATION = {
    "address": "Stationsplein 1",
    "city": "Utrecht",
    "country": "NLD",
    "coordinates": {"latitude": "52.0907", "longitude": "5.1214"},
    "time_zone": "Europe/Amsterdam",
}


def _error_body(response: httpx.Response) -> dict[str, Any]:
    """The body, checked against ErrorOut: ``detail`` text, ``errors`` only as a list."""
    body = response.json()
    assert isinstance(body, dict) and isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"detail", "errors"}
    for item in body.get("errors", []):
        assert set(item) == {"loc", "msg"} and isinstance(item["msg"], str)
        assert all(isinstance(part, str | int) for part in item["loc"])
    return body


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/stations?offset={2**63}",
        f"/api/v1/id-tokens?offset={INT32_MAX + 1}",
        f"/api/v1/transactions/{2**63}",
        f"/api/v1/transactions/{INT64_MAX + 1}/meter-values",
        "/api/v1/transactions/0",
    ],
)
async def test_out_of_range_integers_are_422(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)
    assert response.status_code == 422
    assert _error_body(response)["errors"]


async def test_out_of_range_body_and_path_integers(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/stations", json={"id": "CP1"})).status_code == 201
    big_evse = await client.patch(f"/api/v1/stations/CP1/evses/{INT32_MAX + 1}", json={})
    assert big_evse.status_code == 422
    connector = await client.patch(
        "/api/v1/stations/CP1/evses/1/connectors/1", json={"max_electric_power": INT32_MAX + 1}
    )
    assert connector.status_code == 422
    token = await client.put("/api/v1/id-tokens/T1", json={"max_concurrent_transactions": 2**63})
    assert token.status_code == 422
    command = await client.post(
        "/api/v1/stations/CP1/commands/unlock-connector", json={"evse_id": 2**40}
    )
    assert command.status_code == 422 and "evse_id" in _error_body(command)["detail"]
    stop = await client.post(
        "/api/v1/stations/CP1/commands/stop-transaction", json={"transaction_id": 2**63}
    )
    assert stop.status_code == 422 and "transaction_id" in _error_body(stop)["detail"]


async def test_booleans_are_not_integers_and_integers_not_booleans(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/stations", json={"id": "CP1"})
    r = await client.patch(
        "/api/v1/stations/CP1/evses/1/connectors/1", json={"max_electric_power": False}
    )
    assert r.status_code == 422
    r = await client.post("/api/v1/locations", json={**LOCATION, "publish": 0})
    assert r.status_code == 422


async def test_integral_float_is_an_integer(client: httpx.AsyncClient, gateway: Any) -> None:
    """JSON Schema counts ``1.0`` as an integer: a command with it is accepted."""
    await client.post("/api/v1/stations", json={"id": "CP1"})
    gateway.connected.add("CP1")
    r = await client.post("/api/v1/stations/CP1/commands/reset", json={"evse_id": 1.0})
    assert r.status_code == 200


async def test_huge_whole_float_stays_a_number(client: httpx.AsyncClient, gateway: Any) -> None:
    """``3.46e287`` is schema-valid for SetConfiguration ``value`` (any JSON value): accepted."""
    await client.post("/api/v1/stations", json={"id": "CP1"})
    gateway.connected.add("CP1")
    r = await client.post(
        "/api/v1/stations/CP1/commands/set-configuration",
        json={"key": "HeartbeatInterval", "value": 3.46e287},
    )
    # The API accepted the body and handed it on (this test gateway then declines the command).
    assert gateway.commands and gateway.commands[-1][1] == "set-configuration", r.text
    assert gateway.commands[-1][2]["value"] == 3.46e287
    for value in (6.6734473914215976e16, 2**40):
        # A number beyond 32 bits is still a JSON-schema ``number``: the value is any number.
        await client.post(
            "/api/v1/stations/CP1/commands/set-configuration",
            json={"key": "HeartbeatInterval", "value": value},
        )
        assert gateway.commands[-1][2]["value"] == value
    r = await client.post("/api/v1/stations/CP1/commands/reset", json={"evse_id": 1e20})
    assert r.status_code == 422 and _error_body(r)


async def test_positive_counts_say_so_in_the_schema(client: httpx.AsyncClient) -> None:
    """``max_concurrent_transactions`` 0 is refused, and the schema's minimum says 1."""
    r = await client.put("/api/v1/id-tokens/TAG1", json={"max_concurrent_transactions": 0})
    assert r.status_code == 422 and _error_body(r)["errors"]
    spec = (await client.get("/openapi.json")).json()
    text = json.dumps(spec["components"]["schemas"]["IdTokenPut"])
    assert '"minimum": 1' in text and '"minimum": 0' not in text


@pytest.mark.parametrize("value", [0, 1733220000, "1733220000", 1.5, True])
async def test_date_times_are_strings_not_unix_seconds(
    client: httpx.AsyncClient, value: Any
) -> None:
    """JSON Schema's ``date-time`` is a string; pydantic would read a number as Unix seconds."""
    r = await client.put("/api/v1/id-tokens/TAG1", json={"expiry": value})
    assert r.status_code == 422 and _error_body(r)["errors"]
    tariff = {
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "FLAT", "price": "1"}]}],
        "start_date_time": value,
    }
    r = await client.post("/api/v1/tariffs", json=tariff)
    assert r.status_code == 422 and _error_body(r)["errors"]
    ok = await client.put("/api/v1/id-tokens/TAG1", json={"expiry": "2027-01-01T00:00:00Z"})
    assert ok.status_code in (200, 201), ok.text


async def test_decimals_bounded(client: httpx.AsyncClient) -> None:
    long = {**LOCATION, "coordinates": {"latitude": "52.1234567", "longitude": "5"}}
    assert (await client.post("/api/v1/locations", json=long)).status_code == 422
    rounded = {**LOCATION, "coordinates": {"latitude": 52.12345678, "longitude": 5}}
    r = await client.post("/api/v1/locations", json=rounded)
    assert r.status_code == 201 and r.json()["coordinates"]["latitude"] == "52.123457"
    for price in ("1e5", "-1", "1000000000", 1e999):
        tariff = {
            "currency": "EUR",
            "elements": [{"price_components": [{"type": "FLAT", "price": price}]}],
        }
        r = await client.post("/api/v1/tariffs", content=_json(tariff))
        assert r.status_code == 422, price


def _json(value: Any) -> bytes:
    # allow_nan: json writes 1e999 as Infinity, which is not JSON; the server must refuse it.
    return json.dumps(value).encode()


async def test_required_and_non_null_fields_are_in_the_schema(
    client: httpx.AsyncClient,
) -> None:
    empty = await client.post("/api/v1/locations", json={})
    assert empty.status_code == 422
    named = {item["loc"][-1] for item in _error_body(empty)["errors"]}
    assert {"address", "city", "country", "coordinates", "time_zone"} <= named
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert set(schema["LocationCreate"]["required"]) >= {"address", "city", "time_zone"}
    created = await client.post("/api/v1/locations", json={**LOCATION, "id": "L1"})
    assert created.status_code == 201
    r = await client.patch("/api/v1/locations/L1", json={"address": None})
    assert r.status_code == 422
    r = await client.post("/api/v1/tariffs", json={})
    assert r.status_code == 422


async def test_profile_without_stored_password_is_a_conflict(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/stations", json={"id": "CP1"})
    r = await client.patch("/api/v1/stations/CP1", json={"security_profile": 1})
    assert r.status_code == 409 and "password" in _error_body(r)["detail"]
    created = await client.post("/api/v1/stations", json={"id": "CP2", "security_profile": 1})
    assert created.status_code == 422  # the schema's if/then says so


async def test_undecodable_body_is_a_documented_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/stations",
        content=b"\xff\xfe{",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    _error_body(r)
    operation = (await client.get("/openapi.json")).json()["paths"]["/api/v1/stations"]["post"]
    assert "400" in operation["responses"]


async def test_405_allow_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    r = await client.request("OPTIONS", "/api/v1/id-tokens/T1")
    assert r.status_code == 405
    assert set(r.headers["Allow"].split(", ")) == {"GET", "PUT", "DELETE"}


async def test_every_operation_documents_its_errors(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    error_ref = "#/components/schemas/ErrorOut"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code in ("401", "422"):
                content = responses[code]["content"]["application/json"]["schema"]
                assert content == {"$ref": error_ref}, (method, path, code)
            assert "WWW-Authenticate" in responses["401"]["headers"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_401_body_fits_error_schema(client: httpx.AsyncClient) -> None:
    del client.headers["Authorization"]
    r = await client.get("/api/v1/stations")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    _error_body(r)
