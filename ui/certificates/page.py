"""The Certificates perspective: the list with filters by kind, issuer and status, following new
blocks while shown (the selection and scroll position stay); the selected certificate's lineage
as a tree; verification check by check on a task (drop a file or folder onto the page to
verify it, with progress and cancel), every reason readable whole; the audit report as PDF."""

from __future__ import annotations

import html
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Slot
from PySide6.QtGui import QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ledger_core.attest.certs import LINEAGE
from ledger_core.attest.gate import TrustView
from ledger_core.attest.proofs import Report
from ledger_core.attest.queries import status_text
from ui.certificates.checks import ChecksView
from ui.certificates.model import CertsFilter, CertsModel, cert_id
from ui.certificates.worker import CertsLoad, load_certificates, verify
from ui.live import Head, HeadFollower, Opener, keep_place
from ui.widgets import splitter
from ui.workers import Task, TaskControls


class CertificatesPage(QWidget):
    def __init__(self, opener: Opener, head: Head | None = None, live_ms: int = 1000, parent=None) -> None:
        super().__init__(parent)
        self.opener = opener
        self.snapshot: tuple[Any, Any, Any] | None = None
        self.trust_view: TrustView | None = None
        self.height: int | None = None
        self.report: Report | None = None
        self.report_height: int | None = None  # of the snapshot the report was verified against
        self.setAcceptDrops(True)

        self.kind = QComboBox()
        self.kind.addItems(["All kinds", *sorted(LINEAGE)])
        self.status_filter = QComboBox()
        self.status_filter.addItems(["Any status", "active", "suspended", "revoked"])
        self.issuer = QLineEdit(placeholderText="Issuer name, organisation or key id")
        for w in (self.kind, self.status_filter):
            w.currentIndexChanged.connect(self._filter)
        self.issuer.textChanged.connect(self._filter)
        self.reload_btn = QPushButton("Reload")
        top = QHBoxLayout()
        for w in (QLabel("Filter:"), self.kind, self.status_filter, self.issuer):
            top.addWidget(w)
        top.addWidget(self.reload_btn)

        self.model = CertsModel(self)
        self.proxy = CertsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        self.lineage = QTreeWidget()
        self.lineage.setHeaderLabels(["Lineage", "Status", "Trust"])
        self.verdict_label = QLabel("Drop a file or folder here to verify it, or select a certificate.")
        self.verdict_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.verdict_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.checks = ChecksView()
        self.verify_btn = QPushButton("Verify selected")
        self.verify_btn.clicked.connect(self.verify_selected)
        self.files_btn = QPushButton("Verify files…")
        self.files_btn.clicked.connect(self._ask_files)
        self.cancel_btn = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.verify_task = Task(self, "verify certificate")
        self.verify_task.succeeded.connect(self._done)
        self.verify = TaskControls(self.verify_task, self.verdict_label, self.progress, self.cancel_btn,
                                   failed="Verification could not run: {}", cancelled="Verification cancelled.",
                                   tooltip=True)
        self._verifying_height: int | None = None  # of the snapshot being verified against
        self.pdf_btn = QPushButton("Export report PDF…")
        self.pdf_btn.setEnabled(False)
        self.pdf_btn.clicked.connect(self._ask_pdf)
        buttons = QHBoxLayout()
        for w in (self.verify_btn, self.files_btn, self.progress, self.cancel_btn, self.pdf_btn):
            buttons.addWidget(w)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(self.lineage, 2)
        rl.addLayout(buttons)
        rl.addWidget(self.verdict_label)
        rl.addWidget(self.checks, 3)
        split = splitter(Qt.Orientation.Horizontal, self.table, right, sizes=[600, 500])
        self.message = QLabel()
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.message)
        lay.addWidget(split, 1)

        # the list follows new blocks while the page is shown; loads run on a worker
        self.message.setText("Reading the ledger…")
        self.follower = HeadFollower(self, partial(load_certificates, opener), head, live_ms)
        self.follower.loaded.connect(self._loaded)
        self.follower.failed.connect(self._load_failed)
        self.reload_btn.clicked.connect(self.follower.refresh)

    # -- data ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Load now, on the calling thread (Reload and new blocks load on a task)."""
        self.follower.load_now()

    @Slot(object)
    def _loaded(self, data: CertsLoad) -> None:
        self.snapshot, self.trust_view, self.height = data.snapshot, data.trust, data.height
        if data.rows != self.model.rows:  # most blocks change no certificate: nothing to redraw
            restore = keep_place(self.table, cert_id)
            self.model.set_rows(data.rows)
            restore()
        self.message.setText(f"{self.model.rowCount()} certificates at height {data.height}; "
                             f"trust threshold {data.trust.threshold_ppm / 1e6:.3f}")

    @Slot(str)
    def _load_failed(self, message: str) -> None:
        # what was loaded before stays on screen: a passing read error must not lose the user's place
        shown = "" if self.height is None else f" (showing height {self.height})"
        self.message.setText(message + shown)

    def _filter(self) -> None:
        self.proxy.set_filter("" if self.kind.currentIndex() == 0 else self.kind.currentText(),
                              "" if self.status_filter.currentIndex() == 0 else self.status_filter.currentText(),
                              self.issuer.text())

    def _row(self, proxy_index) -> dict[str, Any] | None:
        if not proxy_index.isValid():
            return None
        return self.proxy.data(proxy_index, Qt.ItemDataRole.UserRole)

    def selected_id(self) -> str | None:
        r = self._row(self.table.currentIndex())
        return None if r is None else r["id"]

    @Slot(QModelIndex, QModelIndex)
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.show_cert(self._row(current))

    def show_cert(self, row: dict[str, Any] | None) -> None:
        self.lineage.clear()
        if row is None or self.snapshot is None:
            return
        live = self.snapshot[2]

        def add(parent, cid: str, depth: int) -> None:
            rec = live.get("cert", cid)
            if rec is None:
                QTreeWidgetItem(parent, [f"{cid[:16]} (not on the ledger)", "missing", ""])
                return
            c = rec["cert"]
            item = QTreeWidgetItem(parent, [f"{c['kind']}: {c['subject']['name']} {c['subject']['version']}",
                                            rec["status"], f"{self.trust_view.cert(cid).expected_ppm / 1e6:.3f}"])
            item.setToolTip(0, cid)
            item.setToolTip(1, status_text(live.get, live.keys, cid))  # who suspended, the votes
            if depth < 16:
                for child in c["lineage"]:
                    add(item, child, depth + 1)

        add(self.lineage, row["id"], 0)
        self.lineage.expandAll()
        self.lineage.resizeColumnToContents(0)

    # -- verification --------------------------------------------------------------------

    @Slot()
    def verify_selected(self) -> None:
        self.start_verify(self.selected_id(), None)

    @property
    def worker(self) -> Task | None:
        """The verification while it runs."""
        return self.verify_task if self.verify_task.isRunning() else None

    def start_verify(self, cert_id: str | None, path: Path | None) -> None:
        if self.verify_task.busy or (cert_id is None and path is None):
            return
        if self.snapshot is None:  # asked before the first load came back
            self.reload()
            if self.snapshot is None:
                return
        self.checks.clear()
        self._verifying_height = self.snapshot[2].height
        self.verify.start(partial(verify, self.snapshot, cert_id, path),
                          f"Verifying {path.name if path else cert_id[:16]}…")

    @Slot()
    def cancel_verify(self) -> None:
        self.verify.cancel()

    @Slot(object)
    def _done(self, rep: Report) -> None:
        self.report, self.report_height = rep, self._verifying_height
        self.checks.show_checks(rep.checks)
        self.pdf_btn.setEnabled(True)
        self.verify.say(("VERIFIED" if rep.ok else "FAILED") + (f": certificate {rep.cert_id}" if rep.cert_id else ""))

    def shutdown(self) -> None:
        """Stop following the ledger, cancel and join the verification (the window closes)."""
        self.follower.shutdown()
        self.verify_task.shutdown()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.start_verify(None, Path(urls[0].toLocalFile()))
            event.acceptProposedAction()

    @Slot()
    def _ask_files(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Verify a folder") or None
        if path:
            self.start_verify(self.selected_id(), Path(path))

    # -- report --------------------------------------------------------------------------

    def report_html(self) -> str:
        rep = self.report
        rows = "".join(
            f"<tr><td>{html.escape(c.name)}</td><td>{'pass' if c.ok else '<b>FAIL</b>'}</td>"
            f"<td>{html.escape(c.reason)}</td></tr>" for c in rep.checks
        )
        height = "?" if self.report_height is None else self.report_height
        return (f"<h2>Certificate audit report</h2><p>Certificate: <code>{html.escape(rep.cert_id or '-')}</code>"
                f"<br>Ledger height: {height}<br>Verdict: <b>{'VERIFIED' if rep.ok else 'FAILED'}</b></p>"
                f"<table border='1' cellspacing='0' cellpadding='3'><tr><th>Check</th><th>Result</th>"
                f"<th>Reason</th></tr>{rows}</table>")

    def export_pdf(self, path: Path) -> None:
        writer = QPdfWriter(str(path))
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        doc = QTextDocument()
        doc.setHtml(self.report_html())
        doc.print_(writer)

    @Slot()
    def _ask_pdf(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export audit report", "audit-report.pdf", "PDF (*.pdf)")
        if name:
            self.export_pdf(Path(name))
            self.message.setText(f"audit report written to {name}")
