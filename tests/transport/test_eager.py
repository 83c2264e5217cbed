"""transport.eager.start_eagerly: run to the first suspension, a task only for the rest."""

from __future__ import annotations

import asyncio

import pytest

from kilowatt.transport.eager import start_eagerly


async def test_a_coroutine_that_never_waits_gets_no_task() -> None:
    steps: list[str] = []

    async def quick() -> int:
        steps.append("ran")
        return 42

    done, result, task = start_eagerly(quick())
    assert (done, result, task) == (True, 42, None)
    assert steps == ["ran"]  # synchronously, before the caller's next await


async def test_the_part_before_the_first_wait_runs_at_once_the_rest_in_a_task() -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()
    steps: list[str] = []

    async def waits() -> str:
        steps.append("before")
        value = await future
        steps.append("after " + value)
        await asyncio.sleep(0)  # a bare yield of the loop, then another future
        await asyncio.sleep(0.001)
        return value.upper()

    done, result, task = start_eagerly(waits(), name="eager-test")
    assert not done and result is None and task is not None
    assert steps == ["before"] and task.get_name() == "eager-test"
    loop.call_later(0.01, future.set_result, "x")
    assert await task == "X"
    assert steps == ["before", "after x"]


async def test_exceptions_before_and_after_the_first_wait() -> None:
    async def fails_at_once() -> None:
        raise ValueError("early")

    with pytest.raises(ValueError, match="early"):
        start_eagerly(fails_at_once())

    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def fails_later() -> None:
        await future

    _, _, task = start_eagerly(fails_later())
    assert task is not None
    future.set_exception(KeyError("late"))
    with pytest.raises(KeyError, match="late"):
        await task


async def test_cancelling_the_task_cancels_the_awaited_future_and_reaches_the_coroutine() -> None:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def cleans_up() -> str:
        try:
            await future
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return "unreachable"

    _, _, task = start_eagerly(cleans_up())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert future.cancelled() and seen == ["cancelled"]


async def test_a_coroutine_may_catch_the_cancellation_and_return() -> None:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def shrugs() -> str:
        try:
            await future
        except asyncio.CancelledError:
            return "stopped cleanly"
        return "unreachable"

    _, _, task = start_eagerly(shrugs())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    assert await task == "stopped cleanly"
