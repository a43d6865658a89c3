"""Python's cyclic garbage collector runs on the GUI thread only, in every process with a
QApplication.

A Qt object whose Python wrapper sits in a reference cycle is freed by the cyclic GC, and the GC
runs on whichever thread happens to allocate past its threshold: an inference, anchoring or
training thread then destroys QWidgets, which Qt forbids. Seen as `none_dealloc` aborts in the
demo, segfaults, and a deadlock in `QMenu::~QMenu -> Sbk_GetPyOverride -> GilState::acquire`
(tests/ui/test_gui_thread_gc.py reproduces the cause). So automatic collection is switched off
and a QTimer on the GUI thread collects each generation when it is due, as pyqtgraph's
GarbageCollector does; this one also measures its pauses and freezes the objects that live as
long as the process (modules, torch, the window) so that full collections stay short.
"""

from __future__ import annotations

import gc
import threading
import time

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QCoreApplication, QThread

INTERVAL_S = 0.5

_installed: GuiThreadCollector | None = None


class GuiThreadCollector(GarbageCollector):
    """Automatic GC off; `check` (on the GUI thread's timer) collects the generations that are due."""

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        super().__init__(interval=interval_s)
        self.thread_id = threading.get_ident()
        self.collections = 0
        self.max_pause_ms = 0.0
        self.total_pause_ms = 0.0

    def check(self) -> None:
        if threading.get_ident() != self.thread_id:
            return  # never collect off the GUI thread, whoever calls this
        t0 = time.perf_counter()
        counts = gc.get_count()
        super().check()
        if gc.get_count() != counts:
            pause = (time.perf_counter() - t0) * 1000
            self.collections += 1
            self.total_pause_ms += pause
            self.max_pause_ms = max(self.max_pause_ms, pause)

    def stats(self) -> dict:
        return {
            "gc_collections": self.collections,
            "gc_pause_ms_max": round(self.max_pause_ms, 1),
            "gc_pause_ms_total": round(self.total_pause_ms, 1),
            "gc_automatic": gc.isenabled(),
        }


def install_gui_thread_gc(interval_s: float = INTERVAL_S) -> GuiThreadCollector:
    """Hand the cyclic GC to the GUI thread (idempotent). Call on the GUI thread, after the
    QApplication exists."""
    global _installed
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("install_gui_thread_gc needs a QApplication")
    if QThread.currentThread() != app.thread():
        raise RuntimeError("install_gui_thread_gc must be called on the GUI thread")
    if _installed is None:
        _installed = GuiThreadCollector(interval_s)
    gc.disable()  # again: something may have switched it back on
    return _installed


def installed() -> GuiThreadCollector | None:
    return _installed


def freeze_long_lived() -> None:
    """Move every object alive now (imported modules, the built window) out of the collector's
    sight: they live as long as the process, and a full collection no longer walks them."""
    if _installed is not None:
        _installed.check()
    gc.collect()
    gc.freeze()
