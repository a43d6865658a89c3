"""Compute device choice: `auto` = CUDA, then MPS, then CPU; an explicit device must exist."""

from __future__ import annotations

import torch

from inspection.errors import DeviceError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError("device cuda was asked for, but no CUDA GPU is available here")
        try:
            dev = torch.device(name)
        except RuntimeError:
            raise DeviceError(f"bad CUDA device name {name!r}") from None
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"CUDA device {dev.index} does not exist")
        return dev
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("device mps was asked for, but Apple MPS is not available here")
        return torch.device("mps")
    raise DeviceError(f"unknown device {name!r}: use one of {', '.join(DEVICE_CHOICES)}")
