"""A one-slot latest-frame mailbox: the producer never waits, the newest item wins.

`put` replaces an item nobody took yet and counts it as dropped; `get` waits (with a timeout)
for an item and takes it. Thread-safe; used between the capture thread and the inference worker.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._has = False
        self._closed = False
        self.put_count = 0
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Store `item`; returns False when it replaced an item not taken (counted as dropped)."""
        with self._cond:
            replaced = self._has
            if replaced:
                self.dropped += 1
            self._item, self._has = item, True
            self.put_count += 1
            self._cond.notify()
            return not replaced

    def get(self, timeout: float | None = None) -> T | None:
        """Take the newest item, waiting up to `timeout` s; None on timeout or when closed."""
        with self._cond:
            if not self._has and not self._closed:
                self._cond.wait(timeout)
            if not self._has:
                return None
            item, self._item, self._has = self._item, None, False
            return item

    def close(self) -> None:
        """Wake every waiter; later gets return what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
