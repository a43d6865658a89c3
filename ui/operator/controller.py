"""Runs capture and inference on worker threads; the GUI polls `snapshot()` to paint.

Worker threads never touch widgets: results land in a lock-protected state that the GUI thread
reads on a timer (so a 30 fps source costs the GUI one cheap copy per paint), and source status
changes are forwarded through a queued Qt signal. Loading and warming the model before a start
runs on a `ui.workers.Task`.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal, Slot

from inspection.engine import BadFrame, InspectionResult, InspectionWorker, Inspector
from inspection.mailbox import Mailbox
from inspection.orders import Order
from inspection.sources import Capture, Frame, SourceStatus, open_source
from ui.workers import Task, plain

NOK_STRIP = 12
HISTORY = 300
PREPARE_WAIT_MS = 30_000  # how long a stop waits for a model still loading


@dataclass
class Snapshot:
    latest: InspectionResult | None = None
    inspected: int = 0
    ok: int = 0
    nok: int = 0
    bad: int = 0
    dropped: int = 0
    quality: list[int] = field(default_factory=list)
    classes: Counter = field(default_factory=Counter)
    noks: list[InspectionResult] = field(default_factory=list)
    camera_fps: float = 0.0
    inference_fps: float = 0.0
    p95_ms: float = 0.0
    version: int = 0
    last_bad: str = ""


class OperatorController(QObject):
    statusChanged = Signal(object)  # SourceStatus
    errorRaised = Signal(str)
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._capture: Capture | None = None
        self._worker: InspectionWorker | None = None
        self._mailbox: Mailbox[Frame] | None = None
        self._inspector: Inspector | None = None
        self._state = Snapshot()
        self._quality: deque[int] = deque(maxlen=HISTORY)
        self._noks: deque[InspectionResult] = deque(maxlen=NOK_STRIP)
        self._preparing = Task(self, "prepare inspection")  # loads and warms the model
        self._preparing.succeeded.connect(self._on_prepared)
        self._preparing.failed.connect(self._on_prepare_failed)
        self._pending: tuple | None = None  # (spec, rate, loop) of the start being prepared

    @property
    def running(self) -> bool:
        return self._worker is not None

    @property
    def engaged(self) -> bool:
        """Running, or a start being prepared."""
        return self._pending is not None or self._worker is not None

    @property
    def model_sha256(self) -> str | None:
        """SHA-256 of the weights the running inspection uses (None when none runs)."""
        insp = self._inspector if self._worker is not None else None
        return None if insp is None else insp.engine.loaded.weights_sha256

    def start_async(
        self, spec: str, make_inspector: Callable[[], Inspector], rate: float | None, loop: bool
    ) -> None:
        """Check the source spec now; load/warm the model off the GUI thread, then start.

        Raises SourceError at once for a spec that names nothing; later problems (model
        missing, device) arrive through `errorRaised`.
        """
        self.stop()
        open_source(spec, rate=rate, loop=loop)  # validates the spec; opened later by capture
        if not self._preparing.start(plain(make_inspector)):
            raise RuntimeError("the model of the previous start is still loading")
        self._pending = (spec, rate, loop)
        self.runningChanged.emit(True)

    @Slot(object)
    def _on_prepared(self, inspector: Inspector) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return  # stopped meanwhile
        spec, rate, loop = pending
        try:
            self.start(spec, inspector, rate, loop)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self._cannot_start(str(exc))

    @Slot(str)
    def _on_prepare_failed(self, message: str) -> None:
        if self._pending is not None:
            self._pending = None
            self._cannot_start(message)

    def _cannot_start(self, message: str) -> None:
        self.runningChanged.emit(False)
        self.errorRaised.emit(f"cannot start: {message}")

    def start(self, spec: str, inspector: Inspector, rate: float | None, loop: bool) -> None:
        """Start capture + inference; raises SourceError for a source spec that names nothing."""
        self._stop_threads()
        source = open_source(spec, rate=rate, loop=loop)
        self._mailbox = Mailbox()
        self._inspector = inspector
        with self._lock:
            self._state = Snapshot()
            self._quality.clear()
            self._noks.clear()
        self._capture = Capture(source, self._mailbox, self.statusChanged.emit)
        self._worker = InspectionWorker(inspector, [self._mailbox], self._on_result, self._on_bad,
                                        self.errorRaised.emit)
        self._worker.start()
        self._capture.start()
        self.runningChanged.emit(True)

    def set_order(self, order: Order) -> None:
        if self._worker is not None:
            self._worker.set_order(order)

    def stop(self) -> None:
        """Stop and join every thread (bounded waits)."""
        was = self._pending is not None or self._worker is not None
        self._pending = None
        self._preparing.wait(PREPARE_WAIT_MS)  # its outcome, delivered now, is dropped
        self._stop_threads()
        if was:
            self.runningChanged.emit(False)

    def _stop_threads(self) -> None:
        if self._capture is not None:
            self._capture.stop(timeout=5)
        if self._worker is not None:
            self._worker.stop(timeout=5)
        self._capture = self._worker = None

    def _on_result(self, r: InspectionResult) -> None:
        with self._lock:
            s = self._state
            s.latest = r
            s.version += 1
            self._quality.append(r.record.quality_permille)
            s.classes[r.assessment.top_class] += 1
            if r.record.verdict == "NOK":
                self._noks.append(r)

    def _on_bad(self, b: BadFrame) -> None:
        with self._lock:
            self._state.last_bad = f"{b.workpiece_id}: {b.reason}"
            self._state.version += 1

    def snapshot(self) -> Snapshot:
        """A copy of the current state for painting (GUI thread)."""
        with self._lock:
            s = self._state
            out = Snapshot(
                latest=s.latest, classes=Counter(s.classes), quality=list(self._quality),
                noks=list(self._noks), version=s.version, last_bad=s.last_bad,
            )
        if self._inspector is not None:
            c = self._inspector.counters
            out.inspected, out.ok, out.nok, out.bad = c.inspected, c.ok, c.nok, c.bad
            out.p95_ms = c.p95_ms()
        if self._mailbox is not None:
            out.dropped = self._mailbox.dropped
        if self._capture is not None:
            out.camera_fps = self._capture.fps()
        if self._worker is not None:
            out.inference_fps = self._worker.fps()
        return out


def as_status(s: SourceStatus) -> str:
    if s.state in ("lost", "retrying"):
        return f"Source lost: {s.message}. Retrying in {s.delay_s:.1f} s (attempt {s.attempt})"
    if s.state == "failed":
        return f"Source failed: {s.message}"
    return ""

