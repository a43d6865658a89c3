"""Misbehaviour scores and temporary bans of authenticated node keys (pure: clocks passed in).

Every other member is a possible adversary with a valid key, so a key that breaks the protocol is
shut out for a while; rare honest mistakes must never add up to a ban, so scores decay.

Interface:
- ``MINOR`` / ``SERIOUS`` / ``FATAL`` penalty points; ``BAN_THRESHOLD`` (a ``FATAL`` bans at once).
- ``BanBook(*, threshold=BAN_THRESHOLD, decay_per_s=DECAY_PER_S, ban_base_s=BAN_BASE_S,
  ban_max_s=BAN_MAX_S, max_tracked=MAX_TRACKED)``.
- ``penalize(key_id, reason, points, now, wall, detail="") -> BanInfo | None``: adds ``points``
  to the key's decayed score; reaching ``threshold`` bans the key for ``ban_base_s`` seconds,
  doubled for each earlier ban of the same key, at most ``ban_max_s``, and returns the new
  ``BanInfo`` (None otherwise; a key already banned gains nothing more). The score starts again
  from zero after a ban.
- ``is_banned(key_id, now) -> bool``, ``ban_of(key_id, now) -> BanInfo | None``,
  ``ban_remaining(key_id, now) -> float`` (seconds, 0.0 when not banned), ``score(key_id, now)``,
  ``bans(now) -> list[BanInfo]`` (in force, oldest first), ``len(book)`` (keys tracked).
- ``BanInfo(key_id, reason, detail, since, until, offences)``: ``reason`` a short code
  (``bad_block``, ``rate_limited``, ...), ``since``/``until`` unix seconds for display,
  ``offences`` how many times the key was banned (forgotten after ``OFFENCE_MEMORY_S`` seconds
  without a ban, so an honest node's rare bug never escalates to the longest bans).

``now`` is monotonic seconds and decides everything; ``wall`` (unix seconds) is only recorded.
At most ``max_tracked`` keys are kept: when a new key finds the book full, an eighth of it is
forgotten, the lowest scores first (then fewest offences, then the least recently penalized),
never a key whose ban is in force.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

MINOR = 10
SERIOUS = 60  # two within 20 s ban
FATAL = 100
BAN_THRESHOLD = 100
DECAY_PER_S = 1.0
BAN_BASE_S = 60.0
BAN_MAX_S = 3600.0
MAX_TRACKED = 4096
OFFENCE_MEMORY_S = 24 * 3600.0


@dataclass(frozen=True)
class BanInfo:
    key_id: str
    reason: str
    detail: str
    since: float
    until: float
    offences: int


class _Record:
    __slots__ = ("score", "at", "offences", "ban", "ban_end")

    def __init__(self, now: float) -> None:
        self.score = 0.0
        self.at = now
        self.offences = 0
        self.ban: BanInfo | None = None
        self.ban_end = 0.0  # monotonic


class BanBook:
    """Scores and bans by node key id (see the module docstring)."""

    def __init__(
        self,
        *,
        threshold: float = BAN_THRESHOLD,
        decay_per_s: float = DECAY_PER_S,
        ban_base_s: float = BAN_BASE_S,
        ban_max_s: float = BAN_MAX_S,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        if threshold <= 0 or decay_per_s < 0 or not 0 < ban_base_s <= ban_max_s:
            raise ValueError("need threshold > 0, decay_per_s >= 0, 0 < ban_base_s <= ban_max_s")
        if max_tracked < 1:
            raise ValueError("max_tracked must be at least 1")
        self.threshold = float(threshold)
        self.decay_per_s = float(decay_per_s)
        self.ban_base_s = float(ban_base_s)
        self.ban_max_s = float(ban_max_s)
        self.max_tracked = max_tracked
        self._records: dict[str, _Record] = {}

    def __len__(self) -> int:
        return len(self._records)

    def _decay(self, rec: _Record, now: float) -> tuple[float, float]:
        """(score, at) after decay by whole points (the fraction of a point carries over)."""
        if self.decay_per_s <= 0 or now <= rec.at:
            return rec.score, rec.at
        drop = int((now - rec.at) * self.decay_per_s)
        if drop >= rec.score:
            return 0.0, now
        return rec.score - drop, rec.at + drop / self.decay_per_s

    def _decayed(self, rec: _Record, now: float) -> float:
        return self._decay(rec, now)[0]

    def _banned(self, rec: _Record | None, now: float) -> bool:
        return rec is not None and rec.ban is not None and now < rec.ban_end

    def score(self, key_id: str, now: float) -> float:
        rec = self._records.get(key_id)
        return 0.0 if rec is None else self._decayed(rec, now)

    def is_banned(self, key_id: str, now: float) -> bool:
        return self._banned(self._records.get(key_id), now)

    def ban_of(self, key_id: str, now: float) -> BanInfo | None:
        rec = self._records.get(key_id)
        return rec.ban if rec is not None and self._banned(rec, now) else None

    def ban_remaining(self, key_id: str, now: float) -> float:
        rec = self._records.get(key_id)
        return rec.ban_end - now if rec is not None and self._banned(rec, now) else 0.0

    def bans(self, now: float) -> list[BanInfo]:
        found = [r.ban for r in self._records.values() if r.ban is not None and now < r.ban_end]
        return sorted(found, key=lambda b: (b.since, b.key_id))

    def penalize(
        self, key_id: str, reason: str, points: float, now: float, wall: float, detail: str = ""
    ) -> BanInfo | None:
        if points < 0:
            raise ValueError("penalty points must not be negative")
        rec = self._records.get(key_id)
        if rec is None:
            if len(self._records) >= self.max_tracked:
                # Make room for an eighth more at once, so a full book is not scanned each time.
                self._trim(now, self.max_tracked - max(1, self.max_tracked // 8), key_id)
            if len(self._records) >= self.max_tracked and points < self.threshold:
                return None  # every key tracked is banned: bans are bounded by the membership
            rec = self._records[key_id] = _Record(now)
        if self._banned(rec, now):
            return None
        score, rec.at = self._decay(rec, now)
        rec.score = score + points
        self._trim(now, self.max_tracked, key_id)
        if rec.score < self.threshold:
            return None
        if rec.offences and now - rec.ban_end > OFFENCE_MEMORY_S:
            rec.offences = 0
        rec.offences += 1
        duration = min(self.ban_max_s, self.ban_base_s * 2 ** min(rec.offences - 1, 62))
        rec.score = 0.0
        rec.ban_end = now + duration
        rec.ban = BanInfo(key_id, reason, detail, wall, wall + duration, rec.offences)
        return rec.ban

    def _trim(self, now: float, limit: int, keep: str) -> None:
        """Forget keys (lowest score first, never a banned one nor ``keep``) down to ``limit``."""
        excess = len(self._records) - limit
        if excess <= 0:
            return
        candidates = [
            (self._decayed(r, now), r.offences, r.at, k)
            for k, r in self._records.items()
            if k != keep and not self._banned(r, now)
        ]
        for *_, k in heapq.nsmallest(excess, candidates):
            del self._records[k]
