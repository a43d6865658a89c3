"""Quality index and verdict of one workpiece from class probabilities and the order.

Formula (integers, per-mille throughout):
    p_c       = class probability in per-mille, rounded so that the six values sum to 1000
                (largest-remainder rounding);
    s_c       = the order's severity of class c in per-mille;
    q         = 1000 - round(sum_c p_c * s_c / 1000)        (round half up; 0 <= q <= 1000)
    quality index = q / 1000 in [0, 1]
    verdict   = "OK" if q >= the order's threshold_permille else "NOK".
So the index is one minus the expected severity of the part under the model's belief: a confident
harmless class gives q near 1000, a confident severe class gives q near 1000 - severity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inspection.orders import Order


@dataclass(frozen=True)
class Assessment:
    probs_permille: dict[str, int]
    quality_permille: int
    verdict: str
    top_class: str
    top_permille: int

    @property
    def quality_index(self) -> float:
        return self.quality_permille / 1000


def to_permille(probs: Sequence[float]) -> list[int]:
    """Probabilities to per-mille integers summing to exactly 1000 (largest remainder)."""
    total = float(sum(probs))
    if not probs or total <= 0 or any(p < 0 or p != p for p in probs):
        raise ValueError("probabilities must be non-negative and sum to more than 0")
    scaled = [p * 1000.0 / total for p in probs]
    base = [int(s) for s in scaled]
    rest = 1000 - sum(base)
    order = sorted(range(len(scaled)), key=lambda i: (-(scaled[i] - base[i]), i))
    for i in order[:rest]:
        base[i] += 1
    return base


def assess(classes: Sequence[str], probs: Sequence[float], order: Order) -> Assessment:
    if len(classes) != len(probs):
        raise ValueError("one probability per class is needed")
    pm = to_permille(probs)
    expected = sum(p * order.severity(c) for c, p in zip(classes, pm, strict=True))
    q = 1000 - (expected + 500) // 1000
    q = max(0, min(1000, q))
    top = max(range(len(pm)), key=lambda i: (pm[i], -i))
    verdict = "OK" if q >= order.threshold_permille else "NOK"
    return Assessment(dict(zip(classes, pm, strict=True)), q, verdict, classes[top], pm[top])
