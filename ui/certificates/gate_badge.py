"""The model gate's badge for the Operator perspective: certificate id, trust, pass or refused
with the reasons; `GatePoller` re-evaluates the gate off the GUI thread at every new block.

The status is `app.model_gate.GateStatus.as_dict()`; the poller calls a function that returns
it, or None when the ledger head has not moved."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy


class GateBadge(QFrame):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.state = QLabel("Model gate: waiting for the ledger")
        self.state.setObjectName("gateState")
        self.detail = QLabel()
        self.detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.addWidget(self.state)
        lay.addWidget(self.detail, 1)
        self.passed: bool | None = None

    @Slot(dict)  # the poller's status arrives from its thread: queued to this slot
    def set_status(self, st: dict[str, Any]) -> None:
        v = st.get("verdict") or {}
        active = st.get("active")
        self.passed = active is not None
        mine = next((c for c in v.get("certs", []) if c["cert_id"] == v.get("cert_id")), None)
        trust = "" if mine is None else f", trust {mine['trust']['expected_ppm'] / 1e6:.3f}"
        if active is not None and active["cert_id"] == v.get("cert_id"):
            self.state.setText(f"Model gate: PASS ({active['cert_id'][:12]}{trust})")
        elif active is not None:
            self.state.setText(f"Model gate: FALLBACK to {active['cert_id'][:12]}")
        else:
            self.state.setText("Model gate: REFUSED, inspection stopped")
        self.state.setStyleSheet(f"color: {'#2e9d4f' if self.passed and not v.get('reasons') else '#c8423b'};"
                                 " font-weight: bold")
        self.detail.setText(f"height {st.get('height')}: " + ("; ".join(v.get("reasons", [])) or "all checks pass"))
        self.setToolTip(st.get("message", ""))


class GatePoller(QThread):
    """Calls `poll()` every `interval_s` and emits each new status (a dict)."""

    status = Signal(dict)
    failed = Signal(str)

    def __init__(self, poll: Callable[[], Any], interval_s: float = 1.0, parent=None) -> None:
        super().__init__(parent)
        self.poll, self.interval_s = poll, interval_s
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        self.wait()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                st = self.poll()
                if st is not None:
                    self.status.emit(st.as_dict() if hasattr(st, "as_dict") else st)
            except Exception as exc:  # noqa: BLE001 - shown on the badge, polling goes on
                self.failed.emit(str(exc))
            self._stop.wait(self.interval_s)
