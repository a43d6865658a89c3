"""The Models perspective with a ledger: the model certificates and the one that certifies the
shown weights, following new blocks while shown (selection kept), and not while hidden."""

from __future__ import annotations

from app.gui.inspection_pages import ModelServices
from app.paths import DataDir
from bedrock.canonical import digest_hex
from ledger_core.attest.manifest import build_manifest
from tests.conftest import SCREENSHOTS
from tests.support.cert_world import PIPELINE_CONFIG, certify_all, model_predicate, world
from tests.support.inspection_data import BUNDLED_MODEL
from tests.support.live_ui import settle, snapshot_opener
from ui.models.ledger_box import ModelLedger
from ui.models.page import ModelsPage


def test_models_page_follows_the_model_certificates(qtbot, tmp_path):
    w = world(tmp_path)
    ids = certify_all(w, weights_digest=build_manifest(BUNDLED_MODEL).digest)
    loads: list[int] = []
    page = ModelsPage(ModelServices(DataDir(tmp_path)),
                      ledger=ModelLedger(snapshot_opener(w, loads), w.chain.store.height, 20))
    qtbot.addWidget(page)
    page.resize(1000, 800)
    page.show()
    box = page.ledger_box
    settle(qtbot, box.follower, lambda: box.data is not None)
    assert box.status.text().startswith(f"1 model certificate at height {w.chain.state.height};")
    assert box.weights_line.text().startswith(f"neu.safetensors: certified by {ids['model'][:16]}")
    box.table.setCurrentIndex(box.model.index(0, 1))

    retrained = w.issue("trainer", "model", model_predicate(digest_hex(PIPELINE_CONFIG)),
                        [ids["dataset"], ids["labels"], ids["pipeline"], ids["model"]], digest="9" * 64,
                        name="neu-retrained")
    settle(qtbot, box.follower, lambda: box.data.height == w.chain.state.height)
    assert box.status.text().startswith(f"2 model certificates at height {w.chain.state.height};")
    assert [r["id"] for r in box.model.rows] == [retrained, ids["model"]]
    assert box.model.rows[box.table.currentIndex().row()]["id"] == ids["model"]  # still selected
    page.grab().save(str(SCREENSHOTS / "models-ledger.png"))

    before = len(loads)
    page.hide()
    assert w.submit("trainer", "cert.revoke", {"cert_id": retrained, "reason": "bad metrics"})[1] is None
    qtbot.wait(200)
    assert len(loads) == before
    page.show()
    settle(qtbot, box.follower, lambda: box.data.height == w.chain.state.height)
    assert box.model.rows[0]["status"] == "revoked"
    page.shutdown()
