"""The Network perspective: banner, consensus state, peers and validators of the local node,
refreshed every second while shown, from its control socket (queried off the GUI thread by a
`ui.workers.Poller`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.network.model import NetworkView, summarize
from ui.workers import Poller

# returns the node's status answer, or raises with a message for the user
Fetch = Callable[[], dict[str, Any]]


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.verticalHeader().hide()
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(r, c, item)


class NetworkPage(QWidget):
    def __init__(self, fetch: Fetch, poll_ms: int = 1000, recent_ms: int = 10_000, parent=None) -> None:
        super().__init__(parent)
        self.fetch = fetch
        self.poll_ms = poll_ms
        self.recent_ms = recent_ms
        self.banner = QLabel()
        self.banner.setObjectName("networkBanner")
        self.banner.setStyleSheet("QLabel#networkBanner { background: #b3261e; color: white; "
                                  "padding: 8px; font-weight: bold; }")
        self.banner.hide()
        self.summary = QLabel("Waiting for the node…")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.consensus = QLabel()
        self.peers = _table(["Organisation", "Key id", "Address", "Height", "Round trip"])
        self.validators = _table(["Organisation", "Key id", "Online", "Last vote"])
        peers_box = QGroupBox("Connected peers")
        QVBoxLayout(peers_box).addWidget(self.peers)
        vals_box = QGroupBox("Validator set")
        QVBoxLayout(vals_box).addWidget(self.validators)
        lay = QVBoxLayout(self)
        for w in (self.banner, self.summary, self.consensus):
            lay.addWidget(w)
        lay.addWidget(peers_box, 1)
        lay.addWidget(vals_box, 1)
        self.view: NetworkView | None = None
        # polls only while the page is shown
        self.poller = Poller(fetch, poll_ms, self, "network poll")
        self.poller.result.connect(self._answered)
        self.poller.failed.connect(self.show_error)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.poller.start()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().hideEvent(event)
        self.poller.pause()

    def refresh(self) -> None:
        """Ask the node now, unless an answer is awaited."""
        self.poller.poll()

    def shutdown(self) -> None:
        """Stop polling and join the query in flight (the window closes)."""
        self.poller.shutdown()

    @Slot(object)
    def _answered(self, value: Any) -> None:
        if isinstance(value, dict):
            self.show_status(value)
        else:
            self.show_error(str(value))

    @Slot(dict)
    def show_status(self, status: dict) -> None:
        view = summarize(status, time.time_ns() // 1_000_000, self.recent_ms)
        self.view = view
        self.summary.setText(view.summary)
        self.consensus.setText(f"Consensus: {view.consensus}")
        self.banner.setVisible(view.banner is not None)
        self.banner.setText(view.banner or "")
        _fill(self.peers, [[p.org, p.key_id[:16], p.address, p.height, p.rtt] for p in view.peers])
        _fill(self.validators, [[v.org, v.key_id[:16], "online" if v.online else "offline", v.last_vote]
                                for v in view.validators])

    @Slot(str)
    def show_error(self, message: str) -> None:
        self.view = None
        self.summary.setText(message)
        self.consensus.setText("")
        self.banner.hide()
        _fill(self.peers, [])
        _fill(self.validators, [])
