"""Manifests: digests that change with any file, progress, cancel, refused links."""

from __future__ import annotations

import pytest

from bedrock.cancel import Cancelled
from ledger_core.attest.manifest import Manifest, ManifestError, build_manifest, compare


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "ds"
    (root / "a").mkdir(parents=True)
    (root / "a" / "1.jpg").write_bytes(b"one")
    (root / "b.jpg").write_bytes(b"two" * 1000)
    return root


def test_manifest_lists_sorted_files_and_digest_is_stable(folder):
    m = build_manifest(folder)
    assert [f.path for f in m.files] == ["a/1.jpg", "b.jpg"]
    assert m.total_bytes == 3 + 3000
    assert build_manifest(folder).digest == m.digest
    assert Manifest.from_dict(m.as_dict()) == m


@pytest.mark.parametrize("change", ["edit", "add", "remove", "rename"])
def test_any_change_changes_the_digest(folder, change):
    before = build_manifest(folder)
    if change == "edit":
        (folder / "b.jpg").write_bytes(b"two" * 999 + b"TWO")
    elif change == "add":
        (folder / "poison.jpg").write_bytes(b"x")
    elif change == "remove":
        (folder / "a" / "1.jpg").unlink()
    else:
        (folder / "a" / "1.jpg").rename(folder / "a" / "2.jpg")
    after = build_manifest(folder)
    assert after.digest != before.digest
    assert compare(before, after)


def test_progress_and_cancel(folder):
    seen = []
    build_manifest(folder, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (3003, 3003) and all(d <= t for d, t in seen)
    with pytest.raises(Cancelled):
        build_manifest(folder, should_cancel=lambda: True)


def test_single_file_and_links(folder, tmp_path):
    assert [f.path for f in build_manifest(folder / "b.jpg").files] == ["b.jpg"]
    (folder / "link").symlink_to(folder / "b.jpg")
    with pytest.raises(ManifestError):
        build_manifest(folder)
    with pytest.raises(ManifestError):
        build_manifest(tmp_path / "missing")


def test_malformed_manifest_dict():
    with pytest.raises(ManifestError):
        Manifest.from_dict({"version": 1, "files": [{"path": "b"}, {"path": "a", "size": 1, "sha256": "x"}]})
    with pytest.raises(ManifestError):
        Manifest.from_dict({"version": 2, "files": []})
