"""A lazy table model of blocks: keyset pages from the store, never the whole chain.

Rows are newest first. `fetchMore` loads the next older page below the lowest loaded height;
`refresh_head` inserts blocks committed since the highest loaded one (live rows).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

PAGE = 200


class BlockSource(Protocol):
    def blocks_page(self, before: int | None = None, after: int | None = None, limit: int = 100) -> list[dict[str, Any]]: ...


def fmt_time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class BlocksModel(QAbstractTableModel):
    COLUMNS = ("Height", "Time (UTC)", "Transactions", "Block id", "Proposer")
    failed = Signal(str)

    def __init__(self, source: BlockSource | None, page_size: int = PAGE, parent=None) -> None:
        super().__init__(parent)
        self.source = source
        self.page_size = page_size
        self._rows: list[dict[str, Any]] = []
        self._exhausted = source is None
        self._busy = False  # views (and the model tester) may call back while rows go in

    # -- loading --------------------------------------------------------------------------

    def _page(self, **kw: Any) -> list[dict[str, Any]]:
        try:
            return self.source.blocks_page(limit=self.page_size, **kw) if self.source else []
        except Exception as exc:  # noqa: BLE001 - a database problem is shown, never a crash
            self.failed.emit(f"cannot read blocks: {exc}")
            return []

    def set_source(self, source: BlockSource | None) -> None:
        self.beginResetModel()
        self.source = source
        self._rows = []
        self._exhausted = source is None
        self.endResetModel()

    def reload(self) -> None:
        self.beginResetModel()
        self._rows = self._page()
        self._exhausted = len(self._rows) < self.page_size
        self.endResetModel()

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and not self._exhausted and not self._busy

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: B008, N802
        if parent.isValid() or self._exhausted or self._busy:
            return
        rows = self._page(before=self._rows[-1]["height"]) if self._rows else self._page()
        if len(rows) < self.page_size:
            self._exhausted = True
        if rows:
            self._busy = True
            try:
                self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(rows) - 1)
                self._rows.extend(rows)
                self.endInsertRows()
            finally:
                self._busy = False

    def refresh_head(self) -> int:
        """Insert blocks newer than the newest loaded one; returns how many."""
        if self.source is None or self._busy:
            return 0
        if not self._rows:
            if self._exhausted:
                self._exhausted = False
            before = self.rowCount()
            self.fetchMore()
            return self.rowCount() - before
        new = self._page(after=self._rows[0]["height"])
        if not new:
            return 0
        new.reverse()
        self._busy = True
        try:
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            self._rows[0:0] = new
            self.endInsertRows()
        finally:
            self._busy = False
        return len(new)

    # -- the model interface ----------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def row(self, i: int) -> dict[str, Any]:
        return self._rows[i]

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def display(self, row: dict[str, Any], col: int) -> str:
        if col == 0:
            return str(row["height"])
        if col == 1:
            return fmt_time(row["time"])
        if col == 2:
            return str(row["num_txs"])
        if col == 3:
            return row["block_id"]
        return row["proposer"]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or not 0 <= index.column() < 5:
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            text = self.display(row, col)
            return text[:16] + "…" if col >= 3 else text
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.display(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < 5:
            return self.COLUMNS[section]
        return None
