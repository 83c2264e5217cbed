"""No secret in clear anywhere ``kilowatt serve`` writes (issue 12 item 6).

One node at ``--log-level debug`` with OCPI on. A station with a Basic-auth password
connects (an ``ocpp``-package 1.6 charger); the operator rotates its password with a raw
ChangeConfiguration ``AuthorizationKey`` and the station's record, reads it back with
GetConfiguration, and the station reconnects with the new one. An OCPI partner is registered
through the operator API with a real eMSP over HTTP. Then neither password (nor the base64 of
its Basic-auth header), nor a credentials token we issued, nor the partner's tokens may appear
in the server's stderr, the journal, the configuration or events API answers; and neither
password nor a token we issued in any file of the data directory (SQLite database and WAL,
journal file). The partner's token to us is stored (we must send it back) but never shown.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.ocpi.servers import FakeEmsp, Server

from .chargers import Driver, charger
from .conftest import ServerFactory
from .support import API_KEY, Api, KilowattServer, unique

PASSWORD = "first-station-password-0001"
ROTATED = "rotated-station-password-0002"
EMSP_TOKEN_A = "emsp-token-A-d41d8cd98f00b204e980"


@pytest.fixture(scope="module")
def backend() -> str:
    """SQLite only: the test reads the database files themselves."""
    return "sqlite"


@pytest.fixture(scope="module")
def debug_server(server_factory: ServerFactory) -> KilowattServer:
    # The key in the environment, not on the command line the harness writes into server.log.
    return server_factory.start(
        "--log-level",
        "debug",
        "--ocpi-country-code",
        "NL",
        "--ocpi-party-id",
        "KWT",
        env={"KILOWATT_API_KEY": API_KEY},
        api_key_flag=False,
    )


@pytest.fixture
async def emsp() -> AsyncIterator[FakeEmsp]:
    fake = FakeEmsp("2.2.1")
    server = Server(fake.app())
    fake.base = server.url
    await server.start()
    yield fake
    await server.stop()


def _forms(identity: str, secret: str) -> list[str]:
    """A secret as it could leak: clear, and inside a Basic or Token Authorization header."""
    return [
        secret,
        base64.b64encode(f"{identity}:{secret}".encode()).decode(),
        base64.b64encode(secret.encode()).decode(),
    ]


def _data_dir_bytes(data_dir: Path) -> bytes:
    """Every file under the data directory, server.log excluded (checked on its own)."""
    return b"".join(
        p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file() and p.suffix != ".log"
    )


async def test_rotated_password_and_ocpi_tokens_never_in_clear(
    debug_server: KilowattServer, emsp: FakeEmsp
) -> None:
    server = debug_server
    identity = unique("SEC")
    shown: list[Any] = []  # every API answer that might carry a secret
    async with Api(server.api_url, API_KEY) as api:
        await api.json(
            "POST",
            "/stations",
            expect=201,
            json={"id": identity, "security_profile": 1, "password": PASSWORD},
        )
        async with charger(server, identity, "1.6", password=PASSWORD) as cp:
            cp.config["AuthorizationKey"] = (PASSWORD, False)
            await Driver(cp, "1.6").boot()
            answer = await api.json(
                "POST",
                f"/stations/{identity}/calls/ChangeConfiguration",
                json={"key": "AuthorizationKey", "value": ROTATED},
            )
            assert answer == {"status": "Accepted"}
            assert cp.config["AuthorizationKey"][0] == ROTATED  # the station did get it
            await api.json("PATCH", f"/stations/{identity}", json={"password": ROTATED})
            # A station that (wrongly) reports the write-only key: stored masked.
            await api.json(
                "POST",
                f"/stations/{identity}/calls/GetConfiguration",
                json={"key": ["AuthorizationKey", "HeartbeatInterval"]},
            )
            configuration = await api.json("GET", f"/stations/{identity}/configuration")
            by_key = {item["key"]: item["value"] for item in configuration["items"]}
            assert by_key["HeartbeatInterval"] == "300"
            assert by_key["AuthorizationKey"] == "********"
            shown.append(configuration)
        async with charger(server, identity, "1.6", password=ROTATED) as cp:
            await Driver(cp, "1.6").boot()
        shown.append(await api.messages(identity))
        shown.append(await api.items(f"/stations/{identity}/events"))
        shown.append(await api.station(identity))

        emsp.accepted_tokens = {EMSP_TOKEN_A}
        created = await api.json("POST", "/ocpi/partners", expect=201, json={"name": "eMSP"})
        token_a = created["token_a"]  # handed over once, out of band: by design
        registered = await api.json(
            "POST",
            f"/ocpi/partners/{created['id']}/register",
            json={"versions_url": f"{emsp.base}/emsp/versions", "token": EMSP_TOKEN_A},
        )
        assert registered["state"] == "REGISTERED"
        shown.append(registered)
        token_c = emsp.cpo_token  # our token, in the Credentials we POSTed to the eMSP
        their_token = emsp.their_token_for_cpo
        assert token_c and their_token
    assert server.stop() == 0  # SIGTERM: the WAL is checkpointed, the log complete

    log = server.log_path.read_text(encoding="utf-8", errors="replace")
    assert "level=DEBUG" in log and identity in log  # the log did see the traffic
    assert "Authorization: Basic ********" in log  # websockets' handshake header, redacted
    answers = repr(shown)
    files = _data_dir_bytes(server.data_dir)
    for secret in [PASSWORD, ROTATED]:
        for form in _forms(identity, secret):
            assert form not in log
            assert form not in answers
            assert form.encode() not in files
    for token in [token_a, token_c, their_token, EMSP_TOKEN_A, API_KEY]:
        for form in _forms(identity, token)[::2]:
            assert form not in log
            assert form not in answers
    for token in [token_a, token_c]:  # only their SHA-256 is stored
        assert token.encode() not in files
