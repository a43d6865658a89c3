"""Preprocessing as a declared configuration with a stable digest (what a pipeline certificate covers).

A frame goes through two steps:
1. `to_model_input`: decode (after the pixel budget of `inspection.image_budget` has passed the
   header) / convert to one grayscale channel and resize (area interpolation) to
   the declared size, giving uint8 pixels;
2. `normalise`: per-image standardisation (subtract the image mean, divide by its standard
   deviation, floored at `std_floor_milli`/1000 grey levels), which makes the model blind to
   uniform brightness and contrast changes of the line lighting.

The configuration holds only integers, strings and booleans, so its canonical JSON (and hence
its SHA-256 digest) is the same on every machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
import torch

from bedrock.canonical import digest_hex
from inspection.errors import ImageError
from inspection.image_budget import check_encoded, check_size

MIN_SIDE = 8
# No alpha plane (the grey conversion drops it anyway), 16-bit kept (shifted to 8 in `to_gray`),
# EXIF orientation ignored as IMREAD_UNCHANGED did: the same grey pixels with less memory.
DECODE_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR | cv2.IMREAD_IGNORE_ORIENTATION
NORMALISATIONS = ("per_image_standardise",)
INTERPOLATIONS = {"area": cv2.INTER_AREA}


@dataclass(frozen=True)
class PreprocessConfig:
    """The declared preprocessing. Change any field and the digest changes."""

    width: int = 128
    height: int = 128
    grayscale: bool = True
    interpolation: str = "area"
    normalisation: str = "per_image_standardise"
    std_floor_milli: int = 1000  # 1.0 grey level: a flat frame is not blown up into noise
    version: int = 1

    def __post_init__(self) -> None:
        for name in ("width", "height", "std_floor_milli", "version"):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:
                raise ValueError(f"preprocessing {name} must be a positive integer, got {value!r}")
        if not (MIN_SIDE <= self.width <= 1024 and MIN_SIDE <= self.height <= 1024):
            raise ValueError("preprocessing size must be between 8 and 1024 pixels")
        if self.grayscale is not True:
            raise ValueError("only grayscale preprocessing is supported")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"unknown interpolation {self.interpolation!r}")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(f"unknown normalisation {self.normalisation!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "bcmlp.preprocess", **asdict(self)}

    @classmethod
    def from_dict(cls, obj: Any) -> PreprocessConfig:
        if not isinstance(obj, dict) or obj.get("kind") != "bcmlp.preprocess":
            raise ValueError("not a bcmlp preprocessing configuration")
        fields = {k: v for k, v in obj.items() if k != "kind"}
        try:
            return cls(**fields)
        except TypeError as exc:
            raise ValueError(f"bad preprocessing configuration: {exc}") from None

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the canonical JSON of the configuration."""
        return digest_hex(self.to_dict())


DEFAULT_PREPROCESS = PreprocessConfig()


def _check_complete(data: bytes) -> None:
    """Reject JPEG and PNG files that stop early (decoders would silently fill them with grey)."""
    if data[:2] == b"\xff\xd8":
        if b"\xff\xd9" not in data[-64:].rstrip(b"\x00"):
            raise ImageError("truncated JPEG: no end-of-image marker")
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-32:]:
            raise ImageError("truncated PNG: no IEND chunk")


def decode_image(data: bytes) -> np.ndarray:
    """Encoded image bytes (PNG, JPEG, BMP, TIFF, WebP) to a grayscale uint8 array; ImageError if
    bad. The header is read and the pixel budget applied before the decoder runs."""
    header = check_encoded(data)
    _check_complete(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        img = cv2.imdecode(buf, DECODE_FLAGS)
    except cv2.error as exc:
        raise ImageError(f"cannot decode image: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    if img is None:
        raise ImageError("not a decodable image (corrupt or unknown format)")
    if img.shape[:2] != (header.height, header.width):
        raise ImageError(f"decoded size {img.shape[1]}x{img.shape[0]} differs from the header's "
                         f"{header.width}x{header.height}")
    return to_gray(img)


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A frame (H x W, H x W x 1, BGR or BGRA; uint8 or uint16) as grayscale uint8."""
    if not isinstance(frame, np.ndarray):
        raise ImageError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3):
        raise ImageError(f"frame has {frame.ndim} dimensions; expected 2 or 3")
    h, w = frame.shape[:2]
    check_size(w, h, None, "frame")
    if h < MIN_SIDE or w < MIN_SIDE:
        raise ImageError(f"frame size {w}x{h} is below {MIN_SIDE} pixels a side")
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype != np.uint8:
        raise ImageError(f"frame pixel type {frame.dtype} is not uint8 or uint16")
    if frame.ndim == 3:
        channels = frame.shape[2]
        if channels == 3:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        elif channels == 4:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
        else:
            raise ImageError(f"frame has {channels} channels; expected 1, 3 or 4")
    return np.ascontiguousarray(frame)


def to_model_input(frame: np.ndarray, cfg: PreprocessConfig = DEFAULT_PREPROCESS) -> np.ndarray:
    """Grayscale and resize to the declared size: uint8 array of shape (height, width)."""
    gray = to_gray(frame)
    if gray.shape != (cfg.height, cfg.width):
        gray = cv2.resize(
            gray, (cfg.width, cfg.height), interpolation=INTERPOLATIONS[cfg.interpolation]
        )
    return gray


def normalise(batch: torch.Tensor, cfg: PreprocessConfig = DEFAULT_PREPROCESS) -> torch.Tensor:
    """Per-image standardisation of a (N, 1, H, W) batch of grey levels (0..255, any float)."""
    x = batch.float()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True, unbiased=False)
    return (x - mean) / std.clamp_min(cfg.std_floor_milli / 1000.0)


def stack(images: list[np.ndarray]) -> torch.Tensor:
    """uint8 model inputs of one size to a (N, 1, H, W) uint8 tensor."""
    return torch.from_numpy(np.stack(images)[:, None, :, :])
