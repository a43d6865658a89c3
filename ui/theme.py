"""Dark and light themes: a Qt style sheet plus matching pyqtgraph colours."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

import resources

THEMES = ("dark", "light")

_PALETTE = {
    "dark": {"window": "#1e2228", "text": "#e6e8eb", "base": "#14171b", "highlight": "#1f6feb"},
    "light": {"window": "#f6f8fa", "text": "#1f2328", "base": "#ffffff", "highlight": "#0969da"},
}


def style_sheet(theme: str) -> str:
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}")
    return resources.read_text("styles", f"{theme}.qss")


def plot_colours(theme: str) -> tuple[str, str]:
    """(background, foreground) for pyqtgraph plots in this theme."""
    p = _PALETTE[theme]
    return p["base"], p["text"]


def apply_theme(app: QApplication, theme: str) -> None:
    app.setStyleSheet(style_sheet(theme))
    colours = _PALETTE[theme]
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(colours["window"]))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(colours["text"]))
    palette.setColor(QPalette.ColorRole.Base, QColor(colours["base"]))
    palette.setColor(QPalette.ColorRole.Text, QColor(colours["text"]))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(colours["highlight"]))
    app.setPalette(palette)
    app.setProperty("bcmlpTheme", theme)
    try:
        import pyqtgraph as pg

        bg, fg = plot_colours(theme)
        pg.setConfigOptions(background=bg, foreground=fg, antialias=True)
    except ImportError:  # plots are optional for the shell itself
        pass
