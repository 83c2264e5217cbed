"""Fixtures: a Kilowatt node (OCPP + HTTP on loopback) with OCPI configured, a fake eMSP on
loopback, and OCPP 1.6 / 2.0.1 stations whose answers the test controls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from kilowatt.app import Kilowatt
from kilowatt.config import Settings
from kilowatt.ocpp import v16, v201
from kilowatt.roaming import Roaming
from kilowatt.transport import StationClient, on
from tests.ocpi.servers import FakeEmsp, Server, auth, free_port

API_KEY = "bridge-test-key-0123456789"


class Station16(StationClient):
    """A 1.6 charge point; ``mode``: ``accept``, ``reject`` or ``silent`` (never answers)."""

    mode = "accept"

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.received: list[Any] = []
        self.got = asyncio.Event()

    async def _answer(self, request: Any, accepted: Any, rejected: Any) -> Any:
        self.received.append(request)
        self.got.set()
        if self.mode == "silent":
            await asyncio.Event().wait()
        return accepted if self.mode == "accept" else rejected

    @on(v16.RemoteStartTransactionRequest)
    async def remote_start(self, request: Any) -> Any:
        s = v16.RemoteStartTransactionStatus
        return await self._answer(
            request,
            v16.RemoteStartTransactionResponse(status=s.ACCEPTED),
            v16.RemoteStartTransactionResponse(status=s.REJECTED),
        )

    @on(v16.RemoteStopTransactionRequest)
    async def remote_stop(self, request: Any) -> Any:
        s = v16.RemoteStopTransactionStatus
        return await self._answer(
            request,
            v16.RemoteStopTransactionResponse(status=s.ACCEPTED),
            v16.RemoteStopTransactionResponse(status=s.REJECTED),
        )

    @on(v16.UnlockConnectorRequest)
    async def unlock(self, request: Any) -> Any:
        s = v16.UnlockConnectorStatus
        return await self._answer(
            request,
            v16.UnlockConnectorResponse(status=s.UNLOCKED),
            v16.UnlockConnectorResponse(status=s.UNLOCK_FAILED),
        )

    @on(v16.ReserveNowRequest)
    async def reserve(self, request: Any) -> Any:
        s = v16.ReserveNowStatus
        return await self._answer(
            request,
            v16.ReserveNowResponse(status=s.ACCEPTED),
            v16.ReserveNowResponse(status=s.REJECTED),
        )

    @on(v16.CancelReservationRequest)
    async def cancel(self, request: Any) -> Any:
        s = v16.CancelReservationStatus
        return await self._answer(
            request,
            v16.CancelReservationResponse(status=s.ACCEPTED),
            v16.CancelReservationResponse(status=s.REJECTED),
        )


class Station201(StationClient):
    """A 2.0.1 charging station accepting remote start/stop."""

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.received: list[Any] = []
        self.got = asyncio.Event()

    @on("RequestStartTransaction")
    def request_start(self, request: Any) -> Any:
        self.received.append(request)
        self.got.set()
        return v201.RequestStartTransactionResponse(status=v201.RequestStartStopStatus("Accepted"))

    @on("RequestStopTransaction")
    def request_stop(self, request: Any) -> Any:
        self.received.append(request)
        self.got.set()
        return v201.RequestStopTransactionResponse(status=v201.RequestStartStopStatus("Accepted"))


async def until(check: Callable[[], Any], *, rounds: int = 3000) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy; yields between tries."""
    for _ in range(rounds):
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


@dataclass
class Cpo:
    node: Kilowatt
    handle: Roaming
    url: str
    api: httpx.AsyncClient

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.node.ocpp_port}/ocpp"


@dataclass
class Emsp:
    fake: FakeEmsp
    server: Server

    async def restart(self) -> None:
        self.server = Server(self.fake.app(), self.server.port)
        await self.server.start()


CpoFactory = Callable[..., Awaitable[Cpo]]


@pytest.fixture(params=["2.2.1", "2.3.0"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_cpo(tmp_path: Path, database_url: str) -> AsyncIterator[CpoFactory]:
    started: list[Cpo] = []

    async def factory(**ocpi_options: Any) -> Cpo:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        options: dict[str, Any] = {"max_limit": 2, "retry_base": 0.05, "retry_max": 0.2}
        options.update(ocpi_options)
        settings = Settings(
            host="127.0.0.1",
            ocpp_port=0,
            http_port=port,
            data_dir=tmp_path / f"data{len(started)}",
            database_url=database_url,
            api_key=API_KEY,
            ocpi_country_code="NL",
            ocpi_party_id="KWT",
            public_url=url,
            call_timeout=5,
            extra={"ocpi": options},
        )
        # The node builds OCPI itself (our party is configured), with the [ocpi] options
        # above. A second OCPI layer here used to run two outbox workers and two event pumps
        # on one database: pushes and CommandResults were sometimes sent twice.
        node = Kilowatt(settings)
        await node.start()
        assert node.roaming is not None
        api = httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"})
        cpo = Cpo(node, node.roaming, url, api)
        started.append(cpo)
        return cpo

    yield factory
    for cpo in started:
        await cpo.api.aclose()
        await cpo.node.stop()


@pytest.fixture
async def cpo(make_cpo: CpoFactory) -> Cpo:
    return await make_cpo()


@pytest.fixture
async def emsp(version: str) -> AsyncIterator[Emsp]:
    fake = FakeEmsp(version)
    server = Server(fake.app())
    fake.base = server.url
    await server.start()
    e = Emsp(fake, server)
    yield e
    await e.server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def register(cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient) -> str:
    """Operator creates the partner (API), the eMSP registers with token A; returns token C."""
    r = await cpo.api.post("/api/v1/ocpi/partners", json={"name": "Fake eMSP"})
    assert r.status_code == 201, r.text
    token_a, versions_url = r.json()["token_a"], r.json()["versions_url"]
    versions = (await http.get(versions_url, headers=auth(token_a))).json()["data"]
    chosen = next(v for v in versions if v["version"] == emsp.fake.version)
    details = (await http.get(chosen["url"], headers=auth(token_a))).json()["data"]
    creds_url = next(e["url"] for e in details["endpoints"] if e["identifier"] == "credentials")
    emsp.fake.accepted_tokens = {"emsp-B-token"}
    r = await http.post(
        creds_url, json=emsp.fake.credentials("emsp-B-token"), headers=auth(token_a)
    )
    assert r.status_code == 200 and r.json()["status_code"] == 1000, r.text
    assert (await http.get(versions_url, headers=auth(token_a))).status_code == 401
    return str(r.json()["data"]["token"])
