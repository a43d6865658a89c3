"""The Settings perspective: theme, and where this installation keeps its data and logs."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ui.main_window import MainWindow
from ui.theme import THEMES


class SettingsPage(QWidget):
    def __init__(self, window: MainWindow, locations: dict[str, str], parent=None) -> None:
        super().__init__(parent)
        self.window = window
        title = QLabel("Settings")
        title.setObjectName("pageTitle")

        theme_box = QGroupBox("Appearance")
        theme_layout = QHBoxLayout(theme_box)
        self.theme_group = QButtonGroup(self)
        self.theme_buttons: dict[str, QRadioButton] = {}
        for theme in THEMES:
            button = QRadioButton(theme.capitalize())
            self.theme_group.addButton(button)
            self.theme_buttons[theme] = button
            button.toggled.connect(lambda on, t=theme: on and self.window.theme() != t and self.window.set_theme(t))
            theme_layout.addWidget(button)
        theme_layout.addStretch(1)
        window.themeChanged.connect(self._sync_theme)
        self._sync_theme(window.theme())

        where_box = QGroupBox("Locations")
        form = QFormLayout(where_box)
        for label, path in locations.items():
            row = QHBoxLayout()
            value = QLabel(path)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            open_button = QPushButton("Open")
            open_button.clicked.connect(lambda _=False, p=path: QDesktopServices.openUrl(QUrl.fromLocalFile(p)))
            row.addWidget(value, 1)
            row.addWidget(open_button)
            form.addRow(label, row)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 18)
        layout.addWidget(title)
        layout.addWidget(theme_box)
        layout.addWidget(where_box)
        layout.addStretch(1)

    def shutdown(self) -> None:
        """Nothing of this page runs off the GUI thread: nothing to stop when the window closes."""

    def _sync_theme(self, theme: str) -> None:
        button = self.theme_buttons.get(theme)
        if button is not None and not button.isChecked():
            button.setChecked(True)
