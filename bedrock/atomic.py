"""Durable atomic file writes (a crash leaves the old file or the new one, never a mix) and
bounded reads of small JSON files.

The temporary file has a unique name beside the target, is fsynced before the rename, and the
directory is fsynced after it, so the rename itself survives a power cut.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _fsync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_bytes_atomic(path: Path, data: bytes, mode: int = 0o600, sync_dir: bool = True) -> None:
    """`sync_dir=False` for content-addressed stores written at frame rate, where losing the
    newest name in a power cut only loses a cache entry that is written again."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_dir:
        _fsync_dir(path.parent)


def write_text_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), mode)


def write_json_atomic(path: Path, obj: Any, mode: int = 0o600) -> None:
    """Human-readable JSON (indented, sorted keys) for configs and settings."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", mode)


def read_json_object(path: Path, max_bytes: int, error: type[Exception]) -> dict[str, Any]:
    """Read a small JSON object file; any problem raises `error` with a one-line reason."""
    try:
        if path.stat().st_size > max_bytes:
            raise error(f"{path} is larger than {max_bytes} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path} is corrupt (not valid JSON: {exc})") from None
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise error(f"{path} is corrupt (not a JSON object)")
    return data
