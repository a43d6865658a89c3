"""Bundled resources (style sheets, icons, sample images, the bundled model) and their paths."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """Absolute path of a bundled resource; works from a source tree, a wheel or a frozen bundle."""
    return ROOT.joinpath(*parts)


def read_text(*parts: str) -> str:
    return path(*parts).read_text(encoding="utf-8")
