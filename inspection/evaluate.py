"""Evaluation of a model on a folder of class folders (optionally one side of the split)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from inspection.dataset import load_arrays, scan
from inspection.engine import InferenceEngine
from inspection.errors import DatasetError
from inspection.metrics import summary
from inspection.perturb import chain


def evaluate(
    engine: InferenceEngine, data: Path, split: str = "all", perturb: list[str] | None = None
) -> dict[str, Any]:
    """{"accuracy", "per_class", "confusion", "n", "images_per_s", ...}.

    images_per_s counts decoding, preprocessing and batched inference of every image.
    `perturb`: line-condition perturbations of `inspection.perturb`, applied before preprocessing.
    """
    transform = chain(perturb or [])
    folder = scan(Path(data), engine.classes)
    if split == "all":
        samples = folder.samples
    else:
        train, val = folder.split()
        samples = val if split == "validation" else train
    if not samples:
        raise DatasetError("no images to evaluate")
    t0 = time.perf_counter()
    x, y, skipped = load_arrays(samples, engine.cfg, transform=transform)
    if len(x) == 0:
        raise DatasetError("no readable images to evaluate")
    probs = engine.infer(x)
    seconds = time.perf_counter() - t0
    result = summary(y, np.asarray(probs).argmax(1), engine.classes)
    result["images_per_s"] = len(x) / seconds if seconds > 0 else None
    result["skipped"] = len(skipped)
    result["split"] = split
    result["perturb"] = list(perturb or [])
    result["device"] = engine.device.type
    result["model_id"] = engine.loaded.model_id
    return result
