"""Failed-login throttling (issue 12 item 2) as a unit: the clock is driven, nothing sleeps."""

from __future__ import annotations

import logging

import pytest

from kilowatt.csms.auth_throttle import FORGET_AFTER, AuthThrottle, Throttled


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def throttle(clock: Clock, **options: float) -> AuthThrottle:
    values: dict[str, float] = {"identity_failures": 3, "address_failures": 10, "max_delay": 60}
    values.update(options)
    return AuthThrottle(
        identity_failures=int(values["identity_failures"]),
        address_failures=int(values["address_failures"]),
        max_delay=values["max_delay"],
        clock=clock,
    )


def test_an_identity_is_blocked_after_its_threshold_with_a_doubling_delay(clock: Clock) -> None:
    t = throttle(clock)
    for _ in range(2):
        t.failure("CP-1", "192.0.2.1")
        assert t.check("CP-1", "192.0.2.1") is None
    t.failure("CP-1", "192.0.2.1")  # the third: blocked 1 s
    assert t.check("CP-1", "192.0.2.1") == Throttled(retry_after=1, key="identity")
    # From any address: the identity is what is being guessed.
    assert t.check("CP-1", "198.51.100.9") == Throttled(retry_after=1, key="identity")
    clock.now += 1.0
    assert t.check("CP-1", "192.0.2.1") is None
    t.failure("CP-1", "192.0.2.1")
    assert t.check("CP-1", "192.0.2.1") == Throttled(retry_after=2, key="identity")
    clock.now += 2.0
    t.failure("CP-1", "192.0.2.1")
    assert t.check("CP-1", "192.0.2.1") == Throttled(retry_after=4, key="identity")
    clock.now += 3.5
    assert t.check("CP-1", "192.0.2.1") == Throttled(retry_after=1, key="identity")


def test_the_delay_is_capped(clock: Clock) -> None:
    t = throttle(clock, max_delay=60)
    for _ in range(200):  # 2**197 s would overflow nothing, but must not be waited
        t.failure("CP-1", None)
    blocked = t.check("CP-1", None)
    assert blocked is not None and blocked.retry_after == 60


def test_other_identities_are_not_affected(clock: Clock) -> None:
    t = throttle(clock)
    for _ in range(3):
        t.failure("CP-1", "192.0.2.1")
    assert t.check("CP-2", "192.0.2.1") is None


def test_an_address_is_blocked_after_its_own_higher_threshold(clock: Clock) -> None:
    t = throttle(clock, identity_failures=100, address_failures=4)
    for n in range(4):
        t.failure(f"CP-{n}", "192.0.2.1")
    assert t.check("CP-new", "192.0.2.1") == Throttled(retry_after=1, key="address")
    assert t.check("CP-new", "198.51.100.9") is None
    assert t.check("CP-new", None) is None


def test_success_forgets_the_identity_but_not_the_address(clock: Clock) -> None:
    t = throttle(clock, identity_failures=3, address_failures=3)
    t.failure("CP-1", "192.0.2.1")
    t.failure("CP-1", "192.0.2.1")
    t.success("CP-1")
    t.failure("CP-1", "192.0.2.1")  # third for the address, first again for the identity
    blocked = t.check("CP-1", "192.0.2.1")
    assert blocked is not None and blocked.key == "address"
    assert t.check("CP-1", "198.51.100.9") is None


def test_failures_are_forgotten_after_a_quiet_period(clock: Clock) -> None:
    t = throttle(clock)
    t.failure("CP-1", "192.0.2.1")
    t.failure("CP-1", "192.0.2.1")
    clock.now += FORGET_AFTER + 1
    t.failure("CP-1", "192.0.2.1")  # counts as the first again
    assert t.check("CP-1", "192.0.2.1") is None


def test_memory_is_bounded(clock: Clock) -> None:
    t = AuthThrottle(identity_failures=1, address_failures=1, max_keys=50, clock=clock)
    for n in range(500):
        t.failure(f"CP-{n}", f"10.0.{n // 256}.{n % 256}")
    assert t.tracked() == (50, 50)
    # The most recent keys are the ones kept.
    assert t.check("CP-499", None) is not None
    assert t.check("CP-0", None) is None


def test_max_delay_zero_turns_throttling_off(clock: Clock) -> None:
    t = throttle(clock, identity_failures=1, address_failures=1, max_delay=0)
    for _ in range(10):
        t.failure("CP-1", "192.0.2.1")
    assert not t.enabled
    assert t.check("CP-1", "192.0.2.1") is None


@pytest.mark.parametrize(
    "options",
    [
        {"identity_failures": 0},
        {"address_failures": 0},
        {"max_delay": -1},
        {"max_keys": 0},
    ],
)
def test_bad_options_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        AuthThrottle(**options)  # type: ignore[arg-type]


def test_failures_are_logged_with_the_address_and_rate_limited(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    t = AuthThrottle(clock=clock, log_burst=5, log_interval=10.0)
    with caplog.at_level(logging.WARNING, logger="kilowatt.auth"):
        for _ in range(1000):
            t.failure("CP-1", "192.0.2.1")
        assert len(caplog.records) == 5
        assert all("192.0.2.1" in r.getMessage() for r in caplog.records)
        assert all("'CP-1'" in r.getMessage() for r in caplog.records)
        clock.now += 10.0
        t.failure("CP-2", None)
    assert len(caplog.records) == 6
    last = caplog.records[-1].getMessage()
    assert "995 more failures not logged" in last
    assert "unknown address" in last
