"""The Trust perspective: participants, organisations and certificates with their opinion as a
belief / disbelief / uncertainty bar and expected trust, following new blocks while shown (the
selection and scroll position stay); the selected subject's ratings (who, what weight, what decay)
and its trust over time, computed on a task; a rating form signed with the local key, shown
pending until committed."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import QModelIndex, QRect, Qt, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.live import Head, HeadFollower, Opener, keep_place
from ui.trust.history import History, subject_history
from ui.trust.plot import TrustPlot
from ui.trust.worker import Submit, TrustLoad, load_trust, submit_rating
from ui.widgets import splitter
from ui.workers import Task, TaskControls, plain

BAR_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole  # on the Kind cell: the subject's id
# belief, disbelief, the share of uncertainty the base rate counts as trust, the rest of it
COLORS = (QColor("#2e9d4f"), QColor("#c8423b"), QColor("#a6d8b4"), QColor("#9aa0a6"))
PPM = 1_000_000


class OpinionBar(QStyledItemDelegate):
    """Paints (belief, disbelief, uncertainty, expected) ppm as one bar: belief, disbelief, then
    the uncertainty split into the part the base rate turns into expected trust (light green)
    and the rest (grey), so the green total is the expected trust shown beside it."""

    def paint(self, painter, option, index) -> None:
        parts = index.data(BAR_ROLE)
        if not parts:
            return super().paint(painter, option, index)
        belief, disbelief, uncertainty, expected = parts
        from_base = min(uncertainty, max(0, expected - belief))
        r = option.rect.adjusted(2, 4, -2, -4)
        x = r.x()
        for value, color in zip((belief, disbelief, from_base, uncertainty - from_base), COLORS, strict=True):
            w = r.width() * value // PPM
            painter.fillRect(QRect(x, r.y(), w, r.height()), color)
            x += w


def subject_id(index: QModelIndex) -> str | None:
    return index.data(ID_ROLE)


def row_view(s: dict[str, Any]) -> tuple:
    """What a subject's row shows: when a new block leaves it unchanged, the row is not redrawn."""
    op = s["op"]
    bar = (op.belief_ppm // 1000, op.disbelief_ppm // 1000, op.uncertainty_ppm // 1000, s["e"] // 1000)
    return s["id"], s["kind"], s["label"], s["e"] // 1000, bar, len(op.contributions), opinion_tooltip(s)


def opinion_tooltip(s: dict[str, Any]) -> str:
    op = s["op"]
    why = (f"belief {op.belief_ppm / PPM:.3f}, disbelief {op.disbelief_ppm / PPM:.3f}, "
           f"uncertainty {op.uncertainty_ppm / PPM:.3f} (light green: the part of it the "
           f"base rate counts as trust)")
    if s["kind"] == "cert":  # its own ratings; what they leave uncertain, the issuer's trust fills
        why += f"\nexpected = belief + uncertainty x the issuer's expected trust {s['issuer_e'] / PPM:.3f}"
    return why


class TrustPage(QWidget):
    def __init__(self, opener: Opener, submit: Submit | None = None, head: Head | None = None,
                 live_ms: int = 1000, parent=None) -> None:
        super().__init__(parent)
        self.opener, self.submit = opener, submit
        self.subjects: list[dict[str, Any]] = []
        self.data: TrustLoad | None = None
        self.history: History | None = None  # of the selected subject, once computed
        self._shown: list[tuple] = []  # what the table shows, row by row (see row_view)
        self._rating = ""  # what is being rated, for the message when the ledger answers
        self.reload_btn = QPushButton("Reload")
        self.message = QLabel("Reading the ledger…")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.addWidget(self.message, 1)
        top.addWidget(self.reload_btn)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Kind", "Subject", "Expected", "Opinion", "Ratings"])
        self.table.horizontalHeaderItem(3).setToolTip(
            "green: belief, red: disbelief, grey: uncertainty; light green: the part of the "
            "uncertainty the base rate counts as trust (the green total is the expected trust)")
        self.table.setItemDelegateForColumn(3, OpinionBar(self.table))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        for col, width in ((0, 80), (2, 70), (3, 150), (4, 60)):
            self.table.setColumnWidth(col, width)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.currentCellChanged.connect(self._current_changed)

        self.ratings = QTableWidget(0, 5)
        self.ratings.setHorizontalHeaderLabels(["Rater", "Organisation", "Score", "Weight", "Decay"])
        self.ratings.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.ratings.verticalHeader().hide()
        self.ratings.horizontalHeader().setStretchLastSection(True)
        self.plot_title = QLabel("Trust over time: select a subject")
        self.plot_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot = TrustPlot()
        self.plot.setMinimumHeight(160)

        self.score = QSpinBox()
        self.score.setRange(0, 100)
        self.score.setValue(80)
        self.evidence = QLineEdit(placeholderText="Evidence: transaction or certificate id")
        self.comment = QLineEdit(placeholderText="Comment (optional)")
        self.rate_btn = QPushButton("Sign and submit rating")
        self.rate_btn.clicked.connect(self.ask_rate)
        self.rate_btn.setEnabled(submit is not None)
        self.rate_state = QLabel()
        self.rate_state.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.submit_task = Task(self, "submit rating")
        self.submit_task.succeeded.connect(self._rated)
        self.rating = TaskControls(self.submit_task, self.rate_state, busy=(self.rate_btn,), failed="rating refused: {}")
        form = QHBoxLayout()
        for w in (QLabel("Score"), self.score, self.evidence, self.comment, self.rate_btn):
            form.addWidget(w)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(self.ratings, 2)
        rl.addWidget(self.plot_title)
        rl.addWidget(self.plot, 3)
        rl.addLayout(form)
        rl.addWidget(self.rate_state)
        split = splitter(Qt.Orientation.Horizontal, self.table, right, sizes=[650, 550])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)

        # the table follows new blocks while the page is shown; loads and histories run on workers
        self.follower = HeadFollower(self, partial(load_trust, opener), head, live_ms)
        self.follower.loaded.connect(self._loaded)
        self.follower.failed.connect(self._load_failed)
        self.reload_btn.clicked.connect(self.follower.refresh)
        self.history_task = Task(self, "trust history")  # the newest selection wins
        self.history_task.succeeded.connect(self._history_ready)
        self.history_task.failed.connect(self._history_failed)

    # -- subjects --------------------------------------------------------------------------

    def reload(self) -> None:
        """Load now, on the calling thread (Reload and new blocks load on a task)."""
        self.follower.load_now()

    @property
    def tv(self):
        return None if self.data is None else self.data.trust

    @property
    def live(self):
        return None if self.data is None else self.data.live

    @Slot(object)
    def _loaded(self, data: TrustLoad) -> None:
        shown = [(*row_view(s), data.trust.threshold_ppm) for s in data.subjects]
        self.data, self.subjects = data, data.subjects
        self.plot.set_threshold(data.trust.threshold_ppm)
        if shown != self._shown:
            restore = keep_place(self.table, subject_id)
            self.table.setRowCount(0)
            self.table.setRowCount(len(self.subjects))
            for row, s in enumerate(self.subjects):
                self._fill_row(row, s, data.trust.threshold_ppm)
            self._shown = shown
            restore()  # the selection, when it comes back, shows the subject anew
        else:  # the same rows: the selected subject's ratings and history still follow the block
            self.show_subject(self.table.currentRow())
        if self.table.currentRow() < 0 and self.subjects:  # an empty plot tells nothing
            self.table.setCurrentCell(0, 0)
        self.message.setText(f"{len(self.subjects)} subjects at height {data.height}; "
                             f"threshold {data.trust.threshold_ppm / PPM:.3f}")

    def _fill_row(self, row: int, s: dict[str, Any], threshold_ppm: int) -> None:
        op = s["op"]
        kind = QTableWidgetItem(s["kind"])
        kind.setData(ID_ROLE, s["id"])
        name = QTableWidgetItem(s["label"])
        name.setToolTip(s["id"])
        e_item = QTableWidgetItem(f"{s['e'] / PPM:.3f}")
        if s["e"] < threshold_ppm:
            e_item.setForeground(QColor("#c8423b"))
        bar = QTableWidgetItem()
        bar.setData(BAR_ROLE, (op.belief_ppm, op.disbelief_ppm, op.uncertainty_ppm, s["e"]))
        why = opinion_tooltip(s)
        bar.setToolTip(why)
        e_item.setToolTip(why)
        for col, item in enumerate((kind, name, e_item, bar, QTableWidgetItem(str(len(op.contributions))))):
            self.table.setItem(row, col, item)

    @Slot(str)
    def _load_failed(self, message: str) -> None:
        # what was loaded before stays on screen: a passing read error must not lose the user's place
        shown = "" if self.data is None else f" (showing height {self.data.height})"
        self.message.setText(message + shown)

    def selected(self) -> dict[str, Any] | None:
        row = self.table.currentRow() if self.table.rowCount() else -1
        return self.subjects[row] if 0 <= row < len(self.subjects) else None

    @Slot(int, int, int, int)
    def _current_changed(self, row: int, _col: int, _prev_row: int, _prev_col: int) -> None:
        self.show_subject(row)

    def show_subject(self, row: int) -> None:
        self.ratings.setRowCount(0)
        if not 0 <= row < len(self.subjects) or self.data is None:
            return
        s = self.subjects[row]
        cs = s["op"].contributions
        self.ratings.setRowCount(len(cs))
        for i, c in enumerate(cs):
            rater = self.data.live.get("participant", c.rater) or {}
            for col, text in enumerate((rater.get("name", c.rater[:16]), c.rater_org, str(c.score),
                                        f"{c.weight_ppm / PPM:.3f}", f"{c.decay_ppm / PPM:.3f}")):
                self.ratings.setItem(i, col, QTableWidgetItem(text))
        self.plot_title.setText(f"Trust over time: {s['label']}")
        self.history_task.submit(plain(partial(subject_history, self.data.ratings, self.data.trust.params,
                                               s["id"], self.data.height, s.get("owner"))))

    # -- trust over time -------------------------------------------------------------------

    @Slot(object)
    def _history_ready(self, history: History) -> None:
        s = self.selected()
        if s is None or s["id"] != history.subject:  # the selection moved on meanwhile
            return
        self.history = history
        self.plot.set_points(history.points)
        self.plot_title.setText(f"Trust over time: {s['label']}, heights 0 to {history.points[-1].height}")

    @Slot(str)
    def _history_failed(self, message: str) -> None:
        self.plot_title.setText(f"Trust over time could not be computed: {message}")

    # -- rating ----------------------------------------------------------------------------

    @property
    def worker(self) -> Task | None:
        """The rating's submission while it runs."""
        return self.submit_task if self.submit_task.isRunning() else None

    @Slot()
    def ask_rate(self) -> None:
        s = self.selected()
        if s is None or self.submit is None or self.submit_task.busy:
            self.rate_state.setText("Select a subject to rate.")
            return
        ev = self.evidence.text().strip().lower()
        if len(ev) != 64 or any(ch not in "0123456789abcdef" for ch in ev):
            self.rate_state.setText("The evidence must be a 64-hex transaction or certificate id.")
            return
        passphrase, ok = QInputDialog.getText(self, "Sign rating", "Key passphrase:", QLineEdit.EchoMode.Password)
        if ok:
            self.start_rating(s, ev, passphrase)

    def start_rating(self, s: dict[str, Any], evidence: str, passphrase: str) -> None:
        score = self.score.value()
        payload = {"subject_kind": s["kind"], "subject": s["id"], "judges": evidence,
                   "positive": score * 10, "negative": 1000 - score * 10}
        if self.comment.text().strip():
            payload["comment"] = self.comment.text().strip()[:500]
        self._rating = f"rating {s['label']} {score}/100"
        self.rating.start(plain(partial(submit_rating, self.submit, payload, passphrase)),
                          f"{self._rating}: pending until committed…")

    @Slot(object)
    def _rated(self, text: str) -> None:
        self.rate_state.setText(f"{self._rating} {text}")
        self.follower.refresh()

    def shutdown(self) -> None:
        """Stop following the ledger, join the history and the rating's submission (the window
        closes)."""
        self.follower.shutdown()
        self.history_task.shutdown()
        self.submit_task.shutdown()
