"""The server's opening handshake over real sockets: subprotocols, identity, auth hook, TLS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import (
    HandshakeRequest,
    OcppServer,
    StationPeer,
    basic_auth_header,
    certificate_common_name,
    serve_ocpp,
)

# Every test runs with the fast paths on and off (the plain paths must behave the same).
pytestmark = pytest.mark.usefixtures("fast_paths")

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21


class Recorder:
    """An auth hook that records what it saw and answers a fixed result."""

    def __init__(self, result: Any = None) -> None:
        self.result = result
        self.seen: list[HandshakeRequest] = []

    async def __call__(self, request: HandshakeRequest) -> Any:
        self.seen.append(request)
        return self.result


@pytest.fixture
async def server() -> AsyncIterator[OcppServer[StationPeer]]:
    async with serve_ocpp(StationPeer, "127.0.0.1", 0, versions=[V16, V201]) as srv:
        yield srv


def url(srv: OcppServer[Any], path: str = "/ocpp/CP-1", scheme: str = "ws") -> str:
    return f"{scheme}://127.0.0.1:{srv.port}{path}"


async def wait_for_station(srv: OcppServer[Any], identity: str) -> None:
    async with asyncio.timeout(10):  # safety net only
        while identity not in srv.connections:
            await asyncio.sleep(0.005)


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        (["ocpp2.0.1", "ocpp1.6"], "ocpp2.0.1"),
        (["ocpp1.6", "ocpp2.0.1"], "ocpp1.6"),
        (["ocpp2.1", "ocpp1.6"], "ocpp1.6"),  # 2.1 not enabled on this server
    ],
)
async def test_server_picks_the_clients_first_supported_subprotocol(
    server: OcppServer[StationPeer], offered: list[str], expected: str
) -> None:
    async with connect(url(server), subprotocols=offered) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == expected
        await wait_for_station(server, "CP-1")
        assert server.connections["CP-1"].version.subprotocol == expected
        assert isinstance(server.peers["CP-1"], StationPeer)


async def test_no_common_subprotocol_completes_the_handshake_then_closes_1002(
    server: OcppServer[StationPeer],
) -> None:
    async with connect(url(server), subprotocols=["ocpp2.1", "chat"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol is None
        assert ws.response is not None
        assert "Sec-WebSocket-Protocol" not in ws.response.headers
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1002
    assert server.connections == {}


async def test_identity_is_percent_decoded(server: OcppServer[StationPeer]) -> None:
    async with connect(url(server, "/ocpp/CP%201%2FA"), subprotocols=["ocpp1.6"]):  # type: ignore[list-item]
        await wait_for_station(server, "CP 1/A")
        assert server.get("CP 1/A") is not None


@pytest.mark.parametrize(
    ("path", "status"),
    [("/ocpp/", 400), ("/", 400), ("/ocpp/a%3Ab", 400), ("/ocpp/" + "x" * 49, 400)],
)
async def test_bad_identity_is_rejected_before_the_upgrade(
    server: OcppServer[StationPeer], path: str, status: int
) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url(server, path), subprotocols=["ocpp2.0.1"]):  # type: ignore[list-item]
            pass
    assert info.value.response.status_code == status


async def test_identity_rules_of_2x_do_not_apply_to_16(server: OcppServer[StationPeer]) -> None:
    async with connect(url(server, "/ocpp/a%3Ab"), subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "ocpp1.6"


async def test_auth_hook_receives_identity_password_and_path() -> None:
    hook = Recorder(None)
    async with serve_ocpp(StationPeer, "127.0.0.1", 0, versions=[V201], auth=hook) as srv:
        headers = {"Authorization": basic_auth_header("CP 7", "s3cret:with-colon-0123")}
        async with connect(
            url(srv, "/csms/CP%207?x=1"),
            subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
            additional_headers=headers,
        ) as ws:
            assert ws.subprotocol == "ocpp2.0.1"
            await wait_for_station(srv, "CP 7")
            handshake = srv.connections["CP 7"].handshake
    (seen,) = hook.seen
    assert seen is handshake
    assert seen.identity == "CP 7"
    assert seen.username == "CP 7" and seen.password == "s3cret:with-colon-0123"
    assert seen.path == "/csms/CP%207?x=1"
    assert seen.version is V201
    assert seen.certificate is None and not seen.tls


@pytest.mark.parametrize(("result", "status"), [(False, 401), (401, 401), (404, 404), (403, 403)])
async def test_auth_hook_rejects_with_an_http_status(result: Any, status: int) -> None:
    async with serve_ocpp(StationPeer, "127.0.0.1", 0, auth=Recorder(result)) as srv:
        with pytest.raises(InvalidStatus) as info:
            async with connect(url(srv), subprotocols=["ocpp1.6"]):  # type: ignore[list-item]
                pass
    response = info.value.response
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    else:
        assert "WWW-Authenticate" not in response.headers


async def test_basic_auth_user_must_equal_identity() -> None:
    hook = Recorder(None)
    async with serve_ocpp(StationPeer, "127.0.0.1", 0, auth=hook) as srv:
        headers = {"Authorization": basic_auth_header("someone-else", "0123456789abcdef")}
        with pytest.raises(InvalidStatus) as info:
            async with connect(
                url(srv),
                subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                additional_headers=headers,
            ):
                pass
    assert info.value.response.status_code == 401
    assert hook.seen == []  # rejected before the hook


async def test_tls_server_certificate_with_basic_auth(pki: Any) -> None:
    async def auth(request: HandshakeRequest) -> int | None:
        return None if request.password == "0123456789abcdef" and request.tls else 401

    async with serve_ocpp(StationPeer, "127.0.0.1", 0, auth=auth, ssl=pki.server_context()) as srv:
        headers = {"Authorization": basic_auth_header("CP-1", "0123456789abcdef")}
        async with connect(
            url(srv, scheme="wss"),
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=headers,
            ssl=pki.client_context(),
        ) as ws:
            assert ws.subprotocol == "ocpp1.6"
        with pytest.raises(InvalidStatus):
            async with connect(
                url(srv, scheme="wss"),
                subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                ssl=pki.client_context(),
            ):
                pass


async def test_mutual_tls_passes_the_client_certificate_to_the_hook(pki: Any) -> None:
    hook = Recorder(None)
    context = pki.server_context(require_client_cert=True)
    async with (
        serve_ocpp(StationPeer, "127.0.0.1", 0, auth=hook, ssl=context) as srv,
        connect(
            url(srv, "/ocpp/CP-TLS", scheme="wss"),
            subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
            ssl=pki.client_context(with_cert=True),
        ) as ws,
    ):
        assert ws.subprotocol == "ocpp2.0.1"
    (seen,) = hook.seen
    assert seen.tls and seen.certificate is not None
    assert certificate_common_name(seen.certificate) == seen.identity == "CP-TLS"


async def test_permessage_deflate_is_negotiated(server: OcppServer[StationPeer]) -> None:
    async with connect(url(server), subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        assert ws.response is not None
        assert "permessage-deflate" in ws.response.headers.get("Sec-WebSocket-Extensions", "")


async def test_reconnecting_station_replaces_its_previous_connection(
    server: OcppServer[StationPeer],
) -> None:

    async with connect(url(server), subprotocols=["ocpp1.6"]) as first:  # type: ignore[list-item]
        await wait_for_station(server, "CP-1")
        old = server.connections["CP-1"]
        async with connect(url(server), subprotocols=["ocpp1.6"]):  # type: ignore[list-item]
            with pytest.raises(ConnectionClosed):
                await first.recv()
            assert first.close_code == 1000
            await old.wait_closed()
            await wait_for_station(server, "CP-1")
            assert server.connections["CP-1"] is not old
