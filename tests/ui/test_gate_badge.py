"""The gate badge follows the ledger through the poller: pass, then refused after a revocation."""

from __future__ import annotations

import threading

from app.station.model_gate import Candidate, ModelGate
from ledger_core.attest.manifest import build_manifest
from tests.support.cert_world import T0, certify_all, trust_everyone, world
from ui.certificates.gate_badge import GateBadge, GatePoller


def test_badge_and_poller(qtbot, tmp_path):
    w = world(tmp_path)
    wf = tmp_path / "m.safetensors"
    wf.write_bytes(b"weights")
    ids = certify_all(w, weights_digest=build_manifest(wf).digest)
    trust_everyone(w)
    gate = ModelGate(Candidate(ids["model"], wf))
    seen = {"height": -1}
    lock = threading.Lock()  # the in-process chain is not a database snapshot: no reads mid-block

    def poll():
        with lock:
            if w.chain.state.height == seen["height"]:
                return None
            seen["height"] = w.chain.state.height
            return gate.on_state(w.get, w.tkeys, w.chain.state.height, T0 + 10)

    badge = GateBadge()
    qtbot.addWidget(badge)
    poller = GatePoller(poll, 0.02)
    poller.status.connect(badge.set_status)
    poller.start()
    try:
        qtbot.waitUntil(lambda: badge.passed is True, timeout=5000)
        assert badge.state.text().startswith("Model gate: PASS") and "trust 0.643" in badge.state.text()
        with lock:
            assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "drift"})[1] is None
        qtbot.waitUntil(lambda: badge.passed is False, timeout=5000)
        assert "REFUSED" in badge.state.text() and "revoked: drift" in badge.detail.text()
    finally:
        poller.stop()


def test_operator_page_on_a_ledger_refuses_an_uncertified_model(qtbot, tmp_path):
    """A station whose data dir holds a ledger gates its model: the bundled model has no
    certificate on this ledger, so Start stays disabled and the banner says why."""
    from app.gui.inspection_pages import operator_page
    from app.paths import DataDir
    from ledger_core.chain import genesis as gen

    w = world(tmp_path)
    (tmp_path / "genesis.json").write_bytes(gen.dumps(w.chain.genesis))
    w.block()  # a head block the gate can read
    page = operator_page(DataDir(tmp_path))
    qtbot.addWidget(page)
    try:
        qtbot.waitUntil(lambda: "refused" in page.banner.text().lower(), timeout=20_000)
        assert "no active model certificate" in page.banner.text()
        assert not page.start_button.isEnabled()
    finally:
        page.shutdown()
