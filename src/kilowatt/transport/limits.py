"""Per-connection inbound limits: a rate limit, a protocol-violation budget, summarised logs.

One :class:`InboundLimits` (settings, shared by every connection of a server) and, per
connection, a :class:`TokenBucket` and a :class:`Violations` tracker, both driven by the
caller's clock (``now`` in s, the event loop's monotonic time), so that they are plain data and
testable without sleeping.

- **Rate** (:class:`TokenBucket`): a station may send ``rate`` messages per s on average and
  ``burst`` at once. Past that, the connection stops reading its socket until the bucket has
  refilled: the peer's frames wait in its TCP send buffer (backpressure), nothing received is
  dropped, and one flooding station costs the event loop at most ``rate`` messages per s, so
  the other stations' latency does not move.
- **Violations** (:class:`Violations`): every frame the RPC core refuses (unparseable, unknown
  action, invalid payload...) is one violation. A leaky bucket holds at most ``budget`` of
  them and drains ``budget`` per ``window`` s; one more and the connection is closed with
  WebSocket close code 1008 (policy violation, RFC 6455 §7.4.1).
- **Logs**: the first violation after a quiet ``log_interval`` is logged at once, in full;
  the next ones are counted and summarised in one line per interval ("CP-1: 4,912 more
  protocol violations in the last 10.0 s, last: message is not valid JSON"), and at close.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kilowatt.ocpp.depth import MAX_DEPTH

__all__ = ["DEFAULT_LIMITS", "InboundLimits", "TokenBucket", "Violations"]


@dataclass(frozen=True, slots=True)
class InboundLimits:
    """What one connection may send before it is slowed down or closed.

    Attributes:
        rate: messages per s a connection may send on average; 0 = no rate limit.
        burst: messages a connection may send at once above ``rate`` (bucket size, >= 1).
        violation_budget: protocol violations tolerated per ``violation_window``; one more
            closes the connection with code 1008. 0 = never closed for violations.
        violation_window: s over which ``violation_budget`` violations are tolerated.
        max_depth: deepest nesting of arrays/objects accepted in a frame, in levels
            (:func:`kilowatt.ocpp.depth.too_deep`).
        log_interval: s between two summary log lines of a connection's violations.
    """

    rate: float = 100.0
    burst: int = 200
    violation_budget: int = 100
    violation_window: float = 60.0
    max_depth: int = MAX_DEPTH
    log_interval: float = 10.0

    def __post_init__(self) -> None:
        """Check the values.

        Raises:
            ValueError: a negative rate or budget, a burst below 1, a window, depth or log
                interval that is not positive.
        """
        if self.rate < 0 or self.violation_budget < 0:
            raise ValueError("rate and violation_budget must be >= 0")
        if self.burst < 1:
            raise ValueError("burst must be >= 1")
        if self.violation_window <= 0 or self.log_interval <= 0 or self.max_depth < 1:
            raise ValueError("violation_window, log_interval and max_depth must be > 0")


DEFAULT_LIMITS = InboundLimits()
"""The limits of a connection made without explicit ones."""


class TokenBucket:
    """A token bucket of ``burst`` tokens refilled at ``rate`` per s; one token per message.

    Args:
        rate: tokens per s (> 0).
        burst: bucket size; the bucket starts full.
        now: the current time in s.
    """

    __slots__ = ("_burst", "_last", "_rate", "_tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        """Start with a full bucket at ``now``."""
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = now

    def delay(self, now: float) -> float:
        """Take a token; return how long (s) to wait before the message may be processed.

        0.0 when a token was available. Otherwise the bucket goes into debt and the wait is
        the time it takes to refill it to zero: the caller waits, then processes the message
        (nothing is refused here).
        """
        tokens = self._tokens + (now - self._last) * self._rate
        if tokens > self._burst:
            tokens = self._burst
        self._last = now
        tokens -= 1.0
        self._tokens = tokens
        return 0.0 if tokens >= 0.0 else -tokens / self._rate


class Violations:
    """One connection's protocol violations: the budget and the summarised log lines.

    Args:
        identity: the station identity, at the start of every log line.
        limits: the budget, window and log interval.
        logger: where the lines go (warning level).
    """

    __slots__ = (
        "_budget",
        "_drain",
        "_identity",
        "_interval",
        "_last",
        "_last_reason",
        "_level",
        "_logged_at",
        "_logger",
        "_unlogged",
        "total",
    )

    def __init__(self, identity: str, limits: InboundLimits, logger: logging.Logger) -> None:
        """Start with an empty budget and nothing logged."""
        self._identity = identity
        self._logger = logger
        self._budget = limits.violation_budget
        self._drain = limits.violation_budget / limits.violation_window
        self._interval = limits.log_interval
        self._level = 0.0
        self._last = 0.0
        self._logged_at: float | None = None
        self._unlogged = 0
        self._last_reason = ""
        self.total = 0
        """Violations seen on this connection."""

    def add(self, reason: str, now: float, *, counts: bool = True) -> bool:
        """Note one violation (log it or count it for the summary) at ``now`` (s).

        Args:
            reason: what was wrong, for the log.
            now: the current time in s.
            counts: False for an event that is only logged (rate-limited), not charged to
                the budget.

        Returns:
            True when the budget is exceeded: the caller closes the connection (1008).
        """
        self._log(reason, now)
        if not counts:
            return False
        self.total += 1
        if not self._budget:
            return False
        level = self._level - (now - self._last) * self._drain
        self._last = now
        level = (level if level > 0.0 else 0.0) + 1.0
        self._level = level
        return level > self._budget

    def _log(self, reason: str, now: float) -> None:
        logged_at = self._logged_at
        if logged_at is None or now - logged_at >= self._interval:
            self.flush(now)
            self._logger.warning("%s: protocol violation: %s", self._identity, reason)
            self._logged_at = now
            return
        self._unlogged += 1
        self._last_reason = reason

    def flush(self, now: float) -> None:
        """Log the summary line of the violations not logged yet, if any (e.g. at close)."""
        if self._unlogged:
            since = now - self._logged_at if self._logged_at is not None else 0.0
            self._logger.warning(
                "%s: %s more protocol violations in the last %.1f s, last: %s",
                self._identity,
                f"{self._unlogged:,}",
                since,
                self._last_reason,
            )
            self._unlogged = 0
            self._logged_at = now
