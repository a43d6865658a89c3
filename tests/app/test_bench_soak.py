"""`bcmlp bench soak`: the sampling and crash reporting of the bench, and the driver + watchdog
inside the window (the full soak runs in .ci/run: 3 minutes of the window-mode demo)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from rich.progress import Progress

from app.commands import bench_soak_cmd as soak


def test_slope_is_the_least_squares_rate_per_hour():
    assert soak.slope_per_hour([(0, 100.0), (1800, 110.0), (3600, 120.0)]) == pytest.approx(20.0)
    assert soak.slope_per_hour([(0, 5.0), (60, 5.0)]) == 0
    assert soak.slope_per_hour([(0, 5.0)]) is None
    assert soak.slope_per_hour([(3, 5.0), (3, 9.0)]) is None


def test_last_json_skips_torn_and_foreign_lines(tmp_path):
    f = tmp_path / "status.jsonl"
    f.write_text('{"a": 1}\n{"a": 2}\nnot json\n{"a": 3, "torn\n')
    assert soak._last_json(f) == {"a": 2}
    assert soak._last_json(tmp_path / "missing") == {}


def _fake_window(tmp_path, body: str):
    """A child that writes one status line, as the soak's window does, then runs `body`."""
    report, err = tmp_path / "soak-status.jsonl", tmp_path / "demo.err"
    code = textwrap.dedent(f"""
        import faulthandler, json, sys, time
        faulthandler.enable()
        open({str(report)!r}, "a").write(json.dumps({{"gui_stall_ms_max": 3.0, "hangs": 0, "pings": 1}}) + "\\n")
        {body}
    """)
    with err.open("w") as e:
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=e)
    return child, report, err


def test_a_crash_during_the_soak_is_reported_with_its_trace(tmp_path):
    child, report, err = _fake_window(tmp_path, "time.sleep(1); faulthandler._sigsegv()")
    result = {"crashes": 0, "alive": False}
    soak._soak(child, report, err, 0.5, 1, result, Progress(disable=True))
    assert result["crashes"] == 1 and result["alive"] is False
    assert "signal SIGSEGV" in result["crash"]
    assert "Fatal Python error: Segmentation fault" in result["crash_trace"]
    assert result["samples"] >= 1


def test_a_window_that_lives_is_sampled_then_stopped_with_sigterm(tmp_path):
    child, report, err = _fake_window(tmp_path, "time.sleep(60)")
    result = {"crashes": 0, "alive": False}
    soak._soak(child, report, err, 1 / 30, 0.5, result, Progress(disable=True))  # 2 s
    assert result["alive"] is True
    # the fake does not handle SIGTERM, so it dies by it: a stop that is not clean is a crash
    assert result["stop_exit_code"] == -15 and result["crashes"] == 1
    assert result["samples"] >= 3 and result["rss_mb_start"] > 0 and result["threads_start"] >= 1
    assert result["gui_stall_ms_max"] == 3.0


def test_driver_switches_perspectives_and_the_watchdog_answers(qtbot, tmp_path, monkeypatch):
    from app.gui import soak_driver
    from app.gui.window import build_main_window
    from app.paths import open_data_dir

    monkeypatch.setattr(soak_driver, "SWITCH_MS", 50)
    monkeypatch.setattr(soak_driver, "REPORT_S", 0.2)
    ctx = build_main_window(open_data_dir(tmp_path / "data"))
    qtbot.addWidget(ctx.window)
    ctx.window.show()
    report = tmp_path / "status.jsonl"
    driver = soak_driver.SoakDriver(ctx.window, report)
    driver.start()
    try:
        qtbot.waitUntil(lambda: sum(driver.visits.values()) >= 2 * len(driver.keys), timeout=20_000)
        qtbot.waitUntil(lambda: driver.watchdog.pings >= 5, timeout=10_000)
    finally:
        driver.stop()
    for page in (ctx.window.perspective_widget(k) for k in driver.keys):
        if hasattr(page, "shutdown"):
            page.shutdown()
    assert set(driver.visits) == set(driver.keys)
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert lines[-1]["final"] is True and lines[-1]["pings"] >= 5
    assert lines[-1]["gc_automatic"] is False  # the GC runs on the GUI thread here too
    assert not driver.watchdog._thread.is_alive()


def test_last_json_with_a_key_skips_other_kinds_of_lines(tmp_path):
    f = tmp_path / "status.jsonl"
    f.write_text('{"pings": 4, "gui_stall_ms_max": 9}\n{"census": {"dict": 3}}\n')
    assert soak._last_json(f, "pings") == {"pings": 4, "gui_stall_ms_max": 9}
    assert soak._last_json(f) == {"census": {"dict": 3}}
