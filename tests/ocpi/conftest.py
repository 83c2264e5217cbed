"""Fixtures: a Kilowatt CPO (create_ocpi_app on a real server) and a fake eMSP, per version."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from kilowatt.ocpi.app import create_ocpi_app
from kilowatt.ocpi.cpo import Ocpi
from kilowatt.ocpi.memory import InMemoryBackend
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    Capability,
    ConnectorFormat,
    GeoLocation,
    PowerType,
    PriceComponent,
    Status,
    TariffDimensionType,
    TariffElement,
)
from kilowatt.ocpi.store import OcpiStore

from .servers import FakeClock, FakeEmsp, Server, SimulatedStation, auth, free_port

CC, PID = "NL", "KWT"


def seed(backend: InMemoryBackend, clock: FakeClock) -> None:
    """Five locations (one with two EVSEs), three tariffs; last_updated one minute apart."""
    base = clock.now - timedelta(hours=1)
    for i in range(3):
        backend.tariffs[f"T{i}"] = v230.Tariff(
            country_code=CC,
            party_id=PID,
            id=f"T{i}",
            currency="EUR",
            elements=[
                TariffElement(
                    price_components=[
                        PriceComponent(
                            type=TariffDimensionType.FLAT,
                            price=Decimal("0.50"),
                            vat=Decimal(20),
                            step_size=0,
                        )
                    ]
                ),
                TariffElement(
                    price_components=[
                        PriceComponent(
                            type=TariffDimensionType.ENERGY,
                            price=Decimal("0.30"),
                            vat=Decimal(20),
                            step_size=1,
                        ),
                        PriceComponent(
                            type=TariffDimensionType.TIME,
                            price=Decimal("2.00"),
                            vat=Decimal(20),
                            step_size=60,
                        ),
                        PriceComponent(
                            type=TariffDimensionType.PARKING_TIME,
                            price=Decimal("1.00"),
                            vat=Decimal(20),
                            step_size=300,
                        ),
                    ]
                ),
            ],
            tax_included=v230.TaxIncluded.NO,
            last_updated=base + timedelta(minutes=i),
        )
    for i in range(5):
        when = base + timedelta(minutes=10 + i)
        evses = [
            v230.EVSE(
                uid=f"L{i}-E{j}",
                evse_id=f"NL*KWT*E{i}{j}",
                status=Status.AVAILABLE,
                capabilities=[Capability.REMOTE_START_STOP_CAPABLE, Capability.RFID_READER],
                connectors=[
                    v230.Connector(
                        id="1",
                        standard="IEC_62196_T2",
                        format=ConnectorFormat.SOCKET,
                        power_type=PowerType.AC_3_PHASE,
                        max_voltage=400,
                        max_amperage=32,
                        max_electric_power=22000,
                        tariff_ids=["T0"],
                        capabilities=[v230.ConnectorCapability.ISO_15118_2_PLUG_AND_CHARGE],
                        last_updated=when,
                    )
                ],
                last_updated=when,
            )
            for j in range(2 if i == 0 else 1)
        ]
        backend.locations[f"L{i}"] = v230.Location(
            country_code=CC,
            party_id=PID,
            id=f"L{i}",
            publish=True,
            name=f"Site {i}",
            address=f"Street {i}",
            city="Utrecht",
            postal_code="3511",
            country="NLD",
            coordinates=GeoLocation(latitude="52.09", longitude="5.12"),
            evses=evses,
            time_zone="Europe/Amsterdam",
            help_phone="+31000000000",
            last_updated=when,
        )


@dataclass
class Cpo:
    url: str
    ocpi: Ocpi
    backend: InMemoryBackend
    station: SimulatedStation
    clock: FakeClock
    server: Server
    engine: AsyncEngine


@dataclass
class Emsp:
    fake: FakeEmsp
    server: Server
    url: str
    versions_url: str

    async def restart(self) -> None:
        self.server = Server(self.fake.app(), self.server.port)
        await self.server.start()


CpoFactory = Callable[..., Awaitable[Cpo]]


@pytest.fixture(params=["2.2.1", "2.3.0"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_cpo(tmp_path: Path) -> AsyncIterator[CpoFactory]:
    started: list[Cpo] = []

    async def factory(
        *,
        mode: str = "accept",
        clock: FakeClock | None = None,
        db: str = "ocpi.db",
        backend: InMemoryBackend | None = None,
        **settings: Any,
    ) -> Cpo:
        clock = clock or FakeClock()
        if backend is None:
            backend = InMemoryBackend(clock)
            seed(backend, clock)
        station = SimulatedStation(mode)
        port = free_port()
        settings.setdefault("max_limit", 3)
        # The caller owns the storage: the app gets a store over our engine.
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / db}")
        app = create_ocpi_app(
            backend=backend,
            store=OcpiStore(engine),
            executor=station,
            country_code=CC,
            party_id=PID,
            public_url=f"http://127.0.0.1:{port}",
            run_worker=False,
            clock=clock,
            **settings,
        )
        server = await Server(app, port).start()
        cpo = Cpo(server.url, app.state.ocpi, backend, station, clock, server, engine)
        started.append(cpo)
        return cpo

    yield factory
    for cpo in started:
        cpo.station.close()
        await cpo.server.stop()
        await cpo.engine.dispose()


@pytest.fixture
async def cpo(make_cpo: CpoFactory) -> Cpo:
    return await make_cpo()


@pytest.fixture
async def emsp(version: str) -> AsyncIterator[Emsp]:
    fake = FakeEmsp(version)
    server = Server(fake.app())
    fake.base = server.url
    await server.start()
    e = Emsp(fake, server, server.url, f"{server.url}/emsp/versions")
    yield e
    await e.server.stop()


async def register(cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient) -> str:
    """The eMSP-initiated handshake; returns token C (what the eMSP uses to call us)."""
    _, token_a, versions_url = await cpo.ocpi.create_partner("Fake eMSP")
    r = await http.get(versions_url, headers=auth(token_a))
    assert r.status_code == 200, r.text
    chosen = next(v for v in r.json()["data"] if v["version"] == emsp.fake.version)
    details = (await http.get(chosen["url"], headers=auth(token_a))).json()["data"]
    creds_url = next(e["url"] for e in details["endpoints"] if e["identifier"] == "credentials")
    token_b = "emsp-B-token"
    emsp.fake.accepted_tokens = {token_b}
    r = await http.post(creds_url, json=emsp.fake.credentials(token_b), headers=auth(token_a))
    body = r.json()
    assert r.status_code == 200 and body["status_code"] == 1000, body
    return str(body["data"]["token"])


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
