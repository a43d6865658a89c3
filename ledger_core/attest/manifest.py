"""Manifests: a file or folder as a sorted list of (relative path, size, SHA-256) and its digest.

The manifest digest (hex SHA-256 of the manifest's canonical JSON) is the subject digest of a
certificate. Hashing reports progress in bytes and can be cancelled between chunks. Links are
refused, so a manifest always describes the bytes that are really inside the folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bedrock.cancel import Cancelled
from bedrock.canonical import digest_hex
from bedrock.errors import CodedError

MANIFEST_VERSION = 1
CHUNK = 1024 * 1024

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


class ManifestError(CodedError, ValueError):
    """A file or folder that cannot be hashed into a manifest."""

    code = "manifest"


@dataclass(frozen=True)
class FileEntry:
    path: str  # POSIX path relative to the manifest root
    size: int
    sha256: str

    def as_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Manifest:
    files: tuple[FileEntry, ...]

    def as_dict(self) -> dict:
        return {"files": [f.as_dict() for f in self.files], "version": MANIFEST_VERSION}

    @property
    def digest(self) -> str:
        return digest_hex(self.as_dict())

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @classmethod
    def from_dict(cls, data: dict) -> Manifest:
        try:
            if data["version"] != MANIFEST_VERSION:
                raise ManifestError(f"unsupported manifest version {data['version']!r}")
            files = tuple(
                FileEntry(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in data["files"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"malformed manifest: {exc}") from None
        if [f.path for f in files] != sorted({f.path for f in files}):
            raise ManifestError("manifest paths must be unique and sorted")
        return cls(files)


def list_files(root: Path) -> list[tuple[str, Path]]:
    """(relative POSIX path, absolute path) of every regular file, sorted; links are refused."""
    if root.is_symlink():
        raise ManifestError(f"{root} is a symbolic link")
    if root.is_file():
        return [(root.name, root)]
    if not root.is_dir():
        raise ManifestError(f"{root} is neither a file nor a folder")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in dirnames + filenames:
            p = base / name
            if p.is_symlink():
                raise ManifestError(f"{p} is a symbolic link: manifests hold regular files only")
        for name in filenames:
            p = base / name
            if not p.is_file():
                raise ManifestError(f"{p} is not a regular file")
            found.append((p.relative_to(root).as_posix(), p))
    found.sort(key=lambda item: item[0])
    return found


def build_manifest(
    root: Path,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Manifest:
    files = list_files(root)
    sizes = [p.stat().st_size for _, p in files]
    total = sum(sizes)
    done = 0
    entries = []
    for (rel, path), size in zip(files, sizes, strict=True):
        h = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                if should_cancel is not None and should_cancel():
                    raise Cancelled(f"hashing cancelled at {rel}")
                h.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        entries.append(FileEntry(rel, size, h.hexdigest()))
    if progress is not None:
        progress(total, total)
    return Manifest(tuple(entries))


def compare(expected: Manifest, actual: Manifest) -> list[str]:
    """What differs, one human-readable line per file (empty when identical)."""
    want = {f.path: f for f in expected.files}
    have = {f.path: f for f in actual.files}
    lines = [f"missing: {p}" for p in sorted(want.keys() - have.keys())]
    lines += [f"added: {p}" for p in sorted(have.keys() - want.keys())]
    lines += [
        f"changed: {p}" for p in sorted(want.keys() & have.keys()) if want[p].sha256 != have[p].sha256
    ]
    return lines
