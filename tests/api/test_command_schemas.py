"""The command routes' OpenAPI is generated from the typed command Structs
(:mod:`kilowatt.csms.commands`)."""

from __future__ import annotations

import httpx

from kilowatt.csms.commands import COMMANDS


async def test_each_command_has_a_route_documented_from_its_structs(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    for name in COMMANDS:
        operation = spec["paths"][f"/api/v1/stations/{{station_id}}/commands/{name}"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert body["type"] == "object" and "$ref" not in str(body), name
        assert answer["type"] == "object" and "$ref" not in str(answer), name
        assert {"404", "409", "422", "502", "504"} <= set(operation["responses"]), name
    reset = spec["paths"]["/api/v1/stations/{station_id}/commands/reset"]["post"]
    body = reset["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["type"]["default"] == "soft"
    config = spec["paths"]["/api/v1/stations/{station_id}/commands/get-configuration"]["post"]
    answer = config["responses"]["200"]["content"]["application/json"]["schema"]
    item = answer["properties"]["configuration"]["items"]
    assert item["required"] == ["key", "value", "readonly"]
    # Unknown names still reach the API (422 with the known names), without a documented route.
    assert "/api/v1/stations/{station_id}/commands/{name}" not in spec["paths"]
