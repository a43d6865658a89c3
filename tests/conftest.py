"""Shared fixtures. Qt runs offscreen: set before PySide6 is imported anywhere."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("BCMLP_DATA_DIR", None)
os.environ.pop("BCMLP_PASSPHRASE", None)

import pytest  # noqa: E402

pytest_plugins = ["tests.support.inspection_data"]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "neu-det"
SCREENSHOTS = REPO / "tests" / "screenshots"


@pytest.fixture(scope="session", autouse=True)
def _gc_on_the_gui_thread(qapp):
    """As in the app (ui/gui_thread_gc.py): the cyclic GC runs on the main thread only, so a
    test's worker thread never destroys the Qt objects of this or an earlier test."""
    from ui.gui_thread_gc import install_gui_thread_gc

    return install_gui_thread_gc()


@pytest.fixture(autouse=True)
def _qt_deletions_stay_in_their_test(request, _gc_on_the_gui_thread):
    """pytest-qt closes a test's widgets and calls deleteLater, but nothing runs the deferred
    deletions until some later test enters an event loop, where they then happen beside that
    test's worker threads. Run them, and the collections that are due, at the end of their own
    test, on the main thread."""
    yield
    if "qtbot" in request.fixturenames:
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    _gc_on_the_gui_thread.check()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def run_cli(capsys):
    """Run the bcmlp command line in-process; returns (exit code, stdout, stderr)."""
    from app.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        code = info.value.code
        return (0 if code is None else int(code)), out, err

    return run


@pytest.fixture
def neu_full() -> Path:
    """The full NEU-DET folder from ../shared; skips (saying why) where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the full NEU-DET data set at {SHARED_DATA} (present in CI only)")
    return SHARED_DATA


def pytest_configure(config) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
