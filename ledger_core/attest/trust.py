"""Trust evaluation (docs/design.md section 6): ratings -> subjective-logic opinions. Pure and exact.

Each rating of a subject (an expert's key id, an organisation, a certificate) with score
0..100 is evidence: score/100 positive and (100-score)/100 negative, multiplied by the rater's
weight and by the age decay. With r positive and s negative evidence in total:

    b = r/(r+s+2),  d = s/(r+s+2),  u = 2/(r+s+2),  E = b + a*u

Rules: no self-ratings (a rater rating itself, its organisation, or what it issued); the latest
rating of a rater on a subject replaces earlier ones; a rater's weight is its own expected trust
(iterated a fixed number of rounds from the base rate); the summed weight of one organisation's
raters on one subject is capped; evidence halves every `half_life` blocks (piecewise linear between
halvings, exact in integers); a subject without ratings has u = 1 and E = a. Everything is integer
or Fraction arithmetic, and every published number is rounded down to parts per million, so every
node computes exactly the same values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

PPM = 1_000_000
WEIGHT_ROUNDS = 3


@dataclass(frozen=True)
class TrustParams:
    base_rate_ppm: int = 500_000
    half_life_blocks: int = 10_000
    org_cap_ppm: int = 1_000_000  # summed weight of one organisation's raters on one subject
    threshold_ppm: int = 600_000

    def __post_init__(self) -> None:
        if not 0 <= self.base_rate_ppm <= PPM:
            raise ValueError("base rate must be within 0..1,000,000 ppm")
        if self.half_life_blocks < 1:
            raise ValueError("half-life must be at least one block")
        if self.org_cap_ppm < 1:
            raise ValueError("the per-organisation cap must be positive")
        if not 0 <= self.threshold_ppm <= PPM:
            raise ValueError("threshold must be within 0..1,000,000 ppm")


@dataclass(frozen=True)
class Rating:
    rater: str  # key id of the rating expert
    rater_org: str
    subject: str
    score: int  # 0..100
    height: int  # block height at which it was committed
    seq: int = 0  # position within the block: orders ratings of one height
    evidence: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.score <= 100:
            raise ValueError("a score is an integer from 0 to 100")


@dataclass(frozen=True)
class Contribution:
    rater: str
    rater_org: str
    score: int
    height: int
    weight_ppm: int  # after the organisation cap
    decay_ppm: int
    evidence: str


@dataclass(frozen=True)
class Opinion:
    subject: str
    belief_ppm: int
    disbelief_ppm: int
    uncertainty_ppm: int
    base_rate_ppm: int
    expected_ppm: int
    contributions: tuple[Contribution, ...] = field(default=())

    def passes(self, threshold_ppm: int) -> bool:
        return self.expected_ppm >= threshold_ppm

    def as_dict(self) -> dict:
        return {
            "subject": self.subject,
            "belief_ppm": self.belief_ppm,
            "disbelief_ppm": self.disbelief_ppm,
            "uncertainty_ppm": self.uncertainty_ppm,
            "base_rate_ppm": self.base_rate_ppm,
            "expected_ppm": self.expected_ppm,
            "contributions": [c.__dict__ for c in self.contributions],
        }


def decay_ppm(age_blocks: int, half_life: int) -> int:
    """2^(-age/half_life) in ppm: exact halvings, linear in between, never below 0."""
    if age_blocks <= 0:
        return PPM
    halvings, rest = divmod(age_blocks, half_life)
    if halvings >= 40:
        return 0
    full = PPM >> halvings
    return full - (full * rest) // (2 * half_life)


def is_self_rating(rating: Rating, owners: Mapping[str, tuple[str, str]]) -> bool:
    """owners maps a subject to (key id, organisation) of whoever it belongs to or was issued by."""
    if rating.subject in (rating.rater, rating.rater_org):
        return True
    owner = owners.get(rating.subject)
    return owner is not None and rating.rater == owner[0]


def _order(r: Rating) -> tuple:
    """Newest first by (height, seq); the rest only makes equal positions deterministic."""
    return (r.height, r.seq, r.score, r.rater_org, r.evidence)


def latest_ratings(ratings: Iterable[Rating], owners: Mapping[str, tuple[str, str]]) -> list[Rating]:
    """Drop self-ratings; keep each rater's newest rating per subject; sorted deterministically."""
    newest: dict[tuple[str, str], Rating] = {}
    for r in ratings:
        if is_self_rating(r, owners):
            continue
        key = (r.rater, r.subject)
        old = newest.get(key)
        if old is None or _order(r) > _order(old):
            newest[key] = r
    return sorted(newest.values(), key=lambda r: (r.subject, r.rater, r.height, r.seq))


def _opinion(
    subject: str,
    ratings: list[Rating],
    weights: Mapping[str, int],
    params: TrustParams,
    now_height: int,
) -> Opinion:
    base = params.base_rate_ppm
    by_org: dict[str, int] = defaultdict(int)
    for r in ratings:
        by_org[r.rater_org] += weights.get(r.rater, base)
    pos = neg = Fraction(0)
    contributions = []
    for r in ratings:
        raw = weights.get(r.rater, base)
        total = by_org[r.rater_org]
        weight = raw if total <= params.org_cap_ppm else (raw * params.org_cap_ppm) // total
        decay = decay_ppm(now_height - r.height, params.half_life_blocks)
        amount = Fraction(weight * decay, PPM * PPM)
        pos += amount * Fraction(r.score, 100)
        neg += amount * Fraction(100 - r.score, 100)
        contributions.append(
            Contribution(r.rater, r.rater_org, r.score, r.height, weight, decay, r.evidence)
        )
    denom = pos + neg + 2
    b = (pos / denom * PPM).__floor__()
    d = (neg / denom * PPM).__floor__()
    u = PPM - b - d  # rounding remainder goes to uncertainty so the three sum to exactly 1
    e = b + (Fraction(base, PPM) * u).__floor__()
    return Opinion(subject, b, d, u, base, e, tuple(contributions))


class TrustBook:
    """All ratings in force at one height and the opinions derived from them."""

    def __init__(
        self,
        ratings: Iterable[Rating],
        params: TrustParams,
        now_height: int,
        owners: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.params = params
        self.now = now_height
        self.owners = dict(owners or {})
        self.ratings = latest_ratings(ratings, self.owners)
        self._by_subject: dict[str, list[Rating]] = defaultdict(list)
        for r in self.ratings:
            self._by_subject[r.subject].append(r)
        self.weights = self._rater_weights()

    def _rater_weights(self) -> dict[str, int]:
        raters = sorted({r.rater for r in self.ratings})
        weights = {k: self.params.base_rate_ppm for k in raters}
        for _ in range(WEIGHT_ROUNDS):
            weights = {
                k: _opinion(k, self._by_subject.get(k, []), weights, self.params, self.now).expected_ppm
                for k in raters
            }
        return weights

    def opinion(self, subject: str) -> Opinion:
        return _opinion(subject, self._by_subject.get(subject, []), self.weights, self.params, self.now)

    def subjects(self) -> list[str]:
        return sorted(self._by_subject)
