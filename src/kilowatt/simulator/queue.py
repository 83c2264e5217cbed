"""The offline queue of transaction-related messages.

A charging station must not lose transaction data when the connection drops: it keeps
StartTransaction, transaction-related MeterValues and StopTransaction (1.6, "transaction-related
messages", §3 and §4.7–4.10) or TransactionEvent (2.0.1 Part 2 E04 "Transaction started while
Charging Station is offline" and E.2 "Offline behaviour") and delivers them in the order they
were created once the connection is back, before any newer transaction message.

The simulator sends *every* transaction message through this queue, connected or not; a single
sender drains it head-first and only removes an entry once the CSMS has answered it. That gives
the ordering guarantee for free: a message created after a disconnect can never overtake one
created before it.

Entries hold a *builder* instead of a finished request, because a 1.6 MeterValues or
StopTransaction that was queued before its StartTransaction was answered only learns its
``transactionId`` when the StartTransaction reply arrives during replay.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["OfflineQueue", "QueuedMessage"]

T = TypeVar("T")


@dataclass(slots=True)
class QueuedMessage(Generic[T]):
    """One queued message.

    Attributes:
        action: the OCPP action, e.g. "StartTransaction" or "TransactionEvent".
        build: returns the request to send, called at send time (see the module docstring).
        droppable: may be discarded when the queue is full (intermediate meter values; never a
            transaction start or end, OCPP 2.0.1 E.2 allows dropping only intermediate ones).
        created: when the message was created (s, simulated clock).
        attempts: how many times sending it has failed with an error answer.
    """

    action: str
    build: Callable[[], T]
    droppable: bool = False
    created: float = 0.0
    attempts: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


class OfflineQueue(Generic[T]):
    """FIFO of :class:`QueuedMessage` with an optional capacity.

    When full, the oldest *droppable* entry is discarded to make room; if none is droppable the
    queue grows past its capacity rather than lose a transaction start or end.
    """

    def __init__(self, capacity: int | None = None) -> None:
        self._items: deque[QueuedMessage[T]] = deque()
        self.capacity = capacity
        self.dropped = 0

    def put(self, message: QueuedMessage[T]) -> None:
        """Append ``message`` at the tail."""
        if self.capacity is not None and len(self._items) >= self.capacity:
            for index, item in enumerate(self._items):
                if item.droppable:
                    del self._items[index]
                    self.dropped += 1
                    break
        self._items.append(message)

    def peek(self) -> QueuedMessage[T] | None:
        """The head of the queue (the next message to send), or None when empty."""
        return self._items[0] if self._items else None

    def pop(self) -> QueuedMessage[T]:
        """Remove and return the head, after the CSMS has answered it.

        Raises:
            IndexError: the queue is empty.
        """
        return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __iter__(self) -> Iterator[QueuedMessage[T]]:
        return iter(self._items)
