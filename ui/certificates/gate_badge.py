"""The model gate's badge for the Operator perspective: certificate id, trust, pass or refused
with the reasons; `GatePoller` re-evaluates the gate off the GUI thread (a `ui.workers.Poller`).

The status is `app.model_gate.GateStatus.as_dict()`; the poller calls a function that returns
it, or None when the ledger head has not moved."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy

from ui.workers import Poller


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

    @Slot(dict)  # on the GUI thread, from the poller
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



def gate_status(poll: Callable[[], Any]) -> dict[str, Any] | None:
    """One poll, off the GUI thread: the status as a dict, or None when nothing moved."""
    st = poll()
    return st.as_dict() if hasattr(st, "as_dict") else st


class GatePoller(Poller):
    """Calls `poll()` every `interval_s` off the GUI thread and emits each new status (a dict) on
    the GUI thread; a failing poll emits `failed(message)` and polling goes on."""

    status = Signal(dict)

    def __init__(self, poll: Callable[[], Any], interval_s: float = 1.0, parent=None) -> None:
        super().__init__(partial(gate_status, poll), int(interval_s * 1000), parent, "model gate")
        self.result.connect(self._status)

    @Slot(object)
    def _status(self, st: dict[str, Any]) -> None:
        self.status.emit(st)

    def stop(self) -> None:
        """Stop polling and join the poll in flight (bounded): `shutdown`."""
        self.shutdown()
