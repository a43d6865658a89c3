"""The manifest (file list and digest) of a file or folder, with progress through a callback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.errors import UserError
from bedrock.cancel import Cancelled
from ledger_core.attest.manifest import Manifest, build_manifest

HashProgress = Callable[[int, int], None]  # (bytes hashed, bytes in all)


def hash_path(path: Path, progress: HashProgress | None = None) -> Manifest:
    """The manifest of `path`; UserError (naming the path) when it cannot be read."""
    try:
        return build_manifest(path, progress)
    except (Cancelled, OSError) as exc:
        raise UserError(f"cannot hash {path}: {exc}") from None
