"""The model gate's badge for the Operator perspective: certificate id, trust, pass, refused or
gate error with the reasons; `GatePoller` re-evaluates the gate off the GUI thread (a
`ui.workers.Poller`).

The status is `GateStatus.as_dict()` (or the station gate's dict); the poller calls a function
that returns it, or None when the ledger head has not moved. Fail closed: a poll that raises
becomes an error status (`error_status`: no active model, "gate error: ..."), never a pass."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy

from ui.workers import Poller

log = logging.getLogger("bcmlp.station.gate")


def error_status(message: str) -> dict[str, Any]:
    """The status of a gate that could not be judged: refused, with the reason."""
    reason = f"gate error: {message}"
    return {"height": None, "active": None, "error": reason, "verdict": {"reasons": [reason]},
            "message": f"{reason}; inspection stopped", "changed": True}


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

    @Slot(str)
    def set_error(self, message: str) -> None:
        self.set_status(error_status(message))

    @Slot(dict)  # on the GUI thread, from the poller
    def set_status(self, st: dict[str, Any]) -> None:
        if not isinstance(st, dict) or "active" not in st:  # an unknown state refuses
            st = error_status(f"unknown gate state {st!r:.80}")
        v = st.get("verdict") or {}
        active = st.get("active")
        self.passed = active is not None
        mine = next((c for c in v.get("certs", []) if c["cert_id"] == v.get("cert_id")), None)
        trust = "" if mine is None else f", trust {mine['trust']['expected_ppm'] / 1e6:.3f}"
        if st.get("error"):
            self.passed = False
            self.state.setText("Model gate: ERROR, inspection stopped")
        elif active is not None and active["cert_id"] == v.get("cert_id"):
            self.state.setText(f"Model gate: PASS ({active['cert_id'][:12]}{trust})")
        elif active is not None:
            self.state.setText(f"Model gate: FALLBACK to {active['cert_id'][:12]}")
        else:
            self.state.setText("Model gate: REFUSED, inspection stopped")
        self.state.setStyleSheet(f"color: {'#2e9d4f' if self.passed and not v.get('reasons') else '#c8423b'};"
                                 " font-weight: bold")
        reasons = "; ".join(v.get("reasons", [])) or "all checks pass"
        self.detail.setText(reasons if st.get("error") else f"height {st.get('height')}: {reasons}")
        self.setToolTip(st.get("message", ""))


def gate_status(poll: Callable[[], Any]) -> dict[str, Any] | None:
    """One poll, off the GUI thread: the status as a dict, or None when nothing moved; a poll
    that raises (ledger unreadable, a bug) gives an error status: the model is refused."""
    try:
        st = poll()
        return st.as_dict() if hasattr(st, "as_dict") else st
    except Exception as exc:  # noqa: BLE001 - fail closed, with the reason on the badge
        log.warning("model gate error: %s", exc)
        return error_status(str(exc) or type(exc).__name__)


class GatePoller(Poller):
    """Calls `poll()` every `interval_s` off the GUI thread and emits each new status (a dict) on
    the GUI thread; a failing poll emits an error status (refused) and polling goes on."""

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
