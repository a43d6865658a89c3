"""ui/workers.py: a job's success, failure and cancel reach the GUI thread as signals; progress and
results arrive on the GUI thread (results are even let go there); the newest submit wins; polls
repeat; the widgets bound to a task follow it; a shutdown joins, bounded."""

from __future__ import annotations

import threading
import time

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QWidget

from bedrock.cancel import Cancelled, raise_if_cancelled
from ui.workers import Poller, Task, TaskControls, plain, running_threads, shutdown_tasks

GUI = threading.get_ident()


class Recorder:
    """Every signal of a task, in order, with the thread it arrived on."""

    def __init__(self, task: Task) -> None:
        self.events: list[tuple] = []
        self.threads: set[int] = set()
        task.progressed.connect(lambda *a: self._add("progressed", *a))
        task.succeeded.connect(lambda r: self._add("succeeded", r))
        task.failed.connect(lambda m: self._add("failed", m))
        task.cancelled.connect(lambda: self._add("cancelled"))
        task.finished.connect(lambda: self._add("finished"))

    def _add(self, *event) -> None:
        self.threads.add(threading.get_ident())
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events if e[0] != "progressed"]


def _until_cancelled(progress, cancel):
    while True:
        raise_if_cancelled(cancel, "stopped")  # raises bedrock.cancel.Cancelled
        progress("wait", 0, 0)
        time.sleep(0.005)


def test_success_reaches_the_gui_thread(qtbot):
    task = Task()
    rec = Recorder(task)
    worker: list[int] = []

    def job(progress, cancel):
        worker.append(threading.get_ident())
        return {"answer": 42}

    assert task.start(job) and task.isRunning()
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    assert rec.kinds() == ["succeeded", "finished"] and rec.events[0][1] == {"answer": 42}
    assert worker[0] != GUI and rec.threads == {GUI}
    assert not task.isRunning() and not task.busy and running_threads() == []


def test_failure_message_reaches_the_failed_signal(qtbot):
    task = Task()
    rec = Recorder(task)

    def job(progress, cancel):
        raise ValueError("the ledger is gone")

    task.start(job)
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    assert rec.kinds() == ["failed", "finished"] and rec.events[0][1] == "the ledger is gone"

    task.start(plain(lambda: {}["missing"]))  # an error without a message: its type, then
    qtbot.waitUntil(lambda: rec.kinds().count("finished") == 2, timeout=5000)
    assert rec.events[-2] == ("failed", "'missing'")


def test_cancel_ends_as_cancelled_not_as_failure(qtbot):
    task = Task()
    rec = Recorder(task)
    task.start(_until_cancelled)
    qtbot.waitUntil(lambda: any(e[0] == "progressed" for e in rec.events), timeout=5000)
    task.cancel()
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    assert rec.kinds() == ["cancelled", "finished"]
    assert task.start(plain(lambda: 1))  # the next run is not cancelled
    qtbot.waitUntil(lambda: rec.kinds()[-2:] == ["succeeded", "finished"], timeout=5000)

    def gives_up(progress, cancel):
        raise Cancelled("the person asked")  # raised without a cancel() too: still no failure

    task.start(gives_up)
    qtbot.waitUntil(lambda: rec.kinds().count("finished") == 3, timeout=5000)
    assert rec.kinds()[-2:] == ["cancelled", "finished"] and "failed" not in rec.kinds()


def test_progress_arrives_on_the_gui_thread_newest_last_before_the_result(qtbot):
    task = Task()
    rec = Recorder(task)

    def job(progress, cancel):
        for i in range(1, 2001):
            progress("count", i, 2000, {"i": i})
        return "done"

    task.start(job)
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    progress = [e for e in rec.events if e[0] == "progressed"]
    assert rec.threads == {GUI}
    assert progress and progress[-1] == ("progressed", "count", 2000, 2000, {"i": 2000})
    assert len(progress) <= 2000  # coalesced: the newest report wins while one waits
    assert rec.events[-2:] == [("succeeded", "done"), ("finished",)]
    assert [e[2] for e in progress] == sorted(e[2] for e in progress)


def test_the_result_is_delivered_and_let_go_on_the_gui_thread(qtbot):
    freed: list[int] = []

    class Result:
        def __del__(self):
            freed.append(threading.get_ident())

    task = Task()
    got: list[tuple[int, bool]] = []
    task.succeeded.connect(lambda r: got.append((threading.get_ident(), isinstance(r, Result))))
    task.start(plain(Result))
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    qtbot.waitUntil(lambda: bool(freed), timeout=5000)
    assert got == [(GUI, True)] and freed == [GUI]


def test_start_refuses_while_running_and_the_newest_submit_wins(qtbot):
    task = Task()
    rec = Recorder(task)
    gate = threading.Event()

    def first(progress, cancel):
        gate.wait(5)
        return "first"

    assert task.start(first)
    assert not task.start(plain(lambda: "refused"))
    task.submit(plain(lambda: "second"))
    task.submit(plain(lambda: "third"))
    assert task.busy
    gate.set()
    qtbot.waitUntil(lambda: rec.kinds().count("finished") == 2 and not task.busy, timeout=5000)
    assert [e[1] for e in rec.events if e[0] == "succeeded"] == ["first", "third"]


def test_wait_joins_and_delivers_at_once(qtbot):
    task = Task()
    rec = Recorder(task)
    task.start(plain(lambda: time.sleep(0.05) or "slept"))
    assert task.wait(5000)
    assert rec.kinds() == ["succeeded", "finished"] and not task.isRunning()


def test_shutdown_cancels_joins_and_silences(qtbot):
    task = Task()
    rec = Recorder(task)
    task.start(_until_cancelled)
    task.submit(plain(lambda: "never"))
    assert task.shutdown(5000)
    assert not task.isRunning() and not task.busy and running_threads() == []
    qtbot.wait(50)
    assert rec.kinds() == [] and not task.start(plain(lambda: 1))


def test_a_job_that_ignores_cancel_is_left_to_end_and_then_freed(qtbot):
    release = threading.Event()
    task = Task()
    task.start(plain(lambda: release.wait(10)))
    assert not task.shutdown(50)  # bounded: it did not stop in time
    assert not task.isRunning() and len(running_threads()) == 1
    release.set()
    qtbot.waitUntil(lambda: running_threads() == [], timeout=5000)


def test_shutdown_tasks_joins_every_task_below_a_widget(qtbot):
    page = QWidget()
    qtbot.addWidget(page)
    tasks = [Task(page), Task(QLabel(page))]
    for t in tasks:
        t.start(_until_cancelled)
    assert len(running_threads()) == 2
    assert shutdown_tasks(page, 5000)
    assert running_threads() == [] and not any(t.isRunning() for t in tasks)


def test_poller_repeats_skips_none_and_goes_on_after_a_failure(qtbot):
    answers = iter([1, None, ValueError("node down"), 2, 3])
    calls: list[int] = []

    def ask():
        calls.append(threading.get_ident())
        a = next(answers, None)
        if isinstance(a, Exception):
            raise a
        return a

    poller = Poller(ask, 10)
    got, failed = [], []
    poller.result.connect(got.append)
    poller.failed.connect(failed.append)
    poller.start()
    qtbot.waitUntil(lambda: got == [1, 2, 3], timeout=5000)
    assert failed == ["node down"] and GUI not in calls
    poller.pause()
    qtbot.wait(50)
    n = len(calls)
    qtbot.wait(100)
    assert len(calls) == n  # paused: no more questions
    assert poller.shutdown(5000) and running_threads() == []


def test_controls_follow_the_task(qtbot):
    page = QWidget()
    qtbot.addWidget(page)
    status, bar, cancel, go = QLabel(page), QProgressBar(page), QPushButton("Cancel", page), QPushButton("Go", page)
    page.show()
    task = Task(page)
    controls = TaskControls(task, status, bar, cancel, (go,), failed="could not run: {}", cancelled="stopped")
    assert bar.isHidden() and cancel.isHidden()
    assert controls.start(_until_cancelled, "working…")
    assert status.text() == "working…" and bar.isVisible() and cancel.isVisible() and not go.isEnabled()
    assert not controls.start(plain(lambda: 1))  # one at a time
    cancel.click()
    qtbot.waitUntil(lambda: not task.isRunning(), timeout=5000)
    assert status.text() == "stopped" and bar.isHidden() and cancel.isHidden() and go.isEnabled()

    def fails(progress, cancel):
        progress("hash", 3 * 2**40, 4 * 2**40)  # byte counts beyond a bar's int range
        time.sleep(0.1)
        raise OSError("disk gone")

    controls.start(fails)
    qtbot.waitUntil(lambda: bar.maximum() == 1000, timeout=5000)
    assert bar.value() == 750
    qtbot.waitUntil(lambda: not task.isRunning(), timeout=5000)
    assert status.text() == "could not run: disk gone" and go.isEnabled()
    task.shutdown()
