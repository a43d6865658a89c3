"""Line-condition perturbations for robustness evaluation, applied to the decoded camera image.

Spec strings (one per perturbation, applied in order): `noise:SIGMA` (Gaussian sensor noise,
grey levels), `blur:SIGMA` (Gaussian blur, pixels), `brightness:DELTA` (grey levels added),
`contrast:FACTOR` (around the image mean), `gamma:G`. Noise is seeded per image from its
content, so a run is reproducible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import cv2
import numpy as np

Perturbation = Callable[[np.ndarray], np.ndarray]
KINDS = ("noise", "blur", "brightness", "contrast", "gamma")


def _clip(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def parse(spec: str) -> Perturbation:
    kind, _, value = spec.partition(":")
    try:
        v = float(value)
    except ValueError:
        raise ValueError(f"bad perturbation {spec!r}: use KIND:NUMBER, KIND one of {', '.join(KINDS)}") from None
    if kind == "noise":
        def noise(img: np.ndarray) -> np.ndarray:
            seed = int.from_bytes(hashlib.sha256(img.tobytes()).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            return _clip(img.astype(np.float32) + rng.normal(0, v, img.shape))
        return noise
    if kind == "blur":
        return lambda img: cv2.GaussianBlur(img, (0, 0), v) if v > 0 else img
    if kind == "brightness":
        return lambda img: _clip(img.astype(np.float32) + v)
    if kind == "contrast":
        return lambda img: _clip((img.astype(np.float32) - img.mean()) * v + img.mean())
    if kind == "gamma":
        return lambda img: _clip(255.0 * (img.astype(np.float32) / 255.0) ** v)
    raise ValueError(f"unknown perturbation {kind!r}: use one of {', '.join(KINDS)}")


def chain(specs: list[str]) -> Perturbation | None:
    fns = [parse(s) for s in specs]
    if not fns:
        return None

    def apply(img: np.ndarray) -> np.ndarray:
        for f in fns:
            img = f(img)
        return img

    return apply
