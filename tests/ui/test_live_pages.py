"""The auditor's pages follow the chain while shown, without Reload: the count lines and new rows
follow new blocks, the selected row stays selected (same id) and the scroll position stays; a
hidden page does not reload; the trust plot follows the selected subject's ratings."""

from __future__ import annotations

import pytest

from tests.support.cert_world import CLASSES, certify_all, trust_everyone, world
from tests.support.live_ui import settle, snapshot_opener
from ui.certificates.page import CertificatesPage
from ui.trust.page import TrustPage

LIVE_MS = 20


@pytest.fixture
def chain(tmp_path):
    w = world(tmp_path)
    ids = certify_all(w)
    trust_everyone(w)
    return w, ids


def _dataset(w, n: int, name: str) -> str:
    return w.issue("op", "dataset", {"counts": {c: 10 for c in CLASSES}, "source_device": "cam"},
                   digest=f"{n:064x}", name=name)


def _cert_rows(p) -> list[str]:
    return [p.model.rows[r]["id"] for r in range(p.model.rowCount())]


def _visible_top_id(p):
    return p.proxy.index(p.table.rowAt(0), 0).data(256)["id"]  # Qt.UserRole


def _select_cert(p, cert_id):
    r = _cert_rows(p).index(cert_id)
    p.table.setCurrentIndex(p.proxy.mapFromSource(p.model.index(r, 1)))


@pytest.fixture
def certs_page(qtbot, chain):
    w, ids = chain
    loads: list[int] = []
    p = CertificatesPage(snapshot_opener(w, loads), head=w.chain.store.height, live_ms=LIVE_MS)
    qtbot.addWidget(p)
    p.resize(1100, 420)
    p.show()
    settle(qtbot, p.follower, lambda: p.height == w.chain.state.height)
    yield w, ids, p, loads
    p.shutdown()


def test_certificates_follow_new_blocks_keeping_selection_and_scroll(qtbot, certs_page):
    w, ids, p, loads = certs_page
    assert p.message.text().startswith(f"4 certificates at height {w.chain.state.height};")
    _select_cert(p, ids["labels"])
    assert p.lineage.topLevelItem(0).text(0).startswith("labels:")

    # new certificates: the count line and the new rows follow, the selection stays on its id
    new = [_dataset(w, i, f"batch-{i}") for i in range(40)]
    settle(qtbot, p.follower, lambda: p.height == w.chain.state.height)
    assert p.message.text().startswith(f"44 certificates at height {w.chain.state.height};")
    assert set(new) <= set(_cert_rows(p))
    assert p.selected_id() == ids["labels"] and p.table.selectionModel().isRowSelected(p.table.currentIndex().row())
    assert p.lineage.topLevelItem(0).text(0).startswith("labels:")  # the details follow the same id

    # scrolled down: the rows in sight stay in sight when newer certificates arrive above them
    p.table.scrollTo(p.proxy.index(20, 0), p.table.ScrollHint.PositionAtTop)
    top = _visible_top_id(p)
    assert p.table.verticalScrollBar().value() > 0
    more = [_dataset(w, 100 + i, f"late-{i}") for i in range(3)]
    settle(qtbot, p.follower, lambda: p.height == w.chain.state.height)
    assert set(more) <= set(_cert_rows(p)) and _cert_rows(p).index(top) == 23
    assert _visible_top_id(p) == top and p.selected_id() == ids["labels"]

    # at the top, the newest rows come into sight
    p.table.scrollToTop()
    newest = _dataset(w, 200, "newest")
    settle(qtbot, p.follower, lambda: p.height == w.chain.state.height)
    assert _visible_top_id(p) == newest and p.table.verticalScrollBar().value() == 0
    assert p.selected_id() == ids["labels"]


def test_a_hidden_page_does_not_reload(qtbot, certs_page):
    w, ids, p, loads = certs_page
    before, text = len(loads), p.message.text()
    qtbot.wait(5 * LIVE_MS)
    assert len(loads) == before  # the head did not move: no reload
    p.hide()
    _dataset(w, 300, "while hidden")
    qtbot.wait(10 * LIVE_MS)
    assert len(loads) == before and p.message.text() == text and not p.follower.timer.isActive()
    p.show()  # shown again: it catches up at once
    settle(qtbot, p.follower, lambda: p.height == w.chain.state.height)
    assert len(loads) == before + 1 and p.message.text().startswith("5 certificates")
    p.shutdown()
    assert not p.follower.timer.isActive()


def test_trust_follows_new_blocks_and_plots_the_selected_subjects_history(qtbot, chain):
    w, ids = chain
    page = TrustPage(snapshot_opener(w), head=w.chain.store.height, live_ms=LIVE_MS)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    settle(qtbot, page.follower, lambda: page.data is not None and page.data.height == w.chain.state.height)
    n = len(page.subjects)
    assert page.message.text().startswith(f"{n} subjects at height {w.chain.state.height};")
    subject = w.keys["trainer2"].key_id  # nobody rated it yet
    page.table.setCurrentCell(next(i for i, s in enumerate(page.subjects) if s["id"] == subject), 0)
    qtbot.waitUntil(lambda: page.history is not None and page.history.subject == subject, timeout=10_000)
    assert [p.height for p in page.history.points] == [0, w.chain.state.height]

    # ratings at two heights: the table, the ratings and the plot follow; the selection stays
    assert w.rate("aud2", subject, 90) is None
    h1 = w.chain.state.height
    cert = _dataset(w, 400, "late data")
    assert w.rate("aud3", subject, 10) is None
    h2 = w.chain.state.height
    settle(qtbot, page.follower, lambda: page.data.height == h2)
    qtbot.waitUntil(lambda: page.history.points[-1].height == h2, timeout=10_000)
    assert page.message.text().startswith(f"{n + 1} subjects at height {h2};")
    assert any(s["id"] == cert for s in page.subjects)
    assert page.selected()["id"] == subject and page.history.subject == subject
    assert page.ratings.rowCount() == 2
    points = page.history.points
    assert [p.height for p in points] == [0, h1, h2]
    assert points[0].expected_ppm == 500_000 and points[1].expected_ppm > 500_000 > points[2].expected_ppm
    assert all(p.belief_ppm + p.disbelief_ppm + p.uncertainty_ppm == 1_000_000 for p in points)
    assert points[2].disbelief_ppm > points[1].disbelief_ppm
    xs, ys = page.plot.expected.getData()
    assert {0, h1, h2} <= set(xs) and len(xs) >= 3
    assert ys[-1] == points[-1].expected_ppm / 1e6
    assert page.plot.curves["belief_ppm"].getData()[1][-1] == points[-1].belief_ppm / 1e6
    page.shutdown()


def test_audit_follows_new_records_and_reports(qtbot, tmp_path, chain):
    from app.db import make_engine, sqlite_url
    from inspection.records import InspectionRecord, RecordStore
    from ledger_core.attest.effects import reports as ledger_reports
    from ui.audit.page import AuditBackend, AuditPage

    w, ids = chain
    records = RecordStore(make_engine(sqlite_url(tmp_path / "records.sqlite")))

    def add(n: int) -> None:
        records.add_many([InspectionRecord(f"wp-{records.count() + i}", "o-1", "cam", i, i, "ab" * 32, "m" * 64,
                                           "p" * 64, {"crazing": 1000}, 900, "OK") for i in range(n)])

    def report(component: str) -> None:
        payload = {"component": component, "status": "ok", "metrics": {"fps": 30}, "about": None}
        assert w.submit("op", "monitor.report", payload)[1] is None

    def newest(before, limit):
        return [r.to_json_dict() for r in records.newest(before, limit)]

    def head():
        top = records.newest(None, 1)
        return w.chain.store.height(), top[0].id if top else None

    opener = snapshot_opener(w)

    def reports():
        live = opener()[2]
        return ledger_reports(live.get, live.keys)

    add(30)
    report("camera-1")
    page = AuditPage(AuditBackend(lambda wid: [], lambda sha: None, lambda rid: None, reports, newest, head),
                     live_ms=LIVE_MS)
    qtbot.addWidget(page)
    page.resize(1000, 600)
    page.show()
    settle(qtbot, page.follower, lambda: page.model.rowCount() == 30 and page.reports_table.rowCount() == 1)
    page.table.setCurrentIndex(page.model.index(12, 0))
    chosen = page.selected()["id"]
    add(5)  # new records without a block, then a block with a report
    settle(qtbot, page.follower, lambda: page.model.rowCount() == 35)
    assert page.model.row(0)["id"] == 35 and page.selected()["id"] == chosen
    report("camera-2")
    settle(qtbot, page.follower, lambda: page.reports_table.rowCount() == 2)
    assert page.reports_table.item(0, 2).text() == "camera-2" and page.reports_status.text().startswith("2 report")
    assert page.selected()["id"] == chosen
    page.shutdown()


def test_app_pages_follow_a_chain_that_appears_in_the_data_directory(qtbot, tmp_path):
    """The wiring of app.gui.attest_pages: before the node made a chain the pages say so; once it has,
    they follow it through the real database (a fresh snapshot per load, a cheap head query)."""
    from app.gui.attest_pages import audit_page, certificates_page, trust_page
    from app.paths import DataDir
    from ledger_core.chain import genesis as gen

    dd = DataDir(tmp_path)
    pages = [certificates_page(dd), trust_page(dd), audit_page(dd)]
    certs, trust, audit = pages
    for page in pages:
        page.follower.timer.setInterval(LIVE_MS)
        qtbot.addWidget(page)
        page.show()
    qtbot.waitUntil(lambda: "No chain in" in certs.message.text() and "No chain in" in trust.message.text()
                    and "reports unavailable" in audit.reports_status.text(), timeout=10_000)

    w = world(tmp_path)  # the node starts: genesis and the ledger database appear
    dd.genesis_file.write_bytes(gen.dumps(w.chain.genesis))
    ids = certify_all(w)
    assert w.submit("op", "monitor.report", {"component": "camera-1", "status": "ok", "metrics": {},
                                             "about": None})[1] is None
    top = w.chain.state.height
    qtbot.waitUntil(lambda: certs.message.text().startswith(f"4 certificates at height {top};")
                    and trust.message.text().endswith("threshold 0.600") and f"height {top}" in trust.message.text()
                    and audit.reports_table.rowCount() == 1, timeout=10_000)
    _select_cert(certs, ids["dataset"])
    _dataset(w, 1, "next")
    qtbot.waitUntil(lambda: certs.message.text().startswith(f"5 certificates at height {top + 1};"), timeout=10_000)
    assert certs.selected_id() == ids["dataset"]
    for page in pages:
        page.shutdown()


def test_another_perspective_in_the_main_window_pauses_following(qtbot, chain):
    from PySide6.QtWidgets import QLabel

    from ui.main_window import MainWindow

    class Prefs(dict):
        def set(self, key, value):
            self[key] = value

    w, ids = chain
    loads: list[int] = []
    window = MainWindow(Prefs(), "test")
    qtbot.addWidget(window)
    certs = CertificatesPage(snapshot_opener(w, loads), head=w.chain.store.height, live_ms=LIVE_MS)
    window.add_perspective("certificates", "Certificates", certs)
    window.add_perspective("other", "Other", QLabel("another perspective"))
    window.show()
    settle(qtbot, certs.follower, lambda: certs.height == w.chain.state.height)
    window.show_perspective("other")
    before = len(loads)
    _dataset(w, 1, "while away")
    qtbot.wait(10 * LIVE_MS)
    assert len(loads) == before and not certs.follower.timer.isActive()
    window.show_perspective("certificates")
    settle(qtbot, certs.follower, lambda: certs.height == w.chain.state.height)
    assert len(loads) == before + 1 and certs.message.text().startswith("5 certificates")
    certs.shutdown()
