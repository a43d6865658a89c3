"""Training on a QThread with progress signals and a cancel flag."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread, Signal

from inspection.train import TrainingCancelled, TrainOptions, train


class TrainWorker(QThread):
    progressed = Signal(str, int, int, dict)  # stage, done, total, info
    succeeded = Signal(object)  # TrainResult
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, options: TrainOptions, parent=None) -> None:
        super().__init__(parent)
        self.options = options
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            result = train(self.options, self._progress, self._cancel)
        except TrainingCancelled:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - reported to the user, never a crash
            self.failed.emit(str(exc))
        else:
            self.succeeded.emit(result)

    def _progress(self, stage: str, done: int, total: int, info: dict) -> None:
        info = {k: v for k, v in info.items() if k != "history"}
        self.progressed.emit(stage, done, total, info)
