"""`bcmlp bench soak`: the window-mode demo for N minutes while a driver uses the window as a
person would (app/gui/soak_driver.py); samples the window process's memory, threads and open files,
then stops it with SIGTERM as a desktop session would, and re-verifies every node's chain.

A crash, a hang or a stop that does not finish is reported with its trace and exit 1, never
hidden. Memory growth is the least-squares slope of RSS after the warm-up (the first 5 minutes,
or the first third of a shorter run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import click

from app.commands.common import emit_json, json_option
from app.errors import UserError
from app.self_command import bcmlp_command

START_TIMEOUT_S = 300.0  # the four nodes, the certified pipeline and the window
STOP_TIMEOUT_S = 180.0
WARMUP_S = 300.0
TARGETS = {"rss_growth_mb_per_hour": 50.0, "gui_stall_ms_max": 250.0}
COMPANIES = ("operator", "trainer", "auditor", "monitor")


def _last_json(path: Path, key: str | None = None) -> dict:
    """The last line of `path` that is a JSON object (holding `key`, if given); {} if none."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if key is None or key in obj:
                return obj
    return {}


def _trace(err: Path, lines: int = 80) -> str:
    """The crash's trace from the window process's stderr (from 'Fatal Python error' if any)."""
    try:
        text = err.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    start = text.rfind("Fatal Python error")
    if start < 0:
        start = text.rfind("Traceback (most recent call last)")
    tail = text[start:] if start >= 0 else text
    return "\n".join(tail.splitlines()[-lines:])


def slope_per_hour(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) in value per hour; None under 2 distinct times."""
    n = len(samples)
    if n < 2:
        return None
    mt = sum(t for t, _ in samples) / n
    mv = sum(v for _, v in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    if var == 0:
        return None
    return sum((t - mt) * (v - mv) for t, v in samples) / var * 3600


class _Sampler:
    """RSS, threads and open files of one process, over time."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.rows: list[dict] = []

    def sample(self, t: float) -> dict | None:
        import psutil

        try:
            with self.proc.oneshot():
                if self.proc.status() == psutil.STATUS_ZOMBIE:
                    return None
                row = {"t": t, "rss_mb": self.proc.memory_info().rss / 2**20,
                       "threads": self.proc.num_threads(),
                       "fds": self.proc.num_fds() if hasattr(self.proc, "num_fds")
                       else self.proc.num_handles()}
        except psutil.Error:
            return None
        self.rows.append(row)
        return row


def _verify_chains(demo_dir: Path) -> dict[str, bool]:
    out = {}
    for company in COMPANIES:
        r = subprocess.run([*bcmlp_command(), "chain", "verify", "--data-dir", str(demo_dir / company),
                            "--json"], capture_output=True, text=True, timeout=900)
        out[company] = r.returncode == 0
    return out


@click.command("soak")
@click.option("--minutes", type=click.FloatRange(0.5, 24 * 60), default=60.0, show_default=True,
              help="How long the window is driven, counted once it is up.")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the demo and the soak's logs (default: a new temporary folder).")
@click.option("--sample-s", type=click.FloatRange(1, 600), default=10.0, show_default=True,
              help="Seconds between samples of the window process.")
@click.option("--display", "use_display", is_flag=True,
              help="Use the real display ($DISPLAY, e.g. under xvfb-run) instead of offscreen Qt.")
@click.option("--objects", is_flag=True,
              help="Leak hunting: every 2 minutes log the Python object types whose counts grew "
                   "(each census stalls the window a moment; not for the stall figures).")
@json_option
def bench_soak_cmd(minutes, data_dir, sample_s, use_display, objects, as_json) -> None:
    """Soak: the window-mode demo driven for --minutes; memory, threads, files, GUI stalls."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    root = data_dir or Path(tempfile.mkdtemp(prefix="bcmlp-soak-"))
    root.mkdir(parents=True, exist_ok=True)
    demo_dir, report = root / "demo", root / "soak-status.jsonl"
    out_file, err_file = root / "demo.out", root / "demo.err"
    if demo_dir.exists() and any(demo_dir.iterdir()):
        raise UserError(f"{demo_dir} is not empty: give a new --data-dir")
    report.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    if not use_display:
        env["QT_QPA_PLATFORM"] = "offscreen"
    if objects:
        from app.gui.soak_driver import OBJECTS_ENV

        env[OBJECTS_ENV] = "1"
    cmd = [*bcmlp_command(), "demo", "--data-dir", str(demo_dir), "--json", "--soak-report", str(report)]
    with out_file.open("w") as out, err_file.open("w") as err:
        child = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
    result: dict = {"minutes": minutes, "data_dir": str(root), "alive": False, "crashes": 0,
                    "hangs": 0}
    try:
        _soak(child, report, err_file, minutes, sample_s, result, Progress(
            TextColumn("[bold cyan]soak[/]"), BarColumn(), TextColumn("{task.description}"),
            TimeRemainingColumn(), transient=True, console=Console(stderr=True)))
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    status = _last_json(report, "pings")
    summary = _last_json(out_file)
    result["hangs"] = int(status.get("hangs", 0))
    result["inspections"] = summary.get("inspections")
    result["nodes_agree"] = summary.get("nodes_agree")
    result["common_height"] = summary.get("common_height")
    result["driver_actions"] = status.get("actions")
    result["perspective_switches"] = status.get("visits")
    for key in ("gc_collections", "gc_pause_ms_max"):
        result[key] = status.get(key)
    if summary:
        result["chains_verified"] = _verify_chains(demo_dir)
    met = {k: result.get(k) is not None and result[k] < limit for k, limit in TARGETS.items()}
    result["targets_met"] = met
    ok = (result["alive"] and not result["crashes"] and not result["hangs"]
          and result["nodes_agree"] is True and all(result.get("chains_verified", {0: False}).values()))
    if as_json:
        emit_json(result)
    else:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    if not ok:
        raise SystemExit(1)


def _soak(child, report: Path, err: Path, minutes: float, sample_s: float, result: dict,
          progress) -> None:
    """Wait for the window, sample it for `minutes`, stop it with SIGTERM; fills `result`."""
    started = time.monotonic()
    while not report.exists() or report.stat().st_size == 0:
        if child.poll() is not None:
            _crashed(child, err, result, "the window process ended before the window was up")
            return
        if time.monotonic() - started > START_TIMEOUT_S:
            _crashed(child, err, result, f"the window was not up after {START_TIMEOUT_S:g} s")
            return
        time.sleep(0.5)
    result["seconds_to_window"] = round(time.monotonic() - started, 1)
    sampler = _Sampler(child.pid)
    t0 = time.monotonic()
    duration = minutes * 60
    with progress:
        task = progress.add_task("starting", total=duration)
        while True:
            t = time.monotonic() - t0
            row = None if child.poll() is not None else sampler.sample(t)
            if row is None:
                _crashed(child, err, result, f"the window process ended after {t:.0f} s of soak")
                break
            status = _last_json(report, "pings")
            progress.update(task, completed=min(t, duration), description=(
                f"{t / 60:5.1f}/{minutes:g} min  RSS {row['rss_mb']:.0f} MB  threads {row['threads']}"
                f"  stall max {status.get('gui_stall_ms_max', 0):.0f} ms"))
            if t >= duration:
                break
            time.sleep(min(sample_s, duration - t + 0.01))
    _fill_samples(sampler.rows, duration, result)
    status = _last_json(report, "pings")
    result["gui_stall_ms_max"] = status.get("gui_stall_ms_max")
    result["gui_stall_during"] = status.get("gui_stall_during")
    if result["crashes"]:
        return
    result["alive"] = True
    t_stop = time.monotonic()
    child.send_signal(signal.SIGTERM)
    try:
        rc = child.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        result["stop"] = f"did not stop within {STOP_TIMEOUT_S:g} s of SIGTERM"
        result["crashes"] += 1
        result["crash_trace"] = _trace(err)
        return
    result["stop_s"] = round(time.monotonic() - t_stop, 1)
    result["stop_exit_code"] = rc
    if rc not in (0, 130):  # 130: stopped by the signal, as asked
        _crashed(child, err, result, f"the window process exited {rc} on SIGTERM")
        result["alive"] = True  # it lived the whole soak; the stop is what failed


def _fill_samples(rows: list[dict], duration: float, result: dict) -> None:
    if not rows:
        return
    warmup = min(WARMUP_S, duration / 3)
    after = [(r["t"], r["rss_mb"]) for r in rows if r["t"] >= warmup]
    growth = slope_per_hour(after)
    result.update({
        "samples": len(rows), "warmup_minutes": round(warmup / 60, 2),
        "rss_mb_start": round(rows[0]["rss_mb"], 1), "rss_mb_end": round(rows[-1]["rss_mb"], 1),
        "rss_mb_max": round(max(r["rss_mb"] for r in rows), 1),
        "rss_mb_after_warmup": round(after[0][1], 1) if after else None,
        "rss_growth_mb_per_hour": None if growth is None else round(growth, 1),
        "threads_start": rows[0]["threads"], "threads_end": rows[-1]["threads"],
        "threads_max": max(r["threads"] for r in rows),
        "fds_start": rows[0]["fds"], "fds_end": rows[-1]["fds"], "fds_max": max(r["fds"] for r in rows),
    })


def _crashed(child, err: Path, result: dict, reason: str) -> None:
    rc = child.poll()
    result["crashes"] += 1
    result["crash"] = reason if rc is None else f"{reason} (exit {rc}" + (
        f", signal {signal.Signals(-rc).name})" if rc < 0 else ")")
    result["crash_trace"] = _trace(err)
