"""Peer dispatch resolves ``(action, request type)`` once per class (``peer._target``) and
awaits a handler's result by type: these pin that the shortcuts dispatch exactly as before."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from kilowatt.ocpp import v16
from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.transport import CallContext, StationPeer, after, on

NOW = "2024-01-01T00:00:00Z"


class Plain(StationPeer):
    """Sync, async and awaitable-returning handlers; no @after hooks."""

    @on(v16.HeartbeatRequest)
    def heartbeat(self, request: Any) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time=NOW)

    @on("StatusNotification")
    async def status(self, request: Any, context: CallContext) -> v16.StatusNotificationResponse:
        assert context.action == "StatusNotification"
        return v16.StatusNotificationResponse()

    @on(v16.AuthorizeRequest)
    def authorize(self, request: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(
            v16.AuthorizeResponse(id_tag_info=v16.IdTagInfo(status=v16.IdTagInfoStatus.BLOCKED))
        )
        return future  # a plain function returning an awaitable: awaited too


class WithAfter(Plain):
    """Same handlers, plus an @after hook on Heartbeat."""

    @after(v16.HeartbeatRequest)
    def beat(self, request: Any) -> None:
        pass


def make(cls: type[Plain]) -> Plain:
    return cls(SimpleNamespace(identity="CP-1", handler=None))  # type: ignore[arg-type]


def context(peer: Plain, action: str, message_id: str = "1") -> CallContext:
    return CallContext(message_id, action, peer.connection)


STATUS = v16.StatusNotificationRequest(
    connector_id=1,
    error_code=v16.StatusNotificationErrorCode.NO_ERROR,
    status=v16.StatusNotificationStatus.AVAILABLE,
)


async def test_sync_async_and_awaitable_handlers_dispatch_repeatedly() -> None:
    peer = make(Plain)
    for _ in range(2):  # the second round comes from the per-class cache
        beat = await peer.handle_call(context(peer, "Heartbeat"), v16.HeartbeatRequest())
        assert beat == v16.HeartbeatResponse(current_time=NOW)
        status = await peer.handle_call(context(peer, "StatusNotification"), STATUS)
        assert status == v16.StatusNotificationResponse()
        auth = await peer.handle_call(context(peer, "Authorize"), v16.AuthorizeRequest(id_tag="T"))
        assert auth.id_tag_info.status is v16.IdTagInfoStatus.BLOCKED
        with pytest.raises(CallError) as info:
            await peer.handle_call(
                context(peer, "DataTransfer"), v16.DataTransferRequest(vendor_id="V")
            )
        assert info.value.code is ErrorCode.NOT_SUPPORTED


async def test_after_hooks_are_resolved_per_class() -> None:
    plain, hooked = make(Plain), make(WithAfter)
    for _ in range(2):
        assert not plain.has_after("Heartbeat", v16.HeartbeatRequest())
        assert hooked.has_after("Heartbeat", v16.HeartbeatRequest())
        assert not hooked.has_after("StatusNotification", STATUS)
    assert plain._targets is make(Plain)._targets  # one map per class, not per connection
    assert plain._targets is not hooked._targets


async def test_unhandled_send_is_ignored() -> None:
    peer = make(Plain)
    send = CallContext("1", "NotifyPeriodicEventStream", peer.connection, is_send=True)
    assert await peer.handle_call(send, object()) is None
