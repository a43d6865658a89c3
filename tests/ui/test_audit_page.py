"""The Inspection audit perspective: find a workpiece, its record and image, prove it, see a
tampered record fail."""

from __future__ import annotations

import cv2
import numpy as np
import sqlalchemy as sa
from PySide6.QtCore import Qt

from app.db import make_engine, sqlite_url
from app.paths import DataDir
from app.station.anchoring import Anchorer, anchor_engine, check_record
from inspection.history import ImageStore
from inspection.records import InspectionRecord, RecordStore
from ledger_core.attest.effects import reports as ledger_reports
from ledger_core.attest.proofs import Live
from tests.conftest import SCREENSHOTS
from tests.support.cert_world import T0, certify_all, trust_everyone, world
from ui.audit.page import AuditBackend, AuditPage


def test_find_show_and_prove(qtbot, tmp_path):
    w = world(tmp_path)
    ids = certify_all(w)
    trust_everyone(w)
    records = RecordStore(make_engine(sqlite_url(tmp_path / "records.sqlite")))
    images = ImageStore(tmp_path / "images")
    png = cv2.imencode(".png", (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64))[1].tobytes()
    for i in range(3):
        records.add(InspectionRecord("wp-7" if i else "wp-1", "o-1", "cam", i, T0 * 1_000_000 + i,
                                     images.put(png if i else b"x"), "m" * 64, "p" * 64, {"crazing": 1000},
                                     900, "OK", model_cert_id=ids["model"]))

    def submit(tx_type, payload):
        tx = w.make("op", tx_type, payload)
        w.block(tx)
        return tx.hash, w.chain.state.height

    engine = anchor_engine(DataDir(tmp_path))
    Anchorer(engine, records, submit, "s").anchor(force=True)

    def image(sha):
        return images.path(sha).read_bytes() if sha in images else None

    def verify(rid):
        live = Live(w.get, w.tkeys, w.chain.state.height, T0 + 10)
        return check_record(engine, records, image, w.chain.store, w.chain.genesis, live, rid)

    def find(wid):
        return [r.to_json_dict() for r in reversed(records.by_workpiece(wid))]

    report = {"component": "camera-1", "status": "degraded", "metrics": {"fps": 12}, "about": None}
    assert w.submit("op", "monitor.report", report)[1] is None

    def reports():
        return ledger_reports(w.get, w.tkeys)

    def newest(before, limit):
        return [r.to_json_dict() for r in records.newest(before, limit)]

    page = AuditPage(AuditBackend(find, image, verify, reports, newest))
    qtbot.addWidget(page)
    page.resize(1100, 650)
    page.show()  # the first showing loads, on a worker: the newest records first
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=10_000)
    assert [page.model.row(i)["id"] for i in range(page.model.rowCount())] == [3, 2, 1]
    assert page.reports_table.rowCount() == 1
    assert [page.reports_table.item(0, c).text() for c in (1, 2, 3, 4)] == ["plant", "camera-1", "degraded", "fps=12"]
    page.search.setText("wp-7")
    page.find()
    assert page.model.rowCount() == 2 and page.model.index(0, 0).data() == "3"
    assert page.picture.pixmap() is not None and not page.picture.pixmap().isNull()
    page.start_verify()
    qtbot.waitUntil(lambda: page.worker is None, timeout=10_000)
    assert page.verdict_label.text().startswith("VERIFIED")
    page.grab().save(str(SCREENSHOTS / "inspection-audit.png"))
    with records.engine.begin() as conn:
        conn.execute(sa.text("UPDATE inspection_records SET quality_permille=999 WHERE id=3"))
    page.find()
    page.start_verify()
    qtbot.waitUntil(lambda: page.worker is None, timeout=10_000)
    assert page.verdict_label.text() == "FAILED"
    tree = page.checks.tree  # the first failing check is selected; its reason shows whole below
    failed = tree.currentItem()
    assert failed.text(1) == "FAIL" and failed.data(2, Qt.ItemDataRole.ToolTipRole) == failed.text(2)
    assert page.checks.details.toPlainText() == failed.text(2) and len(failed.text(2)) > 20
    page.search.setText("nope")
    page.find()
    assert page.model.rowCount() == 0 and "no records" in page.verdict_label.text()
    page.search.setText("")
    page.find()
    assert page.model.rowCount() == 3 and page.model.index(0, 1).data() == "wp-7"


def test_newest_records_load_a_page_at_a_time(qtmodeltester, tmp_path):
    """The records table is lazy: a keyset page of the newest records, older pages as it scrolls,
    never the whole store; a search shows just its rows."""
    from ui.audit.page import RecordsModel

    records = RecordStore(make_engine(sqlite_url(tmp_path / "records.sqlite")))
    records.add_many([InspectionRecord(f"wp-{i}", "o-1", "cam", i, T0 * 1_000_000 + i, "ab" * 32, "m" * 64,
                                       "p" * 64, {"crazing": 1000}, 900, "OK") for i in range(450)])
    calls = []

    def newest(before, limit):
        calls.append(before)
        return [r.to_json_dict() for r in records.newest(before, limit)]

    model = RecordsModel(newest)
    model.reload()
    assert model.rowCount() == 200 and model.row(0)["id"] == 450 and model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == 400 and model.row(399)["id"] == 51 and calls == [None, 251]
    model.fetchMore()
    assert model.rowCount() == 450 and model.row(449)["id"] == 1 and not model.canFetchMore()
    qtmodeltester.check(model)
    model.set_rows(newest(None, 2))
    assert model.rowCount() == 2 and not model.canFetchMore()
    assert model.index(0, 1).data() == "wp-449" and model.index(0, 4).data() == "0.900"
