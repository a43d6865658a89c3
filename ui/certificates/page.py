"""The Certificates perspective: the list with filters by kind, issuer and status; the selected
certificate's lineage as a tree; verification check by check on a worker (drop a file or folder
onto the page to verify it, with progress and cancel); the audit report exported as PDF."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
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
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ledger_core.certs import LINEAGE
from ledger_core.gate import TrustView
from ledger_core.proofs import Report
from ui.certificates.model import CertsFilter, CertsModel, cert_rows
from ui.certificates.worker import VerifyWorker

# returns (store, genesis, live) of the local ledger, or raises with a message for the user
Opener = Callable[[], tuple[Any, Any, Any]]


class CertificatesPage(QWidget):
    def __init__(self, opener: Opener, parent=None) -> None:
        super().__init__(parent)
        self.opener = opener
        self.snapshot: tuple[Any, Any, Any] | None = None
        self.worker: VerifyWorker | None = None
        self.report: Report | None = None
        self.setAcceptDrops(True)

        self.kind = QComboBox()
        self.kind.addItems(["All kinds", *sorted(LINEAGE)])
        self.status_filter = QComboBox()
        self.status_filter.addItems(["Any status", "active", "revoked"])
        self.issuer = QLineEdit(placeholderText="Issuer name, organisation or key id")
        for w in (self.kind, self.status_filter):
            w.currentIndexChanged.connect(self._filter)
        self.issuer.textChanged.connect(self._filter)
        self.reload_btn = QPushButton("Reload")
        self.reload_btn.clicked.connect(self.reload)
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
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _p: self.show_cert(self._row(cur)))

        self.lineage = QTreeWidget()
        self.lineage.setHeaderLabels(["Lineage", "Status", "Trust"])
        self.verdict_label = QLabel("Drop a file or folder here to verify it, or select a certificate.")
        self.verdict_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.verdict = QTreeWidget()
        self.verdict.setHeaderLabels(["Check", "Result", "Reason"])
        self.verdict.setWordWrap(True)
        self.verify_btn = QPushButton("Verify selected")
        self.verify_btn.clicked.connect(lambda: self.start_verify(self.selected_id(), None))
        self.files_btn = QPushButton("Verify files…")
        self.files_btn.clicked.connect(self._ask_files)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(self.cancel_verify)
        self.cancel_btn.hide()
        self.progress = QProgressBar()
        self.progress.hide()
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
        rl.addWidget(self.verdict, 3)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([600, 500])
        self.message = QLabel()
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.message)
        lay.addWidget(split, 1)
        self.reload()

    # -- data ----------------------------------------------------------------------------

    def reload(self) -> None:
        try:
            self.snapshot = self.opener()
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            self.snapshot = None
            self.model.set_rows([])
            self.message.setText(str(exc))
            self.message.show()
            return
        live = self.snapshot[2]
        tv = TrustView(live.get, live.keys, live.height)
        self.model.set_rows(cert_rows(live, lambda cid: tv.cert(cid).expected_ppm))
        self.trust_view = tv
        self.message.setText(f"{self.model.rowCount()} certificates at height {live.height}; "
                             f"trust threshold {tv.threshold_ppm / 1e6:.3f}")

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
            if depth < 16:
                for child in c["lineage"]:
                    add(item, child, depth + 1)

        add(self.lineage, row["id"], 0)
        self.lineage.expandAll()
        self.lineage.resizeColumnToContents(0)

    # -- verification --------------------------------------------------------------------

    def start_verify(self, cert_id: str | None, path: Path | None) -> None:
        if self.worker is not None or self.snapshot is None or (cert_id is None and path is None):
            return
        self.verdict.clear()
        self.verdict_label.setText(f"Verifying {path.name if path else cert_id[:16]}…")
        self.worker = VerifyWorker(self.snapshot, cert_id, path, self)
        self.worker.progressed.connect(self._progress)
        self.worker.succeeded.connect(self._done)
        self.worker.failed.connect(lambda msg: self._finish(f"Verification could not run: {msg}"))
        self.worker.cancelled.connect(lambda: self._finish("Verification cancelled."))
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_btn.show()
        self.worker.start()

    def cancel_verify(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000 if total == 0 else done * 1000 // total)

    def _done(self, rep: Report) -> None:
        self.report = rep
        for c in rep.checks:
            item = QTreeWidgetItem(self.verdict, [c.name, "pass" if c.ok else "FAIL", c.reason])
            item.setToolTip(2, c.reason)
            if not c.ok:
                item.setForeground(1, Qt.GlobalColor.red)
        self.verdict.resizeColumnToContents(0)
        self.verdict.resizeColumnToContents(1)
        self.pdf_btn.setEnabled(True)
        self._finish(("VERIFIED" if rep.ok else "FAILED") + (f": certificate {rep.cert_id}" if rep.cert_id else ""))

    def _finish(self, text: str) -> None:
        self.verdict_label.setText(text)
        self.progress.hide()
        self.cancel_btn.hide()
        if self.worker is not None:
            self.worker.wait()
            self.worker = None

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()
            self.worker = None

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.start_verify(None, Path(urls[0].toLocalFile()))
            event.acceptProposedAction()

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
        height = self.snapshot[2].height if self.snapshot else "?"
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

    def _ask_pdf(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export audit report", "audit-report.pdf", "PDF (*.pdf)")
        if name:
            self.export_pdf(Path(name))
            self.message.setText(f"audit report written to {name}")
