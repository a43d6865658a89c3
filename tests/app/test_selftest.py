"""`bcmlp --self-test`: model inference on a bundled sample, the main window, READY."""

from __future__ import annotations

import os
import subprocess
import sys


def test_self_test_prints_ready(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "app", "--self-test"], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "READY"
    assert "-> crazing" in lines[-2]  # the first bundled sample is a crazing image


def test_self_test_failure_is_one_line(run_cli, monkeypatch):
    from app import selftest

    def broken() -> str:
        raise selftest.SelfTestFailed("the bundled model calls x.jpg 'scratches', expected 'crazing'")

    monkeypatch.setattr(selftest, "check_model", broken)
    code, out, err = run_cli("gui", "--self-test")
    assert code == 1 and "READY" not in out
    assert err.strip().count("\n") == 0 and "expected 'crazing'" in err
