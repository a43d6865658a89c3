"""One job at a time off the GUI thread, its result handed back on the GUI thread.

A `Runner` lives on the GUI thread. `submit(fn)` runs `fn()` on a fresh QThread and emits the
result (`done`) or the error message (`failed`) on the GUI thread. A job asked for while one runs
waits; a newer ask replaces the waiting one (the newest wins).

What keeps an 8-hour shift from crashing on Qt objects finalised on a worker thread: `fn` reaches
no widget (give a module-level function with plain arguments, e.g. a `functools.partial`), its
result is plain data, the job's signals go to slots of the Runner through queued connections, and
the thread object is dropped and deleted on the GUI thread once it has finished.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

QUEUED = Qt.ConnectionType.QueuedConnection


class _Job(QThread):
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], parent: QObject) -> None:
        super().__init__(parent)
        self.fn = fn

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # noqa: BLE001 - reported to the page, never a crash
            self.failed.emit(str(exc) or type(exc).__name__)
        else:
            self.done.emit(result)


class Runner(QObject):
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job: _Job | None = None
        self._waiting: Callable[[], Any] | None = None
        self._closed = False

    @property
    def busy(self) -> bool:
        return self._job is not None or self._waiting is not None

    def submit(self, fn: Callable[[], Any]) -> None:
        if self._closed:
            return
        if self._job is not None:
            self._waiting = fn
            return
        job = _Job(fn, self)
        job.done.connect(self._on_done, QUEUED)
        job.failed.connect(self._on_failed, QUEUED)
        job.finished.connect(self._on_finished, QUEUED)
        self._job = job
        job.start()

    @Slot(object)
    def _on_done(self, result: Any) -> None:
        if not self._closed:
            self.done.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if not self._closed:
            self.failed.emit(message)

    @Slot()
    def _on_finished(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.wait()
            job.deleteLater()
        fn, self._waiting = self._waiting, None
        if fn is not None:
            self.submit(fn)

    def shutdown(self) -> None:
        """Drop the waiting job and join the running one (the window closes)."""
        self._closed = True
        self._waiting = None
        if self._job is not None:
            self._job.wait()
