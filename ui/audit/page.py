"""The Inspection audit perspective: the newest inspection records (older ones load as the table
scrolls, a keyset page at a time) or those of one workpiece; a record's JSON and image, and its
proof against the ledger check by check (on a worker thread); below, the monitoring reports
that the condition-monitoring role put on the ledger."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.keyset_model import KeysetTableModel


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class AuditBackend:
    find: Callable[[str], list[dict[str, Any]]]  # workpiece id -> records (to_json_dict), newest first
    image: Callable[[str], bytes | None]  # image SHA-256 -> stored bytes
    verify: Callable[[int], Any]  # record id -> ledger_core.proofs.Report
    reports: Callable[[], list[dict[str, Any]]] | None = None  # monitor.report records, newest first
    # (below record id or None, limit) -> records newest first
    newest: Callable[[int | None, int], list[dict[str, Any]]] | None = None


class RecordsModel(KeysetTableModel):
    COLUMNS = ("Record", "Workpiece", "Inspected", "Verdict", "Quality", "Model cert")
    RIGHT_ALIGNED = frozenset({0, 4})
    ELIDED = frozenset({5})

    def __init__(self, newest: Callable[[int | None, int], list[dict[str, Any]]] | None, parent=None) -> None:
        super().__init__(parent=parent)
        self.newest = newest

    def what(self) -> str:
        return "inspection records"

    def page(self, before: dict[str, Any] | None) -> list[dict[str, Any]]:
        if self.newest is None:
            return []
        return self.newest(None if before is None else int(before["id"]), self.page_size)

    def display(self, row: dict[str, Any], col: int) -> str:
        return (str(row.get("id")), row["workpiece_id"], _when(row["inspected_at_ns"]), row["verdict"],
                f"{row['quality_permille'] / 1000:.3f}", row.get("model_cert_id") or "-")[col]


class _Verify(QThread):
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[int], Any], record_id: int, parent=None) -> None:
        super().__init__(parent)
        self.fn, self.record_id = fn, record_id

    def run(self) -> None:
        try:
            self.done.emit(self.fn(self.record_id))
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.failed.emit(str(exc))


class AuditPage(QWidget):
    def __init__(self, backend: AuditBackend, parent=None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.worker: _Verify | None = None
        self.search = QLineEdit(placeholderText="Workpiece id (empty: the newest records)")
        self.search.returnPressed.connect(self.find)
        find_btn = QPushButton("Find")
        find_btn.clicked.connect(self.find)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(find_btn)
        self.model = RecordsModel(backend.newest, self)
        self.model.failed.connect(lambda msg: self.verdict_label.setText(msg))
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((60, 150, 175, 60, 60)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self.show_record(cur.row()))
        self.detail = QPlainTextEdit(readOnly=True)
        self.picture = QLabel("no image")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(128, 128)
        self.verify_btn = QPushButton("Verify proof")
        self.verify_btn.clicked.connect(self.start_verify)
        self.verdict_label = QLabel()
        self.verdict_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.checks = QTreeWidget()
        self.checks.setHeaderLabels(["Check", "Result", "Reason"])
        upper = QHBoxLayout()
        upper.addWidget(self.detail, 2)
        upper.addWidget(self.picture, 1)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addLayout(upper, 2)
        rl.addWidget(self.verify_btn)
        rl.addWidget(self.verdict_label)
        rl.addWidget(self.checks, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([640, 460])
        outer = QSplitter(Qt.Orientation.Vertical)
        outer.addWidget(split)
        outer.addWidget(self._reports_box())
        outer.setStretchFactor(0, 3)
        outer.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(outer, 1)
        self.load_reports()
        self.find()

    def _reports_box(self) -> QGroupBox:
        box = QGroupBox("Monitoring reports on the ledger")
        self.reports_table = QTableWidget(0, 6)
        self.reports_table.setHorizontalHeaderLabels(
            ["Height", "Organisation", "Component", "Status", "Metrics", "About certificate"]
        )
        self.reports_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.reports_table.verticalHeader().hide()
        self.reports_table.horizontalHeader().setStretchLastSection(True)
        self.reports_status = QLabel()
        reload_btn = QPushButton("Reload")
        reload_btn.clicked.connect(self.load_reports)
        row = QHBoxLayout()
        row.addWidget(self.reports_status, 1)
        row.addWidget(reload_btn)
        lay = QVBoxLayout(box)
        lay.addLayout(row)
        lay.addWidget(self.reports_table, 1)
        box.setVisible(self.backend.reports is not None)
        return box

    def load_reports(self) -> None:
        if self.backend.reports is None:
            return
        try:
            reports = self.backend.reports()
        except Exception as exc:  # noqa: BLE001 - no ledger yet, or unreadable: say so
            reports = []
            self.reports_status.setText(f"reports unavailable: {exc}")
        else:
            self.reports_status.setText(f"{len(reports)} report(s), newest first")
        self.reports_table.setRowCount(len(reports))
        for r_i, r in enumerate(reports):
            metrics = ", ".join(f"{k}={v}" for k, v in sorted(r.get("metrics", {}).items()))
            for col, text in enumerate((str(r["height"]), r.get("org", ""), r["component"], r["status"],
                                        metrics, (r.get("about") or "-")[:16])):
                self.reports_table.setItem(r_i, col, QTableWidgetItem(text))

    def find(self) -> None:
        """The records of the workpiece in the search box, or the newest records when it is empty."""
        wid = self.search.text().strip()
        self.verdict_label.setText("")
        if wid:
            try:
                self.model.set_rows(self.backend.find(wid))
            except Exception as exc:  # noqa: BLE001 - shown, never a crash
                self.model.clear()
                self.verdict_label.setText(str(exc))
            if not self.model.rowCount():
                self.verdict_label.setText(self.verdict_label.text() or f"no records for workpiece {wid!r}")
        else:
            self.model.reload()
        if self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(0, 0))
        else:
            self.show_record(-1)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Coming back to the page shows the records inspected meanwhile (unless searching)."""
        super().showEvent(event)
        if not self.search.text().strip() and self.worker is None:
            self.find()

    def selected(self) -> dict[str, Any] | None:
        row = self.table.currentIndex().row()
        return self.model.row(row) if 0 <= row < self.model.rowCount() else None

    def show_record(self, row: int) -> None:
        self.checks.clear()
        if not 0 <= row < self.model.rowCount():
            self.detail.clear()
            self.picture.clear()
            self.picture.setText("no image")
            return
        r = self.model.row(row)
        self.detail.setPlainText(json.dumps(r, indent=2, sort_keys=True))
        data = self.backend.image(r["image_sha256"])
        pix = QPixmap()
        if data is not None and pix.loadFromData(data):
            self.picture.setPixmap(pix.scaled(256, 256, Qt.AspectRatioMode.KeepAspectRatio))
        else:
            self.picture.setText("image not in the history store" if data is None else "image cannot be shown")

    def start_verify(self) -> None:
        rec = self.selected()
        if self.worker is not None or rec is None:
            return
        self.checks.clear()
        self.verdict_label.setText(f"verifying record {rec['id']}…")
        self.worker = _Verify(self.backend.verify, int(rec["id"]), self)
        self.worker.done.connect(self._done)
        self.worker.failed.connect(lambda msg: self._finish(f"verification could not run: {msg}"))
        self.worker.start()

    def _done(self, rep: Any) -> None:
        for c in rep.checks:
            item = QTreeWidgetItem(self.checks, [c.name, "pass" if c.ok else "FAIL", c.reason])
            item.setToolTip(2, c.reason)
        self.checks.resizeColumnToContents(0)
        self._finish("VERIFIED: this result is anchored on the ledger" if rep.ok else "FAILED")

    def _finish(self, text: str) -> None:
        self.verdict_label.setText(text)
        if self.worker is not None:
            self.worker.wait()
            self.worker = None

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.wait()
            self.worker = None
