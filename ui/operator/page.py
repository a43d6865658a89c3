"""The Operator perspective: live view, OK/NOK, counters, rolling plots, NOK strip, status.

Capture and inference run in `OperatorController`'s worker threads; this widget only paints,
pulling a snapshot on a timer (10 Hz) and repainting only what changed.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QFont, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from inspection.orders import Order
from inspection.sources import SourceStatus
from ui.certificates.gate_badge import GatePoller
from ui.operator.backend import OperatorBackend
from ui.operator.controller import NOK_STRIP, OperatorController, Snapshot, as_status
from ui.widgets import splitter

PAINT_MS = 100
_BIG = "color:white;border-radius:8px;font-size:48pt;font-weight:bold;"  # beats the theme's QSS
OK_STYLE = "background:#1e8e3e;" + _BIG
NOK_STYLE = "background:#c5221f;" + _BIG
IDLE_STYLE = "background:#5f6368;" + _BIG


def _thumb(gray: np.ndarray, size: int = 72) -> QIcon:
    g = np.ascontiguousarray(gray)
    img = QImage(g.data, g.shape[1], g.shape[0], g.strides[0], QImage.Format.Format_Grayscale8)
    return QIcon(QPixmap.fromImage(img.copy()).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))


class OperatorPage(QWidget):
    def __init__(self, backend: OperatorBackend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.controller = OperatorController(self)
        self._orders: list[Order] = []
        self._painted_version = -1
        self._tick_classes: list[str] = []
        self._gate_poller: GatePoller | None = None
        self._gate_refused = False
        self._watching: QObject | None = None

        title = QLabel("Operator")
        title.setObjectName("pageTitle")

        # controls ------------------------------------------------------------------
        self.source = QComboBox()
        self.source.setEditable(True)
        self.source.setMinimumWidth(200)
        self.source.setToolTip("camera:N, rtsp://..., http://..., a video file or an image folder")
        for s in backend.sources():
            self.source.addItem(s)
        self.browse = QPushButton("Folder…")
        self.browse_video = QPushButton("Video…")
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0, 240)
        self.rate.setValue(10)
        self.rate.setSuffix(" fps")
        self.rate.setToolTip("Replay rate for folders and video files (0: as fast as possible)")
        self.loop = QCheckBox("Loop")
        self.loop.setChecked(True)
        self.order = QComboBox()
        self.order.setMinimumWidth(150)
        self.load_orders_button = QPushButton("Orders…")
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        controls = QHBoxLayout()
        for w in (QLabel("Source"), self.source, self.browse, self.browse_video, self.rate, self.loop,
                  QLabel("Order"), self.order, self.load_orders_button):
            controls.addWidget(w)
        controls.addStretch(1)
        controls.addWidget(self.start_button)
        controls.addWidget(self.stop_button)

        self.banner = QLabel("")
        self.banner.setStyleSheet("background:#c5221f;color:white;padding:6px;font-weight:bold;")
        self.banner.setVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        # live view -----------------------------------------------------------------
        self.view = pg.PlotWidget()
        self.view.setAspectLocked(True)
        self.view.invertY(True)
        self.view.hideAxis("left")
        self.view.hideAxis("bottom")
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLevels((0, 255))  # fixed levels: brightness changes stay visible
        self.view.addItem(self.image)
        self.overlay = pg.TextItem("", anchor=(0, 0), color="w", fill=pg.mkBrush(0, 0, 0, 160))
        self.overlay.setFont(QFont("Sans", 12, QFont.Weight.Bold))
        self.view.addItem(self.overlay)
        self.overlay.setPos(2, 2)

        # verdict + counters ---------------------------------------------------------
        self.verdict = QLabel("—")
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict.setMinimumSize(220, 140)
        self.verdict.setFont(QFont("Sans", 48, QFont.Weight.Bold))
        self.verdict.setStyleSheet(IDLE_STYLE)
        self.workpiece = QLabel("")
        self.workpiece.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.counter_labels: dict[str, QLabel] = {}
        grid = QGridLayout()
        for i, (key, text) in enumerate((("inspected", "Inspected"), ("ok", "OK"), ("nok", "NOK"),
                                         ("dropped", "Dropped frames"), ("bad", "Bad frames"))):
            grid.addWidget(QLabel(text), i, 0)
            lab = QLabel("0")
            lab.setAlignment(Qt.AlignmentFlag.AlignRight)
            lab.setStyleSheet("font-size:14pt;font-weight:bold;")
            grid.addWidget(lab, i, 1)
            self.counter_labels[key] = lab
        counters = QGroupBox("Counters")
        counters.setLayout(grid)
        side = QVBoxLayout()
        side.addWidget(self.verdict)
        side.addWidget(self.workpiece)
        side.addWidget(counters)
        side.addStretch(1)
        side_w = QWidget()
        side_w.setLayout(side)

        # plots ---------------------------------------------------------------------
        self.quality_plot = pg.PlotWidget(title="Quality index")
        self.quality_plot.setYRange(0, 1)
        self.quality_plot.setMouseEnabled(x=False, y=False)
        self.quality_curve = self.quality_plot.plot([], [], pen=pg.mkPen("#4285f4", width=2))
        self.threshold_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#c5221f", style=Qt.PenStyle.DashLine))
        self.quality_plot.addItem(self.threshold_line)
        self.class_plot = pg.PlotWidget(title="Defect classes")
        self.class_plot.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush="#fbbc04")
        self.class_plot.addItem(self.bars)
        plots = QHBoxLayout()
        plots.addWidget(self.quality_plot, 3)
        plots.addWidget(self.class_plot, 2)
        plots_w = QWidget()
        plots_w.setLayout(plots)
        plots_w.setMinimumHeight(190)

        # NOK strip -----------------------------------------------------------------
        self.nok_strip = QListWidget()
        self.nok_strip.setViewMode(QListWidget.ViewMode.IconMode)
        self.nok_strip.setFlow(QListWidget.Flow.LeftToRight)
        self.nok_strip.setWrapping(False)
        self.nok_strip.setIconSize(QSize(72, 72))
        self.nok_strip.setGridSize(QSize(104, 96))
        self.nok_strip.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.nok_strip.setFixedHeight(120)
        self.nok_strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        nok_box = QGroupBox("Latest NOK workpieces")
        nl = QVBoxLayout(nok_box)
        nl.addWidget(self.nok_strip)

        top = splitter(Qt.Orientation.Horizontal, self.view, side_w, stretch=(3, 1))
        body = splitter(Qt.Orientation.Vertical, top, plots_w, stretch=(3, 2))

        self.status = QStatusBar()
        self.status.setSizeGripEnabled(False)
        self.fps_label = QLabel("camera 0.0 fps | inference 0.0 fps | p95 0.0 ms")
        self.status.addPermanentWidget(self.fps_label)

        layout = QVBoxLayout(self)
        self._layout = layout
        layout.addWidget(title)
        layout.addLayout(controls)
        layout.addWidget(self.banner)
        layout.addWidget(self.message)
        layout.addWidget(body, 1)
        layout.addWidget(nok_box)
        layout.addWidget(self.status)

        self.timer = QTimer(self)
        self.timer.setInterval(PAINT_MS)
        self.timer.timeout.connect(self._tick)
        self._last_tick = 0.0
        self.max_tick_gap_ms = 0.0  # GUI-thread responsiveness: how late the paint timer ran
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.browse.clicked.connect(self._browse)
        self.browse_video.clicked.connect(self._browse_video)
        self.load_orders_button.clicked.connect(self._load_orders)
        self.order.currentIndexChanged.connect(self._order_changed)
        queued = Qt.ConnectionType.QueuedConnection  # emitted on capture and inference threads
        self.controller.statusChanged.connect(self._on_status, queued)
        self.controller.errorRaised.connect(self._show_error, queued)
        self.controller.runningChanged.connect(self._on_running)
        self._set_orders(self._safe_orders())

    # orders --------------------------------------------------------------------------
    def _safe_orders(self) -> list[Order]:
        try:
            return self.backend.orders()
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self._show_error(f"cannot load orders: {exc}")
            return []

    def _set_orders(self, orders: list[Order]) -> None:
        self._orders = orders
        self.order.blockSignals(True)
        self.order.clear()
        for o in orders:
            self.order.addItem(f"{o.id}  {o.name}".strip(), o.id)
        self.order.blockSignals(False)
        self._order_changed()

    def current_order(self) -> Order | None:
        i = self.order.currentIndex()
        return self._orders[i] if 0 <= i < len(self._orders) else None

    def _order_changed(self) -> None:
        o = self.current_order()
        if o is not None:
            self.threshold_line.setValue(o.threshold_permille / 1000)
            self.controller.set_order(o)

    def _load_orders(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Orders", "", "Orders (*.json *.csv)")
        if path:
            self.load_orders_file(Path(path))

    def load_orders_file(self, path: Path) -> bool:
        try:
            self._set_orders(self.backend.load_orders(path))
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self._show_error(f"cannot load orders: {exc}")
            return False
        self._show_message(f"loaded {len(self._orders)} orders from {path.name}")
        return True

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Image folder")
        if path:
            self.source.setCurrentText(path)

    def _browse_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Video file", "", "Videos (*.avi *.mp4 *.mkv *.mov *.m4v *.webm);;All files (*)"
        )
        if path:
            self.source.setCurrentText(path)

    # start / stop --------------------------------------------------------------------
    def start(self) -> bool:
        if self._gate_refused:
            self._show_error("cannot start: the model does not pass the trust gate")
            return False
        order = self.current_order()
        if order is None:
            self._show_error("choose an order first")
            return False
        spec = self.source.currentText().strip()
        try:
            self.controller.start_async(spec, partial(self.backend.make_inspector, order),
                                        self.rate.value() or None, self.loop.isChecked())
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self._show_error(f"cannot start: {exc}")
            return False
        self._show_message("")
        self.banner.setVisible(False)
        self.nok_strip.clear()
        self._painted_version = -1
        self._last_tick, self.max_tick_gap_ms = 0.0, 0.0
        self.timer.start()
        return True

    def stop(self) -> None:
        self.controller.stop()
        self.paint()
        self.timer.stop()

    def shutdown(self) -> None:
        """Stop and join every worker (window closing or application quitting)."""
        self.timer.stop()
        self.controller.stop()
        if self._gate_poller is not None:
            self._gate_poller.shutdown()
            self._gate_poller = None

    # model gate ----------------------------------------------------------------------
    def attach_gate(self, badge: QWidget, poller: GatePoller) -> None:
        """Show the model gate's badge and follow its poller (its `status(dict)` and `failed(str)`
        arrive on the GUI thread): a status without an active model, or a gate error, stops
        inspection and keeps Start disabled until the gate passes again (fail closed). A passing
        status for other weights than the running ones (the file changed and its new bytes were
        judged) restarts inspection, which loads the model from bytes judged again at Start."""
        self._layout.insertWidget(2, badge)
        self._gate_poller = poller
        poller.setParent(self)  # shut down with the page
        poller.status.connect(badge.set_status)
        poller.status.connect(self._on_gate_status)
        if hasattr(badge, "set_error"):
            poller.failed.connect(badge.set_error)
        poller.failed.connect(self._on_gate_failed)
        poller.start()

    @Slot(dict)
    def _on_gate_status(self, st: dict) -> None:
        self._gate_refused = not isinstance(st, dict) or st.get("active") is None or bool(st.get("error"))
        if self._gate_refused:
            if self.controller.engaged:
                self.stop()
            message = st.get("message", "") if isinstance(st, dict) else f"unknown gate state {st!r:.80}"
            self.banner.setText(f"Model refused by the trust gate: {message}")
            self.banner.setVisible(True)
        else:
            if self.banner.text().startswith("Model refused"):
                self.banner.setVisible(False)
            running = self.controller.model_sha256
            judged = st.get("weights_sha256")
            if running is not None and judged is not None and judged != running:
                self.stop()  # the file changed and its new bytes passed: load them, judged again
                if self.start():
                    self._show_message("the model file changed; its new weights pass the trust "
                                       "gate: inspection restarted with them")
        self._on_running(self.controller.running)

    @Slot(str)
    def _on_gate_failed(self, message: str) -> None:
        """Fail closed: a gate that cannot be judged refuses the model."""
        from ui.certificates.gate_badge import error_status

        self._on_gate_status(error_status(message))

    @Slot(bool)
    def _on_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running and not self._gate_refused)
        self.stop_button.setEnabled(running)
        for w in (self.source, self.browse, self.browse_video):
            w.setEnabled(not running)

    @Slot(object)
    def _on_status(self, s: SourceStatus) -> None:
        text = as_status(s)
        if not self._gate_refused:  # a refused model's banner outranks the source's
            self.banner.setText(text)
            self.banner.setVisible(bool(text))
        if s.state == "ended":
            self.status.showMessage("source ended", 5000)

    @Slot(str)
    def _show_error(self, text: str) -> None:
        if text.startswith("cannot start"):
            self.timer.stop()
        self._show_message(text, error=True)

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color:#c5221f;" if error else "")
        self.message.setVisible(bool(text))

    # painting ------------------------------------------------------------------------
    def _tick(self) -> None:
        now = time.monotonic()
        if self._last_tick:
            self.max_tick_gap_ms = max(self.max_tick_gap_ms, (now - self._last_tick) * 1000 - PAINT_MS)
        self._last_tick = now
        self.paint()

    def paint(self) -> None:
        snap = self.controller.snapshot()
        self._paint_counters(snap)
        self.fps_label.setText(f"camera {snap.camera_fps:.1f} fps | inference "
                               f"{snap.inference_fps:.1f} fps | p95 {snap.p95_ms:.1f} ms | "
                               f"GUI late max {self.max_tick_gap_ms:.0f} ms")
        if snap.version == self._painted_version:
            return
        self._painted_version = snap.version
        r = snap.latest
        if r is not None:
            self.image.setImage(r.gray, autoLevels=False, levels=(0, 255))
            a = r.assessment
            self.overlay.setText(f"{a.top_class} {a.top_permille / 10:.1f}%")
            self.verdict.setText(r.record.verdict)
            self.verdict.setStyleSheet(OK_STYLE if r.record.verdict == "OK" else NOK_STYLE)
            self.workpiece.setText(f"{r.record.workpiece_id}   q = {a.quality_index:.3f}")
        if snap.quality:
            q = np.asarray(snap.quality, float) / 1000
            self.quality_curve.setData(np.arange(len(q)), q)
        classes = list(r.record.probs_permille) if r is not None else []
        if classes:
            self.bars.setOpts(x=np.arange(len(classes)), height=[snap.classes[c] for c in classes])
            if classes != self._tick_classes:
                self._tick_classes = classes
                ax = self.class_plot.getAxis("bottom")
                ax.setTicks([[(i, c.replace("_", " ")[:10]) for i, c in enumerate(classes)]])
        self._paint_noks(snap)
        if snap.last_bad:
            self.status.showMessage(f"bad frame skipped: {snap.last_bad}", 5000)

    def _paint_counters(self, snap: Snapshot) -> None:
        for key in self.counter_labels:
            self.counter_labels[key].setText(str(getattr(snap, key)))

    def _paint_noks(self, snap: Snapshot) -> None:
        """Add only the NOK workpieces not shown yet (newest first), drop the oldest."""
        shown = {self.nok_strip.item(i).data(Qt.ItemDataRole.UserRole)
                 for i in range(self.nok_strip.count())}
        for r in snap.noks:  # oldest to newest, each inserted at the front
            key = r.record.inspected_at_ns
            if key in shown:
                continue
            a = r.assessment
            item = QListWidgetItem(_thumb(r.gray), r.record.workpiece_id)
            item.setToolTip(f"{r.record.workpiece_id}\n{a.top_class} {a.top_permille / 10:.1f}%\n"
                            f"quality {a.quality_index:.3f}")
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.nok_strip.insertItem(0, item)
        while self.nok_strip.count() > NOK_STRIP:
            self.nok_strip.takeItem(self.nok_strip.count() - 1)

    # lifetime ------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        win = self.window()
        if win is not self._watching:
            win.installEventFilter(self)
            self._watching = win
        super().showEvent(event)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self._watching and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.shutdown()
        super().closeEvent(event)
