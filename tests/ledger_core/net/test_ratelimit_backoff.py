"""The pure helpers: token bucket and reconnect back-off."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_core.net.backoff import Backoff
from ledger_core.net.ratelimit import TokenBucket


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    b = TokenBucket(rate=10, burst=5, now=0.0)
    assert all(b.allow(0.0) for _ in range(5))
    assert not b.allow(0.0)
    assert b.allow(0.1)  # one token back after 0.1 s
    assert not b.allow(0.1)
    assert b.allow(100.0, cost=5) and not b.allow(100.0)  # refill is capped at the burst
    assert not b.allow(50.0)  # a clock going backwards adds nothing
    with pytest.raises(ValueError):
        TokenBucket(0, 1, 0.0)


@given(st.lists(st.floats(min_value=0, max_value=0.01), min_size=1, max_size=300))
def test_token_bucket_never_exceeds_burst_plus_rate_times_time(steps: list[float]) -> None:
    b = TokenBucket(rate=100, burst=20, now=0.0)
    now, allowed = 0.0, 0
    for dt in steps:
        now += dt
        allowed += b.allow(now)
    assert allowed <= 20 + 100 * now + 1e-6


def test_backoff_grows_with_jitter_up_to_the_cap_and_resets() -> None:
    b = Backoff(base=0.5, cap=8.0, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(10)]
    for i, d in enumerate(delays):
        full = min(8.0, 0.5 * 2**i)
        assert full / 2 <= d <= full
    assert len(set(delays)) == len(delays)  # jittered
    b.reset()
    assert 0.25 <= b.next_delay() <= 0.5
    for _ in range(5000):  # long outages stay finite and capped
        assert b.next_delay() <= 8.0
    with pytest.raises(ValueError):
        Backoff(base=2, cap=1)


def test_reserve_returns_the_wait_and_goes_into_debt() -> None:
    b = TokenBucket(rate=10, burst=2, now=0.0)
    assert b.reserve(0.0) == 0.0 and b.reserve(0.0) == 0.0
    assert b.reserve(0.0) == pytest.approx(0.1)
    assert b.reserve(0.0) == pytest.approx(0.2)
    assert not b.allow(0.25)
    assert b.reserve(1.0) == 0.0
