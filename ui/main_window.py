"""The main window: a side bar of perspectives (Ctrl+1...), status bar, themes, About box. Closing
it shuts every perspective down: no task thread outlives the window."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QWidget,
)

import resources
from ui.prefs import Preferences
from ui.theme import THEMES, apply_theme
from ui.workers import shutdown_tasks

SHUTDOWN_MS = 15_000  # how long closing waits, all together, for tasks still running


@dataclass
class Perspective:
    key: str
    title: str
    widget: QWidget
    container: QScrollArea
    tooltip: str = ""


class MainWindow(QMainWindow):
    perspectiveChanged = Signal(str)
    themeChanged = Signal(str)

    def __init__(self, prefs: Preferences, version: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prefs = prefs
        self.version = version
        self.setWindowTitle("bcmlp")
        self.setWindowIcon(QIcon(str(resources.path("icons", "bcmlp.svg"))))
        self._perspectives: list[Perspective] = []
        self._saved_perspective = prefs.get("perspective")  # adding pages selects row 0 first

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.bar = QListWidget()
        self.bar.setObjectName("perspectiveBar")
        self.bar.setFixedWidth(180)
        self.bar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stack = QStackedWidget()
        layout.addWidget(self.bar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.bar.currentRowChanged.connect(self._on_row_changed)

        self._build_menus()
        self.resize(1280, 800)

    # perspectives ---------------------------------------------------------------
    def add_perspective(self, key: str, title: str, widget: QWidget, tooltip: str = "") -> None:
        index = len(self._perspectives)
        # A page larger than a small screen scrolls instead of forcing the window's minimum size.
        container = QScrollArea()
        container.setWidgetResizable(True)
        container.setFrameShape(QScrollArea.Shape.NoFrame)
        container.setWidget(widget)
        self._perspectives.append(Perspective(key, title, widget, container, tooltip))
        self.stack.addWidget(container)
        item = QListWidgetItem(title)
        shortcut_text = f"Ctrl+{index + 1}" if index < 9 else ""
        item.setToolTip(f"{tooltip or title} ({shortcut_text})" if shortcut_text else tooltip)
        self.bar.addItem(item)
        if shortcut_text:
            action = QAction(title, self)
            action.setShortcut(QKeySequence(shortcut_text))
            action.triggered.connect(lambda _=False, k=key: self.show_perspective(k))
            self.view_menu.addAction(action)
            self.addAction(action)
        if self.bar.currentRow() < 0:
            self.bar.setCurrentRow(0)

    def perspective_keys(self) -> list[str]:
        return [p.key for p in self._perspectives]

    def current_perspective(self) -> str | None:
        row = self.bar.currentRow()
        return self._perspectives[row].key if 0 <= row < len(self._perspectives) else None

    def show_perspective(self, key: str) -> None:
        for row, p in enumerate(self._perspectives):
            if p.key == key:
                self.bar.setCurrentRow(row)
                return
        raise KeyError(key)

    def perspective_widget(self, key: str) -> QWidget:
        for p in self._perspectives:
            if p.key == key:
                return p.widget
        raise KeyError(key)

    def _on_row_changed(self, row: int) -> None:
        if 0 <= row < len(self._perspectives):
            p = self._perspectives[row]
            self.stack.setCurrentWidget(p.container)
            self.prefs.set("perspective", p.key)
            self.perspectiveChanged.emit(p.key)

    # menus, theme, about ------------------------------------------------------------
    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.view_menu = menu.addMenu("&View")
        theme_menu = self.view_menu.addMenu("&Theme")
        self.theme_actions: dict[str, QAction] = {}
        for theme in THEMES:
            action = QAction(theme.capitalize(), self, checkable=True)
            action.triggered.connect(lambda _=False, t=theme: self.set_theme(t))
            theme_menu.addAction(action)
            self.theme_actions[theme] = action
        toggle = QAction("Toggle dark/light", self)
        toggle.setShortcut(QKeySequence("Ctrl+Shift+T"))
        toggle.triggered.connect(self.toggle_theme)
        theme_menu.addAction(toggle)
        self.view_menu.addSeparator()
        help_menu = menu.addMenu("&Help")
        about = QAction("&About bcmlp", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def theme(self) -> str:
        return self.prefs.get("theme")

    def set_theme(self, theme: str) -> None:
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, theme)
        self.prefs.set("theme", theme)
        for name, action in self.theme_actions.items():
            action.setChecked(name == theme)
        self.themeChanged.emit(theme)

    def toggle_theme(self) -> None:
        self.set_theme("light" if self.theme() == "dark" else "dark")

    def about_text(self) -> str:
        attribution = resources.read_text("ATTRIBUTION.md")
        return (
            f"<h3>bcmlp {self.version}</h3>"
            "<p>Blockchain-secured dynamic machine-learning pipeline for visual quality "
            "inspection: a permissioned ledger shared by the companies of one ML pipeline, "
            "with certificates, trust ratings and a trust-gated inspection station.</p>"
            "<p>Licence: Apache License 2.0.</p>"
            f"<pre style='white-space: pre-wrap'>{attribution}</pre>"
        )

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About bcmlp")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(self.about_text())
        box.setIconPixmap(self.windowIcon().pixmap(64, 64))
        box.open()
        self._about_box = box

    # geometry ---------------------------------------------------------------------
    def restore_state(self, default_perspective: str | None = None) -> None:
        """Geometry, theme check marks, and the last perspective (else `default_perspective`)."""
        window = self.prefs.get("window") or {}
        geometry = window.get("geometry")
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii")))
        key = self._saved_perspective or default_perspective
        if key in self.perspective_keys():
            self.show_perspective(key)
        for name, action in self.theme_actions.items():
            action.setChecked(name == self.theme())

    def save_state(self) -> None:
        geometry = bytes(self.saveGeometry().toBase64()).decode("ascii")
        self.prefs.set("window", {"geometry": geometry, "state": None})

    def shutdown(self) -> None:
        """Each perspective's `shutdown()` (stop timers, cancel and join its tasks), then cancel and
        join, within SHUTDOWN_MS, any task still running below the window."""
        for p in self._perspectives:
            stop = getattr(p.widget, "shutdown", None)
            if stop is not None:
                stop()
        shutdown_tasks(self, SHUTDOWN_MS)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.save_state()
        self.shutdown()
        super().closeEvent(event)
