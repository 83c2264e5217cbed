"""Security: registration ``known`` (404 at the handshake), security profile 1 (Basic auth,
401 on a wrong or missing password), profile 2 over TLS with a test certificate, and the
operator API key (401 without or with a wrong key; a generated key stored in the data dir)."""

from __future__ import annotations

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .chargers import Driver, charger
from .conftest import ServerFactory
from .support import API_KEY, Api, KilowattServer, basic_auth, boot_raw, raw_station, unique

PASSWORD = "correct-horse-battery-staple"


async def handshake_status(
    server: KilowattServer, identity: str, password: str | None = None, path: str = "ocpp"
) -> int:
    """The HTTP status of the WebSocket handshake (101 when upgraded)."""
    headers = basic_auth(identity, password) if password is not None else None
    try:
        async with connect(
            server.ocpp_url(identity, path),
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=headers,
            ssl=server.client_ssl(),
        ):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


@pytest.fixture(scope="module")
def known_server(server_factory: ServerFactory) -> KilowattServer:
    """Registration ``known`` and the API key, both from environment variables."""
    return server_factory.start(
        env={"KILOWATT_REGISTRATION": "known", "KILOWATT_API_KEY": API_KEY},
        api_key_flag=False,
    )


async def test_api_key_required(known_server: KilowattServer) -> None:
    async with httpx.AsyncClient(base_url=known_server.api_url) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}):
            for path in ("/stations", "/transactions", "/id-tokens", "/stations/X/messages"):
                response = await http.get(path, headers=headers)
                assert response.status_code == 401, (path, headers, response.text)
        response = await http.put(
            "/id-tokens/T1", json={"status": "Accepted"}, headers={"Authorization": "Bearer x"}
        )
        assert response.status_code == 401
        response = await http.get("/stations", headers={"Authorization": f"Bearer {API_KEY}"})
        assert response.status_code == 200, response.text


async def test_registration_known_and_profile_1(known_server: KilowattServer) -> None:
    unknown, open_id, secured = unique("UNREG"), unique("REG0"), unique("REG1")
    assert await handshake_status(known_server, unknown) == 404
    async with Api(known_server.api_url, API_KEY) as api:
        # The refused identity was not registered by the attempt.
        await api.json("GET", f"/stations/{unknown}", expect=404)

        await api.json("POST", "/stations", expect=201, json={"id": open_id})
        await api.json(
            "POST",
            "/stations",
            expect=201,
            json={"id": secured, "security_profile": 1, "password": PASSWORD},
        )
        station = await api.station(secured)
        assert station["security_profile"] == 1 and station["has_password"] is True
        assert "password" not in station and PASSWORD not in str(station)
        await api.json("POST", "/stations", expect=409, json={"id": secured})
        response = await api.request(
            "POST",
            "/stations",
            json={"id": unique("S"), "security_profile": 1, "password": "short"},
        )
        assert response.status_code == 422, response.text

        assert await handshake_status(known_server, open_id, path="any/deep/path") == 101
        assert await handshake_status(known_server, secured) == 401
        assert await handshake_status(known_server, secured, "wrong-password-000000") == 401
        assert await handshake_status(known_server, secured, PASSWORD) == 101

        async with charger(known_server, secured, "1.6", password=PASSWORD) as cp:
            await Driver(cp, "1.6").boot()
            assert (await api.station(secured))["connected"] is True

        # Changing the password takes effect at the next handshake.
        new_password = "another-password-1234567"
        await api.json("PATCH", f"/stations/{secured}", json={"password": new_password})
        assert await handshake_status(known_server, secured, PASSWORD) == 401
        assert await handshake_status(known_server, secured, new_password) == 101

        await api.json("DELETE", f"/stations/{open_id}", expect=204)
        assert await handshake_status(known_server, open_id) == 404


async def test_profile_2_over_tls(server_factory: ServerFactory) -> None:
    server = server_factory.start(tls=True)
    identity = unique("TLS")
    async with Api(server.api_url, API_KEY) as api:
        await api.json(
            "POST",
            "/stations",
            expect=201,
            json={"id": identity, "security_profile": 2, "password": PASSWORD},
        )
        assert await handshake_status(server, identity) == 401
        assert await handshake_status(server, identity, "wrong-password-000000") == 401
        async with raw_station(server, identity, "ocpp2.0.1", password=PASSWORD) as st:
            await boot_raw(st, "ocpp2.0.1")
            station = await api.station(identity)
            assert station["connected"] is True and station["ocpp_version"] == "2.0.1"
        async with charger(server, identity, "1.6", password=PASSWORD) as cp:
            await Driver(cp, "1.6").boot()
            assert (await api.station(identity))["ocpp_version"] == "1.6"


async def test_generated_api_key(server_factory: ServerFactory) -> None:
    server = server_factory.start(api_key_flag=False)
    key_file = server.data_dir / "api_key"
    key = key_file.read_text().strip()
    assert len(key) >= 32
    assert key_file.stat().st_mode & 0o077 == 0, oct(key_file.stat().st_mode)
    assert key in server.log_tail(), "the generated key is printed once at first start"
    async with Api(server.api_url, key) as api:
        await api.json("GET", "/stations")
    async with Api(server.api_url, API_KEY) as api:
        assert (await api.request("GET", "/stations")).status_code == 401
    server.restart()
    async with Api(server.api_url, key) as api:
        await api.json("GET", "/stations")
    assert server.log_tail().count(key) == 1, "printed once, not at every start"


async def test_profile_2_station_is_not_downgraded_to_plain_ws(
    known_server: KilowattServer,
) -> None:
    """A station registered for TLS (profile 2) must not connect over ws://, even with the
    right password (never accept a downgrade of a station's profile)."""
    identity = unique("NODOWN")
    async with Api(known_server.api_url, API_KEY) as api:
        await api.json(
            "POST",
            "/stations",
            expect=201,
            json={"id": identity, "security_profile": 2, "password": PASSWORD},
        )
        response = await api.request(
            "POST",
            "/stations",
            json={"id": unique("LONG"), "security_profile": 1, "password": "x" * 41},
        )
        assert response.status_code == 422, response.text
    assert await handshake_status(known_server, identity, PASSWORD) == 401
