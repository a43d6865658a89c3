"""Token bucket (pure: the caller passes the clock), used to cap what one peer may send us.

``TokenBucket(rate, burst, now)``: ``allow(now, cost=1.0) -> bool`` takes ``cost`` tokens when
there are enough (a receiver policing a peer); ``reserve(now, cost=1.0) -> float`` always takes
them, possibly going into debt, and returns how many seconds to wait before sending (a sender
pacing itself). Tokens refill at ``rate`` per second up to ``burst``.
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

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now

    def reserve(self, now: float, cost: float = 1.0) -> float:
        self._refill(now)
        self._tokens -= cost
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def allow(self, now: float, cost: float = 1.0) -> bool:
        self._refill(now)
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False
