"""The Models page's work off the GUI thread: training on a QThread with progress signals and a
cancel flag, and the model certificates on the ledger with the one that certifies the shown
weights (`load_model_certs`, run by the ledger box's head follower)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal

from bedrock.cancel import Cancelled
from inspection.train import TrainOptions, train
from ledger_core.attest.gate import TrustView
from ledger_core.attest.manifest import ManifestError, build_manifest
from ledger_core.attest.queries import newest_with_digest
from ui.certificates.model import cert_rows


@dataclass(frozen=True)
class ModelCertsLoad:
    rows: list[dict[str, Any]]  # the model certificates, newest first (see cert_rows)
    height: int
    threshold_ppm: int
    weights: Path
    weights_cert: str | None  # the newest certificate whose subject digest is the weights' digest
    weights_error: str = ""  # why the weights could not be hashed


def load_model_certs(opener: Callable[[], tuple[Any, Any, Any]], weights: Path) -> ModelCertsLoad:
    _store, _genesis, live = opener()
    tv = TrustView(live.get, live.keys, live.height)
    rows = [r for r in cert_rows(live, lambda cid: tv.cert(cid).expected_ppm) if r["kind"] == "model"]
    try:
        cert, error = newest_with_digest(live.get, live.keys, build_manifest(weights).digest), ""
    except (OSError, ManifestError) as exc:
        cert, error = None, f"the weights cannot be read: {exc}"
    return ModelCertsLoad(rows, live.height, tv.threshold_ppm, weights, cert, error)


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
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - reported to the user, never a crash
            self.failed.emit(str(exc))
        else:
            self.succeeded.emit(result)

    def _progress(self, stage: str, done: int, total: int, info: dict) -> None:
        info = {k: v for k, v in info.items() if k != "history"}
        self.progressed.emit(stage, done, total, info)
