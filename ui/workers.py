"""Long work off the GUI thread, one pattern for every page.

A job is a function `job(progress, cancel)` that runs on a worker thread: it may report with
`progress(stage, done, total, info=None)` and must stop when `cancel()` (a `bedrock.cancel`
`CancelCheck`) turns true, by raising `bedrock.cancel.Cancelled` (`raise_if_cancelled`). `plain(fn)`
makes a job of a function that does neither.

`Task` (a QObject on the GUI thread) runs one job at a time on a fresh QThread and reports on the
GUI thread: `progressed(stage, done, total, info)`, then exactly one of `succeeded(result)`,
`failed(message)` or `cancelled()`, then `finished()`. `start(job)` refuses while a job runs;
`submit(job)` runs it after the running one (a newer submit replaces the waiting job: the newest
wins). `cancel()`, `wait(ms)` (join and deliver now) and `shutdown(ms)` (no more jobs or signals:
cancel, join, bounded). `Poller` repeats one call on a Task; `TaskControls` binds a Task to the
widgets that show it (busy buttons, progress bar, cancel button, status label);
`shutdown_tasks(window)` cancels and joins every Task below a widget.

What keeps an 8-hour shift from crashing on Qt objects finalised on a worker thread: the job
reaches no widget (give a module-level function with plain arguments, e.g. a `functools.partial`),
its result and progress are plain data; the worker thread talks to the Task only through queued
signals to its slots; the result is taken on the GUI thread once the thread is joined (its last
reference never drops on the worker); progress is coalesced (the newest report wins while one
waits in the GUI's queue); the QThread is deleted on the GUI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

from bedrock.cancel import CancelCheck, Cancelled

QUEUED = Qt.ConnectionType.QueuedConnection
SHUTDOWN_MS = 10_000  # how long a shutdown waits for a job to stop, by default

Progress = Callable[..., None]  # progress(stage: str, done: int, total: int, info: Any = None)
Job = Callable[[Progress, CancelCheck], Any]

SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"

# every task thread started and not yet joined, abandoned ones included (GUI thread only): an
# abandoned thread object is kept here until it ends, never destroyed while it runs
_live: set[QThread] = set()


def plain(fn: Callable[[], Any]) -> Job:
    """A job of a function that neither reports progress nor can be cancelled."""

    def job(_progress: Progress, _cancel: CancelCheck) -> Any:
        return fn()

    return job


def running_threads() -> list[QThread]:
    """The task threads still running, abandoned ones included (call on the GUI thread)."""
    for t in list(_live):
        if not shiboken6.isValid(t) or t.isFinished():
            _live.discard(t)
    return [t for t in _live if t.isRunning()]


class _Thread(QThread):
    """Runs one job; its outcome waits in `outcome` until the GUI thread has joined it."""

    ended = Signal(int)  # the run's number, emitted last
    progress_posted = Signal(int)

    def __init__(self, run: int, job: Job, parent: QObject) -> None:
        super().__init__(parent)
        self.run_no, self.job = run, job
        self.cancel_event = threading.Event()
        self.outcome: tuple[str, Any] = (FAILED, "the job stopped")
        self._lock = threading.Lock()
        self._latest: tuple | None = None
        self._posted = False

    def run(self) -> None:
        try:
            self.outcome = (SUCCEEDED, self.job(self.report, self.cancel_event.is_set))
        except Cancelled:
            self.outcome = (CANCELLED, None)
        except Exception as exc:  # noqa: BLE001 - reported to the page, never a crash
            self.outcome = (FAILED, str(exc) or type(exc).__name__)
        finally:
            self.ended.emit(self.run_no)

    def report(self, stage: str, done: int = 0, total: int = 0, info: Any = None) -> None:
        """The job's progress callback: keeps the newest report, posts one event at a time."""
        with self._lock:
            self._latest = (stage, done, total, info)
            if self._posted:
                return
            self._posted = True
        self.progress_posted.emit(self.run_no)

    def take_progress(self) -> tuple | None:
        with self._lock:
            latest, self._latest, self._posted = self._latest, None, False
        return latest


class Task(QObject):
    """One job at a time on its own QThread; every signal arrives on the GUI thread."""

    progressed = Signal(str, object, object, object)  # stage, done, total, info
    succeeded = Signal(object)  # the job's result
    failed = Signal(str)  # the error's message
    cancelled = Signal()  # the job raised Cancelled
    finished = Signal()  # after each run's outcome

    def __init__(self, parent: QObject | None = None, name: str = "task") -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._thread: _Thread | None = None
        self._waiting: Job | None = None
        self._runs = 0
        self._closed = False

    def isRunning(self) -> bool:  # noqa: N802 - QThread's name for it
        """A job runs, or its outcome has not been delivered yet."""
        return self._thread is not None

    @property
    def busy(self) -> bool:
        """A job runs or waits."""
        return self._thread is not None or self._waiting is not None

    @property
    def closed(self) -> bool:
        return self._closed

    def start(self, job: Job) -> bool:
        """Run `job` now; False (nothing done) while another runs or after shutdown."""
        if self._closed or self._thread is not None:
            return False
        self._runs += 1
        thread = _Thread(self._runs, job, self)
        thread.setObjectName(self.objectName())
        thread.progress_posted.connect(self._on_progress, QUEUED)
        thread.ended.connect(self._on_ended, QUEUED)
        self._thread = thread
        _live.add(thread)
        thread.start()
        return True

    def submit(self, job: Job) -> None:
        """Run `job` now, or once the running job ended; a newer submit replaces the waiting one."""
        if not self._closed and not self.start(job):
            self._waiting = job

    @Slot()
    def cancel(self) -> None:
        """Ask the running job to stop (it ends as `cancelled` when it raises Cancelled)."""
        if self._thread is not None:
            self._thread.cancel_event.set()

    def wait(self, timeout_ms: int = SHUTDOWN_MS) -> bool:
        """Join the running job for at most `timeout_ms` and deliver its outcome now; True when
        no job runs any more."""
        thread = self._thread
        if thread is None:
            return True
        if not thread.wait(max(0, timeout_ms)):
            return False
        self._finish_run(thread.run_no)
        return True

    def shutdown(self, timeout_ms: int = SHUTDOWN_MS) -> bool:
        """No more jobs nor signals: drop the waiting job, cancel the running one and join it for
        at most `timeout_ms`. A job that outlives the wait ends on its own; its thread object is
        kept until then (see `running_threads`). True when no job runs any more."""
        self._closed = True
        self._waiting = None
        self.cancel()
        if self.wait(timeout_ms):
            return True
        thread, self._thread = self._thread, None
        thread.setParent(None)  # the page may go now; a running thread must not go with it
        thread.finished.connect(thread.deleteLater)  # deleted on the GUI thread once it ends
        if thread.isFinished():
            thread.deleteLater()
        return False

    @Slot(int)
    def _on_progress(self, run: int) -> None:
        thread = self._thread
        if thread is None or thread.run_no != run:
            return
        latest = thread.take_progress()
        if latest is not None and not self._closed:
            self.progressed.emit(*latest)

    @Slot(int)
    def _on_ended(self, run: int) -> None:
        self._finish_run(run)

    def _finish_run(self, run: int) -> None:
        thread = self._thread
        if thread is None or thread.run_no != run:
            return  # delivered already (by wait), or an abandoned run
        thread.wait()  # it emitted `ended` last: joined at once
        self._thread = None
        _live.discard(thread)
        (kind, value), thread.outcome, thread.job = thread.outcome, None, None
        latest = thread.take_progress()
        thread.deleteLater()
        if not self._closed:
            if latest is not None:  # joined by wait() before its last report was shown
                self.progressed.emit(*latest)
            if kind == SUCCEEDED:
                self.succeeded.emit(value)
            elif kind == CANCELLED:
                self.cancelled.emit()
            else:
                self.failed.emit(value)
            self.finished.emit()
        if self._waiting is not None and self._thread is None:
            job, self._waiting = self._waiting, None
            self.start(job)


def shutdown_tasks(root: QObject, timeout_ms: int = SHUTDOWN_MS) -> bool:
    """Cancel every Task below `root` (the window closes), then join them all within
    `timeout_ms`; True when none runs any more."""
    tasks = root.findChildren(Task)
    for task in tasks:
        task.cancel()
    deadline = time.monotonic() + timeout_ms / 1000
    ok = True
    for task in tasks:
        ok = task.shutdown(int(max(0.0, deadline - time.monotonic()) * 1000)) and ok
    return ok


class Poller(QObject):
    """Calls `fn()` off the GUI thread every `interval_ms` while started, one call at a time, and
    emits each answer that is not None (`result`) or the error's message (`failed`) on the GUI
    thread; polling goes on after a failure."""

    result = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], interval_ms: int, parent: QObject | None = None,
                 name: str = "poll") -> None:
        super().__init__(parent)
        self.fn = fn
        self.interval_ms = interval_ms
        self.task = Task(self, name)
        self.task.succeeded.connect(self._answered)
        self.task.failed.connect(self.failed)
        self.task.finished.connect(self._schedule)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.poll)
        self.active = False
        self._asked_at = 0.0

    @Slot()
    def start(self) -> None:
        """Ask now and then every interval (from one question to the next)."""
        self.active = True
        self.poll()

    @Slot()
    def pause(self) -> None:
        """No more questions; an answer on its way still arrives."""
        self.active = False
        self.timer.stop()

    def shutdown(self, timeout_ms: int = SHUTDOWN_MS) -> bool:
        self.pause()
        return self.task.shutdown(timeout_ms)

    @Slot()
    def poll(self) -> None:
        """Ask now, unless an answer is awaited."""
        if not self.task.isRunning():
            self._asked_at = time.monotonic()
            self.task.start(plain(self.fn))

    @Slot(object)
    def _answered(self, value: Any) -> None:
        if value is not None:
            self.result.emit(value)

    @Slot()
    def _schedule(self) -> None:
        if self.active:
            elapsed_ms = (time.monotonic() - self._asked_at) * 1000
            self.timer.start(max(0, int(self.interval_ms - elapsed_ms)))


class TaskControls(QObject):
    """Binds a Task to the widgets that show it. While a job runs, the `busy` widgets are
    disabled and the progress bar and cancel button shown (or, with `keep_shown`, the cancel
    button enabled); reports of the `stages` (None: all) move the bar; failure and cancel become
    the status label's text (`failed` formats the message); when it ends, all is as before."""

    def __init__(self, task: Task, status: QLabel | None = None, progress: QProgressBar | None = None,
                 cancel: QWidget | None = None, busy: Iterable[QWidget] = (), *, failed: str = "{}",
                 cancelled: str = "cancelled", cancelling: str = "", stages: Iterable[str] | None = None,
                 keep_shown: bool = False, tooltip: bool = False) -> None:
        super().__init__(task)
        self.task = task
        self.status, self.progress, self.cancel_button = status, progress, cancel
        self.busy = tuple(busy)
        self.failed_text, self.cancelled_text, self.cancelling_text = failed, cancelled, cancelling
        self.stages = None if stages is None else frozenset(stages)
        self.keep_shown, self.tooltip = keep_shown, tooltip
        task.progressed.connect(self._progressed)
        task.failed.connect(self._failed)
        task.cancelled.connect(self._cancelled)
        task.finished.connect(self._ended)
        if cancel is not None:
            cancel.clicked.connect(self.cancel)
        self._show(False)

    def start(self, job: Job, text: str = "") -> bool:
        """Run `job` and show it; False while another runs (nothing changes then)."""
        if self.task.busy or not self.task.start(job):
            return False
        for w in self.busy:
            w.setEnabled(False)
        if self.progress is not None and not self.keep_shown:
            self.progress.setRange(0, 0)  # busy until the first report
        self._show(True)
        if text:
            self.say(text)
        return True

    @Slot()
    def cancel(self) -> None:
        if self.task.isRunning():
            self.task.cancel()
            if self.cancelling_text:
                self.say(self.cancelling_text)

    def say(self, text: str) -> None:
        if self.status is not None:
            self.status.setText(text)
            if self.tooltip:
                self.status.setToolTip(text)  # a long text may not fit beside the buttons

    def _show(self, running: bool) -> None:
        if self.keep_shown:
            if self.cancel_button is not None:
                self.cancel_button.setEnabled(running)
            return
        for w in (self.progress, self.cancel_button):
            if w is not None:
                w.setVisible(running)

    @Slot(str, object, object, object)
    def _progressed(self, stage: str, done: int, total: int, _info: Any) -> None:
        if self.progress is not None and (self.stages is None or stage in self.stages):
            self.progress.setRange(0, 1000)  # per mille: byte counts overflow a bar's int range
            self.progress.setValue(1000 if total <= 0 else min(1000, done * 1000 // total))

    @Slot(str)
    def _failed(self, message: str) -> None:
        self.say(self.failed_text.format(message))

    @Slot()
    def _cancelled(self) -> None:
        self.say(self.cancelled_text)

    @Slot()
    def _ended(self) -> None:
        for w in self.busy:
            w.setEnabled(True)
        self._show(False)
