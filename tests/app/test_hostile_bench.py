"""`bcmlp bench hostile` and `python -m app.hostile`: the command line, and one short bench run
whose JSON lines carry every field (the targets themselves are read from a real run, not
asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.hostile.scenarios import SCENARIOS

REPO = Path(__file__).resolve().parents[2]
FIELDS = {"scenario", "honest_alive", "blocks_committed", "commit_rate_ratio",
          "commit_rate_vs_all_honest", "hostile_banned", "ban_s", "rss_mb_max", "rss_idle_mb"}
ASKED = {"sync_poison", "time_jump", "oversized_block", "preauth_flood", "never_reads",
         "tx_flood", "status_ahead", "equivocation", "fuzz"}


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_every_scenario_is_offered():
    assert ASKED <= set(SCENARIOS)
    assert all(SCENARIOS[n].by_key for n in ASKED - {"preauth_flood"})
    assert not SCENARIOS["preauth_flood"].by_key


def test_the_hostile_command_line():
    ok = run("-m", "app.hostile", "--help")
    assert ok.returncode == 0 and "--scenario" in ok.stdout
    bad = run("-m", "app.hostile", "--scenario", "nope", "--data-dir", "/nonexistent")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    helped = run("-m", "app", "bench", "hostile", "--help")
    assert helped.returncode == 0 and "JSON lines" in helped.stdout


@pytest.mark.slow
def test_a_short_bench_run_prints_one_json_line_per_run(tmp_path):
    proc = run("-m", "app", "bench", "hostile", "--seconds", "3", "--scenario", "status_ahead",
               "--json", "--data-dir", str(tmp_path), timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["scenario"] for x in lines] == ["all_honest", "without_hostile", "status_ahead"]
    for rec in lines:
        assert FIELDS <= rec.keys()
        assert isinstance(rec["honest_alive"], int) and isinstance(rec["blocks_committed"], int)
        assert rec["rss_mb_max"] > 0 and rec["rss_idle_mb"] > 0
    assert lines[1]["commit_rate_ratio"] == 1.0 and lines[0]["commit_rate_vs_all_honest"] == 1.0
    assert "status_ahead" in proc.stderr  # progress on stderr
