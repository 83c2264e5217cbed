"""Group commit: one writer task commits the writes of many concurrent callers together.

Why: the CSMS may only acknowledge StartTransaction, StopTransaction, MeterValues and
TransactionEvent after the data is committed (durable acknowledgement), and a COMMIT costs an
fsync (SQLite) or a WAL flush round trip (PostgreSQL). Committing each message on its own caps
throughput at the disk's fsync rate; sharing one COMMIT among all writes that queued up while
the previous COMMIT was in flight removes that cap (the classic group-commit technique).

How:

- A caller submits a *write operation*, an ``async def op(conn) -> T`` that executes statements
  on the given :class:`~sqlalchemy.ext.asyncio.AsyncConnection` (inside an open transaction, never
  committing itself). :meth:`WriteBatcher.submit` returns ``T`` only after the COMMIT that
  contains the operation has succeeded.
- The writer takes every operation queued at that moment (at most ``max_batch``), runs them in
  order in one transaction and commits. Operations later in a batch see the effects of earlier
  ones, exactly as if they had run one after another.
- If anything in a batch fails (an operation raises, or the COMMIT does), the transaction is
  rolled back and each operation is retried alone in its own transaction, so one bad
  operation fails only its own caller. Operations must therefore be safe to re-run after a
  rollback: they must not have side effects outside the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["BatcherClosed", "BatcherStats", "WriteBatcher", "WriteOp"]

T = TypeVar("T")

WriteOp = Callable[[AsyncConnection], Awaitable[T]]
"""A write operation: runs statements on a connection inside an open transaction."""

log = logging.getLogger(__name__)


class BatcherClosed(RuntimeError):
    """The batcher was closed; no more writes are accepted."""


@dataclass(slots=True)
class BatcherStats:
    """Counters since the batcher was created (for tests, metrics and logs)."""

    commits: int = 0
    """Transactions committed (batches plus individual retries)."""
    ops: int = 0
    """Operations that completed successfully."""
    failed_ops: int = 0
    """Operations whose caller received an exception."""
    retried_batches: int = 0
    """Batches that failed as a whole and were retried one operation at a time."""
    largest_batch: int = 0


@dataclass(slots=True)
class _Item(Generic[T]):
    op: WriteOp[T]
    future: asyncio.Future[T] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class WriteBatcher:
    """Serialises all writes through one task and commits them in groups.

    Args:
        engine: the async engine to write with.
        max_batch: most operations per transaction; bounds the work lost to a retry and
            the time a transaction holds the SQLite write lock.
        connection_options: execution options for the writer's connection; the
            :class:`~kilowatt.storage.database.Database` asks for ``BEGIN IMMEDIATE`` on SQLite.
        yield_every: give the event loop a turn after this many operations of a batch
            (0, the default: never); the transaction stays open, the batch still commits as
            one. Why never by default: with the loop saturated, every turn given away lets a
            whole round of other callbacks run while the write lock is held, stretching a
            batch over several rounds; the writes waiting for the *next* batch then wait for
            all of them (1.6 benchmark mix, 200 stations: 16 → 0 gave +12 % calls/s and
            MeterValues p50 46 → 42 ms). The COMMIT itself runs off the loop
            (:mod:`.inline_sqlite`).

    The writer task starts on the first :meth:`submit`. :meth:`close` commits everything
    queued before it, then stops the task.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 500,
        connection_options: dict[str, Any] | None = None,
        yield_every: int = 0,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._engine = engine
        self._max_batch = max_batch
        self._options = connection_options or {}
        self._yield_every = yield_every
        self._queue: asyncio.Queue[_Item[Any] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.stats = BatcherStats()

    async def submit(self, op: WriteOp[T]) -> T:
        """Run ``op`` in the next group transaction; return its result once committed.

        Raises:
            BatcherClosed: after :meth:`close`.
            Exception: whatever ``op`` (run alone) or its COMMIT raised.
        """
        return await self.submit_nowait(op)

    def submit_nowait(self, op: WriteOp[T]) -> asyncio.Future[T]:
        """Queue ``op`` and return a future resolved after its COMMIT (fire and forget use:
        the future logs its own exception if nobody awaits it)."""
        if self._closed:
            raise BatcherClosed("the write batcher is closed")
        item: _Item[T] = _Item(op)
        item.future.add_done_callback(_log_unretrieved)
        self._queue.put_nowait(item)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kw-writer")
        return item.future

    @property
    def pending(self) -> int:
        """Operations queued and not yet taken by the writer."""
        return self._queue.qsize()

    async def close(self) -> None:
        """Commit everything already submitted, then stop the writer. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            # Let callers that became ready in this loop iteration enqueue too.
            await asyncio.sleep(0)
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            batch = [item for item in batch if not item.future.cancelled()]
            if batch:
                try:
                    await self._run_batch(batch)
                except Exception:  # pragma: no cover - _run_batch resolves every future
                    log.exception("write batcher failed unexpectedly")

    async def _run_batch(self, batch: list[_Item[Any]]) -> None:
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        try:
            results = await self._transaction(batch)
        except Exception as exc:
            if len(batch) == 1:
                self._fail(batch[0], exc)
                return
            self.stats.retried_batches += 1
            log.warning("group commit of %d writes failed (%r); retrying each", len(batch), exc)
            for item in batch:
                if item.future.cancelled():
                    continue
                try:
                    (result,) = await self._transaction([item])
                except Exception as item_exc:
                    self._fail(item, item_exc)
                else:
                    self._resolve(item, result)
            return
        for item, result in zip(batch, results, strict=True):
            self._resolve(item, result)

    async def _transaction(self, batch: list[_Item[Any]]) -> list[Any]:
        async with self._engine.connect() as conn:
            if self._options:
                conn = await conn.execution_options(**self._options)
            async with conn.begin():
                results = []
                chunk = self._yield_every
                for i, item in enumerate(batch):
                    if i and chunk and i % chunk == 0:
                        # Let the loop read, decode and validate incoming frames between
                        # chunks (their writes join the next group commit) instead of
                        # stalling every connection for the whole batch.
                        await asyncio.sleep(0)
                    results.append(await item.op(conn))
        self.stats.commits += 1
        return results

    def _resolve(self, item: _Item[Any], result: Any) -> None:
        self.stats.ops += 1
        if not item.future.done():
            item.future.set_result(result)

    def _fail(self, item: _Item[Any], exc: Exception) -> None:
        self.stats.failed_ops += 1
        if not item.future.done():
            item.future.set_exception(exc)


def _log_unretrieved(future: asyncio.Future[Any]) -> None:
    # Retrieving the exception here marks it as seen; fire-and-forget writers (the journal)
    # would otherwise produce "exception was never retrieved" noise without context.
    if not future.cancelled() and (exc := future.exception()) is not None:
        log.debug("write operation failed: %r", exc)
