"""A subject's trust over time, from the ledger's rating history (pure: runs on a worker).

One point at height 0, one at each height where a rating of the subject was committed (for a
certificate also of its issuer, whose trust is the certificate's base rate), and one at the head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger_core.attest.gate import expected_over_time
from ledger_core.attest.trust import Rating, TrustBook, TrustParams


@dataclass(frozen=True)
class Point:
    height: int
    belief_ppm: int
    disbelief_ppm: int
    uncertainty_ppm: int
    expected_ppm: int


@dataclass(frozen=True)
class History:
    subject: str
    points: list[Point]


def change_heights(ratings: Sequence[Rating], subject: str, top: int, issuer: str | None = None) -> list[int]:
    about = {subject} if issuer is None else {subject, issuer}
    return sorted({0, top, *(r.height for r in ratings if r.subject in about and r.height <= top)})


def subject_history(ratings: Sequence[Rating], params: TrustParams, subject: str, top: int,
                    owner: tuple[str, str] | None = None) -> History:
    """`owner`: a certificate's (issuer key id, issuer organisation), None for other subjects."""
    heights = change_heights(ratings, subject, top, owner[0] if owner else None)
    owners = {} if owner is None else {subject: owner}
    # the expected trust comes from the ledger's own rule (a certificate's base rate is its
    # issuer's trust); belief, disbelief and uncertainty from the same ratings at each height
    expected = dict(expected_over_time(list(ratings), params, subject, heights, owners))
    points = []
    for h in heights:
        op = TrustBook([r for r in ratings if r.height <= h], params, h, owners).opinion(subject)
        points.append(Point(h, op.belief_ppm, op.disbelief_ppm, op.uncertainty_ppm, expected[h]))
    return History(subject, points)
