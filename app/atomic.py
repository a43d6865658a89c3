"""Small JSON and binary files: atomic writes (a crash leaves the old or the new file) and bounded reads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json_atomic(path: Path, obj: Any, mode: int = 0o600) -> None:
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"), mode)


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
