"""Self-test: check the resources, load the bundled model and classify one bundled sample,
build the main window (offscreen works), then the caller prints READY."""

from __future__ import annotations

import tempfile
from pathlib import Path

import resources
from app.errors import CheckFailed
from app.paths import open_data_dir


class SelfTestFailed(CheckFailed):
    """A part of the application does not work here (exit 1)."""

    code = "self_test_failed"


def check_resources() -> None:
    for theme in ("dark", "light"):
        if not resources.read_text("styles", f"{theme}.qss").strip():
            raise SelfTestFailed(f"style sheet {theme}.qss is empty")
    if "NEU" not in resources.read_text("ATTRIBUTION.md"):
        raise SelfTestFailed("dataset attribution is missing")


def check_model() -> str:
    """Load the bundled model (card and preprocessing digest checked) and classify one sample
    of a known class; returns a one-line summary."""
    import numpy as np

    from app.station import services as svc
    from inspection.preprocess import decode_image, to_model_input

    loaded = svc.model(None)
    samples = sorted(p for p in svc.SAMPLE_IMAGES.rglob("*.jpg"))
    if not samples:
        raise SelfTestFailed(f"no bundled sample images in {svc.SAMPLE_IMAGES}")
    sample = samples[0]
    expected = sample.parent.name if sample.parent != svc.SAMPLE_IMAGES else sample.stem.rsplit("_", 1)[0]
    engine = svc.InferenceEngine(loaded, "auto", threads=1)
    probs = engine.infer(np.stack([to_model_input(decode_image(sample.read_bytes()), engine.cfg)]))[0]
    got = loaded.classes[int(np.argmax(probs))]
    if got != expected:
        raise SelfTestFailed(f"the bundled model calls {sample.name} {got!r}, expected {expected!r}")
    return f"model {loaded.weights_sha256[:12]} on {engine.device}: {sample.name} -> {got}"


def run_self_test(data_dir: Path | None) -> str:
    """Raises SelfTestFailed (or any exception) with a reason; returns the model check's line."""
    from PySide6.QtGui import QPixmap

    from app.gui.window import build_main_window, ensure_app

    check_resources()
    model_line = check_model()
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
    return model_line
