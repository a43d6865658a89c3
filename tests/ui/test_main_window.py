"""The main window: perspectives by click and shortcut, themes that persist, screenshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app.gui.window import build_main_window
from app.paths import open_data_dir
from app.settings import Settings
from tests.conftest import SCREENSHOTS


@pytest.fixture
def window_ctx(qtbot, data_dir: Path):
    ctx = build_main_window(open_data_dir(data_dir))
    qtbot.addWidget(ctx.window)
    ctx.window.show()
    qtbot.waitExposed(ctx.window)
    ctx.window.activateWindow()
    return ctx


def test_window_opens_with_perspectives(window_ctx):
    keys = window_ctx.window.perspective_keys()
    assert "identity" in keys and "settings" in keys
    assert window_ctx.window.current_perspective() == keys[0]


def test_switch_by_click(qtbot, window_ctx):
    window = window_ctx.window
    bar = window.bar
    last = bar.count() - 1
    rect = bar.visualItemRect(bar.item(last))
    qtbot.mouseClick(bar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.current_perspective() == window.perspective_keys()[last]
    assert window.stack.currentWidget().widget() is window.perspective_widget(window.perspective_keys()[last])


def test_switch_by_shortcut(qtbot, window_ctx):
    window = window_ctx.window
    keys = window.perspective_keys()
    for index in reversed(range(min(len(keys), 9))):
        qtbot.keyClick(window, getattr(Qt.Key, f"Key_{index + 1}"), Qt.KeyboardModifier.ControlModifier)
        assert window.current_perspective() == keys[index]


def test_theme_persists(qtbot, data_dir, window_ctx):
    window = window_ctx.window
    start = window.theme()
    other = "light" if start == "dark" else "dark"
    window.set_theme(other)
    assert QApplication.instance().property("bcmlpTheme") == other
    assert json.loads((data_dir / "settings.json").read_text())["theme"] == other
    assert Settings.load(data_dir / "settings.json").get("theme") == other
    window.close()
    again = build_main_window(open_data_dir(data_dir))
    qtbot.addWidget(again.window)
    assert again.window.theme() == other
    assert again.window.theme_actions[other].isChecked()


def test_perspective_and_geometry_remembered(qtbot, data_dir, window_ctx):
    window = window_ctx.window
    screen = window.screen().availableGeometry()
    hint = window.minimumSizeHint()
    height = min(screen.height() - 40, hint.height() + 23)
    window.resize(hint.width(), height)
    assert window.height() == height
    window.show_perspective("settings")
    window.close()
    again = build_main_window(open_data_dir(data_dir))
    qtbot.addWidget(again.window)
    assert again.window.current_perspective() == "settings"
    assert again.window.height() == height


def test_about_box_names_version_licence_and_dataset(qtbot, window_ctx):
    window = window_ctx.window
    window.show_about()
    text = window._about_box.text()
    assert window.version in text and "Apache" in text and "NEU" in text
    window._about_box.close()


def test_corrupt_settings_shown_as_message(qtbot, data_dir):
    (data_dir / "settings.json").write_text("{corrupt")
    ctx = build_main_window(open_data_dir(data_dir))
    qtbot.addWidget(ctx.window)
    assert ctx.warnings and "settings.json" in ctx.warnings[0]
    from app.gui.window import show_warnings

    show_warnings(ctx)
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    assert any("settings.json" in b.text() for b in boxes)
    ctx.window.set_theme("light")
    assert (data_dir / "settings.json").read_text() == "{corrupt"
    for b in boxes:
        b.close()


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_screenshot_each_theme(qtbot, window_ctx, theme):
    window = window_ctx.window
    window.set_theme(theme)
    window.show_perspective("identity")
    qtbot.wait(50)
    path = SCREENSHOTS / f"main-window-{theme}.png"
    assert window.grab().save(str(path))
    assert path.stat().st_size > 5000


def test_first_start_opens_the_perspective_of_the_local_role(qtbot, data_dir):
    from app.identity import IdentityStore

    IdentityStore(open_data_dir(data_dir)).create("QC", "Ada", "auditor", "correct horse battery")
    ctx = build_main_window(open_data_dir(data_dir))
    qtbot.addWidget(ctx.window)
    assert ctx.window.current_perspective() == "certificates"
    ctx.window.show_perspective("ledger")
    ctx.window.close()
    again = build_main_window(open_data_dir(data_dir))  # a chosen perspective wins over the role
    qtbot.addWidget(again.window)
    assert again.window.current_perspective() == "ledger"


def test_closing_the_window_shuts_every_perspective_down_and_joins_the_tasks(qtbot, data_dir):
    import time

    from bedrock.cancel import raise_if_cancelled
    from ui.workers import running_threads

    ctx = build_main_window(open_data_dir(data_dir))
    window = ctx.window
    qtbot.addWidget(window)
    window.show()
    ran: list[str] = []
    for key in window.perspective_keys():
        page = window.perspective_widget(key)
        page.shutdown = lambda stop=page.shutdown, key=key: (ran.append(key), stop())[1]

    def long_job(progress, cancel):
        while True:  # an hour of training, unless cancelled
            raise_if_cancelled(cancel)
            progress("train", 1, 3600, {"epoch": 1, "epochs": 50, "loss": 0.5})
            time.sleep(0.01)

    models = window.perspective_widget("models")
    assert models.training.start(long_job, "training…")
    window.show_perspective("network")  # its poll runs on a task too
    qtbot.waitUntil(lambda: len(running_threads()) >= 1 and models.progress.maximum() == 1000, timeout=5000)
    window.close()
    assert set(ran) >= set(window.perspective_keys())
    assert running_threads() == [] and models.worker is None
