"""The operator API shows every field of the domain types (issue 11, item 7).

A field added to a domain dataclass (``kilowatt.csms``) must reach the API: either the route
serialises the dataclass itself (id tokens, tariffs, transactions via ``transaction_json``) and
the documented response model must list the field, or the route builds its own dict
(locations) and must copy it. Each check fails with the name of the field that is missing.

Declared differences are listed here, each with its reason; nothing else may differ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from kilowatt.api import schemas
from kilowatt.csms.locations import LocationInfo
from kilowatt.csms.model import IdTokenInfo, MeterValueInfo, TransactionInfo
from kilowatt.csms.tariffs import TariffInfo

from .test_locations import BODY as LOCATION
from .test_tariffs import TARIFF


def _fields(domain: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(domain)]


def _compare(
    domain: type[Any],
    api_fields: set[str],
    where: str,
    *,
    renamed: Mapping[str, str] | None = None,
    api_only: Mapping[str, str] | None = None,
) -> None:
    """``renamed``: domain field → its API name; ``api_only``: API field → why it exists."""
    renamed = renamed or {}
    api_only = api_only or {}
    expected = {renamed.get(name, name) for name in _fields(domain)}
    for name in _fields(domain):
        shown = renamed.get(name, name)
        assert shown in api_fields, (
            f"{domain.__name__}.{name} is missing from {where}: add it there "
            f"(or declare a rename in tests/api/test_domain_fields.py)"
        )
    for name in sorted(api_fields - expected):
        assert name in api_only, (
            f"{where} has {name!r}, which {domain.__name__} does not have: add it to the "
            f"domain type or declare it as computed in tests/api/test_domain_fields.py"
        )


def _model_fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


@pytest.mark.parametrize(
    ("domain", "model", "api_only"),
    [
        (
            TransactionInfo,
            schemas.TransactionOut,
            {"duration_s": "computed: TransactionInfo.duration_s (a property)"},
        ),
        (IdTokenInfo, schemas.IdTokenOut, {}),
        (MeterValueInfo, schemas.MeterValueOut, {}),
    ],
    ids=["transactions", "id-tokens", "meter-values"],
)
def test_response_models_list_every_domain_field(
    domain: type[Any], model: type[BaseModel], api_only: dict[str, str]
) -> None:
    """The documented response model (OpenAPI) has exactly the domain fields."""
    _compare(domain, _model_fields(model), f"api.schemas.{model.__name__}", api_only=api_only)


async def test_location_json_has_every_domain_field(client: httpx.AsyncClient) -> None:
    """``/locations`` builds its own dict: every LocationInfo field is in it."""
    r = await client.post("/api/v1/locations", json={**LOCATION, "id": "L1"})
    assert r.status_code == 201, r.text
    for body in (r.json(), (await client.get("/api/v1/locations/L1")).json()):
        _compare(
            LocationInfo,
            set(body),
            "the JSON of /api/v1/locations (api.locations._out)",
            renamed={"latitude": "coordinates", "longitude": "coordinates"},
        )
    (item,) = (await client.get("/api/v1/locations")).json()["items"]
    assert set(item) == set(r.json())


async def test_tariff_json_has_every_domain_field(client: httpx.AsyncClient) -> None:
    """``/tariffs`` serialises TariffInfo itself: its JSON has exactly the domain fields."""
    r = await client.post("/api/v1/tariffs", json=TARIFF)
    assert r.status_code == 201, r.text
    for body in (r.json(), (await client.get("/api/v1/tariffs/T1")).json()):
        _compare(TariffInfo, set(body), "the JSON of /api/v1/tariffs")
