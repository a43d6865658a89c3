"""The Ledger perspective: a lazy block table, block and transaction details, one search box,
live rows, "Verify chain" on a task (progress and cancel), and CSV export of the loaded rows."""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.ledger.details import BlockDetail, TxDetail
from ui.ledger.model import BlocksModel
from ui.ledger.worker import verify_chain_job
from ui.widgets import splitter
from ui.workers import Task, TaskControls

# opens the chain: returns (store, genesis loader) or raises with a message for the user
Opener = Callable[[], tuple[Any, Callable[[], Any]]]


class LedgerPage(QWidget):
    def __init__(self, opener: Opener, live_ms: int = 1000, parent=None) -> None:
        super().__init__(parent)
        self.opener = opener
        self.store: Any = None
        self.genesis_loader: Callable[[], Any] | None = None

        self.search = QLineEdit(placeholderText="Search: height, block hash, transaction hash or key id")
        self.search.returnPressed.connect(self.run_search)
        self.verify_btn = QPushButton("Verify chain")
        self.verify_btn.clicked.connect(self.start_verify)
        self.cancel_btn = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.export_btn = QPushButton("Export CSV…")
        self.export_btn.clicked.connect(self._ask_export)
        self.reload_btn = QPushButton("Reload")
        self.reload_btn.clicked.connect(self.open_chain)
        self.status = QLabel()
        self._count_text = ""
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.worker = Task(self, "verify chain")  # the chain verification, kept between runs
        self.worker.succeeded.connect(self._verified)
        self.verify = TaskControls(self.worker, self.status, self.progress, self.cancel_btn, (self.verify_btn,),
                                   failed="verification could not run: {}", cancelled="verification cancelled")

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        for w in (self.verify_btn, self.progress, self.cancel_btn, self.export_btn, self.reload_btn):
            top.addWidget(w)

        self.model = BlocksModel(None, parent=self)
        self.model.failed.connect(self.status.setText)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(1, 190)
        self.table.setColumnWidth(3, 170)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self.show_block_row(cur.row()))

        self.block_detail = BlockDetail()
        self.block_detail.txActivated.connect(self.show_tx)
        self.tx_detail = TxDetail()
        right = splitter(Qt.Orientation.Vertical, self.block_detail, self.tx_detail)
        split = splitter(Qt.Orientation.Horizontal, self.table, right, stretch=(3, 2))

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

        self.timer = QTimer(self)
        self.timer.setInterval(live_ms)
        self.timer.timeout.connect(self.refresh_live)
        self.open_chain()

    # -- chain ----------------------------------------------------------------------------

    def open_chain(self) -> None:
        try:
            self.store, self.genesis_loader = self.opener()
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.store = self.genesis_loader = None
            self.model.set_source(None)
            self.status.setText(str(exc))
            self.timer.stop()
            self._enable(False)
            return
        self.model.set_source(self.store)
        self.model.reload()
        self._enable(True)
        self._show_count()
        self.timer.start()

    def _show_count(self) -> None:
        n = self.model.rowCount()
        text = f"{n} blocks loaded, newest at height {self.model.row(0)['height']}" if n else "no blocks yet"
        self._count_text = text + ("; scroll for older ones" if self.model.canFetchMore() else "")
        self.status.setText(self._count_text)

    def _enable(self, on: bool) -> None:
        for w in (self.search, self.verify_btn, self.export_btn):
            w.setEnabled(on)

    def refresh_live(self) -> None:
        # the count line follows new blocks; a search or verification message stays
        if self.store is not None and self.model.refresh_head() and self.status.text() == self._count_text:
            self._show_count()

    # -- details and search -------------------------------------------------------------------

    def show_block_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.show_block(self.store.block(self.model.row(row)["height"]))

    def show_block(self, block: dict[str, Any] | None) -> None:
        self.block_detail.show_block(block)
        self.tx_detail.show_tx(None, None)

    def show_tx(self, tx_hash: str) -> None:
        tx = self.store.tx(tx_hash)
        sender = self.store.state_row("participant", tx["envelope"]["body"]["sender"]) if tx else None
        self.tx_detail.show_tx(tx, sender)

    def run_search(self) -> None:
        term = self.search.text().strip()
        if not term or self.store is None:
            return
        try:
            found = self.store.search(term)
        except Exception as exc:  # noqa: BLE001
            self.status.setText(f"search failed: {exc}")
            return
        if found is None:
            self.status.setText(f"nothing found for {term!r}")
            return
        kind = found["kind"]
        if kind == "block":
            self.show_block(found["block"])
            self._select_height(found["block"]["height"])
            self.status.setText(f"block {found['block']['height']}")
        elif kind == "tx":
            self.show_block(self.store.block(found["tx"]["height"]))
            self.show_tx(found["tx"]["hash"])
            self._select_height(found["tx"]["height"])
            self.status.setText(f"transaction in block {found['tx']['height']}")
        else:
            p = found["participant"]
            self.status.setText(
                f"key {p['key_id'][:16]}…: {p['name']} ({p['org']}, {p['kind']}, {p['status']}), "
                f"{len(found['txs'])} recent transaction(s)"
            )
            if found["txs"]:
                self.show_block(self.store.block(found["txs"][0]["height"]))
                self.show_tx(found["txs"][0]["hash"])

    def _select_height(self, height: int) -> None:
        for i in range(self.model.rowCount()):
            if self.model.row(i)["height"] == height:
                idx = self.model.index(i, 0)
                self.table.selectionModel().blockSignals(True)
                self.table.selectionModel().setCurrentIndex(
                    idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                )
                self.table.selectionModel().blockSignals(False)
                self.table.scrollTo(idx)
                return

    # -- verification -------------------------------------------------------------------------

    def start_verify(self) -> None:
        if self.store is not None:
            self.verify.start(partial(verify_chain_job, self.genesis_loader, self.store), "verifying the chain…")

    def cancel_verify(self) -> None:
        self.verify.cancel()

    @Slot(object)
    def _verified(self, report: dict[str, Any]) -> None:
        if report["ok"]:
            msg = (f"chain verified: height {report['height']}, {report['transactions']} transactions, "
                   f"{report['tx_per_s']:.0f} tx/s")
        else:
            msg = f"VERIFICATION FAILED at height {report['height']}: {report['code']}: {report['reason']}"
        self.status.setText(msg)

    def shutdown(self) -> None:
        """Stop the live timer, cancel and join the verification (called when the window closes)."""
        self.timer.stop()
        self.worker.shutdown()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    # -- export -----------------------------------------------------------------------------

    def export_csv(self, path: Path) -> int:
        rows = self.model.rows()
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["height", "time_utc", "time_ms", "transactions", "block_id", "proposer"])
            for r in rows:
                w.writerow([r["height"], self.model.display(r, 1), r["time"], r["num_txs"], r["block_id"], r["proposer"]])
        return len(rows)

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export blocks", "blocks.csv", "CSV files (*.csv)")
        if path:
            try:
                n = self.export_csv(Path(path))
            except OSError as exc:
                self.status.setText(f"export failed: {exc.strerror}")
            else:
                self.status.setText(f"exported {n} rows to {path}")
