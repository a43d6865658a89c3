"""The block-time rule a validator applies to a proposal before it prevotes (pure).

A proposal's time must be later than its parent's (`last_time_ms`) and must not be ahead of the
receiving validator's own clock by more than `MAX_DRIFT_MS`. Honest proposers stamp
`max(now, last + 1)`, so an honest block passes at every validator whose clock is within the
drift of the proposer's. There is no lower bound against the local clock: a value locked in an
earlier round is re-proposed later and must stay acceptable (Tendermint's liveness needs
`valid(v)` not to turn false with time), and a block stamped in the past harms nothing that
the next honest block does not repair, because times only increase.

This is what stops a Byzantine proposer from stamping `2**62` (every later header would fail
its schema: the chain halts) or the year 3000 (every certificate's `valid_until` would pass at
once, and the station gate reads time from the head block). Blocks fetched by block sync carry
a quorum's commit: at least one honest validator applied this rule to them.
"""

from __future__ import annotations

MAX_DRIFT_MS = 10_000


def untimely(
    time_ms: object, last_time_ms: int, now_ms: int, max_drift_ms: int = MAX_DRIFT_MS
) -> str | None:
    """None when `time_ms` is acceptable, else the reason code (`bad_time`, `time_not_after_parent`,
    `time_in_future`)."""
    if type(time_ms) is not int:
        return "bad_time"
    if time_ms <= last_time_ms:
        return "time_not_after_parent"
    if time_ms > now_ms + max_drift_ms:
        return "time_in_future"
    return None
