"""Pages that follow the ledger head while they are shown.

`HeadFollower` asks a cheap `head()` (one query, e.g. the ledger's height) on a timer while its
page is visible; when the answer changed since the last load it runs the page's heavy `load()`
on a `ui.workers.Task` (the newest ask wins) and emits `loaded(result)` on the GUI thread. A hidden page is not
refreshed; showing it checks at once. Without a `head` the page loads once, when first shown,
and then on `refresh()` (its Reload button).

`keep_place` keeps the user's current row and scroll position, by id rather than row number,
across a reload of a view's model.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, QTimer, Signal, Slot
from PySide6.QtCore import QItemSelectionModel as Sel
from PySide6.QtWidgets import QAbstractItemView, QWidget

from ui.workers import Task, plain

# opens a fresh ledger snapshot: returns (store, genesis, live), or raises with a message for the user
Opener = Callable[[], tuple[Any, Any, Any]]
# the ledger's head height through one cheap query (raises while there is no ledger)
Head = Callable[[], Hashable]

_NEVER = object()  # nothing loaded yet
_UNKNOWN = object()  # head() failed: no ledger yet, or a passing read error


class HeadFollower(QObject):
    loaded = Signal(object)
    failed = Signal(str)

    def __init__(self, page: QWidget, load: Callable[[], Any], head: Callable[[], Hashable] | None = None,
                 interval_ms: int = 1000) -> None:
        super().__init__(page)
        self.load = load  # runs on a worker: must not reach any widget (see ui.workers)
        self.head = head  # runs on the GUI thread: one cheap query
        self._seen: Any = _NEVER
        self.task = Task(self, "load")
        self.task.succeeded.connect(self.loaded)
        self.task.failed.connect(self.failed)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        page.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        # The page's Hide event can arrive while the page is being torn down, after the Python
        # side of this object is gone (seen once in a full run): then there is nothing to stop.
        timer = self.__dict__.get("timer")
        if timer is None:
            return False
        if event.type() == QEvent.Type.Show:
            if self.head is not None:
                timer.start()
            self.check()
        elif event.type() == QEvent.Type.Hide:
            timer.stop()
        return False

    @Slot()
    def check(self) -> None:
        """One tick: load if nothing was loaded yet or the head moved since the last load."""
        page = self.parent()
        if not isinstance(page, QWidget) or not page.isVisible():
            self.timer.stop()
            return
        try:
            now = None if self.head is None else self.head()
        except Exception:  # noqa: BLE001 - the next tick asks again
            now = _UNKNOWN
        if self._seen is _NEVER or (now is not _UNKNOWN and now != self._seen):
            self._seen = now
            self.task.submit(plain(self.load))

    @Slot()
    def refresh(self) -> None:
        """Load now, whether or not the head moved (the Reload button)."""
        if self._seen is _NEVER:
            self._seen = _UNKNOWN
        self.task.submit(plain(self.load))

    def load_now(self) -> None:
        """Load on the calling thread and emit `loaded` or `failed` at once (a page that needs its
        data before the first load on the task came back)."""
        try:
            data = self.load()
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            self.failed.emit(str(exc))
        else:
            self.loaded.emit(data)

    @property
    def busy(self) -> bool:
        return self.task.busy

    def shutdown(self) -> None:
        self.timer.stop()
        self.task.shutdown()


def keep_place(view: QAbstractItemView, key: Callable[[QModelIndex], Hashable]) -> Callable[[], None]:
    """Remember the view's current row and first visible row by `key(index of column 0)`; the
    function returned puts both back once the model was reloaded. At the top, the view stays at
    the top, so that new rows (newest first) come into sight."""
    model = view.model()
    cur = view.currentIndex()
    current = key(cur.siblingAtColumn(0)) if cur.isValid() else None
    column = cur.column() if cur.isValid() else 0
    first = view.rowAt(0) if view.verticalScrollBar().value() > 0 else -1
    top = key(model.index(first, 0)) if first >= 0 else None
    left = view.horizontalScrollBar().value()

    def restore() -> None:
        rows = _find_rows(model, key, {k for k in (current, top) if k is not None})
        if current in rows:
            view.selectionModel().setCurrentIndex(model.index(rows[current], column),
                                                  Sel.SelectionFlag.ClearAndSelect | Sel.SelectionFlag.Rows)
        view.executeDelayedItemsLayout()  # the scroll bars' ranges follow the new rows first
        if top in rows:
            view.scrollTo(model.index(rows[top], 0), QAbstractItemView.ScrollHint.PositionAtTop)
        else:
            view.scrollToTop()
        view.horizontalScrollBar().setValue(left)

    return restore


def _find_rows(model, key: Callable[[QModelIndex], Hashable], wanted: set) -> dict:
    """The rows of the wanted keys, from the top, stopping once all are found (they sit near the
    top after live rows went in: a refresh costs the rows above them, not the whole table)."""
    found: dict = {}
    for r in range(model.rowCount()):
        if len(found) == len(wanted):
            break
        k = key(model.index(r, 0))
        if k in wanted:
            found[k] = r
    return found
