"""An auth hook's :class:`Refusal` becomes the HTTP answer before the upgrade, over a real socket:
its status, ``Retry-After`` and reason (the throttle's HTTP 429, issue 12 item 2)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from kilowatt.transport import HandshakeRequest, Refusal, StationPeer, serve_ocpp

pytestmark = pytest.mark.usefixtures("fast_paths")


@pytest.mark.parametrize(
    ("refusal", "retry_after"),
    [
        (Refusal(HTTPStatus.TOO_MANY_REQUESTS, retry_after=7, reason="slow down"), "7"),
        (Refusal(HTTPStatus.FORBIDDEN), None),
    ],
)
async def test_a_refusal_is_answered_with_its_status_and_retry_after(
    refusal: Refusal, retry_after: str | None
) -> None:
    seen: list[HandshakeRequest] = []

    async def hook(request: HandshakeRequest) -> Refusal:
        seen.append(request)
        return refusal

    async with serve_ocpp(StationPeer, "127.0.0.1", 0, auth=hook) as srv:
        with pytest.raises(InvalidStatus) as info:
            async with connect(
                f"ws://127.0.0.1:{srv.port}/ocpp/CP-1",
                subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            ):
                pass
        assert srv.connections == {}
    response = info.value.response
    assert response.status_code == refusal.status
    assert response.headers.get("Retry-After") == retry_after
    assert "WWW-Authenticate" not in response.headers
    (request,) = seen
    assert request.remote_host == "127.0.0.1"


def test_remote_host_without_a_socket_address() -> None:
    request = HandshakeRequest("CP-1", "/ocpp/CP-1", None, None, None, None, False, None, {})
    assert request.remote_host is None
    request.remote_address = ("::1", 9000, 0, 0)
    assert request.remote_host == "::1"
