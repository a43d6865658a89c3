"""End to end in the GUI against the live 4-node demo consortium, from the quality-control
company's station: find the newest block, open a transaction, verify the model certificate by
dropping its file, submit a rating and see it committed."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.demo import MODEL, Demo
from app.gui.window import build_main_window
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.slow


def _field(tree, name: str) -> str:
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        if item.text(0) == name:
            return item.text(1)
    raise KeyError(name)


def test_auditor_on_the_live_consortium(qtbot, tmp_path: Path):
    demo = Demo(tmp_path / "demo", lambda _text: None, inspect=False)
    try:
        demo.setup()
        auditor = demo.cons.members["auditor"]
        ctx = build_main_window(auditor.dd)
        window = ctx.window
        qtbot.addWidget(window)
        window.show()
        assert window.current_perspective() == "certificates"  # the auditor role's perspective

        # Ledger: the newest block is the first row; open one of its transactions
        window.show_perspective("ledger")
        ledger = window.perspective_widget("ledger")
        qtbot.waitUntil(lambda: ledger.model.rowCount() > 0, timeout=20_000)
        ledger.refresh_live()
        assert ledger.model.row(0)["height"] == ledger.store.height()
        row = next(r for r in range(ledger.model.rowCount()) if ledger.model.row(r)["num_txs"] > 0)
        ledger.show_block_row(row)
        block = ledger.store.block(ledger.model.row(row)["height"])
        ledger.show_tx(block["txs"][0]["hash"])
        assert _field(ledger.tx_detail, "hash") == block["txs"][0]["hash"]
        assert _field(ledger.tx_detail, "signature").startswith("valid")

        # Certificates: drop the model's weights file on the page
        window.show_perspective("certificates")
        certs = window.perspective_widget("certificates")
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(MODEL))])
        certs.dropEvent(QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                                   Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
        qtbot.waitUntil(lambda: certs.worker is None, timeout=60_000)
        assert demo.ids.model in certs.verdict_label.text()
        assert certs.verdict_label.text().startswith("VERIFIED"), certs.verdict_label.text()

        # Trust: rate the model certificate with the auditor's key; pending, then committed
        window.show_perspective("trust")
        trust = window.perspective_widget("trust")
        trust.reload()
        row = next(i for i, s in enumerate(trust.subjects) if s["id"] == demo.ids.model)
        trust.table.setCurrentCell(row, 0)
        trust.score.setValue(88)
        passphrase = auditor.passphrase_file.read_text().strip()
        trust.start_rating(trust.selected(), demo.ids.model, passphrase)
        assert "pending" in trust.rate_state.text()
        qtbot.waitUntil(lambda: trust.worker is None, timeout=60_000)
        assert "committed at height" in trust.rate_state.text(), trust.rate_state.text()
        window.grab().save(str(SCREENSHOTS / "auditor-e2e-trust.png"))
        for key in ("ledger", "certificates", "trust"):
            page = window.perspective_widget(key)
            if hasattr(page, "shutdown"):
                page.shutdown()
        window.perspective_widget("operator").shutdown()
    finally:
        demo.close()
