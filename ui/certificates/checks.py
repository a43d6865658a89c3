"""A verification's checks (check, result, reason) with every reason readable whole: the Reason
cell's tooltip, and a word-wrapped, selectable pane under the table with the selected check's
reason (Ctrl+C on the table copies it)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

REASON = 2
HINT = "Select a check to read its reason whole (Ctrl+C copies it)."


class ChecksView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Check", "Result", "Reason"])
        self.tree.setRootIsDecorated(False)
        self.tree.currentItemChanged.connect(self._show_current)
        self.heading = QLabel()
        self.heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.details = QPlainTextEdit(readOnly=True)
        self.details.setPlaceholderText(HINT)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.details.setMinimumHeight(48)
        QShortcut(QKeySequence.StandardKey.Copy, self.tree, self.copy_current,
                  context=Qt.ShortcutContext.WidgetShortcut)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        below = QWidget()
        bl = QVBoxLayout(below)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.heading)
        bl.addWidget(self.details, 1)
        split.addWidget(below)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    def clear(self) -> None:
        self.tree.clear()
        self.heading.clear()
        self.details.clear()

    def show_checks(self, checks: list[Any]) -> None:
        """`checks`: objects with name, ok and reason (ledger_core.attest.proofs.Check)."""
        self.clear()
        for c in checks:
            item = QTreeWidgetItem(self.tree, [c.name, "pass" if c.ok else "FAIL", c.reason])
            item.setToolTip(REASON, c.reason)
            if not c.ok:
                item.setForeground(1, Qt.GlobalColor.red)
        self.tree.resizeColumnToContents(0)
        self.tree.resizeColumnToContents(1)
        failed = next((i for i, c in enumerate(checks) if not c.ok), 0)  # the first failure, if any
        if checks:
            self.tree.setCurrentItem(self.tree.topLevelItem(failed))

    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _show_current(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        self.heading.setText("" if item is None else f"{item.text(0)}: {item.text(1)}")
        self.details.setPlainText("" if item is None else item.text(REASON))

    @Slot()
    def copy_current(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            QGuiApplication.clipboard().setText(item.text(REASON))
