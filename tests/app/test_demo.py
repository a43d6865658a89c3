"""`bcmlp demo --headless`: four real node processes on loopback play the pipeline; afterwards
every process is gone and each node's chain verifies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMPANIES = ("operator", "trainer", "auditor", "monitor")

pytestmark = pytest.mark.slow


def _bcmlp(*args: str) -> list[str]:
    return [sys.executable, "-m", "app", *args]


def _procs_using(path: Path) -> list[str]:
    """Command lines of live processes that name `path` (the demo's nodes do)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmd:
            found.append(f"{pid}: {cmd}")
    return found


def _chain_verify(root: Path) -> str:
    res = subprocess.run(_bcmlp("chain", "verify", "--json", "--data-dir", str(root)), cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    rep = json.loads(res.stdout)
    assert rep["ok"]
    return rep["app_hash"]


def test_headless_demo_runs_the_pipeline_and_stops_clean(tmp_path):
    d = tmp_path / "demo"
    res = subprocess.run(_bcmlp("demo", "--data-dir", str(d), "--headless", "--duration", "20", "--json"),
                         cwd=REPO, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert set(info["nodes"]) == set(COMPANIES)
    assert info["nodes_agree"] and info["common_height"] >= 10
    assert info["certificates"] == 4 and info["ratings"] == 7 and info["monitor_reports"] == 1
    assert info["inspections"] > 0 and info["anchored_batches"] > 0
    assert info["anchored_records"] == info["inspections"]  # the final forced anchor took the rest
    assert info["gate"]["passed"] and info["gate"]["model"] == info["pipeline"]["model"]
    assert 0 < info["seconds_to_first_verdict"] < info["seconds_total"]
    assert "station_error" not in info
    assert not _procs_using(d), _procs_using(d)
    for c in COMPANIES:
        root = d / c
        assert (root / "passphrase").stat().st_mode & 0o777 == 0o600
        assert _chain_verify(root) == info["nodes"][c]["app_hash"]
    # the same folder again: the consortium restarts from its chains and goes on
    res = subprocess.run(_bcmlp("demo", "--data-dir", str(d), "--headless", "--duration", "3", "--json"),
                         cwd=REPO, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    again = json.loads(res.stdout)
    assert again["nodes_agree"] and again["common_height"] > info["common_height"]
    assert again["certificates"] == 2 * info["certificates"]
    assert not _procs_using(d)


def test_sigterm_stops_every_node_and_leaves_verifiable_chains(tmp_path):
    d = tmp_path / "demo"
    proc = subprocess.Popen(_bcmlp("demo", "--data-dir", str(d), "--headless", "--duration", "600"),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "operator: certified dataset" in line:
                break  # mid-pipeline: nodes committing, more transactions to come
            assert time.monotonic() < deadline, "".join(seen)
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(120) == 130, "".join(seen) + rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "stopping" in rest
    assert not _procs_using(d), _procs_using(d)
    for c in COMPANIES:
        _chain_verify(d / c)
    # a node that cannot run is restarted a few times, then the demo stops with one line
    (d / "monitor" / "genesis.json").write_text("{")
    res = subprocess.run(_bcmlp("demo", "--data-dir", str(d), "--headless", "--duration", "1"),
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    last = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 2 and last.startswith("bcmlp: error: node monitor exited with code 2"), res.stderr
    assert res.stderr.count("restarting it") == 3
    assert not _procs_using(d), _procs_using(d)


def test_unusable_data_dir_is_one_line_exit_2(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    res = subprocess.run(_bcmlp("demo", "--data-dir", str(f / "sub"), "--headless", "--duration", "1"),
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("bcmlp: error:")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    res = subprocess.run(_bcmlp("demo", "--data-dir", str(other), "--headless", "--duration", "1"),
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "not empty" in res.stderr
    assert [p.name for p in other.iterdir()] == ["notes.txt"]  # nothing written there


def test_window_mode_inspects_through_the_operator_perspective(tmp_path):
    """Without --headless (offscreen Qt): the Operator perspective starts inspecting once the gate
    passes; its records are anchored; SIGTERM closes the window and stops every node."""
    d = tmp_path / "demo"
    # BCMLP_UPDATE_TOUR=1 writes the README tour's screenshots into docs/tour
    shots = REPO / "docs" / "tour" if os.environ.get("BCMLP_UPDATE_TOUR") else tmp_path / "tour"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(_bcmlp("demo", "--data-dir", str(d), "--json", "--screenshots", str(shots)),
                            cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "screenshots of" in line:
                break
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(seen) + rest
    info = json.loads(out)
    assert info["gate"]["passed"] and info["inspections"] > 0 and info["anchored_batches"] > 0
    assert info["nodes_agree"] and info["seconds_to_first_verdict"] > 0
    assert not _procs_using(d), _procs_using(d)
    for c in COMPANIES:
        _chain_verify(d / c)
    for key in ("operator", "ledger", "certificates", "trust", "audit", "network", "models"):
        assert (shots / f"{key}.png").stat().st_size > 10_000, key


def test_killed_demo_takes_its_nodes_down(tmp_path):
    """SIGKILL leaves the demo no chance to clean up: the nodes get SIGTERM as their parent dies
    (PR_SET_PDEATHSIG) and stop cleanly."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux only")
    d = tmp_path / "demo"
    proc = subprocess.Popen(_bcmlp("demo", "--data-dir", str(d), "--headless", "--duration", "600"),
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if "first verdict" in line:
                break
        proc.kill()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 60
    while _procs_using(d) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _procs_using(d), _procs_using(d)
    for c in COMPANIES:
        assert "node stopped at height" in (d / c / "node.out").read_text()
        _chain_verify(d / c)
