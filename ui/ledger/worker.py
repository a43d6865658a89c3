"""Chain verification on a QThread, with progress and cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

from bedrock.cancel import Cancelled
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain.verify import verify_chain


class VerifyWorker(QThread):
    progressed = Signal(int, int)  # height, top
    succeeded = Signal(dict)  # VerifyReport.as_dict(), ok or not
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, genesis_loader: Callable[[], Any], store: Any, parent=None) -> None:
        super().__init__(parent)
        self.genesis_loader = genesis_loader
        self.store = store
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            genesis = self.genesis_loader()
            report = verify_chain(genesis, self.store, self._progress, self._cancel.is_set, rules=LEDGER_RULES)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - reported to the user, never a crash
            self.failed.emit(str(exc))
        else:
            self.succeeded.emit(report.as_dict())

    def _progress(self, height: int, top: int) -> None:
        if height == top or height % 50 == 0:
            self.progressed.emit(height, top)
