"""The write path of :class:`OcppConnection`: answers are written by the answering task itself
(no writer task per answer), so these tests pin what that must keep: frame order across
concurrent handlers, one writer at a time, @after hooks only once their answer was written,
queued CALLs and timeouts, and a connection that closes while an answer is being written.

Most tests drive the connection through a scripted in-memory websocket whose ``send`` can be
held, which makes "the writer is busy" a deterministic state rather than a race.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from websockets.asyncio.connection import Connection
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

from kilowatt.ocpp import v16
from kilowatt.ocpp.action import Initiator
from kilowatt.ocpp.errors import CallError, CallTimeout, ErrorCode
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import ConnectionClosed, OcppConnection, StationPeer, after, on

NOW = "2024-01-01T00:00:00Z"
SAFETY = 5  # s, a safety net only: every test finishes on events, not on time


class ScriptedWebSocket:
    """Just enough of a websockets ``Connection`` for :class:`OcppConnection`.

    ``feed`` delivers a received message; every frame sent is appended to ``sent``. While
    ``hold`` is clear, ``send`` blocks *before* recording the frame (as ``send`` does when flow
    control pauses writing), so a test can keep a writer busy.
    """

    remote_address = ("127.0.0.1", 1)

    def __init__(self) -> None:
        self.sent: list[list[Any]] = []
        self.sending = 0  # sends started (blocked ones included)
        self.hold = asyncio.Event()
        self.hold.set()
        self.fail_send: BaseException | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue()

    def feed(self, message: Any) -> None:
        self._inbox.put_nowait(message if isinstance(message, str) else json.dumps(message))

    async def send(self, frame: str) -> None:
        self.sending += 1
        await self.hold.wait()
        if self.fail_send is not None:
            raise self.fail_send
        self.sent.append(json.loads(frame))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.close_code, self.close_reason = code, reason
        self._inbox.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[str]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str]:
        while True:
            message = await self._inbox.get()
            if message is None:
                raise ConnectionClosedOK(None, None)
            yield message


class Csms(StationPeer):
    """Heartbeats wait on a per-message-id gate; StatusNotification has an @after hook."""

    def __init__(self, connection: OcppConnection) -> None:
        super().__init__(connection)
        self.gates: dict[str, asyncio.Event] = {}
        self.after_saw: list[int] = []  # frames already sent when each @after hook ran
        self.after_done = asyncio.Event()

    @on(v16.HeartbeatRequest)
    async def heartbeat(self, request: Any, context: Any) -> v16.HeartbeatResponse:
        gate = self.gates.get(context.message_id)
        if gate is not None:
            await gate.wait()
        return v16.HeartbeatResponse(current_time=NOW)

    @on(v16.AuthorizeRequest)
    def authorize(self, request: v16.AuthorizeRequest) -> v16.AuthorizeResponse:
        raise CallError(ErrorCode.SECURITY_ERROR, "blocked")

    @on(v16.StatusNotificationRequest)
    def status(self, request: Any) -> v16.StatusNotificationResponse:
        return v16.StatusNotificationResponse()

    @after(v16.StatusNotificationRequest)
    def status_answered(self, request: Any) -> None:
        ws = cast(ScriptedWebSocket, self.connection.websocket)
        self.after_saw.append(len(ws.sent))
        self.after_done.set()


STATUS = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}


async def open_csms() -> tuple[ScriptedWebSocket, Csms, asyncio.Task[None]]:
    ws = ScriptedWebSocket()
    connection = OcppConnection(
        cast(Connection, ws), OcppVersion.V16, local=Initiator.CSMS, identity="CP-1"
    )
    csms = Csms(connection)
    return ws, csms, connection.start()


async def settle(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0)


async def test_answers_go_out_in_the_order_the_handlers_finish() -> None:
    async with asyncio.timeout(SAFETY):
        ws, csms, runner = await open_csms()
        for mid in ("a", "b", "c"):
            csms.gates[mid] = asyncio.Event()
            ws.feed([2, mid, "Heartbeat", {}])
        await settle(lambda: len(csms.connection._tasks) == 3)
        for mid in ("c", "a", "b"):
            csms.gates[mid].set()
            await settle(lambda mid=mid: any(frame[1] == mid for frame in ws.sent))
        assert [frame[1] for frame in ws.sent] == ["c", "a", "b"]
        assert all(frame[0] == 3 for frame in ws.sent)
        await csms.close()
        await runner


async def test_answers_queue_behind_a_busy_writer_in_order() -> None:
    """While one answer is stuck in ``send`` (flow control), answers finishing meanwhile are
    written by that writer after it, in the order they finished; none is written twice."""
    async with asyncio.timeout(SAFETY):
        ws, csms, runner = await open_csms()
        for mid in ("a", "b", "c"):
            csms.gates[mid] = asyncio.Event()
            ws.feed([2, mid, "Heartbeat", {}])
        await settle(lambda: len(csms.connection._tasks) == 3)
        ws.hold.clear()
        csms.gates["a"].set()
        await settle(lambda: ws.sending == 1)  # "a" is being written and blocks
        csms.gates["c"].set()
        csms.gates["b"].set()
        await settle(lambda: len(csms.connection._tasks) == 1)  # c and b are done
        assert ws.sending == 1  # ... and left their frames to the busy writer
        ws.hold.set()
        await settle(lambda: len(ws.sent) == 3)
        assert [frame[1] for frame in ws.sent] == ["a", "c", "b"]
        assert ws.sending == 3
        await csms.close()
        await runner


async def test_after_hook_runs_once_its_answer_was_written() -> None:
    async with asyncio.timeout(SAFETY):
        ws, csms, runner = await open_csms()
        ws.feed([2, "s1", "StatusNotification", STATUS])
        await csms.after_done.wait()
        assert csms.after_saw == [1]  # the hook ran with our CALLRESULT already sent
        assert ws.sent == [[3, "s1", {}]]
        await csms.close()
        await runner


async def test_after_hook_waits_for_a_busy_writer() -> None:
    """The answer of an @after action is left to a writer stuck in ``send``: the hook must
    wait until that writer has written it, not run when the handler returns."""
    async with asyncio.timeout(SAFETY):
        ws, csms, runner = await open_csms()
        csms.gates["a"] = asyncio.Event()
        ws.feed([2, "a", "Heartbeat", {}])
        await settle(lambda: len(csms.connection._tasks) == 1)
        ws.hold.clear()
        csms.gates["a"].set()
        await settle(lambda: ws.sending == 1)
        ws.feed([2, "s1", "StatusNotification", STATUS])
        for _ in range(20):  # plenty of loop turns for the handler to answer
            await asyncio.sleep(0)
        assert not csms.after_done.is_set()
        ws.hold.set()
        await csms.after_done.wait()
        assert csms.after_saw == [2]
        assert [frame[1] for frame in ws.sent] == ["a", "s1"]
        await csms.close()
        await runner


async def test_call_errors_are_written_by_the_answering_task_too() -> None:
    async with asyncio.timeout(SAFETY):
        ws, csms, runner = await open_csms()
        ws.feed([2, "x", "Authorize", {"idTag": "T"}])
        ws.feed([2, "y", "DataTransfer", {"vendorId": "V"}])  # no handler: NotSupported
        await settle(lambda: len(ws.sent) == 2)
        assert ws.sent[0][:3] == [4, "x", "SecurityError"]
        assert ws.sent[1][:3] == [4, "y", "NotSupported"]
        await csms.close()
        await runner


async def test_queued_call_goes_out_after_the_answer_and_after_a_timeout() -> None:
    """One outstanding CALL of ours at a time: a queued CALL goes out once the first is
    answered (the reader wakes the writer), and once one times out (the timer does)."""
    async with asyncio.timeout(SAFETY):
        ws, csms, runner = await open_csms()
        first = asyncio.create_task(csms.call(v16.GetConfigurationRequest(key=["A"])))
        second = asyncio.create_task(csms.call(v16.GetConfigurationRequest(key=["B"]), timeout=0.1))
        await settle(lambda: len(ws.sent) == 1)
        for _ in range(10):
            await asyncio.sleep(0)
        assert len(ws.sent) == 1  # the second waits for the first's answer
        # An answer of ours written inline while our CALL is outstanding does not send it.
        ws.feed([2, "h", "Heartbeat", {}])
        await settle(lambda: len(ws.sent) == 2)
        assert ws.sent[1] == [3, "h", {"currentTime": NOW}]
        ws.feed([3, ws.sent[0][1], {"unknownKey": ["A"]}])
        assert (await first).unknown_key == ["A"]
        await settle(lambda: len(ws.sent) == 3)
        assert ws.sent[2][2:] == ["GetConfiguration", {"key": ["B"]}]
        # The second is never answered: it times out and the third goes out then.
        third = asyncio.create_task(csms.call(v16.ClearCacheRequest()))
        with pytest.raises(CallTimeout):
            await asyncio.wait_for(second, SAFETY)
        await settle(lambda: len(ws.sent) == 4)
        assert ws.sent[3][2] == "ClearCache"
        ws.feed([3, ws.sent[3][1], {"status": "Accepted"}])
        assert (await third).status is v16.ClearCacheStatus.ACCEPTED
        await csms.close()
        await runner


async def test_second_call_times_out_on_schedule_while_answers_are_written_inline() -> None:
    async with asyncio.timeout(SAFETY):
        ws, csms, runner = await open_csms()
        pending = asyncio.create_task(csms.call(v16.GetConfigurationRequest(), timeout=0.05))
        await settle(lambda: len(ws.sent) == 1)
        ws.feed([2, "h", "Heartbeat", {}])  # an inline write re-arms the timer
        await settle(lambda: len(ws.sent) == 2)
        with pytest.raises(CallTimeout):
            await pending
        await csms.close()
        await runner


async def test_connection_closing_during_an_inline_write() -> None:
    async with asyncio.timeout(SAFETY):
        ws, csms, runner = await open_csms()
        ws.fail_send = ConnectionClosedError(None, None)
        ws.feed([2, "s1", "StatusNotification", STATUS])
        await csms.after_done.wait()  # after-hooks still run (as when the socket closes)
        assert ws.sent == []
        pending = asyncio.create_task(csms.call(v16.ClearCacheRequest()))
        await ws.close(1006, "gone")
        with pytest.raises(ConnectionClosed):
            await pending
        await runner
        assert csms.connection.closed
        assert not csms.connection._writing
