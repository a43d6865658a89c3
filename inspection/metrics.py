"""Classification metrics from labels and predictions: accuracy, per-class recall, confusion."""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion(labels: np.ndarray, preds: np.ndarray, n_classes: int) -> np.ndarray:
    """rows: true class, columns: predicted class."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (labels.astype(np.int64), preds.astype(np.int64)), 1)
    return m


def summary(labels: np.ndarray, preds: np.ndarray, classes: tuple[str, ...]) -> dict[str, Any]:
    """accuracy (fraction), per_class {name: {n, correct, recall}}, confusion rows, n, correct."""
    m = confusion(labels, preds, len(classes))
    n = int(m.sum())
    correct = int(np.trace(m))
    per_class = {}
    for i, name in enumerate(classes):
        total = int(m[i].sum())
        per_class[name] = {
            "n": total,
            "correct": int(m[i, i]),
            "recall": (int(m[i, i]) / total) if total else None,
        }
    return {
        "accuracy": correct / n if n else None,
        "correct": correct,
        "n": n,
        "per_class": per_class,
        "confusion": m.tolist(),
        "classes": list(classes),
    }


def integer_summary(s: dict[str, Any]) -> dict[str, Any]:
    """The same metrics with integers only (for cards and certificates): rates in per-10,000."""
    def bp(x: float | None) -> int | None:
        return None if x is None else int(round(x * 10000))

    return {
        "accuracy_bp": bp(s["accuracy"]),
        "correct": s["correct"],
        "n": s["n"],
        "per_class": {
            k: {"n": v["n"], "correct": v["correct"], "recall_bp": bp(v["recall"])}
            for k, v in s["per_class"].items()
        },
        "confusion": s["confusion"],
    }
