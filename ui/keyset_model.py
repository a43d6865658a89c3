"""A lazy, newest-first table model over keyset pages: rows are loaded a page at a time below
the oldest loaded row (`canFetchMore`/`fetchMore`), never the whole table. Subclasses say how to
read a page (`page(before_row)`) and how to show a row (`display`).

Live rows go on top through `prepend`, which keeps at most `max_rows` loaded: the oldest go, to
be fetched again by keyset when scrolled to (a page open all shift neither grows without bound
nor slows its refreshes; 10 new records a second are 288,000 rows in 8 hours)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

PAGE = 200
MAX_ROWS = 10 * PAGE


class KeysetTableModel(QAbstractTableModel):
    COLUMNS: tuple[str, ...] = ()
    RIGHT_ALIGNED: frozenset[int] = frozenset()  # columns of numbers
    ELIDED: frozenset[int] = frozenset()  # columns of long ids: 16 characters, whole in the tooltip
    failed = Signal(str)

    def __init__(self, page_size: int = PAGE, parent=None, max_rows: int = MAX_ROWS) -> None:
        super().__init__(parent)
        self.page_size = page_size
        self.max_rows = max(max_rows, page_size)
        self._rows: list[dict[str, Any]] = []
        self._exhausted = True
        self._busy = False  # views (and the model tester) may call back while rows go in

    # -- to be provided ---------------------------------------------------------------------

    def page(self, before: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Up to `page_size` rows older than `before` (the newest when None), newest first."""
        raise NotImplementedError

    def display(self, row: dict[str, Any], col: int) -> str:
        raise NotImplementedError

    # -- loading --------------------------------------------------------------------------

    def _read(self, before: dict[str, Any] | None) -> list[dict[str, Any]]:
        try:
            return self.page(before)
        except Exception as exc:  # noqa: BLE001 - a database problem is shown, never a crash
            self.failed.emit(f"cannot read {self.what()}: {exc}")
            return []

    def what(self) -> str:
        return "rows"

    def reload(self) -> None:
        """Start over from the newest page."""
        self.beginResetModel()
        self._rows = self._read(None)
        self._exhausted = len(self._rows) < self.page_size
        self.endResetModel()

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        """Show exactly these rows (a search result): nothing more to fetch."""
        self.beginResetModel()
        self._rows = list(rows)
        self._exhausted = True
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and not self._exhausted and not self._busy

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: B008, N802
        if parent.isValid() or self._exhausted or self._busy:
            return
        rows = self._read(self._rows[-1] if self._rows else None)
        if len(rows) < self.page_size:
            self._exhausted = True
        if rows:
            self._insert(len(self._rows), rows)

    def prepend(self, rows: list[dict[str, Any]]) -> None:
        """Newer rows on top; beyond `max_rows` the oldest loaded rows are dropped (fetchable)."""
        if not rows:
            return
        self._insert(0, rows)
        extra = len(self._rows) - self.max_rows
        if extra > 0:
            self._busy = True
            try:
                self.beginRemoveRows(QModelIndex(), self.max_rows, len(self._rows) - 1)
                del self._rows[self.max_rows:]
                self.endRemoveRows()
            finally:
                self._busy = False
            self._exhausted = False

    def _insert(self, at: int, rows: list[dict[str, Any]]) -> None:
        self._busy = True
        try:
            self.beginInsertRows(QModelIndex(), at, at + len(rows) - 1)
            self._rows[at:at] = rows
            self.endInsertRows()
        finally:
            self._busy = False

    # -- the model interface ----------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def row(self, i: int) -> dict[str, Any]:
        return self._rows[i]

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) \
                or not 0 <= index.column() < len(self.COLUMNS):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            text = self.display(row, col)
            return text[:16] + "…" if col in self.ELIDED and len(text) > 16 else text
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.display(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in self.RIGHT_ALIGNED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        return None
