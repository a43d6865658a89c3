"""Token bucket (pure: the caller passes the clock), used to cap what one peer may send us.

``TokenBucket(rate, burst, now)``: ``allow(now, cost=1.0) -> bool`` takes ``cost`` tokens when
there are enough; tokens refill at ``rate`` per second up to ``burst``.
"""

from __future__ import annotations


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate = float(rate)
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last = now

    def allow(self, now: float, cost: float = 1.0) -> bool:
        if now > self._last:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False
