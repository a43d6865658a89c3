"""Image folders laid out one folder per class, their digest, and the stated train/validation split.

Split rule (deterministic, independent of file order, machine and seed): an image is in the
validation set when the first 8 hex digits of SHA-256(file name, UTF-8), read as an integer, are
0 modulo 5 (about 20%), otherwise in the training set. Only the file name counts, so the same
image lands on the same side wherever the folder is copied.

Dataset digest: SHA-256 of the canonical JSON manifest {"files": [[class/name, sha256], ...]}
sorted by path; the same rule a dataset certificate's manifest uses for folder subjects.

Loading goes through `decode_image`, so every file passes the pixel budget before it is decoded
(a file over it is skipped with its reason), and a file over the encoded-size limit is not even
read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bedrock.canonical import digest_hex
from inspection.errors import DatasetError, ImageError, ImageTooLarge
from inspection.image_budget import MAX_IMAGE_BYTES
from inspection.preprocess import PreprocessConfig, decode_image, to_model_input

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
VALIDATION_MODULUS = 5
SPLIT_RULE = "validation iff int(sha256(file_name)[:8], 16) % 5 == 0"


def is_validation(file_name: str) -> bool:
    h = hashlib.sha256(file_name.encode("utf-8")).hexdigest()
    return int(h[:8], 16) % VALIDATION_MODULUS == 0


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int

    @property
    def rel(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"


@dataclass
class ImageFolder:
    root: Path
    classes: tuple[str, ...]
    samples: list[Sample]

    def split(self) -> tuple[list[Sample], list[Sample]]:
        train = [s for s in self.samples if not is_validation(s.path.name)]
        val = [s for s in self.samples if is_validation(s.path.name)]
        return train, val

    def digest(self) -> str:
        files = [[s.rel, hashlib.sha256(s.path.read_bytes()).hexdigest()] for s in self.samples]
        return digest_hex({"files": sorted(files)})


def scan(root: Path, classes: tuple[str, ...] | None = None) -> ImageFolder:
    """One sub-folder per class (sorted names, or the given classes); images inside each."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"data folder {root} does not exist or is not a folder")
    found = sorted(
        d.name for d in root.iterdir()
        if d.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in d.iterdir())
    )
    if classes is None:
        classes = tuple(found)
    else:
        extra = sorted(set(found) - set(classes))
        if extra:
            raise DatasetError(f"data folder has classes the model does not know: {', '.join(extra)}")
    if len(classes) < 2:
        raise DatasetError(f"data folder {root} needs at least two class folders with images")
    samples = []
    for label, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                samples.append(Sample(f, label))
    if not samples:
        raise DatasetError(f"no images found under {root}")
    return ImageFolder(root, tuple(classes), samples)


def load_arrays(
    samples: list[Sample],
    cfg: PreprocessConfig,
    progress: Callable[[int, int], None] | None = None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode, optionally transform the full-size image, preprocess.

    Returns (uint8 N x H x W, int64 labels, skipped 'path: reason').
    """
    images, labels, skipped = [], [], []
    for i, s in enumerate(samples):
        try:
            size = s.path.stat().st_size
            if size > MAX_IMAGE_BYTES:
                raise ImageTooLarge(
                    f"image file of {size} bytes exceeds the limit of {MAX_IMAGE_BYTES}"
                )
            gray = decode_image(s.path.read_bytes())
            images.append(to_model_input(transform(gray) if transform else gray, cfg))
            labels.append(s.label)
        except (ImageError, OSError) as exc:
            skipped.append(f"{s.rel}: {exc}")
        if progress is not None:
            progress(i + 1, len(samples))
    if not images:
        return np.zeros((0, cfg.height, cfg.width), np.uint8), np.zeros(0, np.int64), skipped
    return np.stack(images), np.asarray(labels, dtype=np.int64), skipped
