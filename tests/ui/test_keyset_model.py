"""ui/keyset_model.py: live rows on top never grow the loaded table past its cap; what was
dropped comes back by keyset when scrolled to."""

from __future__ import annotations

from PySide6.QtTest import QAbstractItemModelTester

from ui.keyset_model import KeysetTableModel


class Numbers(KeysetTableModel):
    """Rows {"n": i}, newest (highest) first, over an in-memory list that grows at the top."""

    COLUMNS = ("n",)

    def __init__(self, top: int, **kw) -> None:
        super().__init__(**kw)
        self.top = top

    def page(self, before):
        start = self.top if before is None else before["n"] - 1
        return [{"n": n} for n in range(start, max(start - self.page_size, 0), -1)]

    def display(self, row, col):
        return str(row["n"])


def test_prepend_keeps_at_most_max_rows_and_the_dropped_rows_come_back(qtbot):
    model = Numbers(1000, page_size=10, max_rows=30)
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    model.reload()
    model.fetchMore()
    model.fetchMore()
    assert model.rowCount() == 30
    model.fetchMore()
    assert model.rowCount() == 40  # the user scrolls on: fetching more is theirs to do
    for _ in range(50):  # a shift of live rows, 5 at a time
        new_top = model.top + 5
        model.prepend([{"n": n} for n in range(new_top, model.top, -1)])
        model.top = new_top
        assert model.rowCount() <= 40
    assert model.rowCount() == 30  # the first prepend beyond the cap trimmed to max_rows
    assert [model.row(i)["n"] for i in (0, 29)] == [1250, 1221]
    assert model.canFetchMore()  # the dropped rows are one keyset page away
    model.fetchMore()
    assert [model.row(i)["n"] for i in (30, 39)] == [1220, 1211]
