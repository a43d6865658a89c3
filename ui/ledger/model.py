"""A lazy table model of blocks: keyset pages from the store, never the whole chain.

Rows are newest first. `fetchMore` loads the next older page below the lowest loaded height;
`refresh_head` inserts blocks committed since the highest loaded one (live rows).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from ui.keyset_model import PAGE, KeysetTableModel


class BlockSource(Protocol):
    def blocks_page(self, before: int | None = None, after: int | None = None, limit: int = 100) -> list[dict[str, Any]]: ...


def fmt_time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class BlocksModel(KeysetTableModel):
    COLUMNS = ("Height", "Time (UTC)", "Transactions", "Block id", "Proposer")
    RIGHT_ALIGNED = frozenset({0, 2})
    ELIDED = frozenset({3, 4})

    def __init__(self, source: BlockSource | None, page_size: int = PAGE, parent=None) -> None:
        super().__init__(page_size, parent)
        self.source = source
        self._exhausted = source is None

    def what(self) -> str:
        return "blocks"

    def page(self, before: dict[str, Any] | None) -> list[dict[str, Any]]:
        if self.source is None:
            return []
        return self.source.blocks_page(before=None if before is None else before["height"], limit=self.page_size)

    def set_source(self, source: BlockSource | None) -> None:
        self.beginResetModel()
        self.source = source
        self._rows = []
        self._exhausted = source is None
        self.endResetModel()

    def refresh_head(self) -> int:
        """Insert blocks newer than the newest loaded one; returns how many."""
        if self.source is None or self._busy:
            return 0
        if not self._rows:
            self._exhausted = False
            before = self.rowCount()
            self.fetchMore()
            return self.rowCount() - before
        try:
            new = self.source.blocks_page(after=self._rows[0]["height"], limit=self.page_size)
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            self.failed.emit(f"cannot read blocks: {exc}")
            return 0
        if not new:
            return 0
        new.reverse()
        self.prepend(new)
        return len(new)

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
