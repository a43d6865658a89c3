"""The cyclic GC runs on the GUI thread only (ui/gui_thread_gc.py): the root of the shift-long
crash (none_dealloc aborts, segfaults, a QMenu destructor deadlocked on the GIL)."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from pathlib import Path

REPRO = Path(__file__).with_name("gc_thread_repro.py")


def _run_repro(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPRO), "--seconds", "3", *args],
                          capture_output=True, text=True, timeout=120)


def test_reproducer_crashes_without_the_collector_and_runs_clean_with_it():
    bare = _run_repro()
    # without it, a worker thread destroys QMenus: a crash (SIGSEGV/SIGABRT) or at least menus
    # finalised off the GUI thread
    assert bare.returncode != 0, bare.stdout + bare.stderr[-2000:]
    guarded = _run_repro("--guarded")
    assert guarded.returncode == 0, guarded.stdout + guarded.stderr[-2000:]
    assert "on other threads: 0" in guarded.stdout
    made = int(guarded.stdout.split("GUI thread: ")[1].split(",")[0])
    assert made > 100  # the GUI thread really collected the cycles, over and over


class _Marker:
    """Sits in a cycle with a QObject; records the thread that finalises it."""

    def __init__(self, log: list) -> None:
        self.log = log

    def __del__(self) -> None:
        self.log.append(threading.current_thread().name)


def test_a_worker_thread_never_collects_and_the_gui_timer_does(qtbot, _gc_on_the_gui_thread):
    from PySide6.QtCore import QObject

    assert not gc.isenabled()
    log: list[str] = []
    obj = QObject()
    obj.marker = _Marker(log)
    obj.marker.cycle = obj  # QObject -> marker -> QObject: only the cyclic GC frees it
    del obj

    kept: list = []

    def churn():  # far past every generation's threshold, and the objects stay alive
        kept.extend([i] for i in range(50_000))

    t = threading.Thread(target=churn, name="churn")
    t.start()
    t.join()
    assert log == []  # the worker allocated plenty, yet collected nothing
    qtbot.waitUntil(lambda: bool(log), timeout=5000)  # the GUI thread's timer collects it
    assert log == ["MainThread"]
    assert _gc_on_the_gui_thread.collections >= 1


def test_check_off_the_gui_thread_does_nothing(_gc_on_the_gui_thread):
    before = gc.get_count()
    _ = [[i] for i in range(5000)]
    t = threading.Thread(target=_gc_on_the_gui_thread.check)
    t.start()
    t.join()
    assert gc.get_count()[0] >= before[0]  # no collection ran on that thread


def test_the_app_hands_the_gc_to_the_gui_thread():
    """`bcmlp gui` and `bcmlp demo` create their QApplication through ensure_app."""
    from app.gui.window import ensure_app
    from ui.gui_thread_gc import installed

    gc.enable()  # as if something switched it back on
    ensure_app()
    assert not gc.isenabled()
    assert installed() is not None
