"""Fixtures for the inspection tests: sample images, tiny models, encoded frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import resources
from inspection.model import NeuNet, save_model
from inspection.preprocess import DEFAULT_PREPROCESS

SAMPLES = resources.path("samples", "images")
BUNDLED_MODEL = resources.path("model", "neu.safetensors")


def jpeg_bytes(img: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


@pytest.fixture
def samples() -> Path:
    assert SAMPLES.is_dir(), "bundled sample images are missing"
    return SAMPLES


@pytest.fixture
def sample_files(samples) -> list[Path]:
    return sorted(samples.rglob("*.jpg"))


@pytest.fixture
def untrained_model(tmp_path) -> Path:
    """An untrained (random) model with a valid card: for plumbing tests, not accuracy."""
    import torch

    torch.manual_seed(1)
    weights, _, _ = save_model(NeuNet(6, (8, 16)), tmp_path / "tiny", DEFAULT_PREPROCESS,
                               {"validation": {}})
    return weights
