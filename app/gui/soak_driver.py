"""Inside the window-mode demo under `bcmlp bench soak`: a driver that uses the main window as
people do all shift (a perspective every 2 s, rows selected, certificates and proofs verified,
block details opened), and a watchdog thread that pings the GUI event loop and measures how long
each ping waits. Status goes to a JSON-lines file that the bench reads; a GUI thread that stops
answering gets every thread's stack dumped to stderr.
"""

from __future__ import annotations

import faulthandler
import gc
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QAbstractItemView, QApplication, QPushButton

SWITCH_MS = 2000
PING_S = 0.1
HANG_S = 30.0
REPORT_S = 5.0
OBJECTS_S = 120.0
# set by `bcmlp bench soak --objects`: leak hunting, each census stalls the GUI thread a moment
OBJECTS_ENV = "BCMLP_SOAK_OBJECTS"
# buttons the driver presses: long work on workers, no dialog (a file dialog would wait for a person)
PRESS = {
    "certificates": ("Verify selected",),
    "audit": ("Verify proof",),
    "models": ("Show card",),
}
VERIFY_CHAIN_EVERY = 5  # the Ledger page's whole-chain verification, every 5th visit


class _Pong(QObject):
    """Lives on the GUI thread; the watchdog's ping is queued to it."""

    ping = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self.answered = threading.Event()
        self.latency_ms = 0.0
        self.ping.connect(self._answer, Qt.ConnectionType.QueuedConnection)

    @Slot(float)
    def _answer(self, sent: float) -> None:
        self.latency_ms = (time.monotonic() - sent) * 1000
        self.answered.set()


class Watchdog:
    """A thread that pings the event loop every 0.1 s and keeps the worst wait."""

    def __init__(self) -> None:
        self.pong = _Pong()
        self.pings = 0
        self.stall_ms_max = 0.0
        self.window_ms_max = 0.0  # since the last report
        self.hangs = 0
        self.doing = ""  # what the driver did last (a plain str, set on the GUI thread)
        self.stall_during = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gui-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Called on the GUI thread; the thread is joined before the pong object can go."""
        self._stop.set()
        self.pong.answered.set()
        self._thread.join(timeout=5)

    def take_window_max(self) -> float:
        out, self.window_ms_max = self.window_ms_max, 0.0
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            self.pong.answered.clear()
            self.pong.ping.emit(time.monotonic())
            dumped = False
            while not self.pong.answered.wait(HANG_S):
                if self._stop.is_set():
                    return
                if not dumped:  # a hang: leave the evidence, keep waiting
                    self.hangs += 1
                    dumped = True
                    print(f"bcmlp soak: the GUI thread has not answered for {HANG_S:g} s; "
                          "every thread's stack:", file=sys.stderr, flush=True)
                    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            if self._stop.is_set():
                return
            self.pings += 1
            if self.pong.latency_ms > self.stall_ms_max:
                self.stall_ms_max, self.stall_during = self.pong.latency_ms, self.doing
            self.window_ms_max = max(self.window_ms_max, self.pong.latency_ms)
            self._stop.wait(PING_S)


class SoakDriver(QObject):
    """Switches perspectives every 2 s and does one thing on each, as an auditor would."""

    def __init__(self, window, report: Path, seed: int = 1) -> None:
        super().__init__()
        self.window = window
        self.report = report
        self.rng = random.Random(seed)
        self.keys = list(window.perspective_keys())
        self.actions = 0
        self.visits: dict[str, int] = {}
        self.t0 = time.monotonic()
        self.watchdog = Watchdog()
        self.switch_timer = QTimer(self)
        self.switch_timer.timeout.connect(self._step)
        self.report_timer = QTimer(self)
        self.report_timer.timeout.connect(self._write_report)
        self.census_timer = QTimer(self)
        self.census_timer.timeout.connect(self._census)
        self._first_census: dict[str, int] | None = None

    def start(self) -> None:
        self.watchdog.start()
        self.switch_timer.start(SWITCH_MS)
        self.report_timer.start(int(REPORT_S * 1000))
        if os.environ.get(OBJECTS_ENV):
            self.census_timer.start(int(OBJECTS_S * 1000))
        QApplication.instance().aboutToQuit.connect(self.stop)

    @Slot()
    def stop(self) -> None:
        if not self.switch_timer.isActive():
            return
        self.switch_timer.stop()
        self.report_timer.stop()
        self.census_timer.stop()
        self.watchdog.stop()
        self._write_report(final=True)

    @Slot()
    def _step(self) -> None:
        key = self.keys[sum(self.visits.values()) % len(self.keys)]
        self.visits[key] = self.visits.get(key, 0) + 1
        self.watchdog.doing = f"showing {key}"
        self.window.show_perspective(key)
        page = self.window.perspective_widget(key)
        self.watchdog.doing = f"selecting rows on {key}"
        self._select_rows(page)
        texts = PRESS.get(key, ())
        if key == "ledger" and self.visits[key] % VERIFY_CHAIN_EVERY == 0:
            texts = ("Verify chain",)
        for button in page.findChildren(QPushButton):
            if button.text() in texts and button.isEnabled() and button.isVisibleTo(page):
                self.watchdog.doing = f"{button.text()} on {key}"
                button.click()
                self.actions += 1
        self.watchdog.doing = f"idle on {key}"

    def _select_rows(self, page) -> None:
        for view in page.findChildren(QAbstractItemView):
            model = view.model()
            if model is None or not view.isVisibleTo(page) or model.rowCount() == 0:
                continue
            row = self.rng.randrange(min(model.rowCount(), 50))
            view.setCurrentIndex(model.index(row, 0))
            self.actions += 1

    @Slot()
    def _census(self) -> None:
        """The Python object types whose counts grew since the first census (objects frozen at
        start are not counted), and the interpreter's allocated blocks."""
        import collections

        gc.collect()
        counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
        if self._first_census is None:
            self._first_census = dict(counts)
        grew = {k: n - self._first_census.get(k, 0) for k, n in counts.items()}
        top = dict(sorted(((k, d) for k, d in grew.items() if d > 0), key=lambda kv: -kv[1])[:15])
        line = {"t": round(time.monotonic() - self.t0, 1), "census": top,
                "objects": sum(counts.values()), "allocated_blocks": sys.getallocatedblocks()}
        with self.report.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    @Slot()
    def _write_report(self, final: bool = False) -> None:
        from ui.gui_thread_gc import installed

        gc_stats = installed().stats() if installed() is not None else {}
        line = {
            "t": round(time.monotonic() - self.t0, 1), "final": final,
            "pings": self.watchdog.pings, "hangs": self.watchdog.hangs,
            "gui_stall_ms_max": round(self.watchdog.stall_ms_max, 1),
            "gui_stall_during": self.watchdog.stall_during,
            "gui_stall_ms_window": round(self.watchdog.take_window_max(), 1),
            "actions": self.actions, "visits": sum(self.visits.values()),
            "perspective": self.window.current_perspective(), **gc_stats,
        }
        with self.report.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
