"""Exponential back-off with jitter for reconnecting to a peer (pure, seedable).

``Backoff(base=0.5, cap=30.0, rng=None)``: ``next_delay()`` gives ``d/2 + uniform(0, d/2)`` with
``d = min(cap, base * 2**attempt)`` and counts the attempt ("equal jitter": never a hot loop,
and peers that lost each other at once do not redial in lock-step); ``reset()`` after a
connection succeeded.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        if base <= 0 or cap < base:
            raise ValueError("need 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        # The exponent is capped so 2**attempt stays a small float however long we retry.
        d = min(self.cap, self.base * 2 ** min(self.attempt, 62))
        self.attempt += 1
        return d / 2 + self._rng.uniform(0, d / 2)

    def reset(self) -> None:
        self.attempt = 0
