"""Durable atomic writes: the new bytes and mode, no temporary file left, the old file kept
when writing fails."""

from __future__ import annotations

import os
import stat

import pytest

from bedrock.atomic import read_json_object, write_bytes_atomic, write_json_atomic


def test_write_replaces_with_mode_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    write_bytes_atomic(target, b"new", 0o600)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def no_space(*_a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(OSError):
        write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_json_round_trip_and_bad_files(tmp_path):
    target = tmp_path / "s.json"
    write_json_atomic(target, {"b": 1, "a": [1, 2]})
    assert read_json_object(target, 1000, ValueError) == {"a": [1, 2], "b": 1}
    target.write_text("[1]")
    with pytest.raises(ValueError, match="not a JSON object"):
        read_json_object(target, 1000, ValueError)
    target.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_json_object(target, 1000, ValueError)
    with pytest.raises(ValueError, match="larger than"):
        read_json_object(target, 0, ValueError)
