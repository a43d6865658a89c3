"""The Network perspective: banner, consensus state, peers, banned peers and validators of the
local node, refreshed every second while shown, from its control socket (queried off the GUI
thread by a `ui.workers.Poller`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.network.model import BanRow, NetworkView, summarize
from ui.workers import Poller

# returns the node's status answer, or raises with a message for the user
Fetch = Callable[[], dict[str, Any]]

# (background, text) of a banned peer's row: the theme's banner colours (QLabel#banner in
# resources/styles/*.qss)
WARNING_ROW = {"dark": ("#6e2b2b", "#ffffff"), "light": ("#ffd7d5", "#5a1e1e")}
BAN_ROWS_SHOWN = 6  # the banned-peer table grows to this many rows, then scrolls


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


def _theme(widget: QWidget) -> str:
    theme = QApplication.instance().property("bcmlpTheme")
    if theme in WARNING_ROW:
        return theme
    return "dark" if widget.palette().base().color().lightness() < 128 else "light"


def _fit_rows(table: QTableWidget, most: int) -> None:
    """Make the table as tall as its rows (at most `most` of them, then it scrolls)."""
    shown = min(table.rowCount(), most)
    rows = sum(table.rowHeight(r) for r in range(shown))
    scroll = table.horizontalScrollBar()
    extra = scroll.sizeHint().height() if scroll.isVisible() else 0
    header = max(table.horizontalHeader().height(), table.horizontalHeader().sizeHint().height())
    table.setFixedHeight(header + rows + 2 * table.frameWidth() + extra)


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
        self.bans = _table(["Organisation", "Key id", "Reason", "Banned since (UTC)", "Until (UTC)",
                            "Offences"])
        # the reason takes the room left and wraps there; the table grows with its rows
        self.bans.horizontalHeader().setStretchLastSection(False)
        self.bans.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.bans.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.bans.setWordWrap(True)
        # a bound slot, not a lambda: Qt drops the connection when the page is destroyed (a
        # lambda would still be called while the header is torn down, and abort)
        self.bans.verticalHeader().sectionResized.connect(self._fit_bans)
        peers_box = QGroupBox("Connected peers")
        QVBoxLayout(peers_box).addWidget(self.peers)
        self.bans_box = QGroupBox("Banned peers")
        QVBoxLayout(self.bans_box).addWidget(self.bans)
        self.bans_box.hide()  # shown while the node has banned someone
        vals_box = QGroupBox("Validator set")
        QVBoxLayout(vals_box).addWidget(self.validators)
        lay = QVBoxLayout(self)
        for w in (self.banner, self.summary, self.consensus):
            lay.addWidget(w)
        lay.addWidget(peers_box, 1)
        lay.addWidget(self.bans_box)
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
        self._show_bans(view.bans)

    @Slot()
    def _fit_bans(self) -> None:
        _fit_rows(self.bans, BAN_ROWS_SHOWN)

    def _show_bans(self, bans: list[BanRow]) -> None:
        _fill(self.bans, [[b.org, b.key_id, b.reason, b.since, b.until, b.offences] for b in bans])
        background, text = (QColor(c) for c in WARNING_ROW[_theme(self)])
        for r in range(self.bans.rowCount()):
            for c in range(self.bans.columnCount()):
                self.bans.item(r, c).setBackground(background)
                self.bans.item(r, c).setForeground(text)
        self.bans_box.setVisible(bool(bans))
        if bans:
            _fit_rows(self.bans, BAN_ROWS_SHOWN)

    @Slot(str)
    def show_error(self, message: str) -> None:
        self.view = None
        self.summary.setText(message)
        self.consensus.setText("")
        self.banner.hide()
        _fill(self.peers, [])
        _fill(self.validators, [])
        self._show_bans([])
