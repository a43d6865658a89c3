"""The simulated network: seeded delays (so reordering), loss, duplication and partitions.

Before global stabilisation time (GST) links use `before` (each directed link with its own
share, 0 to 2 times, of the loss rate); from GST on they use `after` (no loss, bounded
delay). A partition cuts every link between its groups from `start`
to `end`, checked when a message is sent and when it arrives.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LinkFaults:
    min_delay_ms: int = 1
    max_delay_ms: int = 50
    loss: float = 0.0
    duplicate: float = 0.0


@dataclass(frozen=True)
class Partition:
    start_ms: int
    end_ms: int
    groups: tuple[frozenset[int], ...]

    def cuts(self, a: int, b: int, now: int) -> bool:
        if not self.start_ms <= now < self.end_ms:
            return False
        return not any(a in g and b in g for g in self.groups)


class Network:
    def __init__(
        self,
        sched,
        rng: random.Random,
        before: LinkFaults,
        after: LinkFaults,
        gst_ms: int,
        partitions: tuple[Partition, ...] = (),
    ) -> None:
        self.sched = sched
        self.rng = rng
        self.before = before
        self.after = after
        self.gst_ms = gst_ms
        self.partitions = partitions
        self.receivers: list[Callable[[int, bytes], None]] = []
        # Links differ: before GST each directed link gets its own share of the loss rate.
        self._link_loss: dict[tuple[int, int], float] = {}
        self.sent = 0
        self.delivered = 0
        self.dropped = 0

    def cut(self, a: int, b: int, now: int) -> bool:
        return any(p.cuts(a, b, now) for p in self.partitions)

    def send(self, src: int, dst: int, data: bytes) -> None:
        now = self.sched.now
        self.sent += 1
        faults = self.before if now < self.gst_ms else self.after
        loss = faults.loss
        if loss and faults is self.before:
            link = (src, dst)
            if link not in self._link_loss:
                self._link_loss[link] = min(0.95, loss * self.rng.choice((0.0, 0.5, 1.0, 1.0, 2.0)))
            loss = self._link_loss[link]
        if self.cut(src, dst, now) or (loss and self.rng.random() < loss):
            self.dropped += 1
            return
        copies = 2 if faults.duplicate and self.rng.random() < faults.duplicate else 1
        for _ in range(copies):
            delay = self.rng.randint(faults.min_delay_ms, faults.max_delay_ms)
            self.sched.at(now + delay, self._deliver, src, dst, data)

    def _deliver(self, src: int, dst: int, data: bytes) -> None:
        if self.cut(src, dst, self.sched.now):
            self.dropped += 1
            return
        self.delivered += 1
        self.receivers[dst](src, data)
