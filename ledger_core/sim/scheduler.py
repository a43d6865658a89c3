"""A virtual clock with an event queue: events at equal times run in the order scheduled."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any


class Scheduler:
    def __init__(self) -> None:
        self.now = 0
        self._queue: list[tuple[int, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = 0
        self.events = 0

    def at(self, time_ms: int, fn: Callable[..., Any], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (max(time_ms, self.now), self._seq, fn, args))

    def after(self, delay_ms: int, fn: Callable[..., Any], *args: Any) -> None:
        self.at(self.now + delay_ms, fn, *args)

    def run_until(self, end_ms: int, stop: Callable[[], bool] | None = None) -> None:
        """Run events up to virtual time `end_ms`, or until `stop()` turns true."""
        q = self._queue
        while q and q[0][0] <= end_ms:
            t, _, fn, args = heapq.heappop(q)
            self.now = t
            self.events += 1
            fn(*args)
            if stop is not None and stop():
                return
        self.now = max(self.now, end_ms)
