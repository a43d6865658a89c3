"""Screenshots of the live Certificates and Trust pages on a chain above height 100, taken after
the pages followed the chain there without Reload (tests/screenshots/*-live.png)."""

from __future__ import annotations

from tests.conftest import SCREENSHOTS
from tests.support.cert_world import CLASSES, certify_all, trust_everyone, world
from tests.support.live_ui import settle, snapshot_opener
from ui.certificates.page import CertificatesPage
from ui.trust.page import TrustPage

RATERS = ("aud1", "aud2", "aud3", "aud1b", "aud1c")


def _grow(w, ids, start: int, stop: int) -> None:
    """One block each: ratings of the trainer and the model that swing up and down, and now and
    then a dataset certificate or a revocation."""
    trainer = w.keys["trainer"].key_id
    for i in range(start, stop):
        if i % 9 == 4:
            w.issue("op", "dataset", {"counts": {c: 50 + i for c in CLASSES}, "source_device": f"camera-{i % 3}"},
                    digest=f"{i:064x}", name=f"line-3 batch {i}")
        elif i % 4 == 0:
            assert w.rate(RATERS[i % 5], ids["model"], 40 + (i * 7) % 60, kind="cert") is None
        else:
            assert w.rate(RATERS[i % 5], trainer, 20 + (i * 37) % 80) is None


def test_live_pages_above_height_100(qtbot, tmp_path):
    w = world(tmp_path)
    ids = certify_all(w)
    trust_everyone(w)
    _grow(w, ids, 0, 40)
    certs = CertificatesPage(snapshot_opener(w), head=w.chain.store.height, live_ms=20)
    trust = TrustPage(snapshot_opener(w), head=w.chain.store.height, live_ms=20)
    for page in (certs, trust):
        qtbot.addWidget(page)
        page.resize(1280, 760)
        page.show()
    settle(qtbot, certs.follower, lambda: certs.height == w.chain.state.height)
    settle(qtbot, trust.follower, lambda: trust.data is not None and trust.data.height == w.chain.state.height)
    certs.table.setCurrentIndex(certs.proxy.index(
        next(r for r in range(certs.model.rowCount()) if certs.model.rows[r]["id"] == ids["model"]), 1))
    trust.table.setCurrentCell(next(i for i, s in enumerate(trust.subjects)
                                    if s["id"] == w.keys["trainer"].key_id), 0)

    _grow(w, ids, 40, 100)
    assert w.submit("aud1b", "cert.revoke", {"cert_id": ids["labels"], "reason": "two classes were swapped in "
                    "the annotations of line 3 (crazing and pitted_surface); relabel and certify again"})[1] is None
    top = w.chain.state.height
    assert top > 100
    settle(qtbot, certs.follower, lambda: certs.height == top)
    settle(qtbot, trust.follower, lambda: trust.data.height == top)
    qtbot.waitUntil(lambda: trust.history is not None and trust.history.points[-1].height == top, timeout=10_000)
    assert certs.selected_id() == ids["model"] and trust.selected()["id"] == w.keys["trainer"].key_id
    assert certs.message.text().startswith(f"{certs.model.rowCount()} certificates at height {top};")
    assert len(trust.history.points) > 20

    certs.verify_selected()  # fails on the revoked labels: the long reason shows whole below the table
    qtbot.waitUntil(lambda: certs.worker is None, timeout=10_000)
    tree = certs.checks.tree
    assert any("revoked" in tree.topLevelItem(i).text(2) for i in range(tree.topLevelItemCount()))
    assert certs.checks.details.toPlainText() == tree.currentItem().text(2) != ""
    certs.grab().save(str(SCREENSHOTS / "certificates-live.png"))
    trust.grab().save(str(SCREENSHOTS / "trust-live.png"))
    certs.shutdown()
    trust.shutdown()
