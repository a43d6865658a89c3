"""A content-addressed image store: each image is kept once under its SHA-256.

Layout: `<root>/<aa>/<bb>/<sha256>` holding the encoded image bytes (the original file bytes
for image sources; a lossless PNG for decoded camera/video frames). Writes are atomic
(temporary file + rename); reads re-hash and refuse a file whose content changed.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import cv2
import numpy as np

from bedrock.atomic import write_bytes_atomic
from inspection.errors import ImageError

SHA_RE = re.compile(r"^[0-9a-f]{64}$")
MAX_BYTES = 64 * 1024 * 1024


def encode_png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ImageError("cannot encode frame as PNG")
    return buf.tobytes()


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha: str) -> Path:
        if not SHA_RE.match(sha):
            raise ValueError(f"not a SHA-256 hex digest: {sha!r}")
        return self.root / sha[:2] / sha[2:4] / sha

    def put(self, data: bytes) -> str:
        """Store `data` (idempotent); returns its SHA-256 hex."""
        if len(data) > MAX_BYTES:
            raise ImageError(f"image of {len(data)} bytes exceeds {MAX_BYTES}")
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, data, sync_dir=False)
        return sha

    def get(self, sha: str) -> bytes:
        """The stored bytes; ImageError when missing or no longer matching the digest."""
        p = self.path(sha)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise ImageError(f"image {sha[:12]} is not in the history store") from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise ImageError(f"image {sha[:12]} in the history store has been altered")
        return data

    def read(self, sha: str) -> bytes | None:
        """The stored bytes as they are, unchecked (an auditor compares them to the digest
        itself), or None when the store does not hold them."""
        return self.path(sha).read_bytes() if sha in self else None

    def __contains__(self, sha: str) -> bool:
        return SHA_RE.match(sha) is not None and self.path(sha).exists()
