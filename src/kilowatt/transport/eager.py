"""Start a coroutine at once, and give it a task only if it has to wait.

Why: every inbound CALL is handled in its own task, so that a handler may itself wait (for a
group commit, for an outbound CALL) without holding up the connection. But most handlers
never wait for long, and many not at all (Heartbeat, a cached Authorize): for them the task
costs more than the work: creating it, one loop iteration before it starts, its
done-callbacks. And a handler that does wait starts that wait one iteration late: a write
joins a later group commit than it could have. Python 3.12 solves this with
``asyncio.eager_task_factory``; Kilowatt runs on 3.11, so :func:`start_eagerly` does the same
for one coroutine.

How: the coroutine is stepped once, synchronously, in the caller's context. If it finishes,
no task is made. If it awaited a future, the rest of it runs in a task that first waits for
that same future and then resumes the coroutine, exactly as if the task had run it from the
start (a future's ``__await__`` returns its result when resumed, or raises its exception).
Cancelling the task cancels that future and throws ``CancelledError`` into the coroutine, as
a task does.

The first step runs inside the caller: an exception raised before the first ``await`` is
raised by :func:`start_eagerly` itself, and ``asyncio.current_task()`` is the caller's task
(or None) during that step — handlers must not rely on being their own task before their
first suspension.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

__all__ = ["start_eagerly"]

T = TypeVar("T")


def start_eagerly(
    coro: Coroutine[Any, Any, T], *, name: str | None = None
) -> tuple[bool, T | None, asyncio.Task[T] | None]:
    """Run ``coro`` up to its first suspension.

    Returns:
        ``(True, result, None)`` when it finished without suspending, else
        ``(False, None, task)`` with the task that runs the rest of it.

    Raises:
        Exception: whatever ``coro`` raised before its first suspension.
    """
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        return True, stop.value, None
    task = asyncio.get_running_loop().create_task(_Rest(coro, yielded).run(), name=name)
    return False, None, task


class _Rest:
    """The rest of a coroutine that has yielded ``first`` (what the task must wait for)."""

    __slots__ = ("_coro", "_first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self._coro = coro
        self._first = first

    async def run(self) -> Any:
        return await self

    def __await__(self) -> Generator[Any, None, Any]:
        coro = self._coro
        yielded = self._first
        self._first = None
        while True:
            try:
                # Hand what the coroutine yielded (a future with _asyncio_future_blocking
                # set, or None for a bare yield) to the task, which waits for it.
                yield yielded
            except BaseException as exc:  # cancellation (or a throw) goes to the coroutine
                try:
                    yielded = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                yielded = coro.send(None)
            except StopIteration as stop:
                return stop.value
