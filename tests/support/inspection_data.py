"""Sample images, tiny models and encoded frames for the inspection, station and UI tests; a
pytest plugin (tests/conftest.py loads it), so its fixtures serve every test folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

import resources
from inspection.dataset import is_validation
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


@pytest.fixture
def tiny_set(tmp_path) -> Path:
    """The bundled samples (10 per class): both sides of the split get some images."""
    root = tmp_path / "set"
    shutil.copytree(SAMPLES, root)
    names = [p.name for p in root.rglob("*.jpg")]
    # the samples all come from the validation side; rename some so training gets images too
    for i, p in enumerate(sorted(root.rglob("*.jpg"))):
        if i % 2 == 0:
            k = 0
            while is_validation(f"t{k}_{p.name}"):
                k += 1
            p.rename(p.with_name(f"t{k}_{p.name}"))
    assert len(names) == 60
    return root
