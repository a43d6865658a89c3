"""The Ledger perspective: lazy block model (qtmodeltester), details, search, live rows,
verify worker with cancel, CSV export, and a screenshot."""

from __future__ import annotations

import csv

import pytest
import sqlalchemy as sa

from app.db import make_engine
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import tx as txm
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore
from ledger_core.chain.store import tables as t
from tests.conftest import SCREENSHOTS
from tests.support.ledger_world import consortium, produce, report
from ui.ledger.model import BlocksModel
from ui.ledger.page import LedgerPage


@pytest.fixture
def many_blocks(tmp_path):
    """A store with 1,250 block rows (summaries only: the model never parses blocks)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'many.sqlite'}")
    store = LedgerStore(engine)
    with engine.begin() as conn:
        conn.execute(t.blocks.insert(), [
            {"height": h, "block_id": f"{h:064x}", "time": 1_700_000_000_000 + h, "proposer": "ab" * 32,
             "num_txs": h % 7, "header": b"{}", "last_commit": None, "commit": b"{}"}
            for h in range(1, 1251)
        ])
    yield store
    engine.dispose()


def test_model_is_lazy_and_consistent(qtmodeltester, many_blocks):
    model = BlocksModel(many_blocks, page_size=200)
    model.reload()
    assert model.rowCount() == 200 and model.row(0)["height"] == 1250
    qtmodeltester.check(model)
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == 1250 and model.row(1249)["height"] == 1
    qtmodeltester.check(model)
    with many_blocks.engine.begin() as conn:
        conn.execute(t.blocks.insert(), {"height": 1251, "block_id": "f" * 64, "time": 1, "proposer": "ab" * 32,
                                         "num_txs": 0, "header": b"{}", "last_commit": None, "commit": b"{}"})
    assert model.refresh_head() == 1 and model.row(0)["height"] == 1251
    assert model.data(model.index(0, 3)) == "f" * 16 + "…"
    assert model.data(model.index(0, 3), 3) == "f" * 64  # tool tip: the whole id


def test_empty_and_missing_sources(qtmodeltester):
    model = BlocksModel(None)
    assert model.rowCount() == 0 and not model.canFetchMore()
    qtmodeltester.check(model)


@pytest.fixture
def real_chain(tmp_path):
    c = consortium(3)
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    chain = Chain(LedgerStore(engine), c.genesis, rules=LEDGER_RULES)
    for n in range(1, 5):
        produce(chain, c.node, [report(d, c.chain_id, n) for d in c.devices])
    yield c, chain
    engine.dispose()


def test_page_details_search_verify_export(qtbot, real_chain, tmp_path):
    c, chain = real_chain
    page = LedgerPage(lambda: (chain.store, lambda: c.genesis), live_ms=50)
    qtbot.addWidget(page)
    page.resize(1400, 800)
    page.show()
    assert page.model.rowCount() == 4
    assert page.status.text() == "4 blocks loaded, newest at height 4"
    # live rows: the count line follows them
    produce(chain, c.node, [])
    qtbot.waitUntil(lambda: page.model.rowCount() == 5, timeout=3000)
    assert page.status.text() == "5 blocks loaded, newest at height 5"
    page.table.selectRow(1)
    assert page.block_detail.topLevelItem(0).text(1) == "height 4"
    block3 = chain.store.block(3)
    page.show_tx(block3["txs"][0]["hash"])
    fields = {page.tx_detail.topLevelItem(i).text(0): page.tx_detail.topLevelItem(i).text(1)
              for i in range(page.tx_detail.topLevelItemCount())}
    assert fields["signature"].startswith("valid") and fields["organisation"] == "acme"
    assert fields["name"].startswith("camera-0")
    # search: tx hash, key id, height, nothing
    page.search.setText(block3["txs"][1]["hash"])
    page.run_search()
    assert "transaction in block 3" in page.status.text()
    page.search.setText(c.devices[2].key_id)
    page.run_search()
    assert "camera-2" in page.status.text()
    page.search.setText("3")
    page.run_search()
    assert page.block_detail.topLevelItem(0).text(1) == "height 3"
    page.search.setText("zzz")
    page.run_search()
    assert "nothing found" in page.status.text()
    # a search message stays while new blocks come
    produce(chain, c.node, [])
    qtbot.waitUntil(lambda: page.model.rowCount() == 6, timeout=3000)
    assert "nothing found" in page.status.text()
    # verification on the worker
    page.start_verify()
    qtbot.waitUntil(lambda: "chain verified" in page.status.text(), timeout=20000)
    assert "height 6" in page.status.text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.table.selectRow(1)
    page.show_tx(chain.store.block(4)["txs"][0]["hash"])
    page.grab().save(str(SCREENSHOTS / "ledger-perspective.png"))
    # export the loaded rows
    out = tmp_path / "blocks.csv"
    assert page.export_csv(out) == 6
    rows = list(csv.reader(out.open()))
    assert rows[0][0] == "height" and rows[1][0] == "6" and len(rows) == 7
    page.shutdown()


def test_verify_reports_tampering_and_cancel(qtbot, real_chain):
    c, chain = real_chain
    page = LedgerPage(lambda: (chain.store, lambda: c.genesis), live_ms=10_000)
    qtbot.addWidget(page)
    with chain.store.engine.begin() as conn:
        raw = conn.execute(sa.select(t.txs.c.raw).where(t.txs.c.height == 2, t.txs.c.idx == 0)).scalar()
        conn.execute(sa.update(t.txs).where(t.txs.c.height == 2, t.txs.c.idx == 0)
                     .values(raw=raw.replace(b'"fps":30', b'"fps":31')))
    page.start_verify()
    qtbot.waitUntil(lambda: "FAILED at height 2" in page.status.text(), timeout=20000)
    page.start_verify()
    page.cancel_verify()
    qtbot.waitUntil(lambda: not page.worker.isRunning(), timeout=20000)
    assert page.verify_btn.isEnabled()
    page.shutdown()
    bad = txm.from_obj(chain.store.tx(chain.store.block(2)["txs"][0]["hash"])["envelope"])
    assert bad.body["payload"]["metrics"]["fps"] == 31


def test_page_without_chain(qtbot):
    def opener():
        raise LookupError("No chain here yet")

    page = LedgerPage(opener)
    qtbot.addWidget(page)
    assert page.status.text() == "No chain here yet"
    assert not page.verify_btn.isEnabled() and page.model.rowCount() == 0
