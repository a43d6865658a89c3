"""Reproducer of the shift-long crash: Qt widgets held in reference cycles are finalised by
Python's cyclic GC on whichever thread triggers it. Here a worker thread that only allocates
plain Python lists triggers the GC while the GUI thread makes windows whose QMenu sits in a
cycle; without the GUI-thread collector the process segfaults (or destroys menus off the GUI
thread) within seconds.

Usage: python gc_thread_repro.py [--guarded] [--seconds S]
Exit 0: every menu was destroyed on the GUI thread; 1: some were destroyed on another thread;
a crash exits by its signal (139 for SIGSEGV).
"""

import argparse
import faulthandler
import os
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
faulthandler.enable()

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--guarded", action="store_true", help="install ui.gui_thread_gc first")
parser.add_argument("--seconds", type=float, default=5.0)
args = parser.parse_args()

app = QApplication([])
if args.guarded:
    from ui.gui_thread_gc import install_gui_thread_gc

    install_gui_thread_gc()

gui_thread = threading.get_ident()
destroyed_on = {"gui": 0, "other": 0}


class Menu(QMenu):
    def __del__(self):
        destroyed_on["gui" if threading.get_ident() == gui_thread else "other"] += 1

    def event(self, e):  # a Python override: Qt calls back into Python while destroying it
        return super().event(e)


class Window(QMainWindow):
    def __init__(self):
        super().__init__()
        self.menu = Menu("menu")
        self.menu.owner = self  # the reference cycle that only the cyclic GC frees
        for i in range(5):
            self.menu.addAction(f"action {i}")


stop = threading.Event()


def churn():
    while not stop.is_set():
        _ = [[i] for i in range(2000)]  # container allocations: the automatic GC triggers here
        time.sleep(0)


worker = threading.Thread(target=churn, name="churn", daemon=True)
worker.start()
t0 = time.monotonic()


def make_windows():
    for _ in range(20):
        Window()
    if time.monotonic() - t0 > args.seconds:
        app.quit()


timer = QTimer()
timer.timeout.connect(make_windows)
timer.start(5)
app.exec()
stop.set()
worker.join()
print(f"menus destroyed on the GUI thread: {destroyed_on['gui']}, on other threads: "
      f"{destroyed_on['other']}", flush=True)
os._exit(1 if destroyed_on["other"] else 0)  # skip teardown: only the run above is judged
