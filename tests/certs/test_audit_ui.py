"""The Inspection audit perspective: find a workpiece, its record and image, prove it, see a
tampered record fail."""

from __future__ import annotations

import cv2
import numpy as np
import sqlalchemy as sa

from app.anchoring import Anchorer, anchor_engine, check_record
from app.db import make_engine, sqlite_url
from app.paths import DataDir
from inspection.history import ImageStore
from inspection.records import InspectionRecord, RecordStore
from ledger_core.effects import reports as ledger_reports
from ledger_core.proofs import Live
from tests.certs.helpers import T0, certify_all, trust_everyone, world
from tests.conftest import SCREENSHOTS
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

    page = AuditPage(AuditBackend(find, image, verify, reports))
    qtbot.addWidget(page)
    assert page.reports_table.rowCount() == 1
    assert [page.reports_table.item(0, c).text() for c in (1, 2, 3, 4)] == ["plant", "camera-1", "degraded", "fps=12"]
    page.resize(1100, 650)
    page.show()
    page.search.setText("wp-7")
    page.find()
    assert page.table.rowCount() == 2 and page.table.item(0, 0).text() == "3"
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
    page.search.setText("nope")
    page.find()
    assert page.table.rowCount() == 0 and "no records" in page.verdict_label.text()
