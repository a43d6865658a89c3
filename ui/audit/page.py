"""The Inspection audit perspective: the newest inspection records (older ones load as the table
scrolls, a keyset page at a time) or those of one workpiece; a record's JSON and image, and its
proof against the ledger check by check (on a task), every reason readable whole;
below, the monitoring reports that the condition-monitoring role put on the ledger. While shown,
the page follows new blocks and new records (the selection and scroll position stay)."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspection.errors import ImageError
from ui.audit.worker import AuditLoad, load_audit
from ui.certificates.checks import ChecksView
from ui.image_load import pixmap_from_bytes
from ui.keyset_model import KeysetTableModel
from ui.live import HeadFollower, keep_place
from ui.widgets import splitter
from ui.workers import Task, TaskControls, plain


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class AuditBackend:
    find: Callable[[str], list[dict[str, Any]]]  # workpiece id -> records (to_json_dict), newest first
    image: Callable[[str], bytes | None]  # image SHA-256 -> stored bytes
    verify: Callable[[int], Any]  # record id -> ledger_core.attest.proofs.Report
    reports: Callable[[], list[dict[str, Any]]] | None = None  # monitor.report records, newest first
    # (below record id or None, limit) -> records newest first
    newest: Callable[[int | None, int], list[dict[str, Any]]] | None = None
    # what moves when there is something new to show, through cheap queries (e.g. the ledger's
    # height and the newest record id); None: the page loads when first shown and on Reload
    head: Callable[[], Hashable] | None = None


def record_id(index: QModelIndex) -> int | None:
    row = index.data(Qt.ItemDataRole.UserRole)
    return None if row is None else row["id"]


def report_tx(index: QModelIndex) -> str | None:
    return index.data(Qt.ItemDataRole.UserRole)


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

    def show_newest(self, page: list[dict[str, Any]]) -> int:
        """Merge a freshly read newest page: the records newer than the top row go on top, and the
        older pages loaded meanwhile stay; a full page of only newer records may leave a gap
        below it, so the table starts over from that page. Returns how many rows are new."""
        if self._rows and not (page and len(page) >= self.page_size and page[-1]["id"] > self._rows[0]["id"]):
            new = [r for r in page if r["id"] > self._rows[0]["id"]]
            self.prepend(new)
            return len(new)
        self.beginResetModel()
        self._rows = list(page)
        self._exhausted = len(page) < self.page_size
        self.endResetModel()
        return len(page)


class AuditPage(QWidget):
    def __init__(self, backend: AuditBackend, live_ms: int = 1000, parent=None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.newest_shown = True  # the table lists the newest records, not a search's
        self.search = QLineEdit(placeholderText="Workpiece id (empty: the newest records)")
        self.search.returnPressed.connect(self.find)
        find_btn = QPushButton("Find")
        find_btn.clicked.connect(self.find)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(find_btn)
        self.model = RecordsModel(backend.newest, self)
        self.model.failed.connect(self._show_error)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((60, 150, 175, 60, 60)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.detail = QPlainTextEdit(readOnly=True)
        self.picture = QLabel("no image")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(128, 128)
        self.verify_btn = QPushButton("Verify proof")
        self.verify_btn.clicked.connect(self.start_verify)
        self.verdict_label = QLabel()
        self.verdict_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.checks = ChecksView()
        self.verify_task = Task(self, "verify record")
        self.verify_task.succeeded.connect(self._done)
        self.verify = TaskControls(self.verify_task, self.verdict_label, failed="verification could not run: {}")
        upper = QHBoxLayout()
        upper.addWidget(self.detail, 2)
        upper.addWidget(self.picture, 1)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addLayout(upper, 2)
        rl.addWidget(self.verify_btn)
        rl.addWidget(self.verdict_label)
        rl.addWidget(self.checks, 2)
        split = splitter(Qt.Orientation.Horizontal, self.table, right, sizes=[640, 460])
        outer = splitter(Qt.Orientation.Vertical, split, self._reports_box(), stretch=(3, 1))
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(outer, 1)

        self.follower = HeadFollower(self, partial(load_audit, backend.newest, backend.reports,
                                                   self.model.page_size), backend.head, live_ms)
        self.follower.loaded.connect(self._loaded)
        self.follower.failed.connect(self._show_error)
        self.reports_reload.clicked.connect(self.follower.refresh)

    def _reports_box(self) -> QGroupBox:
        box = QGroupBox("Monitoring reports on the ledger")
        self.reports_table = QTableWidget(0, 6)
        self.reports_table.setHorizontalHeaderLabels(
            ["Height", "Organisation", "Component", "Status", "Metrics", "About certificate"]
        )
        self.reports_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.reports_table.verticalHeader().hide()
        self.reports_table.horizontalHeader().setStretchLastSection(True)
        self.reports_status = QLabel("Reading the ledger…")
        self.reports_reload = QPushButton("Reload")
        row = QHBoxLayout()
        row.addWidget(self.reports_status, 1)
        row.addWidget(self.reports_reload)
        lay = QVBoxLayout(box)
        lay.addLayout(row)
        lay.addWidget(self.reports_table, 1)
        box.setVisible(self.backend.reports is not None)
        return box

    def reload(self) -> None:
        """Load now, on the calling thread (new blocks and Reload load on a task)."""
        self.follower.load_now()

    @Slot(object)
    def _loaded(self, data: AuditLoad) -> None:
        if data.reports is not None:
            self._show_reports(data.reports, data.reports_error)
        if data.newest is not None and self.newest_shown:
            restore = keep_place(self.table, record_id)
            self.model.show_newest(data.newest)
            restore()
            if not self.table.currentIndex().isValid() and self.model.rowCount():
                self.table.setCurrentIndex(self.model.index(0, 0))

    def _show_reports(self, reports: list[dict[str, Any]], error: str) -> None:
        restore = keep_place(self.reports_table, report_tx)
        self.reports_status.setText(error or f"{len(reports)} report(s), newest first")
        self.reports_table.setRowCount(0)
        self.reports_table.setRowCount(len(reports))
        for r_i, r in enumerate(reports):
            metrics = ", ".join(f"{k}={v}" for k, v in sorted(r.get("metrics", {}).items()))
            for col, text in enumerate((str(r["height"]), r.get("org", ""), r["component"], r["status"],
                                        metrics, (r.get("about") or "-")[:16])):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, r["tx"])
                self.reports_table.setItem(r_i, col, item)
        restore()

    @Slot(str)
    def _show_error(self, message: str) -> None:
        self.verdict_label.setText(message)

    @Slot()
    def find(self) -> None:
        """The records of the workpiece in the search box, or the newest records when it is empty."""
        wid = self.search.text().strip()
        self.newest_shown = not wid
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

    def selected(self) -> dict[str, Any] | None:
        row = self.table.currentIndex().row()
        return self.model.row(row) if 0 <= row < self.model.rowCount() else None

    @Slot(QModelIndex, QModelIndex)
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.show_record(current.row())

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
        if data is None:
            self.picture.setText("image not in the history store")
            return
        try:  # the store's bytes may have been altered: the pixel budget before any decoder
            pix = pixmap_from_bytes(data)
        except ImageError as exc:
            self.picture.setText(f"image cannot be shown: {exc}")
            return
        self.picture.setPixmap(pix.scaled(256, 256, Qt.AspectRatioMode.KeepAspectRatio))

    @property
    def worker(self) -> Task | None:
        """The proof's verification while it runs."""
        return self.verify_task if self.verify_task.isRunning() else None

    @Slot()
    def start_verify(self) -> None:
        rec = self.selected()
        if self.verify_task.busy or rec is None:
            return
        self.checks.clear()
        self.verify.start(plain(partial(self.backend.verify, int(rec["id"]))), f"verifying record {rec['id']}…")

    @Slot(object)
    def _done(self, rep: Any) -> None:
        self.checks.show_checks(rep.checks)
        self.verify.say("VERIFIED: this result is anchored on the ledger" if rep.ok else "FAILED")

    def shutdown(self) -> None:
        """Stop following the ledger, join the verification (the window closes)."""
        self.follower.shutdown()
        self.verify_task.shutdown()
