"""Throttling of failed station logins (HTTP Basic auth, security profiles 1 and 2).

Every refused password costs an scrypt hash (tens of ms of CPU and 16 MiB, see
:mod:`kilowatt.csms.passwords`) and is a guess at a station's password. Failures are counted
per station identity and per remote address; past a threshold each further failure doubles the
time that key is blocked (1 s, 2 s, 4 s ... capped at ``max_delay``). While either key is
blocked the handshake is refused **without** checking the password, even a right one, so the
hash is not computed and guessing gains nothing. The caller answers HTTP 429 with
``Retry-After`` (RFC 6585 §4): a well-behaved station waits instead of retrying at once, and
its operator sees "throttled" rather than "wrong password".

Why two keys: per identity stops guessing one station's password from many addresses; per
address stops one host from trying many identities. The address threshold is higher because
several stations of a site often share one address (NAT), and one misconfigured station there
must not lock out its neighbours. The trade-off of any per-identity limit: an attacker who
knows an identity can keep that station out by failing on purpose; the cap on the delay
bounds each lockout and the station gets in at its next attempt after it.

State lives in this process only (a cluster of N nodes allows up to N times the failures) and
is bounded: keys idle for :data:`FORGET_AFTER` s are forgotten, and at most ``max_keys`` per
kind are kept (the least recently failed are dropped first).

The clock is a parameter (monotonic seconds) so tests drive time instead of sleeping.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from kilowatt.logs import RateLimit

__all__ = ["FORGET_AFTER", "AuthThrottle", "Throttled"]

log = logging.getLogger("kilowatt.auth")

FORGET_AFTER: Final = 900.0
"""A key with no failure for this many s starts again from zero failures."""

BASE_DELAY: Final = 1.0
"""Block time in s after the first failure past the threshold; it doubles with each one."""


@dataclass(frozen=True, slots=True)
class Throttled:
    """Why an attempt is refused before its password is checked.

    Attributes:
        retry_after: whole seconds until the blocking key is free again (≥ 1), for the
            ``Retry-After`` header.
        key: ``"identity"`` or ``"address"``: which counter is past its threshold.
    """

    retry_after: int
    key: str


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last: float = 0.0
    blocked_until: float = 0.0


class _Counter:
    """Failures and block times for one kind of key (identities or addresses)."""

    __slots__ = ("_entries", "_max_delay", "_max_keys", "_threshold")

    def __init__(self, threshold: int, max_delay: float, max_keys: int) -> None:
        self._threshold = threshold
        self._max_delay = max_delay
        self._max_keys = max_keys
        self._entries: OrderedDict[str, _Failures] = OrderedDict()

    def blocked_for(self, key: str, now: float) -> float:
        entry = self._entries.get(key)
        if entry is None or now >= entry.blocked_until:
            return 0.0
        return entry.blocked_until - now

    def fail(self, key: str, now: float) -> int:
        entry = self._entries.pop(key, None)
        if entry is None or now - entry.last > FORGET_AFTER:
            entry = _Failures()
        entry.count += 1
        entry.last = now
        past = entry.count - self._threshold
        if past >= 0:
            # 2**past overflows a float for absurd counts: cap the exponent first.
            delay = BASE_DELAY * 2.0 ** min(past, 64)
            entry.blocked_until = now + min(delay, self._max_delay)
        self._entries[key] = entry  # most recent last: eviction takes the oldest
        while len(self._entries) > self._max_keys:
            self._entries.popitem(last=False)
        return entry.count

    def clear(self, key: str) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


class AuthThrottle:
    """Counts failed station logins per identity and per address and blocks past a threshold.

    Use: :meth:`check` before verifying a password (refuse with HTTP 429 when it returns a
    :class:`Throttled`), then :meth:`failure` or :meth:`success` with the outcome.

    Example::

        throttle = AuthThrottle(identity_failures=5, address_failures=20, max_delay=300)
        if (blocked := throttle.check("CP-1", "192.0.2.7")) is not None:
            return 429, {"Retry-After": str(blocked.retry_after)}
    """

    def __init__(
        self,
        *,
        identity_failures: int = 5,
        address_failures: int = 20,
        max_delay: float = 300.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        log_burst: int = 20,
        log_interval: float = 10.0,
    ) -> None:
        """Set the thresholds; nothing is blocked yet.

        Args:
            identity_failures: failures of one identity (from any address) allowed before it
                is blocked; the next failure blocks it for 1 s, then 2 s, 4 s...
            address_failures: the same for one remote address (over all identities).
            max_delay: the longest block, in s; 0 turns throttling off (failures are still
                logged).
            max_keys: at most this many identities and this many addresses are remembered
                (memory bound under a spray of identities or addresses).
            clock: monotonic time in s (injected by tests).
            log_burst: at most this many failure lines are logged per ``log_interval`` s; the
                next line logged says how many were left out.
            log_interval: the window of ``log_burst``, in s.

        Raises:
            ValueError: a threshold below 1, a negative ``max_delay`` or ``max_keys`` below 1.
        """
        if identity_failures < 1 or address_failures < 1:
            raise ValueError("failure thresholds must be at least 1")
        if max_delay < 0 or max_keys < 1:
            raise ValueError("max_delay must be ≥ 0 and max_keys ≥ 1")
        self.enabled = max_delay > 0
        self._clock = clock
        self._identities = _Counter(identity_failures, max_delay, max_keys)
        self._addresses = _Counter(address_failures, max_delay, max_keys)
        self._log_limit = RateLimit(burst=log_burst, interval=log_interval)

    def check(self, identity: str, address: str | None) -> Throttled | None:
        """Whether an attempt of ``identity`` from ``address`` must be refused unchecked.

        Args:
            identity: the station identity of the handshake.
            address: the remote IP address (no port), or None when the socket has none.

        Returns:
            None to go on and check the password; a :class:`Throttled` (answer HTTP 429 with
            its ``retry_after``) while the identity or the address is blocked.
        """
        if not self.enabled:
            return None
        now = self._clock()
        wait = self._identities.blocked_for(identity, now)
        key = "identity"
        if address is not None and (by_address := self._addresses.blocked_for(address, now)) > wait:
            wait, key = by_address, "address"
        if wait <= 0:
            return None
        return Throttled(retry_after=max(1, math.ceil(wait)), key=key)

    def failure(self, identity: str, address: str | None) -> None:
        """Record a refused password (or missing credentials) and log it, rate-limited.

        Args:
            identity: the station identity of the handshake.
            address: the remote IP address, or None.
        """
        now = self._clock()
        count = self._identities.fail(identity, now)
        if address is not None:
            self._addresses.fail(address, now)
        self._log(now, identity, address, count)

    def success(self, identity: str) -> None:
        """Forget the failures of ``identity`` after a correct password.

        The address keeps its count: one station's success behind a shared address says
        nothing about the other identities tried from it.

        Args:
            identity: the station identity that logged in.
        """
        self._identities.clear(identity)

    def tracked(self) -> tuple[int, int]:
        """How many identities and addresses have failures on record (for tests, metrics)."""
        return len(self._identities), len(self._addresses)

    def _log(self, now: float, identity: str, address: str | None, count: int) -> None:
        # A password-guessing flood must not become a log flood: a fixed budget per window.
        unlogged = self._log_limit.allow(now)
        if unlogged is None:
            return
        log.warning(
            "station login failed: identity %r from %s (failure %d of this identity)%s",
            identity,
            address or "unknown address",
            count,
            f"; {unlogged} more failures not logged" if unlogged else "",
        )
