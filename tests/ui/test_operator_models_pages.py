"""pytest-qt: the Operator perspective on replayed NEU samples, and the Models perspective."""

from __future__ import annotations

import shutil
import time

import pytest

pytest.importorskip("PySide6")

from app.gui.inspection_pages import ModelServices, OperatorServices  # noqa: E402
from app.paths import DataDir  # noqa: E402
from tests.conftest import SCREENSHOTS  # noqa: E402
from tests.support.inspection_data import SAMPLES  # noqa: E402
from ui.models.page import ModelsPage  # noqa: E402
from ui.operator.page import OperatorPage  # noqa: E402


@pytest.fixture
def operator(qtbot, tmp_path):
    page = OperatorPage(OperatorServices(DataDir(tmp_path), device="cpu"))
    qtbot.addWidget(page)
    page.resize(1280, 860)
    page.show()
    yield page
    page.shutdown()


def test_operator_runs_on_replayed_samples(qtbot, operator):
    page = operator
    assert page.order.count() == 3 and page.current_order().id == "P-100"
    page.source.setCurrentText(str(SAMPLES))
    page.rate.setValue(30)
    assert page.start()
    qtbot.waitUntil(lambda: page.controller.snapshot().inspected >= 40, timeout=30_000)
    page.paint()
    snap = page.controller.snapshot()
    assert page.verdict.text() in ("OK", "NOK")
    assert int(page.counter_labels["inspected"].text()) >= 40
    assert snap.ok + snap.nok == snap.inspected and snap.ok > 0 and snap.nok > 0
    assert page.overlay.toPlainText().split()[0] in snap.latest.record.probs_permille
    assert page.nok_strip.count() > 0
    assert "fps" in page.fps_label.text() and snap.camera_fps > 0
    page.grab().save(str(SCREENSHOTS / "operator.png"))
    print(f"operator: paint timer late by at most {page.max_tick_gap_ms:.1f} ms, p95 {snap.p95_ms:.1f} ms")
    capture, worker = page.controller._capture, page.controller._worker
    page.stop()
    assert not capture.running and not worker.running
    assert page.start_button.isEnabled() and not page.stop_button.isEnabled()


def test_operator_order_change_and_orders_file(qtbot, operator, tmp_path):
    page = operator
    bad = tmp_path / "o.json"
    bad.write_text("{")
    assert not page.load_orders_file(bad) and "cannot load orders" in page.message.text()
    good = tmp_path / "o.csv"
    good.write_text("order_id,threshold_permille,scratches\nZ-1,990,0\n")
    assert page.load_orders_file(good) and page.current_order().id == "Z-1"
    assert page.threshold_line.value() == pytest.approx(0.99)


def test_operator_shows_lost_source_banner(qtbot, operator):
    page = operator
    page.source.setCurrentText("camera:97")
    assert page.start()
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=10_000)
    assert "Source lost" in page.banner.text()
    page.grab().save(str(SCREENSHOTS / "operator-lost.png"))
    t = time.monotonic()
    page.stop()
    assert time.monotonic() - t < 5


def test_operator_bad_source_spec_is_a_message(qtbot, operator):
    operator.source.setCurrentText("/no/such/folder")
    assert not operator.start()
    assert "cannot start" in operator.message.text()


def test_operator_counts_bad_frames(qtbot, operator, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(SAMPLES / "patches", src)
    (src / "zz.jpg").write_bytes(b"\xff\xd8\xff broken")
    operator.source.setCurrentText(str(src))
    operator.rate.setValue(30)
    operator.loop.setChecked(False)
    assert operator.start()

    def settled() -> bool:
        s = operator.controller.snapshot()
        return s.inspected + s.bad + s.dropped >= 11

    qtbot.waitUntil(settled, timeout=20_000)
    snap = operator.controller.snapshot()
    # zz.jpg comes last, so no newer frame can replace it in the mailbox: it is always seen
    assert snap.bad == 1 and snap.inspected + snap.dropped == 10 and snap.inspected >= 1
    assert "zz.jpg" in snap.last_bad


def test_models_page_card_and_training(qtbot, tmp_path):
    page = ModelsPage(ModelServices(DataDir(tmp_path)))
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    assert "validation accuracy" in page.card_view.toPlainText()
    page.grab().save(str(SCREENSHOTS / "models.png"))
    page.data_path.setText(str(SAMPLES))
    page.out_path.setText(str(tmp_path / "m"))
    # the samples are all on the validation side: training has no images -> a clear message
    assert page.start_training(epochs=1)
    qtbot.waitUntil(lambda: page.worker is None, timeout=60_000)
    assert "training failed" in page.progress_text.text()


def test_models_page_trains_on_a_worker(qtbot, tmp_path, tiny_set):
    page = ModelsPage(ModelServices(DataDir(tmp_path)))
    qtbot.addWidget(page)
    page.data_path.setText(str(tiny_set))
    page.out_path.setText(str(tmp_path / "gui-model"))
    seen = []
    assert page.start_training(epochs=1, limit_per_class=2)
    page.worker.progressed.connect(lambda stage, *a: seen.append(stage))
    assert not page.start_training()  # one training at a time
    qtbot.waitUntil(lambda: page.worker is None, timeout=60_000)
    assert "wrote" in page.progress_text.text(), page.progress_text.text()
    assert (tmp_path / "gui-model.safetensors").exists() and "train" in seen
    assert page.model_path.text().endswith("gui-model.safetensors")
    assert "validation accuracy" in page.card_view.toPlainText()


def test_models_page_cancel(qtbot, tmp_path, neu_full):
    page = ModelsPage(ModelServices(DataDir(tmp_path)))
    qtbot.addWidget(page)
    page.data_path.setText(str(neu_full))
    page.out_path.setText(str(tmp_path / "m"))
    assert page.start_training(epochs=50)
    qtbot.waitUntil(lambda: "epoch" in page.progress_text.text() or "loading" in page.progress_text.text(),
                    timeout=60_000)
    page.cancel_training()
    qtbot.waitUntil(lambda: page.worker is None, timeout=60_000)
    assert "cancelled" in page.progress_text.text()
    assert not (tmp_path / "m.safetensors").exists()


def test_operator_model_error_is_a_message(qtbot, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not safetensors")
    page = OperatorPage(OperatorServices(DataDir(tmp_path), model_path=bad, device="cpu"))
    qtbot.addWidget(page)
    page.source.setCurrentText(str(SAMPLES))
    assert page.start()  # the model loads off the GUI thread; its error comes back as a message
    qtbot.waitUntil(lambda: "cannot start" in page.message.text(), timeout=10_000)
    assert "not a safetensors" in page.message.text()
    assert page.start_button.isEnabled() and not page.controller.running
    page.shutdown()


def test_main_window_has_operator_first_and_joins_workers_on_close(qtbot, tmp_path):
    from app.gui.window import build_main_window

    ctx = build_main_window(DataDir(tmp_path))
    win = ctx.window
    qtbot.addWidget(win)
    keys = win.perspective_keys()
    assert keys[0] == "operator" and "models" in keys
    win.show()
    win.show_perspective("operator")
    page = win.perspective_widget("operator")
    page.source.setCurrentText(str(SAMPLES))
    page.rate.setValue(30)
    assert page.start()
    qtbot.waitUntil(lambda: page.controller.snapshot().inspected >= 30, timeout=30_000)
    assert not page.start_button.isEnabled() and page.stop_button.isEnabled()
    page.paint()
    win.grab().save(str(SCREENSHOTS / "operator-window.png"))
    capture, worker = page.controller._capture, page.controller._worker
    win.close()
    assert not capture.running and not worker.running and not page.controller.running


def test_operator_on_a_video_camera_stand_in(qtbot, operator, tmp_path):
    import cv2


    path = tmp_path / "line.mp4"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (200, 200))
    for f in sorted(SAMPLES.rglob("*.jpg"))[::6]:
        vw.write(cv2.imread(str(f)))
    vw.release()
    assert path.stat().st_size > 0
    operator.source.setCurrentText(str(path))
    operator.rate.setValue(30)
    assert operator.start()
    qtbot.waitUntil(lambda: operator.controller.snapshot().inspected >= 12, timeout=30_000)
    operator.paint()
    assert operator.workpiece.text().startswith("line#")
    operator.stop()


def test_operator_follows_the_model_gate(qtbot, operator):
    from ui.certificates.gate_badge import GateBadge, GatePoller

    page = operator
    verdict = {"cert_id": "c" * 64, "certs": [], "reasons": []}
    passing = {"height": 5, "active": {"cert_id": "c" * 64}, "verdict": verdict, "message": "ok"}
    refused = {"height": 6, "active": None,
               "verdict": {**verdict, "reasons": ["revoked: drift"]},
               "message": "model cccc refused: revoked; inspection stopped"}
    feed = [passing]

    def poll():
        return feed.pop(0) if feed else None

    badge = GateBadge()
    page.attach_gate(badge, GatePoller(poll, 0.02))
    qtbot.waitUntil(lambda: badge.passed is True, timeout=5000)
    page.source.setCurrentText(str(SAMPLES))
    page.rate.setValue(30)
    assert page.start()
    qtbot.waitUntil(lambda: page.controller.snapshot().inspected >= 3, timeout=30_000)
    feed.append(refused)
    qtbot.waitUntil(lambda: badge.passed is False, timeout=5000)
    qtbot.waitUntil(lambda: not page.controller.running, timeout=5000)
    assert "Model refused by the trust gate" in page.banner.text()
    assert not page.start_button.isEnabled() and not page.start()
    page.grab().save(str(SCREENSHOTS / "operator-gate-refused.png"))
    feed.append(passing)
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=5000)
    assert not page.banner.isVisible()
