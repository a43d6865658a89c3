"""The Certificates perspective: filters, lineage tree, verification on a worker (certificate and
dropped files), every reason readable whole, PDF report, screenshot."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from ledger_core.attest.manifest import build_manifest
from ledger_core.attest.proofs import Live
from tests.conftest import SCREENSHOTS
from tests.support.cert_world import T0, certify_all, trust_everyone, world
from ui.certificates.page import CertificatesPage


@pytest.fixture
def page(qtbot, tmp_path):
    w = world(tmp_path)
    ds = tmp_path / "dataset"
    (ds / "crazing").mkdir(parents=True)
    (ds / "crazing" / "a.png").write_bytes(b"image a")
    ids = certify_all(w, dataset_digest=build_manifest(ds).digest)
    trust_everyone(w)
    assert w.submit("aud1b", "cert.revoke", {"cert_id": ids["labels"], "reason": "wrong classes"})[1] is None

    def opener():
        return w.chain.store, w.chain.genesis, Live(w.get, w.tkeys, w.chain.state.height, T0 + 10)

    p = CertificatesPage(opener)
    qtbot.addWidget(p)
    p.resize(1200, 700)
    p.show()  # the first showing loads, on a worker
    qtbot.waitUntil(lambda: p.model.rowCount() == 4, timeout=10_000)
    yield p, ids, ds
    p.shutdown()


def _select(p, cert_id):
    for r in range(p.proxy.rowCount()):
        idx = p.proxy.index(r, 0)
        if p.proxy.data(idx, 256)["id"] == cert_id:  # Qt.UserRole
            p.table.setCurrentIndex(idx)
            return
    raise AssertionError("not listed")


def test_list_filters_lineage_verify_and_report(qtbot, page, tmp_path):
    p, ids, ds = page
    assert p.proxy.rowCount() == 4
    p.kind.setCurrentText("model")
    assert p.proxy.rowCount() == 1
    p.kind.setCurrentIndex(0)
    p.status_filter.setCurrentText("revoked")
    assert p.proxy.rowCount() == 1
    p.status_filter.setCurrentIndex(0)
    p.issuer.setText("trainer")
    assert p.proxy.rowCount() == 1
    p.issuer.setText("")
    _select(p, ids["model"])
    top = p.lineage.topLevelItem(0)
    assert top.text(0).startswith("model:") and top.childCount() == 3
    assert any(top.child(i).text(1) == "revoked" for i in range(3))
    p.start_verify(ids["model"], None)
    qtbot.waitUntil(lambda: p.worker is None, timeout=10_000)
    assert p.verdict_label.text().startswith("FAILED")
    tree = p.checks.tree
    results = {tree.topLevelItem(i).text(0): tree.topLevelItem(i).text(1) for i in range(tree.topLevelItemCount())}
    assert results[f"lineage {ids['labels'][:16]}: not revoked"] == "FAIL" and results["commit"] == "pass"
    # every reason can be read whole: the cell's tooltip, and the pane under the table (the first
    # failure is selected); Ctrl+C copies it
    for i, check in enumerate(p.report.checks):
        assert tree.topLevelItem(i).data(2, Qt.ItemDataRole.ToolTipRole) == check.reason
    failed = next(i for i, c in enumerate(p.report.checks) if not c.ok)
    assert tree.currentItem() is tree.topLevelItem(failed)
    assert p.checks.details.toPlainText() == p.report.checks[failed].reason
    tree.setCurrentItem(tree.topLevelItem(0))
    assert p.checks.details.toPlainText() == p.report.checks[0].reason
    p.checks.copy_current()
    assert QGuiApplication.clipboard().text() == p.report.checks[0].reason
    p.grab().save(str(SCREENSHOTS / "certificates.png"))
    pdf = tmp_path / "report.pdf"
    p.export_pdf(pdf)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000
    # files dropped on the page: found by their digest, then changed
    p.start_verify(None, ds)
    qtbot.waitUntil(lambda: p.worker is None, timeout=10_000)
    assert ids["dataset"] in p.verdict_label.text()
    (ds / "crazing" / "b.png").write_bytes(b"poison")
    p.start_verify(None, ds)
    qtbot.waitUntil(lambda: p.worker is None, timeout=10_000)
    assert p.verdict_label.text() == "FAILED" and p.checks.tree.topLevelItem(0).text(0) == "files"


def test_no_chain_is_a_message(qtbot):
    def opener():
        raise LookupError("No chain yet")

    p = CertificatesPage(opener, head=lambda: 1 / 0, live_ms=20)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitUntil(lambda: p.message.text() == "No chain yet", timeout=10_000)
    assert p.model.rowCount() == 0
    p.shutdown()
