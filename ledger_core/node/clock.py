"""Wall-clock time as the ledger records it (block times, vote times): Unix milliseconds."""

from __future__ import annotations

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
