"""The Trust perspective: participants, organisations and certificates with their opinion as a
belief / disbelief / uncertainty bar and expected trust; the selected subject's ratings (who,
what weight, what decay) and its trust over time; a rating form signed with the local key,
shown pending until committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QRect, Qt, QThread, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ledger_core.gate import TrustView, expected_over_time, rating_history

# returns (store, genesis, live) or raises with a message for the user
Opener = Callable[[], tuple[Any, Any, Any]]
# (rating.submit payload, passphrase) -> (tx hash, height); raises with a message when refused
Submit = Callable[[dict[str, Any], str], tuple[str, Any]]
BAR_ROLE = Qt.ItemDataRole.UserRole + 1
# belief, disbelief, the share of uncertainty the base rate counts as trust, the rest of it
COLORS = (QColor("#2e9d4f"), QColor("#c8423b"), QColor("#a6d8b4"), QColor("#9aa0a6"))
PPM = 1_000_000


class OpinionBar(QStyledItemDelegate):
    """Paints (belief, disbelief, uncertainty, expected) ppm as one bar: belief, disbelief, then
    the uncertainty split into the part the base rate turns into expected trust (light green)
    and the rest (grey), so the green total is the expected trust shown beside it."""

    def paint(self, painter, option, index) -> None:
        parts = index.data(BAR_ROLE)
        if not parts:
            return super().paint(painter, option, index)
        belief, disbelief, uncertainty, expected = parts
        from_base = min(uncertainty, max(0, expected - belief))
        r = option.rect.adjusted(2, 4, -2, -4)
        x = r.x()
        for value, color in zip((belief, disbelief, from_base, uncertainty - from_base), COLORS, strict=True):
            w = r.width() * value // PPM
            painter.fillRect(QRect(x, r.y(), w, r.height()), color)
            x += w


class SubmitWorker(QThread):
    done = Signal(str)
    failed = Signal(str)

    def __init__(self, submit: Submit, payload: dict[str, Any], passphrase: str, parent=None) -> None:
        super().__init__(parent)
        self.submit, self.payload, self.passphrase = submit, payload, passphrase

    def run(self) -> None:
        try:
            tx_hash, height = self.submit(self.payload, self.passphrase)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.failed.emit(str(exc))
        else:
            self.done.emit(f"committed at height {height}: {tx_hash[:16]}")


class TrustPage(QWidget):
    def __init__(self, opener: Opener, submit: Submit | None = None, parent=None) -> None:
        super().__init__(parent)
        self.opener, self.submit = opener, submit
        self.worker: SubmitWorker | None = None
        self.subjects: list[dict[str, Any]] = []
        self.reload_btn = QPushButton("Reload")
        self.reload_btn.clicked.connect(self.reload)
        self.message = QLabel()
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.addWidget(self.message, 1)
        top.addWidget(self.reload_btn)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Kind", "Subject", "Expected", "Opinion", "Ratings"])
        self.table.horizontalHeaderItem(3).setToolTip(
            "green: belief, red: disbelief, grey: uncertainty; light green: the part of the "
            "uncertainty the base rate counts as trust (the green total is the expected trust)")
        self.table.setItemDelegateForColumn(3, OpinionBar(self.table))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, width in ((0, 80), (1, 180), (2, 70), (3, 150)):
            self.table.setColumnWidth(col, width)
        self.table.currentCellChanged.connect(lambda row, *_: self.show_subject(row))

        self.ratings = QTableWidget(0, 5)
        self.ratings.setHorizontalHeaderLabels(["Rater", "Organisation", "Score", "Weight", "Decay"])
        self.ratings.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.ratings.verticalHeader().hide()
        self.ratings.horizontalHeader().setStretchLastSection(True)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "expected trust")
        self.plot.setLabel("bottom", "height")
        self.plot.setYRange(0, 1)
        self.plot.setMinimumHeight(80)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#2e7bcf", width=2))
        self.threshold_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#c8423b", style=Qt.PenStyle.DashLine))
        self.plot.addItem(self.threshold_line)

        self.score = QSpinBox()
        self.score.setRange(0, 100)
        self.score.setValue(80)
        self.evidence = QLineEdit(placeholderText="Evidence: transaction or certificate id")
        self.comment = QLineEdit(placeholderText="Comment (optional)")
        self.rate_btn = QPushButton("Sign and submit rating")
        self.rate_btn.clicked.connect(self.ask_rate)
        self.rate_btn.setEnabled(submit is not None)
        self.rate_state = QLabel()
        self.rate_state.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        form = QHBoxLayout()
        for w in (QLabel("Score"), self.score, self.evidence, self.comment, self.rate_btn):
            form.addWidget(w)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(self.ratings, 2)
        rl.addWidget(self.plot, 2)
        rl.addLayout(form)
        rl.addWidget(self.rate_state)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([650, 550])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.reload()

    def reload(self) -> None:
        keep = self.selected()
        self.table.setRowCount(0)
        self.subjects = []
        try:
            self.store, _genesis, self.live = self.opener()
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            self.message.setText(str(exc))
            return
        live = self.live
        self.tv = TrustView(live.get, live.keys, live.height)
        self.history = rating_history(self.store, live.get)
        for k in sorted(live.keys("participant")):
            p = live.get("participant", k)
            if p["kind"] != "node":
                self.subjects.append({"kind": "participant", "id": k, "label": f"{p['name']} ({p['org']})",
                                      "op": self.tv.opinion(k), "e": self.tv.opinion(k).expected_ppm})
        for k in sorted(live.keys("org")):
            op = self.tv.opinion(k)
            self.subjects.append({"kind": "org", "id": k, "label": live.get("org", k)["name"], "op": op,
                                  "e": op.expected_ppm})
        for k in sorted(live.keys("cert")):
            c = live.get("cert", k)
            ct = self.tv.cert(k)
            self.subjects.append({"kind": "cert", "id": k, "op": ct.own, "e": ct.expected_ppm,
                                  "label": f"{c['cert']['kind']} {c['cert']['subject']['name']} {k[:8]}",
                                  "owner": (c["issuer"], c["issuer_org"])})
        self.subjects.sort(key=lambda s: (("participant", "org", "cert").index(s["kind"]), s["label"]))
        self.table.setRowCount(len(self.subjects))
        for row, s in enumerate(self.subjects):
            op = s["op"]
            e_item = QTableWidgetItem(f"{s['e'] / PPM:.3f}")
            if s["e"] < self.tv.threshold_ppm:
                e_item.setForeground(QColor("#c8423b"))
            bar = QTableWidgetItem()
            bar.setData(BAR_ROLE, (op.belief_ppm, op.disbelief_ppm, op.uncertainty_ppm, s["e"]))
            why = (f"belief {op.belief_ppm / PPM:.3f}, disbelief {op.disbelief_ppm / PPM:.3f}, "
                   f"uncertainty {op.uncertainty_ppm / PPM:.3f} (light green: the part of it the "
                   f"base rate counts as trust)")
            if s["kind"] == "cert":  # its own ratings; what they leave uncertain, the issuer's trust fills
                ct = self.tv.cert(s["id"])
                why += (f"\nexpected = belief + uncertainty x the issuer's expected trust "
                        f"{ct.issuer_expected_ppm / PPM:.3f}")
            bar.setToolTip(why)
            e_item.setToolTip(why)
            name = QTableWidgetItem(s["label"])
            name.setToolTip(s["id"])
            for col, item in enumerate((QTableWidgetItem(s["kind"]), name, e_item, bar,
                                        QTableWidgetItem(str(len(op.contributions))))):
                self.table.setItem(row, col, item)
        self.threshold_line.setValue(self.tv.threshold_ppm / PPM)
        for row, s in enumerate(self.subjects):
            if keep is not None and s["id"] == keep["id"]:
                self.table.setCurrentCell(row, 0)
        self.message.setText(f"{len(self.subjects)} subjects at height {live.height}; "
                             f"threshold {self.tv.threshold_ppm / PPM:.3f}")

    def selected(self) -> dict[str, Any] | None:
        row = self.table.currentRow() if self.table.rowCount() else -1
        return self.subjects[row] if 0 <= row < len(self.subjects) else None

    def show_subject(self, row: int) -> None:
        self.ratings.setRowCount(0)
        if not 0 <= row < len(self.subjects):
            return
        s = self.subjects[row]
        cs = s["op"].contributions
        self.ratings.setRowCount(len(cs))
        for i, c in enumerate(cs):
            rater = self.live.get("participant", c.rater) or {}
            for col, text in enumerate((rater.get("name", c.rater[:16]), c.rater_org, str(c.score),
                                        f"{c.weight_ppm / PPM:.3f}", f"{c.decay_ppm / PPM:.3f}")):
                self.ratings.setItem(i, col, QTableWidgetItem(text))
        top = self.live.height
        heights = sorted({0, top, *(r.height for r in self.history if r.subject in (s["id"], s.get("owner", ("",))[0]))})
        owners = {s["id"]: s["owner"]} if "owner" in s else None
        series = expected_over_time(self.history, self.tv.params, s["id"], heights, owners)
        xs, ys = [], []
        for h, e in series:  # trust changes only at the heights of ratings: draw steps
            if ys:
                xs.append(h)
                ys.append(ys[-1])
            xs.append(h)
            ys.append(e / PPM)
        self.curve.setData(xs, ys)

    def ask_rate(self) -> None:
        s = self.selected()
        if s is None or self.submit is None or self.worker is not None:
            self.rate_state.setText("Select a subject to rate.")
            return
        ev = self.evidence.text().strip().lower()
        if len(ev) != 64 or any(ch not in "0123456789abcdef" for ch in ev):
            self.rate_state.setText("The evidence must be a 64-hex transaction or certificate id.")
            return
        passphrase, ok = QInputDialog.getText(self, "Sign rating", "Key passphrase:", QLineEdit.EchoMode.Password)
        if ok:
            self.start_rating(s, ev, passphrase)

    def start_rating(self, s: dict[str, Any], evidence: str, passphrase: str) -> None:
        score = self.score.value()
        payload = {"subject_kind": s["kind"], "subject": s["id"], "judges": evidence,
                   "positive": score * 10, "negative": 1000 - score * 10}
        if self.comment.text().strip():
            payload["comment"] = self.comment.text().strip()[:500]
        self.rate_state.setText(f"rating {s['label']} {score}/100: pending until committed…")
        self.rate_btn.setEnabled(False)
        self.worker = SubmitWorker(self.submit, payload, passphrase, self)
        self.worker.done.connect(lambda text: self._rated(f"rating {s['label']} {score}/100 {text}"))
        self.worker.failed.connect(lambda text: self._rated(f"rating refused: {text}"))
        self.worker.start()

    def _rated(self, text: str) -> None:
        self.worker.wait()
        self.worker = None
        self.rate_btn.setEnabled(True)
        self.rate_state.setText(text)
        self.reload()

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.wait()
            self.worker = None
