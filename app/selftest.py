"""Self-test: build the main window offscreen-capable, check the resources, print READY."""

from __future__ import annotations

import tempfile
from pathlib import Path

import resources
from app.paths import open_data_dir


class SelfTestFailed(Exception):
    pass


def check_resources() -> None:
    for theme in ("dark", "light"):
        if not resources.read_text("styles", f"{theme}.qss").strip():
            raise SelfTestFailed(f"style sheet {theme}.qss is empty")
    if "NEU" not in resources.read_text("ATTRIBUTION.md"):
        raise SelfTestFailed("dataset attribution is missing")


def run_self_test(data_dir: Path | None) -> None:
    """Raises SelfTestFailed (or any exception) with a reason; returns when all is well."""
    from PySide6.QtGui import QPixmap

    from app.gui import build_main_window, ensure_app

    check_resources()
    app = ensure_app()
    with tempfile.TemporaryDirectory(prefix="bcmlp-selftest-") as tmp:
        dd = open_data_dir(data_dir or tmp)
        ctx = build_main_window(dd)
        icon = QPixmap(str(resources.path("icons", "bcmlp.svg")))
        if icon.isNull():
            raise SelfTestFailed("the application icon does not load")
        if not ctx.window.perspective_keys():
            raise SelfTestFailed("the main window has no perspectives")
        ctx.window.show()
        app.processEvents()
        ctx.settings.read_only = True  # a self-test changes nothing on disk
        ctx.window.close()
        app.processEvents()
