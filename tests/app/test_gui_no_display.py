"""Without a display, `bcmlp gui` says so in one line instead of letting Qt abort."""

import subprocess
import sys


def test_gui_without_display_is_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "app", "gui", "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no display" in proc.stderr
